"""Scalar expansion (Schedule.expand, polyad.program.expansion) and what it
lets auto do: gesummv's and bicg's reset accumulators become vectors, and
their products BLAS calls in both sweeps.

Oracles: for gradients, polyad check's (the reverse-mode interpreter, the
dot-product test, finite differences of the original C, the original C for
the forward sweep: bitwise where nothing is reassociated); for the rewrite,
the typed program (buffer extents, access relations as isl maps); for
refusals, the dataflow of the kernel as a reader sees it.
"""

from __future__ import annotations

import islpy as isl
import pytest

import polyad
from polyad.check import verify
from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.program.expansion import expandable_scalars, expanded
from polyad.program.ir import primal_program
from polyad.program.library import Gemv, Ger
from polyad.program.targets import load_schedule
from polyad.schedule.schedule import Schedule
from tests.conftest import example

#: s carries a value from one i to the next (a recurrence): no expansion over i.
CARRIED = """void carried(int n, double x[n], double y[n]) {
  double s;
  for (int i = 0; i < 1; i++)
    s = 0.0;
  for (int i = 0; i < n; i++) {
    s = 0.5 * s + x[i];
    y[i] = s * s;
  }
}
"""


def _all_oracles(kernel, sizes, schedule) -> dict:
    return verify.check_gradient(kernel, sizes, schedule=schedule,
                                 oracles=("primal", "interpreter", "dot", "fd"))


def test_expansion_gives_one_element_per_iteration():
    """The typed program: ax becomes ax[n], each reference indexes it by i."""
    program = expanded(primal_program(example("gesummv")), "ax", 1)
    buffer = program.buffer("ax")
    assert len(buffer.extents) == 1
    assert buffer.extents[0].is_equal(isl.PwAff("[n] -> { [(n)] : n > 0 }"))
    relation = program.instruction("S2").references
    ax = next(r.relation for r in relation.values() if r.buffer == "ax")
    assert ax.is_equal(isl.Map("[n] -> { S2[i, j] -> ax[i] : 0 <= i < n and 0 <= j < n }"))


def test_a_carried_scalar_is_not_expanded():
    """Dataflow: y[i] reads s of iteration i - 1, which ax[i] would lose."""
    program = primal_program(polyad.parse(CARRIED))
    assert expandable_scalars(program) == ["s"]
    with pytest.raises(ScheduleError, match="carries a value"):
        expanded(program, "s", 1)


def test_expansion_deeper_than_a_user_is_refused():
    program = primal_program(example("gesummv"))
    with pytest.raises(ScheduleError, match="used outside 2 loops"):
        expanded(program, "ax", 2)
    with pytest.raises(ScheduleError, match="not a scalar local"):
        expanded(program, "A", 1)


def test_expanded_zeroed_adjoints_keep_the_gradient_bitwise():
    """Oracles: all four; the adjoint accumulators ax_b and bx_b are reset
    to 0 at the end of each reverse iteration and start zeroed: an expanded
    one reads its zero initial value where the scalar read the reset's. No
    reassociation, so the forward sweep stays bitwise the original C's."""
    def schedule(base: Schedule) -> Schedule:
        for buffer in ("ax", "bx", "ax_b", "bx_b"):
            base = base.expand(buffer, 1)
        return base
    for sizes in ({"n": 5}, {"n": 1}):
        result = _all_oracles(example("gesummv"), sizes, schedule)
        assert result["verdict"] == "ok", result["checks"]


@pytest.mark.parametrize("name,sizes", [("gesummv", {"n": 5}), ("gesummv", {"n": 1})])
def test_auto_calls_blas_after_expanding_in_both_sweeps(name, sizes):
    """Oracles: all four (the forward sweep within BLAS's rounding). On the
    code before expansion auto made no call for gesummv. (bicg's products
    share their matrix in one loop, so auto keeps them loops: test_blas.)"""
    kernel = example(name)
    chosen = load_schedule(polyad.grad(kernel), "auto")
    calls = [(call, sweep) for _, call, sweep in chosen.library_calls()]
    assert {sweep for _, sweep in calls} == {"forward", "reverse"}
    assert len(calls) == 6
    if name == "gesummv":
        assert sum(isinstance(c, Gemv) for c, _ in calls) == 4
        assert sum(isinstance(c, Ger) for c, _ in calls) == 2
        assert any(s.primitive == "expand" for s in chosen.trace)
    result = _all_oracles(kernel, sizes, "auto")
    assert result["verdict"] == "ok", result["checks"]


