"""Checkpointing time loops (issue 13).

Footprints: the snapshot state of a time loop, computed by isl from the
model (polyad.tape.snapshots), against the state derived by hand from each
kernel's C text (the oracle: which elements a step reads that an earlier
step wrote and a later one overwrites).
"""

from __future__ import annotations

import islpy as isl
import pytest

import polyad
from polyad.check import verify
from polyad.tape.snapshots import snapshot_state, time_loops
from tests.conftest import EXAMPLES, ROOT, example


def _heat2d() -> polyad.Kernel:
    return polyad.parse(str(ROOT / "tests" / "kernels" / "heat2d.c"))


def test_jacobi_1d_snapshot_is_the_interior_of_A():
    """jacobi_1d: B is written before it is read in every step, A[0] and
    A[n-1] are never written: a rerun from step s needs A[1..n-2] only."""
    state = snapshot_state(example("jacobi_1d"))
    assert state.loop.iterator == "t" and state.loop.statements == ("S0", "S1")
    assert [name for name, _ in state.state] == ["A"]
    expected = isl.Map("[tsteps, n] -> { [t] -> A[i] : 0 <= t < tsteps and 1 <= i <= n - 2 }")
    assert state.elements("A").is_equal(expected)
    # Restored on return: everything the loop writes, A's and B's interiors.
    assert dict(state.written)["B"].is_equal(
        isl.Set("[tsteps, n] -> { B[i] : tsteps > 0 and 1 <= i <= n - 2 }"))


def test_heat2d_snapshot_is_the_interior_of_u():
    """heat2d: v is a scratch buffer each step writes before reading; the
    snapshot is u's interior, (n-2)^2 doubles."""
    kernel = _heat2d()
    state = snapshot_state(kernel)
    assert [name for name, _ in state.state] == ["u"]
    expected = isl.Map("[tsteps, n] -> { [t] -> u[i, j] : 0 <= t < tsteps and "
                       "1 <= i <= n - 2 and 1 <= j <= n - 2 }")
    assert state.elements("u").is_equal(expected)
    assert state.bytes(kernel, {"tsteps": 5, "n": 10}) == 8 * 8 * 8


def test_adi_snapshot_is_u_with_its_boundary_columns():
    """adi: the column sweep reads u[j][i - 1 .. i + 1] for 1 <= j, i <= n-2,
    so u[1..n-2][0..n-1], which the row sweep rewrites (its boundary columns
    too: u[i][0] = u[i][n-1] = 1); v, p, q and the scalars are written in a
    step before they are read, or only before the loop."""
    kernel = example("adi")
    state = snapshot_state(kernel)
    assert state.loop.iterator == "t" and state.loop.prefix == (13,)
    assert [name for name, _ in state.state] == ["u"]
    expected = isl.Map("[tsteps, n] -> { [t] -> u[i, j] : 1 <= t <= tsteps and "
                       "1 <= i <= n - 2 and 0 <= j <= n - 1 }")
    assert state.elements("u").is_equal(expected)
    assert "u[1..n - 2][0..n - 1]" in state.explain(kernel, {"tsteps": 3, "n": 8})


def test_a_row_sweep_in_place_needs_the_rows_still_to_come():
    """An outer loop over rows (gemm's i) is a sweep in place: rerunning
    from row s needs the rows s.. of C as they were on entry, parametric in
    the step."""
    state = snapshot_state(example("gemm"))
    expected = isl.Map("[ni, nj, nk] -> { [i] -> C[r, c] : 0 <= i <= r < ni and 0 <= c < nj }")
    assert state.elements("C").is_equal(expected)


def test_no_snapshot_where_no_step_overwrites_what_a_later_one_reads():
    """rnn writes a new row h[t] each step: nothing to restore, no state."""
    kernel = example("rnn")
    assert time_loops(kernel)
    assert snapshot_state(kernel) is None


def test_show_tape_prints_the_snapshot_state(capsys):
    """polyad show --tape names the loop, the elements and the bytes."""
    from polyad.cli import main
    assert main(["show", "--tape", str(ROOT / "examples" / "jacobi_1d.c")]) == 0
    out = capsys.readouterr().out
    assert "checkpoint state of the t loop (line 13, 3 steps): A[1..n - 2], 80 bytes " \
           "per snapshot at tsteps=3 n=12" in out


# --- the checkpointed gradient -----------------------------------------------
# Oracles: every oracle of polyad check (polyad.check.verify): the original C
# compiled by the system compiler (primal outputs bit for bit), the plain
# reverse-mode interpreter, central finite differences of the original C and
# the dot-product test against the generated tangent.

