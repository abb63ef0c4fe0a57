"""Kernels with an `if` on data (if-converted by the frontend into value
selects), checked by every oracle of `polyad check`: the original C compiled
by the system compiler (primal, bitwise, at two sizes), the reverse-mode
interpreter, central finite differences of the original C and the
dot-product test; ReLU's gradient also against its closed form in numpy.

Random inputs are standard normal: no input lies on a branch's kink, where
finite differences would straddle both branches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import polyad
from polyad.check import verify

KERNELS = {
    "relu": """
void relu(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    if (x[i] > 0.0) y[i] = x[i]; else y[i] = 0.0;
}""",
    "leaky_relu": """
void leaky(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++) {
    y[i] = x[i];
    if (y[i] < 0.0) y[i] *= 0.1;
  }
}""",
    "clamp": """
void clamp(int n, double lo, double hi, double x[n], double y[n]) {
  for (int i = 0; i < n; i++) {
    if (x[i] < lo) y[i] = lo;
    else if (x[i] > hi) y[i] = hi;
    else y[i] = x[i] * x[i];
  }
}""",
    "nested_and_or": """
#include <math.h>
void nested(int n, double x[n], double z[n], double y[n]) {
  for (int i = 0; i < n; i++) {
    y[i] = z[i];
    if (x[i] > -0.5 && !(z[i] > 1.0)) {
      if (x[i] * z[i] > 0.1 || z[i] < -1.0) { double t = exp(x[i]); y[i] += t * z[i]; }
      else y[i] -= sin(x[i]);
    }
  }
}""",
    "overwrites_its_condition": """
void own(int n, double a[n], double b[n]) {
  for (int i = 0; i < n; i++) {
    b[i] = a[i];
    if (a[i] > 0.0) { a[i] = -a[i] * a[i]; b[i] = a[i] > 0.0 ? 3.0 * b[i] : b[i] * a[i]; }
  }
}""",
    "max_reduction": """
void vmax(int n, double x[n], double out[1]) {
  double m;
  m = x[0];
  for (int i = 1; i < n; i++)
    if (x[i] > m) m = x[i];
  out[0] = m * m;
}""",
    "mixed_affine_and_loop": """
void mixed(int n, double x[n], double A[n][n], double y[n]) {
  for (int i = 0; i < n; i++) {
    y[i] = x[i];
    if (i > 0 && x[i - 1] > x[i]) {
      for (int j = 0; j < n; j++)
        y[i] += A[i][j] * x[j];
      x[i] = 0.5 * y[i];
    }
  }
}""",
    "scalar_in_branch_time_loop": """
void steps(int n, int t, double x[n], double s[1]) {
  double acc;
  acc = 0.0;
  for (int k = 0; k < t; k++)
    for (int i = 0; i < n; i++) {
      if (x[i] + acc > 0.0) { acc = 0.5 * acc + x[i]; x[i] = acc * x[i]; }
      else x[i] = -x[i];
    }
  s[0] = acc;
}""",
}
SIZES = {"scalar_in_branch_time_loop": {"n": 5, "t": 3}}


def kernel_of(tmp_path, name: str):
    path = tmp_path / f"{name}.c"
    path.write_text(KERNELS[name])
    return polyad.parse(str(path))


def sizes_of(kernel, name: str, extra: int = 0) -> dict[str, int]:
    return {p: v + extra for p, v in SIZES.get(name, {p: 7 for p in kernel.params}).items()}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_primal_is_the_original_bitwise(tmp_path, name):
    kernel = kernel_of(tmp_path, name)
    for seed, extra in enumerate((0, 4)):
        values = verify.kernel_inputs(kernel, sizes_of(kernel, name, extra), seed)
        result = verify.check_primal(kernel, values)
        assert result["ok"], result["detail"]


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_gradient_passes_every_oracle(tmp_path, name):
    kernel = kernel_of(tmp_path, name)
    result = verify.check_gradient(kernel, sizes_of(kernel, name))
    verdicts = {c["oracle"]: c["ok"] for c in result["checks"]}
    assert len(verdicts) == 4 and all(verdicts.values()), result["checks"]


def test_relu_gradient_is_the_step_function(tmp_path):
    kernel = kernel_of(tmp_path, "relu")
    rng = np.random.default_rng(3)
    x, seed = rng.standard_normal(9), rng.standard_normal(9)
    out = polyad.compile(polyad.grad(kernel))(n=9, x=x, y=np.zeros(9), y_b=seed)
    assert np.array_equal(out["y"], np.maximum(x, 0.0))
    assert np.array_equal(out["x_b"], np.where(x > 0.0, seed, 0.0))


def test_branch_decision_taken_once_before_the_branch(tmp_path):
    """A branch that first negates its own condition's operand: the later
    statement of the branch still runs (its guard is the stored predicate),
    so b differs from what re-testing a[i] > 0 would give."""
    kernel = kernel_of(tmp_path, "overwrites_its_condition")
    a = np.array([1.0, -2.0, 0.5])
    out = polyad.compile(kernel)(n=3, a=a.copy(), b=np.zeros(3))
    assert np.array_equal(out["a"], [-1.0, -2.0, -0.25])
    assert np.array_equal(out["b"], [-1.0, -2.0, 0.5 * -0.25])


@pytest.mark.parametrize("name, init", [("switch", {"label": "int:0:3"}), ("goto_if", {})])
def test_switch_and_goto_pass_every_oracle(name, init):
    """tests/kernels/switch.c (a switch on int data and one on an iterator)
    and goto_if.c (the goto patterns of an if), lowered to if/else
    (frontend/switches.py); refused on the code before."""
    path = Path(__file__).resolve().parents[1] / "kernels" / f"{name}.c"
    result = polyad.api.check(polyad.parse(path), {"n": 9}, init=init)
    oracles = {c["oracle"].split(" (")[0]: c["ok"] for c in result["checks"]}
    assert len(oracles) == 4 and all(oracles.values()), result["checks"]
