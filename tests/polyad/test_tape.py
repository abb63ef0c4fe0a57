"""Tape minimality and the plan's explanations.

Byte counts are exact: isl counts the recording instances at fixed sizes.
"""

from __future__ import annotations

import pytest

import polyad
from polyad.check import verify
from polyad.model.kernel import fix_sizes
from polyad.tape.plan import count_points
from tests.conftest import EXAMPLES, example

#: Kernels where no value a partial derivative needs is ever overwritten:
#: linear kernels (partials are constants) and kernels whose nonlinear reads
#: are of arrays nobody writes.
NOTHING_TO_RECORD = ["atax", "bicg", "mvt", "gemver", "k3mm", "covariance", "conv2d",
                     "jacobi_1d", "jacobi_2d", "heat_3d", "fdtd_2d", "seidel_2d"]


@pytest.mark.parametrize("name", NOTHING_TO_RECORD)
def test_records_nothing_when_nothing_needed_is_overwritten(name):
    kernel = example(name)
    adjoint = polyad.grad(kernel)
    assert adjoint.tape.entries == ()
    assert adjoint.tape.bytes(kernel.sizes()) == 0
    code = polyad.generate_c(adjoint)
    assert "tape" not in code[code.index("*/"):]  # past the header naming the source path


@pytest.mark.parametrize("name", EXAMPLES)
def test_exact_never_records_more_than_stack(name):
    kernel = example(name)
    sizes = kernel.sizes()
    exact = polyad.grad(kernel)
    assert exact.tape.bytes(sizes) <= exact.with_strategy("stack").tape.bytes(sizes)


def test_byte_counts_of_gemm():
    kernel = example("gemm")
    sizes = {"ni": 8, "nj": 9, "nk": 10}
    adjoint = polyad.grad(kernel)
    # beta_b needs C[i][j] before C *= beta overwrites it: ni * nj values.
    assert adjoint.tape.bytes(sizes) == 8 * 8 * 9 == 576
    # The stack records, per instance, every value some partial uses:
    # C and beta for S0 (2 * ni * nj), alpha, A and B for S1 (3 * ni * nj * nk).
    assert adjoint.with_strategy("stack").tape.bytes(sizes) == 8 * (2 * 72 + 3 * 720)
    # Without beta among the inputs nothing needs recording.
    assert polyad.grad(kernel, wrt=["A", "B"]).tape.bytes(sizes) == 0


def test_byte_counts_of_gesummv():
    kernel = example("gesummv")
    # alpha_b and beta_b need ax and bx, local scalars overwritten by the next
    # row: recorded for every row but the last, 2 * (n - 1) values.
    assert polyad.grad(kernel).tape.bytes({"n": 10}) == 8 * 18
    assert polyad.grad(kernel, wrt=["A", "B", "x"]).tape.bytes({"n": 10}) == 0


def _kernel(body: str, arrays: str = "double x[n], double y[n]") -> polyad.Kernel:
    return polyad.parse(f"void k(int n, {arrays}) {{\n  double s;\n#pragma scop\n"
                        f"{body}\n#pragma endscop\n}}")


def test_self_overwrite_is_recorded_for_every_instance():
    kernel = _kernel("for (int i = 0; i < n; i++) x[i] = x[i] * x[i];")
    plan = polyad.grad(kernel).tape
    assert plan.values({"n": 7}) == 7
    assert "overwritten by S0" in plan.explain(kernel)[0]


def test_reads_that_are_not_overwritten_are_not_recorded():
    kernel = _kernel("for (int i = 0; i < n; i++) y[i] = x[i] * x[i];")
    plan = polyad.grad(kernel).tape
    assert plan.entries == ()
    assert "read from memory" in plan.explain(kernel)[0]


def test_scalar_recurrence_records_all_but_the_last_value():
    kernel = _kernel("for (int i = 0; i < n; i++) {\n s = x[i] + 1.0;\n y[i] = s * s;\n}")
    plan = polyad.grad(kernel).tape
    assert plan.values({"n": 6}) == 5
    [explanation] = plan.explain(kernel)[:1]
    assert "S1 reads s at line 6: overwritten by S0 at line 5" in explanation