def _all_ok(result: dict) -> None:
    assert result["verdict"] == "ok", result
    assert {c["oracle"] for c in result["checks"]} >= {
        "primal vs original C (bitwise)", "reverse-mode interpreter",
        "dot product <w, J v> = <J^T w, v>", "central finite differences"}
    assert all(c["ok"] for c in result["checks"]), result["checks"]


@pytest.mark.parametrize("steps, every", [
    (1, 1), pytest.param(2, 1, marks=pytest.mark.slow), pytest.param(7, 1, marks=pytest.mark.slow),
    (7, 3), (7, 7)])
def test_heat2d_checkpointed_gradient(steps, every):
    """heat2d (r differentiated, a nonlinear tape) at one step, two, a prime
    number of steps; a snapshot every step (T snapshots), every 3 steps and
    one snapshot for all (every = T)."""
    from polyad.check import verify
    result = verify.check_gradient(_heat2d(), {"tsteps": steps, "n": 7},
                                   layout="checkpoint", every=every)
    assert result["layout"] == "checkpoint" and result["checkpoint_every"] == every
    _all_ok(result)


@pytest.mark.parametrize("name, sizes, every", [
    pytest.param("adi", {"tsteps": 1, "n": 6}, 1, marks=pytest.mark.slow),
    ("adi", {"tsteps": 5, "n": 6}, 2), ("jacobi_1d", {"tsteps": 5, "n": 9}, 2),
    ("gemm", {"ni": 5, "nj": 4, "nk": 3}, 2), ("floyd_warshall", {"n": 5}, 2),
    pytest.param("fdtd_2d", {"tmax": 5, "nx": 5, "ny": 6}, 3, marks=pytest.mark.slow),
    pytest.param("seidel_2d", {"tsteps": 3, "n": 6}, 2, marks=pytest.mark.slow)])
def test_checkpointed_gradients_of_time_loops_and_row_sweeps(name, sizes, every):
    """adi (two sweeps a step, the loop after 13 scalar statements), jacobi_1d,
    gemm's row sweep in place, floyd-warshall (recorded comparison outcomes
    in the segments), fdtd-2d (three fields), seidel-2d (in place)."""
    from polyad.check import verify
    _all_ok(verify.check_gradient(example(name), sizes, layout="checkpoint", every=every))


def test_the_forward_sweep_records_no_step_and_a_segment_holds_its_tape():
    """The checkpointed program's tapes hold one segment of steps; the
    forward sweep has no record for the loop's steps (the reruns do)."""
    from polyad.program.budget import allocated_tape_bytes
    from polyad.program.targets import program_of
    kernel, sizes = _heat2d(), {"tsteps": 9, "n": 8}
    # The exact tape as the checkpoint layout plans it (its records shared
    # within a step only, polyad.tape.sharing), which it shortens to a segment.
    exact = program_of(polyad.grad(kernel).in_steps())
    checkpointed = program_of(polyad.grad(kernel).with_layout("checkpoint", sizes=sizes,
                                                               every=3))
    tapes = [b for b in checkpointed.buffers if b.name.startswith("tape_")]
    assert tapes and all("one segment of 3 steps" in b.purpose for b in tapes)
    exact_tape = allocated_tape_bytes(exact, sizes)
    # 3 of 9 steps (8 of them for the second statement's tape), 3 snapshots of
    # u's interior, the final u and v.
    assert allocated_tape_bytes(checkpointed, sizes) < exact_tape / 2


# --- the memory budget ---------------------------------------------------------

