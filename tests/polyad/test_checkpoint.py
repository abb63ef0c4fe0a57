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
from polyad.tape.snapshots import snapshot_state, time_loops
from tests.conftest import ROOT, example


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
