"""One record of a value shared by the reads that need it (polyad.tape.sharing).

Oracles: counting by hand (the values a stencil's writer writes and its
readers need), and polyad check's oracles (polyad.check.verify: the
original C compiled by the system compiler, the plain reverse-mode
interpreter, central finite differences, the dot-product test) for the
gradients computed from shared records in every layout.
"""

from __future__ import annotations

import islpy as isl
import pytest

import polyad
from polyad.check import verify
from polyad.tape.plan import count_points
from polyad.tape.sharing import dimension
from tests.conftest import assert_gradient_ok, example

HEAT2D = "tests/kernels/heat2d.c"


def test_heat2d_records_each_written_value_once():
    """By hand: S0 (v = stencil of u) reads u at five points, S1 (u =
    stencil of v) v at five. What S1 writes in every step but the last is
    read by the next step's S0: (T - 1)(n - 2)^2 values; what S0 writes in
    every step but the last, (T - 1)(n - 2)^2; and the first step reads u's
    interior as it was on entry, (n - 2)^2. One record each, whichever of
    the five reads needs a value, where each read recorded its own before
    (ten reads)."""
    kernel = polyad.parse(HEAT2D)
    plan = polyad.grad(kernel).tape
    T, n = 50, 200
    sizes = {"tsteps": T, "n": n}
    assert plan.values(sizes) == (2 * (T - 1) + 1) * (n - 2) ** 2
    assert plan.bytes(sizes) == 8 * 99 * 198 ** 2
    records = {entry.record for entry in plan.entries}
    assert len(records) == 3 and all(key.reader is None for key in records)
    assert plan.reads() == 10
    explained = " ".join(plan.explain(kernel))
    assert "5 reads (S0's u[i][j] at line 11" in explained
    assert "S1 records them as it writes them (line 14)" in explained
    assert "they are recorded once, before the kernel runs" in explained


@pytest.mark.parametrize("layout", ["exact", "regions", "stream", "layers", "checkpoint"])
def test_heat2d_gradient_from_shared_records_in_every_layout(layout):
    kernel = polyad.parse(HEAT2D)
    assert_gradient_ok(verify.check_gradient(kernel, {"tsteps": 3, "n": 7}, layout=layout))


def test_heat2d_gradient_from_shared_records_under_auto():
    kernel = polyad.parse(HEAT2D)
    assert_gradient_ok(verify.check_gradient(kernel, {"tsteps": 3, "n": 7}, schedule="auto"))


@pytest.mark.parametrize("name", ["burgers_1d", "reaction_diffusion_2d", "neural_ode", "adi",
                                  "durbin", "layernorm"])
@pytest.mark.parametrize("layout", ["exact", "stream", "layers"])
def test_examples_with_shared_records_pass_check(name, layout):
    kernel = example(name)
    assert any(entry.record is not None for entry in polyad.grad(kernel).tape.entries)
    assert_gradient_ok(verify.check_gradient(kernel, kernel.sizes("small"), layout=layout))


def test_sharing_cuts_the_time_stepping_tapes():
    """The shared plan records at most what one record per read did: the
    sum of the reads' own pieces (their instances), strictly less on the
    stencils."""
    for name in ["burgers_1d", "reaction_diffusion_2d"]:
        kernel = example(name)
        plan = polyad.grad(kernel).tape
        sizes = kernel.sizes("small")
        per_read = sum(count_points(entry.instances, sizes) for entry in plan.entries
                       if not entry.shares)
        assert plan.values(sizes) < per_read, name


def test_the_checkpoint_layout_shares_within_a_step_only():
    """The checkpoint layout reruns one step at a time: a record another
    step's reads look up would outlive its segment, so its plan splits a
    read of the time loop only where every value comes from its own step."""
    kernel = polyad.parse(HEAT2D)
    adjoint = polyad.grad(kernel).with_layout("checkpoint", every=2)
    assert adjoint.tape.stepwise
    for entry in adjoint.tape.entries:
        if entry.record is not None:
            assert entry.writer and entry.lookup.equate(
                isl.dim_type.in_, 0, isl.dim_type.out, 0).is_equal(entry.lookup)
    assert adjoint.with_layout("exact").tape.stepwise is False


def test_a_border_row_or_column_is_not_shared_with_the_interior():
    """Values a read needs only at a border (an image of lower dimension)
    keep their own record: sharing them would record the whole interior
    for the sake of a row."""
    kernel = polyad.parse("void k(int T, int n, double a[n][n], double b[n][n]) {\n"
                          "  for (int t = 0; t < T; t++) {\n"
                          "    for (int i = 0; i < n; i++)\n"
                          "      for (int j = 0; j < n; j++)\n"
                          "        b[i][j] = a[i][j] * a[0][j];\n"
                          "    for (int i = 0; i < n; i++)\n"
                          "      for (int j = 0; j < n; j++)\n"
                          "        a[i][j] = b[i][j] * b[i][0];\n"
                          "  }\n}")
    plan = polyad.grad(kernel).tape
    for entry in plan.entries:
        if entry.record is not None:
            readers = {e.access.text for e in plan.entries if e.record == entry.record}
            assert len(readers) == 1, readers
    # By hand, T = 3, n = 4: a[i][j] T n^2 = 48 (each value read once), a[0][j]
    # once per value read, (T - 1) n written by S1 and n on entry = 12, b[i][j]
    # (T - 1) n^2 = 32, b[i][0] (T - 1) n = 8.
    assert plan.values({"T": 3, "n": 4}) == 48 + 12 + 32 + 8
    assert_gradient_ok(verify.check_gradient(kernel, {"T": 3, "n": 4}))


def test_dimension_of_sets():
    assert dimension(isl.Set("[n] -> { [i, j] : 0 <= i < n and 0 <= j < n }")) == 2
    assert dimension(isl.Set("[n] -> { [i, j] : 0 <= i < n and j = 0 }")) == 1
    assert dimension(isl.Set("{ [i, j] : 0 <= i < 4 and j = i }")) == 1
    assert dimension(isl.Set("{ [i] : exists e : i = 2e and 0 <= i < 9 }")) == 1
    assert dimension(isl.Set("{ [i] : i = 3 }")) == 0
    assert dimension(isl.Set("{ [i] : 1 = 0 }")) == -1
