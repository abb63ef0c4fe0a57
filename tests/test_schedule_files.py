"""``--schedule FILE`` brings the tape layout its trace was recorded with.

Oracle: the command's own JSON report (the layout and strategy it used) and
the C text it writes, against the same command given ``--layout`` by hand;
``check`` also runs every oracle on the result."""

from __future__ import annotations

import json

import polyad
from tests.test_cli import polyad_cli

KERNEL = "examples/lu.c"  # it has a tape: the stream layout changes its C


def _trace(tmp_path, layout: str):
    adjoint = polyad.grad(polyad.parse(KERNEL)).with_layout(layout)
    path = tmp_path / f"{layout}.json"
    path.write_text(adjoint.schedule().to_json())
    return path


def test_a_trace_recorded_in_the_stream_layout_is_checked_in_it(tmp_path):
    trace = _trace(tmp_path, "stream")
    done = polyad_cli("check", KERNEL, "--schedule", str(trace), "--json",
                      "--dataset", "small")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["layout"], result["strategy"]) == ("stream", "exact")
    assert result["verdict"] == "ok"


def test_grad_with_a_trace_writes_the_traces_layout(tmp_path):
    trace = _trace(tmp_path, "stream")
    by_trace, by_hand = tmp_path / "a.c", tmp_path / "b.c"
    assert polyad_cli("grad", KERNEL, "--schedule", str(trace), "-o", str(by_trace)
                      ).returncode == 0
    assert polyad_cli("grad", KERNEL, "--layout", "stream", "-o", str(by_hand)
                      ).returncode == 0
    exact = tmp_path / "c.c"
    assert polyad_cli("grad", KERNEL, "-o", str(exact)).returncode == 0
    assert by_trace.read_text() == by_hand.read_text() != exact.read_text()


def test_a_layout_given_by_hand_wins_and_is_said(tmp_path):
    trace = _trace(tmp_path, "stream")
    done = polyad_cli("check", KERNEL, "--schedule", str(trace), "--layout", "exact",
                      "--json", "--dataset", "small")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["layout"] == "exact"
    assert "recorded with --layout stream; using --layout exact" in done.stderr
