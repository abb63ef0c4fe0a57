"""Every loop a schedule reports goes by a handle that names that loop.

An instruction split into pieces (an adjoint's last step guarded apart)
may run its pieces in different loops; the family's handle then names the
first of them, and a report of another by it made auto mark the wrong loop
(neural_ode's reverse tanh loop inside the time loop stayed scalar). Oracle:
the schedule's own resolution of a handle (the loop's dimension and the
instructions there), against where the report found the loop.
"""

from __future__ import annotations

import islpy as isl
import pytest

import polyad
from polyad.program.targets import load_schedule
from polyad.schedule.loops import resolve
from polyad.schedule.marks import Simd
from tests.conftest import example, sampled


def _misnamed(schedule) -> list[str]:
    """The reports whose handle resolves to another loop."""
    wrong = []
    for report in schedule.loops():
        m, position = resolve(schedule.program, schedule.flat, report.loop)
        if position != report.depth \
                or m.get_tuple_name(isl.dim_type.in_) not in report.instructions:
            wrong.append(f"{report.loop} at depth {report.depth}")
    return wrong


@pytest.mark.parametrize("name", sampled(["neural_ode", "gemm", "lu", "adi", "softmax",
                                          "durbin", "jacobi_2d", "rnn"]))
def test_reported_handles_name_their_own_loops(name):
    adjoint = polyad.grad(example(name))
    for schedule in (adjoint.schedule(), load_schedule(adjoint, "auto")):
        assert _misnamed(schedule) == []


def test_auto_vectorises_each_piece_of_neural_odes_tanh_adjoint():
    """Both loops of the adjoint of h[j] += DT * tanh(s[j]) (the last step,
    and every other step inside the time loop) are independent innermost
    loops over j: auto makes the one inside the time loop simd with vector
    tanh (on the code before, it stayed scalar)."""
    schedule = load_schedule(polyad.grad(example("neural_ode")), "auto")
    inside = [r for r in schedule.loops() if r.sweep == "reverse"
              and r.instructions == ("S2_b0",)]
    assert len(inside) == 1
    assert any(isinstance(mark, Simd) and mark.vector_math == ("tanh",)
               for mark in inside[0].annotations)
