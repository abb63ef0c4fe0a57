"""The nonlinear time-stepping examples of issue 13 (burgers_1d,
reaction_diffusion_2d, neural_ode) in every checkpointed form.

Oracles: every oracle of polyad check (polyad.check.verify): the original C
compiled by the system compiler (primal outputs bit for bit), the plain
reverse-mode interpreter, central finite differences of the original C and
the dot-product test against the generated tangent.
"""

from __future__ import annotations

import pytest

import polyad
from polyad.check import verify
from tests.conftest import example

TIME_STEPPING = ("burgers_1d", "reaction_diffusion_2d", "neural_ode")
ALL_ORACLES = {"primal vs original C (bitwise)", "reverse-mode interpreter",
               "dot product <w, J v> = <J^T w, v>", "central finite differences"}


def _ok(result: dict, oracles=ALL_ORACLES) -> None:
    assert result["verdict"] == "ok", result
    assert {c["oracle"] for c in result["checks"]} >= oracles
    assert all(c["ok"] for c in result["checks"]), result["checks"]


@pytest.mark.parametrize("layout, options", [
    pytest.param("exact", {}, marks=pytest.mark.slow),
    pytest.param("checkpoint", {"every": 2}, marks=pytest.mark.slow),
    ("checkpoint", {"snapshots": 2})])
@pytest.mark.parametrize("name", TIME_STEPPING)
def test_time_stepping_example_passes_check(name, layout, options):
    """Exact tape, equidistant snapshots every 2 steps and binomial
    checkpointing with 2 slots, at the small sizes: all four oracles."""
    kernel = example(name)
    _ok(verify.check_gradient(kernel, kernel.sizes("small"), layout=layout, **options))


#: Small sizes with enough steps and state that one binomial slot and its
#: action table (16 bytes an action, about 4 per step) take less than a
#: snapshot every step.
#: Enough steps, too, that equidistant segments take less than the exact
#: tape, whose records the reads share (polyad.tape.sharing).
BUDGET_SIZES = {"burgers_1d": {"tsteps": 20, "n": 40},
                "reaction_diffusion_2d": {"tsteps": 30, "n": 8},
                "neural_ode": {"nt": 40, "nh": 16}}


@pytest.mark.parametrize("name", TIME_STEPPING)
def test_time_stepping_example_under_budgets_from_the_minimum_up(name):
    """From the smallest budget that works (binomial checkpointing with one
    slot) through equidistant segments to the exact tape and no budget: the
    plan fits and the gradient agrees with the primal and the interpreter."""
    from polyad.program.budget import (binomial_cost, binomial_costs, checkpoint_costs,
                                       plan_memory)
    from polyad.tape.snapshots import snapshot_state
    kernel = example(name)
    sizes = BUDGET_SIZES[name]
    adjoint = polyad.grad(kernel)
    state = snapshot_state(kernel)
    smallest = binomial_cost(binomial_costs(adjoint, state, sizes), state, sizes, 1)
    equidistant = min(checkpoint_costs(adjoint, state, sizes).values())
    exact = plan_memory(adjoint, 10**12, sizes).exact_bytes
    assert smallest < equidistant < exact
    layouts = set()
    for budget in (smallest, equidistant, exact, None):
        result = verify.check_gradient(kernel, sizes, memory_budget=budget,
                                       oracles=("primal", "interpreter"))
        _ok(result, {"primal vs original C (bitwise)", "reverse-mode interpreter"})
        layouts.add((result["layout"], result["checkpoint_every"] is not None,
                     result["checkpoint_snapshots"] is not None))
    assert layouts == {("checkpoint", False, True), ("checkpoint", True, False),
                       ("exact", False, False)}


@pytest.mark.parametrize("name", TIME_STEPPING)
def test_the_large_preset_has_an_exact_tape_of_100_mb_at_least(name):
    """The large sizes are where checkpointing matters: the exact tape of
    steps times state is 100 MB or more (counted by the tape plan)."""
    kernel = example(name)
    assert polyad.grad(kernel).tape.bytes(kernel.sizes("large")) >= 100 * 10**6
