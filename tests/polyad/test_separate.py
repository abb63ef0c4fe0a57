"""Schedule.separate: a loop distributed by its dependences (Allen and
Kennedy), and what it lets auto do: an rnn's input products leave the time
loop that carries the recurrence and become BLAS calls in both sweeps.

Oracles: for gradients, polyad check's (the original C for the primal, the
reverse-mode interpreter, the dot-product test, finite differences of the
original C); for the order, the loops the schedule reports (which
instructions each loop holds, outermost and first first) against the
dependences read off rnn.c by hand.
"""

from __future__ import annotations

import pytest

import polyad
from polyad.check import verify
from polyad.errors import ScheduleError
from polyad.schedule.schedule import Schedule
from tests.conftest import example

SIZES = {"nt": 3, "nh": 5, "nx": 4}


def _all_ok(result: dict) -> None:
    assert {c["oracle"].split(" (")[0] for c in result["checks"]} >= {
        "primal vs original C", "reverse-mode interpreter",
        "dot product <w, J v> = <J^T w, v>", "central finite differences"}, result["checks"]
    assert result["verdict"] == "ok", result["checks"]


def _expanded(schedule: Schedule) -> Schedule:
    """rnn's s as s[t][j], its j loop distributed: the time loop's body is
    S0 (s = b), S1 (s += Wh h[t]), S2 (s += Wx x[t]), S3 (h[t + 1] = tanh s)."""
    return schedule.expand("s", 2).distribute("S3.j")


def _time_loops(schedule: Schedule, sweep: str) -> list[set[str]]:
    return [set(r.instructions) for r in schedule.loops()
            if r.sweep == sweep and r.loop.iterator == "t"]


def test_separate_moves_what_only_feeds_the_recurrence_out_of_it():
    """By hand: S3 at t writes h[t + 1], which S1 reads at t + 1, and S1
    feeds S3 at t: {S1, S3} is the recurrence. S0 must run before the
    increments, S2 before S3 (it commutes with S1: reassociation); so the
    order is S0, S2, {S1, S3}, where distribute (body order) must refuse.
    (Nothing is recorded: tanh's partial reads h[t + 1][j].)"""
    schedule = _expanded(polyad.grad(example("rnn")).schedule())
    with pytest.raises(ScheduleError, match="violate a dependence"):
        schedule.distribute("S3.t")
    separated = schedule.separate("S3.t")
    assert _time_loops(separated, "forward") == [{"S0"}, {"S2"}, {"S1", "S3"}]
    assert separated.trace[-1].primitive == "separate"
    replayed = Schedule.replay(polyad.grad(example("rnn")).schedule(), separated.to_json())
    assert replayed.flat.is_equal(separated.flat)
    _all_ok(verify.check_gradient(example("rnn"), SIZES,
                                  schedule=lambda s: _expanded(s).separate("S3.t")))


def test_separate_refuses_a_body_that_is_one_recurrence():
    """The recurrence left alone in its loop has nothing to separate."""
    separated = _expanded(polyad.grad(example("rnn")).schedule()).separate("S3.t")
    with pytest.raises(ScheduleError, match="one strongly connected component"):
        separated.separate("S1.t")


def test_auto_makes_rnn_input_products_blas_calls():
    """auto expands s and s_b, separates both time loops and calls gemm for
    the products that do not feed the recurrence: Wx x in the forward sweep,
    Wx_b, x_b and Wh_b in the reverse one (each over every step at once)."""
    auto = polyad.grad(example("rnn")).schedule().auto()
    calls = sorted(str(call) for _, call, _ in auto.library_calls())
    assert calls == ["gemm Wh_b += s_b^T * h", "gemm Wx_b += s_b^T * x",
                     "gemm s += x * Wx^T", "gemm x_b += s_b * Wx"]
    _all_ok(verify.check_gradient(example("rnn"), SIZES, schedule="auto"))