def test_time_loop_records_only_overwritten_instances():
    # A nonlinear in-place time loop: A[i] is needed by the product and
    # overwritten by the next time step, except after the last step.
    kernel = polyad.parse("void k(int t, int n, double A[n]) {\n#pragma scop\n"
                          "for (int s = 0; s < t; s++)\n"
                          "  for (int i = 1; i < n; i++)\n"
                          "    A[i] = A[i] * A[i - 1];\n#pragma endscop\n}")
    plan = polyad.grad(kernel).tape
    sizes = {"t": 4, "n": 6}
    # A[i] (self) is overwritten by the instance itself: all 4 * 5 instances
    # need it, A[i - 1] (overwritten in the next step, except A[0], which
    # nobody writes, and except after the last step) (t - 1) * (n - 2) = 12.
    # Both read what S0 wrote before: one record of the values S0 writes in
    # every step but the last, (t - 1) * (n - 1) = 15, serves both, and the
    # first step's A[i] reads the n - 1 = 5 values A holds on entry.
    needing = {}
    for entry in plan.entries:
        needing[entry.access.text] = needing.get(entry.access.text, 0) + \
            count_points(entry.instances, sizes)
    assert needing == {"A[i]": 20, "A[i - 1]": 12}
    assert plan.values(sizes) == 15 + 5
    assert plan.values(sizes) < polyad.grad(kernel, strategy="stack").tape.values(sizes)


def test_value_shared_by_a_row_is_recorded_once_by_its_writer():
    kernel = example("layernorm")
    sizes = {"n": 4, "d": 9}
    adjoint = polyad.grad(kernel)
    by_reader = {(entry.statement, entry.access.text): entry
                 for entry in adjoint.tape.entries}
    # Every element of a row reads its mean, overwritten by the next row: the
    # statement that finishes the mean records it once per row (n - 1 values),
    # not once per element ((n - 1) * d).
    mean = by_reader["S8", "mean"]
    assert mean.recorder == "S3" and mean.count(sizes) == 3
    # var is read once per row by S7 itself: the reader records it.
    assert by_reader["S7", "var"].recorder == "S7"
    # inv, which S8 reads for every element, is recorded once per row by S7.
    assert by_reader["S8", "inv"].recorder == "S7"
    assert adjoint.tape.bytes(sizes) == 8 * 9
    assert any("S3 records them as it writes them" in line
               for line in adjoint.tape.explain(kernel))


def test_input_values_shared_by_readers_are_recorded_once_on_entry():
    """Oracle: counting by hand on trmm. B[k][j] is read, unchanged since
    entry, by every row i < k, and overwritten when row k is updated: one
    value per element of rows 1..m-1, not one per reading instance; and the
    gradient (interpreter, differences, dot product) stays exact."""
    kernel = example("trmm")
    sizes = {"m": 8, "n": 10}
    adjoint = polyad.grad(kernel)
    shared = adjoint.tape.entry("S0", next(a.symbol for a in kernel.statement("S0").reads
                                          if a.text == "B[k][j]"))
    assert shared.on_entry and shared.count(sizes) == (8 - 1) * 10
    assert shared.lookup.range().get_tuple_name() == "B"
    assert adjoint.tape.values(sizes) == (8 - 1) * 10 + 8 * 10  # and S1's alpha * B[i][j]
    readers = fix_sizes(shared.instances, sizes).count_val().to_python()
    assert readers == 10 * 8 * 7 // 2
    assert any("recorded once, before the kernel runs" in line
               for line in adjoint.tape.explain(kernel))
    code = polyad.api.generate_c(adjoint)
    assert "record B as it is on entry" in code
    for layout in ("exact", "stream", "layers"):
        result = verify.check_gradient(kernel, sizes, strategy="exact", layout=layout)
        assert all(c["ok"] for c in result["checks"]), (layout, result["checks"])


def test_a_reader_reads_the_tape_of_another_reader_of_the_same_values():
    """Oracle: counting by hand on durbin. In iteration k, sum += r[..] * y[i]
    (S5) and z[i] = y[i] + alpha * y[k - i - 1] (S7) read the same k values
    of y, overwritten at the end of the iteration: recorded once (by S5),
    k values per iteration; the gradient stays exact in every layout
    (interpreter, differences, dot product)."""
    kernel = example("durbin")
    sizes = {"n": 10}
    adjoint = polyad.grad(kernel)
    by_reader = {(entry.statement, entry.access.text): entry
                 for entry in adjoint.tape.entries}
    first, second = by_reader["S5", "y[i]"], by_reader["S7", "y[(k - i) - 1]"]
    assert second.shares == ("S5", first.symbol) and second.count(sizes) == 0
    assert first.count(sizes) == 10 * 9 // 2
    # S3 both reads and writes beta: S6's beta is not looked up in S3's tape
    # (which holds the value before S3 writes).
    assert not by_reader["S6", "beta"].shares
    assert any("S5 records the same values" in line for line in adjoint.tape.explain(kernel))
    for layout in ("exact", "stack", "regions", "stream", "layers"):
        result = verify.check_gradient(kernel, sizes, strategy="exact", layout=layout)
        assert all(c["ok"] for c in result["checks"]), (layout, result["checks"])
