"""A schedule step checks only the dependences of the instructions it
moves (the rest were checked when the schedule was built): these tests hold
that shortcut to the full check. Oracle: ``check_order`` without what the
schedule knows, every dependence checked again."""

from __future__ import annotations

import json

import pytest

import polyad
from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.schedule import schedule as schedule_module
from polyad.schedule.schedule import Schedule
from polyad.schedule.trace import Step
from polyad.schedule.legality import check_order
from tests.conftest import example


def _outcome(call) -> str:
    try:
        call()
        return "kept"
    except ScheduleError as error:
        return str(error)


@pytest.mark.parametrize("name", ["symm", "adi", "cholesky", "rnn"])
def test_every_check_auto_makes_agrees_with_the_full_check(name, monkeypatch):
    """Each order auto tries (kept or refused) gets the verdict the check of
    every dependence gives it."""
    calls = []

    def recording(program, dependences, reassociate, maps, primitive, kept=({}, False)):
        verdict = _outcome(lambda: check_order(program, dependences, reassociate, maps,
                                               primitive, kept))
        calls.append((verdict, _outcome(lambda: check_order(program, dependences, reassociate,
                                                            maps, primitive))))
        return check_order(program, dependences, reassociate, maps, primitive, kept)
    monkeypatch.setattr(schedule_module, "check_order", recording)
    polyad.grad(example(name)).schedule().auto()
    assert len(calls) > 10
    assert any(verdict != "kept" for verdict, _ in calls)  # auto tries illegal orders too
    assert [verdict for verdict, _ in calls] == [full for _, full in calls]


def test_a_step_moving_one_instruction_is_checked_against_those_left_in_place():
    kernel = polyad.parse("void k(int n, double x[n], double y[n], double z[n]) {\n"
                          "for (int i = 0; i < n; i++) x[i] = 2.0 * y[i];\n"
                          "for (int i = 0; i < n; i++) z[i] = x[i] + 1.0;\n}")
    schedule = polyad.api.schedule(kernel)
    fused = schedule.fuse("S0.i", "S1.i")  # moves both; keeps x[i] before its read
    with pytest.raises(ScheduleError, match="would violate a dependence"):
        fused.distribute("S0.i", last="S0")  # S1 stays, S0 after it: its read too early


def test_a_trace_forbidding_reassociation_checks_increments_an_earlier_step_reordered():
    """A base reordered under reassociation, then a trace with
    ``reassociate: false`` and an order that moves nothing: the increments
    the base reordered are checked again, and refused."""
    adjoint = polyad.grad(example("gemm"))
    swap = (["S1_b.k", "S1_b.j"], ["S1_b.j", "S1_b.k"])
    with pytest.raises(ScheduleError):
        adjoint.schedule(reassociate=False).interchange(*swap)
    base = adjoint.schedule().interchange(*swap)
    trace = json.loads(adjoint.schedule().to_json())
    trace["reassociate"] = False
    strict = Schedule.replay(base, json.dumps(trace))
    with pytest.raises(ScheduleError, match="would violate a dependence"):
        strict.with_order(maps_of(base.flat), Step("reorder", ()))
