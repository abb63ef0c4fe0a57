"""isl's scheduler is bounded by a child process that can be killed
(polyad.bounds.in_child): its linear programs ignore isl's operation bound
and the time guard's abort, and a random kernel with an inlined helper made
`polyad grad --schedule auto` run forever. A scheduler that does not finish
in time leaves auto with the plain reversal, never a hang or an error.

Oracles: the in-process computation (for the child's result and isl's
schedule read back from its text), and polyad check's (the original C for
the primal, bitwise; the reverse-mode interpreter; finite differences; the
dot-product test) for the gradient auto gives without the scheduler.
"""

from __future__ import annotations

import time
from pathlib import Path

import islpy as isl
import pytest

import polyad
from polyad.api import check, generate_c
from polyad.bounds import in_child

KERNEL = Path(__file__).resolve().parents[1] / "kernels" / "isl_order_wins.c"
#: Far longer than any bound here: a computation that does not end.
FOREVER = 3600


def test_the_childs_text_arrives_whole():
    """More than a pipe's buffer (64 KiB), so the parent must read while
    the child writes."""
    text = "".join(f"{i:08d}\n" for i in range(50_000))
    assert in_child(lambda: text, 30.0) == text


def test_a_computation_that_never_ends_is_killed():
    started = time.monotonic()
    assert in_child(lambda: time.sleep(FOREVER) or "never", 0.5) is None
    # Termination, not speed: far below FOREVER, with room for a loaded machine.
    assert time.monotonic() - started < 60


def test_a_computation_that_fails_gives_none():
    def fail():
        raise isl.Error("no schedule")
    assert in_child(fail, 30.0) is None


def test_a_computation_that_needs_too_much_memory_gives_none():
    assert in_child(lambda: str(len(bytearray(8 << 30))), 30.0) is None


def test_isls_answer_survives_iterators_isl_reads_as_its_own_words(monkeypatch):
    """The child sends isl's maps back as text; an iterator named ``floord``
    (isl's parser takes it for its function) must not break the trip."""
    adjoint = polyad.grad(polyad.parse(str(KERNEL.with_name("empty_copy_layers_auto.c"))))
    codes = []
    for limit in ("0", "30"):
        monkeypatch.setenv("POLYAD_SCHEDULER_TIME_LIMIT", limit)
        codes.append(generate_c(adjoint, adjoint.schedule().auto()))
    assert codes[0] == codes[1]


def test_auto_takes_isls_order_through_the_child(monkeypatch):
    """The kernel is one of the few where isl's order wins: in the child, in
    process and without the scheduler, auto's code differs only in that."""
    adjoint = polyad.grad(polyad.parse(str(KERNEL)))

    def auto_code(limit: str) -> str:
        monkeypatch.setenv("POLYAD_SCHEDULER_TIME_LIMIT", limit)
        return generate_c(adjoint, adjoint.schedule().auto())
    in_process, in_child_process, without = auto_code("0"), auto_code("30"), auto_code("1e-9")
    assert in_child_process == in_process != without


def test_a_scheduler_that_never_ends_leaves_auto_the_plain_reversal(monkeypatch):
    def never_ends(self):
        time.sleep(FOREVER)
    monkeypatch.setattr(isl.ScheduleConstraints, "compute_schedule", never_ends)
    monkeypatch.setenv("POLYAD_SCHEDULER_TIME_LIMIT", "1")
    kernel = polyad.parse(str(KERNEL))
    adjoint = polyad.grad(kernel)
    plain = generate_c(adjoint, adjoint.schedule().auto())
    monkeypatch.setenv("POLYAD_SCHEDULER_TIME_LIMIT", "1e-9")
    assert plain == generate_c(adjoint, adjoint.schedule().auto())
    result = check(kernel, {"n": 6}, schedule="auto")
    assert all(c["ok"] for c in result["checks"]), result["checks"]


@pytest.mark.parametrize("text", ["-1", "soon"])
def test_a_bad_limit_is_a_usage_error(monkeypatch, text):
    monkeypatch.setenv("POLYAD_SCHEDULER_TIME_LIMIT", text)
    adjoint = polyad.grad(polyad.parse(str(KERNEL)))
    with pytest.raises(polyad.UsageError, match="POLYAD_SCHEDULER_TIME_LIMIT"):
        adjoint.schedule().auto()
