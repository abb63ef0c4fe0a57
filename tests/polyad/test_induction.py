"""Int locals changed as the kernel runs (induction variables): accepted
kernels pass every oracle of ``polyad check`` (the primal bitwise against
the original C compiled by cc, the model's reverse-mode interpreter, the
dot-product test, central finite differences); the cases without an affine
closed form are refused at the change (tests/frontend/test_errors.py)."""

from __future__ import annotations

import pytest

import polyad
from polyad import api

STRIDED = """
void k(int n, double x[n], double y[2 * n]) {
  int j = 0;
  for (int i = 0; i < n; i++) {
    y[j] = x[i] * x[i];
    j += 2;
  }
}
"""

FLATTENED = """
#define M 4
void k(int n, double A[n][M], double y[4 * n + 1]) {
  int k = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < M; j++) {
      y[k] = A[i][j] * (double) k;
      k++;
    }
  y[k] = y[0] * y[1];
}
"""

COUNTDOWN = """
void k(int n, double x[n], double y[n]) {
  int j = n - 1;
  for (int i = 0; i < n; i++) {
    y[j] = sin(x[i]);
    --j;
  }
}
"""

REASSIGNED = """
void k(int n, double x[n], double y[n]) {
  int t = 0;
  for (int i = 0; i < n - 1; i++) {
    t = i + 1;
    y[i] = x[t] * x[i];
  }
}
"""


@pytest.mark.parametrize("text", [STRIDED, FLATTENED, COUNTDOWN, REASSIGNED],
                         ids=["strided", "flattened", "countdown", "reassigned"])
def test_induction_variables_pass_every_oracle(text):
    kernel = polyad.parse("#include <math.h>\n" + text)
    result = api.check(kernel, {"n": 5})
    assert result["checks"] and all(c["ok"] for c in result["checks"]), result["checks"]


def _writes_of(kernel, array: str) -> list[str]:
    return [str(s.write.relation).replace(" ", "") for s in kernel.statements
            if s.write.array == array]


def test_the_closed_form_is_the_subscript_the_model_reads():
    """Oracle: the closed forms by hand, y[2i], and y[4i + j] then y[4n]."""
    (strided,) = _writes_of(polyad.parse(STRIDED), "y")
    assert "->y[2i]" in strided, strided
    flattened = _writes_of(polyad.parse(FLATTENED), "y")
    assert any("->y[4i+j]" in t for t in flattened), flattened
    assert any("->y[4n]" in t for t in flattened), flattened
