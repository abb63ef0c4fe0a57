"""``auto`` never fails on a kernel polyad accepts, and never marks a loop
both parallel and vectorised. Both kernels were found by the random-kernel
tests (tests/polyad/test_fuzz.py).

Oracles: polyad check's (the original C for the primal, bitwise; the
reverse-mode interpreter; the dot-product test), and the C compiler, which
rejected a loop under both `omp parallel for` and `omp simd`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import polyad
from polyad import ScheduleError
from polyad.api import check

#: Two pieces of one loop, S1_b.i, after isl's scheduler: one may run in
#: parallel, the one the name reaches may not; auto asked for parallel on
#: the name and exited with "parallel: S1_b.i: carries a dependence".
PIECES = """
#include <math.h>
void k(int n, double A[n], double B[n])
{
  double s = 0.0;
  for (int i = 1; i < n - 1; i++)
    B[i - 1] -= (exp(0.25 * s) > B[i + 1] ? exp(0.25 * s) : B[i + 1]);
}
"""

#: A colored reverse loop that auto marked parallel, then vectorised.
COLORED = """
#include <math.h>
void k(int n, double A[n], double B[n], double C[n][n], double D[n][n])
{
  double s = 0.0;
  for (int i = 1; i < n - 1; i++)
    D[i + 1][i - 1] += sin(D[i - 1][i]);
  for (int i = 1; i < n - 1; i++) {
    D[i + 1][i] = ((B[i] > 2.0 ? B[i] : 2.0) * sin(2.0));
    s = fmax((fmin(3, 3) * B[i + 1]), C[i][i]);
    s += (sin(D[i - 1][i]) * 3);
    A[i - 1] = ((3 - B[i - 1]) > sin(2.0) ? (3 - B[i - 1]) : sin(2.0));
  }
}
"""


@pytest.mark.parametrize("text", [PIECES, COLORED], ids=["pieces", "colored"])
@pytest.mark.parametrize("layout", ["exact", "regions"])
def test_auto_passes_every_oracle(text, layout):
    result = check(polyad.parse(text), {"n": 5}, schedule="auto", layout=layout)
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_a_loop_is_parallel_or_vectorised_not_both():
    adjoint = polyad.grad(polyad.parse(
        "void f(int n, double x[n], double y[n]) "
        "{ for (int i = 0; i < n; i++) y[i] = 2.0 * x[i]; }"))
    schedule = adjoint.schedule()
    with pytest.raises(ScheduleError, match="already marked parallel"):
        schedule.parallel("S0_b.i").vectorize("S0_b.i")
    with pytest.raises(ScheduleError, match="already marked simd"):
        schedule.vectorize("S0_b.i").parallel("S0_b.i")


def test_a_loop_is_unrolled_or_vectorised_not_both():
    """Found by the random-kernel tests: `#pragma GCC unroll` and
    `#pragma omp simd` on one loop is a compile error ("for statement
    expected before '#pragma'"), in either order."""
    adjoint = polyad.grad(polyad.parse(
        "void k(int n, double A[n]) { for (int i = 1; i < n - 1; i++) A[i] = A[i] * A[i]; }"))
    schedule = adjoint.schedule()
    with pytest.raises(ScheduleError, match="already marked unroll"):
        schedule.unroll("S0_b.i", 2).vectorize("S0_b.i")
    with pytest.raises(ScheduleError, match="already marked simd"):
        schedule.vectorize("S0_b.i").unroll("S0_b.i", 2)
    with pytest.raises(ScheduleError, match="already marked parallel"):
        schedule.parallel("S0_b.i").unroll("S0_b.i", 2)
    again = schedule.unroll("S0_b.i", 2).unroll("S0_b.i", 4)  # a new factor replaces the old
    result = check(adjoint.kernel, {"n": 6}, schedule=lambda base: base.unroll("S0_b.i", 4))
    assert all(c["ok"] for c in result["checks"]) and str(again.annotations[-1][1]) == "unroll:4"


@pytest.mark.parametrize("name, layout", [("peel_every_instance", "regions"),
                                          ("empty_copy_layers_auto", "layers"),
                                          ("two_handles_one_loop", "exact"),
                                          ("peel_outside_order", "stream")])
def test_auto_on_kernels_make_fuzz_found(name, layout):
    """make fuzz (seed 1) found both: a peel of every instance (KeyError) and
    a layers copy without instances (an isl error on an empty band)."""
    path = Path(__file__).resolve().parents[1] / "kernels" / f"{name}.c"
    kernel = polyad.parse(str(path))
    size = 6 if layout == "regions" else 5 if layout == "stream" else 4
    result = check(kernel, {name: size for name in kernel.params}, schedule="auto",
                   layout=layout)
    assert all(c["ok"] for c in result["checks"]), result["checks"]
