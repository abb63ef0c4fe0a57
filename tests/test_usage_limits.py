"""Requests a user can get wrong end as usage errors (exit 2, one line
naming what was wrong), never as an internal error or a lost file.

Oracles: the documented exit-code contract of the CLI (2 and one
``polyad: error:`` line), the file system (the kernel file is byte for byte
unchanged) and the model (a tape's size is the same number wherever it is
reported).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import polyad
from polyad.errors import ScheduleError, UsageError
from polyad.memory import format_bytes, parse_bytes
from polyad.schedule.schedule import Schedule
from tests.test_cli import ROOT, polyad_cli


def _usage_error(done) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("polyad: error: "), done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    return lines[0]


def test_negative_size_is_a_usage_error_naming_the_size_and_assumption():
    message = _usage_error(polyad_cli("check", "examples/gemm.c", "-D", "ni=-3"))
    assert "ni=-3" in message and "ni > 0" in message


def test_sizes_outside_the_kernels_extents_are_refused(tmp_path):
    kernel = tmp_path / "shifted.c"
    kernel.write_text("void f(int n, double x[n - 5]) "
                      "{ for (int i = 0; i < n - 5; i++) x[i] = x[i] * 2.0; }\n")
    message = _usage_error(polyad_cli("check", str(kernel), "-D", "n=3"))
    assert "n=3" in message and "n >= 6" in message
    assert polyad_cli("check", str(kernel), "-D", "n=8").returncode == 0


def test_sizes_needing_more_memory_than_the_machine_has_are_refused():
    message = _usage_error(polyad_cli("check", "examples/gemm.c", "-D", "ni=100000",
                                      "-D", "nj=100000", "-D", "nk=100000"))
    assert "74.5 GiB" in message and "available" in message
    assert "POLYAD_MEMORY_LIMIT" in message


def test_memory_limit_variable_caps_a_run(monkeypatch):
    monkeypatch.setenv("POLYAD_MEMORY_LIMIT", "4KiB")
    message = _usage_error(polyad_cli("bench", "examples/gemm.c", "--repeat", "1"))
    assert "4.0 KiB available" in message
    monkeypatch.setenv("POLYAD_MEMORY_LIMIT", "1GiB")
    assert polyad_cli("check", "examples/gemm.c").returncode == 0


def test_api_refuses_bad_sizes_as_well():
    kernel = polyad.parse(str(ROOT / "examples" / "gemm.c"))
    with pytest.raises(UsageError, match="ni=0"):
        polyad.api.check(kernel, {"ni": 0, "nj": 3, "nk": 3})


def test_unusable_build_cache_is_a_usage_error(tmp_path, monkeypatch):
    not_a_directory = tmp_path / "cache"
    not_a_directory.write_text("a file where the cache directory should be\n")
    monkeypatch.setenv("POLYAD_CACHE", str(not_a_directory))
    message = _usage_error(polyad_cli("check", "examples/gemm.c"))
    assert "build cache" in message and "POLYAD_CACHE" in message


@pytest.mark.parametrize("spelling", ["same", "relative", "link"])
def test_grad_never_writes_over_its_input(tmp_path, spelling):
    kernel = tmp_path / "gemm.c"
    original = (ROOT / "examples" / "gemm.c").read_bytes()
    kernel.write_bytes(original)
    output = {"same": str(kernel), "relative": "../" + tmp_path.name + "/gemm.c",
              "link": str(tmp_path / "link.c")}[spelling]
    if spelling == "link":
        (tmp_path / "link.c").symlink_to(kernel)
    message = _usage_error(polyad_cli("grad", str(kernel), "-o", output, cwd=tmp_path))
    assert "never writes over its input" in message
    assert kernel.read_bytes() == original


def test_a_trace_is_refused_on_another_kernel_or_other_arrays(tmp_path):
    gemm = polyad.grad(polyad.parse(str(ROOT / "examples" / "gemm.c")))
    trace = gemm.schedule().tile(["S1_b.k", "S1_b.j"], [4, 4]).to_json()
    assert json.loads(trace)["kernel"] == "gemm" and json.loads(trace)["fingerprint"]
    Schedule.replay(gemm.schedule(), trace)  # where it was made: accepted
    syrk = polyad.grad(polyad.parse(str(ROOT / "examples" / "syrk.c")))
    with pytest.raises(ScheduleError, match="recorded for another program: kernel 'gemm'"):
        Schedule.replay(syrk.schedule(), trace)
    only_a = polyad.grad(gemm.kernel, wrt=["A"])
    with pytest.raises(ScheduleError, match="wrt"):
        Schedule.replay(only_a.schedule(), trace)
    path = tmp_path / "gemm-trace.json"
    path.write_text(trace)
    message = _usage_error(polyad_cli("grad", "examples/syrk.c", "--schedule", str(path)))
    assert "recorded for another program" in message
    assert polyad_cli("grad", "examples/gemm.c", "--schedule", str(path)).returncode == 0


@pytest.mark.parametrize("name, layout", [("neural_ode", "exact"), ("lu", "stack"),
                                          ("lu", "exact"), ("trmm", "stream"),
                                          ("durbin", "layers")])
def test_tape_bytes_are_one_number_in_show_check_and_analyze(name, layout):
    """The issue's cases: rnn showed 112 bytes in show --tape and 120 in
    analyze (its exact tape is empty now: tanh's partial reads the h it
    wrote; neural_ode records its pre-activations the same way), lu's stack
    5,280 against 21,152."""
    kernel, strategy = f"examples/{name}.c", ["--strategy", "stack"] if layout == "stack" else []
    shown = json.loads(polyad_cli("show", "--tape", kernel, *strategy, "--json").stdout)
    analyzed = json.loads(polyad_cli("analyze", kernel, "--layout", layout, "--json").stdout)
    checked = json.loads(polyad_cli("check", kernel, "--layout", layout, "--oracles", "primal",
                                     "--json").stdout)
    entry, = analyzed["layouts"]
    assert shown["tape_bytes"] == entry["tape_bytes"] == checked["tape_bytes"] > 0
    assert entry["tape_allocated_bytes"] >= entry["tape_bytes"]


def test_the_api_check_in_the_stack_layout_uses_the_stack_strategy_as_the_cli_does():
    """Oracle: the CLI's report. polyad.api.check(layout="stack") checked an
    exact tape in the stack layout (120 bytes for lu at n=6) while
    `polyad check --layout stack` checks the stack strategy (1,120)."""
    kernel = polyad.parse("examples/lu.c")
    by_api = polyad.api.check(kernel, {"n": 6}, layout="stack", oracles=("primal",))
    by_cli = json.loads(polyad_cli("check", "examples/lu.c", "-D", "n=6", "--layout", "stack",
                                   "--oracles", "primal", "--json").stdout)
    assert (by_api["strategy"], by_api["tape_bytes"]) == \
        (by_cli["strategy"], by_cli["tape_bytes"]) == ("stack", 1120)


def test_byte_counts_read_and_print():
    assert parse_bytes("32KiB") == 32768 and parse_bytes("1.5GiB") == 3 << 29
    assert format_bytes(80_000_000_000) == "74.5 GiB" and format_bytes(512) == "512 B"
    with pytest.raises(UsageError):
        parse_bytes("lots")