def test_planned_bytes_stay_under_every_budget_and_are_what_is_allocated():
    """From the smallest budget that works up to the exact tape's, the plan
    fits the budget, and its bytes are the bytes the program allocates (its
    tape, snapshot and final-value buffers at the sizes); the exact tape
    fits from its own size on. Oracle for the gradients: the interpreter."""
    from polyad.program.budget import allocated_tape_bytes, checkpoint_costs, plan_memory
    from polyad.program.targets import program_of
    from polyad.check import verify
    kernel, sizes = _heat2d(), {"tsteps": 20, "n": 10}
    adjoint = polyad.grad(kernel)
    costs = checkpoint_costs(adjoint, snapshot_state(kernel), sizes)
    smallest = min(costs.values())
    exact = allocated_tape_bytes(program_of(adjoint), sizes)
    seen = set()
    for budget in sorted({smallest, (smallest + exact) // 2, exact - 1, exact}):
        plan = plan_memory(adjoint, budget, sizes)
        budgeted = adjoint.with_memory_budget(budget, sizes)
        assert plan.bytes <= budget
        assert allocated_tape_bytes(program_of(budgeted), sizes) == plan.bytes
        assert (plan.layout == "exact") == (budget >= exact)
        seen.add((plan.layout, plan.every))
        if budget in (smallest, exact):
            result = verify.check_gradient(kernel, sizes, memory_budget=budget,
                                           oracles=("interpreter",))
            assert result["verdict"] == "ok" and result["layout"] == plan.layout
    assert ("checkpoint", min(costs, key=costs.get)) in seen and ("exact", None) in seen
    assert len(seen) >= 3


def test_the_api_takes_a_budget_in_bytes_or_with_a_unit():
    """polyad.grad(kernel, memory_budget="12KiB", sizes=...) picks the layout."""
    kernel = _heat2d()
    adjoint = polyad.grad(kernel, memory_budget="12KiB", sizes={"tsteps": 20, "n": 10})
    assert (adjoint.layout, adjoint.checkpoint_every, adjoint.memory_budget) == \
        ("checkpoint", 2, 12 * 1024)
    assert polyad.grad(kernel, memory_budget=10**6, sizes={"tsteps": 20, "n": 10}).layout \
        == "exact"


def test_an_impossible_budget_is_refused_naming_the_smallest_that_works(capsys):
    """Below every plan: a usage error (exit 2 from the CLI) naming the
    smallest budget that works at the sizes, and that budget works."""
    from polyad.cli import main
    from polyad.errors import UsageError
    kernel, sizes = _heat2d(), {"tsteps": 7, "n": 10}
    with pytest.raises(UsageError, match="the smallest that works is 4832 bytes"):
        polyad.grad(kernel, memory_budget=4831, sizes=sizes)
    assert polyad.grad(kernel, memory_budget=4832, sizes=sizes).checkpoint_snapshots == 1
    path = str(ROOT / "tests" / "kernels" / "heat2d.c")
    for command in (["check", path], ["show", "--tape", path], ["bench", path]):
        assert main([*command, "-D", "tsteps=7", "--memory-budget", "4KB"]) == 2
        err = capsys.readouterr().err
        assert "no plan of heat2d's gradient fits a memory budget of 4000 bytes" in err
        assert "smallest that works is 4832 bytes" in err and "Traceback" not in err
    assert main(["check", path, "--memory-budget", "1MiB", "--layout", "exact"]) == 2
    assert "--memory-budget chooses the layout" in capsys.readouterr().err


def test_a_kernel_without_state_to_snapshot_keeps_the_exact_program():
    """rnn has no state to snapshot: its checkpoint layout is the exact one
    (the same instructions and buffers), and so is its plan under a budget
    (it records nothing: any budget fits). softmax's refusal of a budget
    below every plan names its exact tape as the smallest that works."""
    from polyad.errors import UsageError
    from polyad.program.targets import program_of
    adjoint = polyad.grad(example("rnn"))
    exact, checkpointed = program_of(adjoint), program_of(adjoint.with_layout("checkpoint"))
    assert [i.name for i in exact.instructions] == [i.name for i in checkpointed.instructions]
    assert [b.name for b in exact.buffers] == [b.name for b in checkpointed.buffers]
    assert adjoint.with_memory_budget(1).layout == "exact"
    with pytest.raises(UsageError, match="the exact tape"):
        polyad.grad(example("softmax")).with_memory_budget(1)


def test_a_rescheduled_reverse_sweep_is_refused_by_the_checkpoint_layout():
    """The reruns follow the exact reverse order: a schedule trace is refused."""
    from polyad.errors import UsageError
    from polyad.program.targets import program_of
    adjoint = polyad.grad(_heat2d()).with_layout("checkpoint", every=1)
    schedule = adjoint.schedule().tile(["S0_b.t"], [2])
    with pytest.raises(UsageError, match="exact reverse order only"):
        program_of(adjoint, schedule)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_checkpointed_every_two_steps(name):
    """Every example whose outermost loop overwrites state (time loops and
    row sweeps: 26 of 33), checkpointed every 2 steps at its small size.
    Oracles: the original C (primal bitwise) and the interpreter."""
    from polyad.check import verify
    kernel = example(name)
    if snapshot_state(kernel) is None:
        pytest.skip("no state to snapshot: the checkpoint layout is the exact one")
    result = verify.check_gradient(kernel, kernel.sizes(), layout="checkpoint", every=2,
                                   oracles=("primal", "interpreter"))
    assert result["verdict"] == "ok", result["checks"]


@pytest.mark.parametrize("n, every", [(4, 1), (5, 2), (6, 1)])
def test_a_step_split_off_by_its_tape_stays_in_its_segment(n, every):
    """Found by the random-kernel tests in the checkpoint layout; every
    oracle of polyad check (wrong before: interpreter rel. err 0.09)."""
    kernel = polyad.parse(str(ROOT / "tests" / "kernels" / "checkpoint_split_step.c"))
    result = verify.check_gradient(kernel, {"n": n}, layout="checkpoint", every=every)
    assert result["verdict"] == "ok", result["checks"]