def test_an_expanding_trace_replays_to_the_same_program():
    """Replay: the saved auto trace holds its expand steps and rebuilds the
    same scheduled program (fingerprint of its buffers and instructions)."""
    from polyad.program.ir import fingerprint
    adjoint = polyad.grad(example("gesummv"))
    chosen = load_schedule(adjoint, "auto")
    replayed = Schedule.replay(adjoint.schedule(), chosen.to_json())
    assert fingerprint(replayed.scheduled_program()) == fingerprint(chosen.scheduled_program())
    assert replayed.program.buffer("ax_b").extents


def test_auto_without_blas_does_not_expand():
    """Expansion costs memory; kept only when it buys library calls."""
    chosen = load_schedule(polyad.grad(example("gesummv")), "auto", blas=False)
    assert not any(s.primitive == "expand" for s in chosen.trace)
    assert not chosen.program.buffer("ax").extents


@pytest.mark.parametrize("sizes", [{"m": 5, "n": 3}, {"m": 1, "n": 2}, {"m": 4, "n": 1}])
def test_symm_runs_as_triangular_calls_in_both_sweeps(sizes):
    """Oracles: all four. symm's acc[i][j] (expanded over i and j) is
    tril(A) * B; its update of the rows above i runs after the rows'
    scaling in the forward sweep (the i loop separated by its dependences,
    or distribute(last=...)) and first in the reverse. On the code before:
    no call at all."""
    kernel = example("symm")
    chosen = load_schedule(polyad.grad(kernel), "auto")
    calls = chosen.library_calls()
    assert len(calls) == 7
    assert {sweep for _, _, sweep in calls} == {"forward", "reverse"}
    steps = [dict(s.arguments) for s in chosen.trace if s.primitive == "distribute"]
    assert any("first" in s for s in steps)
    assert any("last" in s for s in steps) or any(s.primitive == "separate"
                                                  for s in chosen.trace)
    result = _all_oracles(kernel, sizes, "auto")
    assert result["verdict"] == "ok", result["checks"]


def test_distribute_places_a_part_last_only_where_legal():
    """The dependences of the kernels: S and T independent in one i loop,
    S may run after every T; where T reads what S writes at the same i, S
    may not, nor T before every S; a name outside the loop is refused."""
    free = Schedule.of(primal_program(polyad.parse(
        """void st(int n, double x[n], double y[n], double z[n]) {
  for (int i = 0; i < n; i++) { y[i] = x[i] * x[i]; z[i] = x[i] + 1.0; }
}""")))
    moved = free.distribute("S0.i", last="S0")
    assert [dict(s.arguments) for s in moved.trace] == [{"loop": "S0.i", "last": "S0"}]
    times = {m.get_tuple_name(isl.dim_type.in_): m.range() for m in maps_of(moved.flat)}
    every_pair = isl.Map.from_domain_and_range(times["S1"], times["S0"])
    assert times["S1"].lex_lt_set(times["S0"]).is_equal(every_pair)   # every T before every S
    assert Schedule.replay(free, moved.to_json()).flat.is_equal(moved.flat)
    tied = Schedule.of(primal_program(polyad.parse(
        """void st(int n, double x[n], double y[n], double z[n]) {
  for (int i = 0; i < n; i++) { y[i] = x[i] * x[i]; z[i] = y[i] + 1.0; }
}""")))
    with pytest.raises(ScheduleError, match="violate a dependence"):
        tied.distribute("S0.i", last="S0")
    with pytest.raises(ScheduleError, match="violate a dependence"):
        tied.distribute("S0.i", first="S1")
    with pytest.raises(ScheduleError, match="not in the body"):
        tied.distribute("S0.i", last="S7")
