"""Scalar results as users write a loss: through a ``double *out`` parameter
(``*out``, ``out[0]``) or returned by the function's last statement.

Oracles: closed forms in numpy for the loss and its gradient (independent of
polyad); the original C compiled by the system compiler (primal, bitwise,
and finite differences of it), the reverse-mode interpreter and the
dot-product test, through ``polyad.check.verify.check_gradient``.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad import codegen
from polyad.check import verify

POINTER = """\
void loss(int n, double y[n], double t[n], double *out) {
  *out = 0;
  for (int i = 0; i < n; i++)
    *out += (y[i] - t[i]) * (y[i] - t[i]);
}
"""

SUBSCRIPTED = """\
void loss(int n, const double y[n], double *restrict out) {
  out[0] = 0.0;
  for (int i = 0; i < n; i++)
    out[0] += y[i] * y[i];
}
"""

RETURNED = """\
double loss(int n, double y[n]) {
  double s = 0.0;
  for (int i = 0; i < n; i++)
    s += y[i] * y[i];
  return s;
}
"""

#: The name result is the user's: the output gets another. The return
#: follows #pragma endscop, and the function has a polyad-init function.
RETURNED_AFTER_REGION = """\
#include <math.h>
/* polyad-init: fill */
void fill(int n, double y[n], double result) {
  for (int i = 0; i < n; i++)
    y[i] = 1.0 + i;
}
double norm(int n, double y[n], double result) {
  double s;
#pragma scop
  s = 0.0;
  for (int i = 0; i < n; i++)
    s += result * y[i] * y[i];
#pragma endscop
  return sqrt(s);
}
"""

#: A parameter of the function's own name hides the function in the wrapper.
SHADOWED = """\
double loss(int n, double loss[n]) {
  double s = 0.0;
  for (int i = 0; i < n; i++)
    s += loss[i] * loss[i] * loss[i];
  return s;
}
"""

rng = np.random.default_rng(15)


def _all_oracles_pass(kernel, sizes):
    result = verify.check_gradient(kernel, sizes)
    assert result["verdict"] == "ok", result
    assert len(result["checks"]) == 4 and all(c["ok"] for c in result["checks"]), result
    return result


@pytest.mark.parametrize("text", [POINTER, SUBSCRIPTED], ids=["star", "subscript"])
def test_pointer_output_is_a_one_element_array(text):
    kernel = polyad.parse(text)
    out = kernel.array("out")
    assert len(out.extents) == 1 and out.role == "output"
    assert kernel.source.returned is None
    assert [p.kind for p in kernel.signature][-1] == "array"
    _all_oracles_pass(kernel, {"n": 7})


def test_pointer_loss_gradient_has_its_closed_form():
    kernel = polyad.parse(POINTER)
    n = 6
    y, t, seed = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal()
    gradient = polyad.compile(polyad.grad(kernel))
    out = gradient(n=n, y=y, t=t, out_b=np.array([seed]))
    assert out["out"].shape == (1,)
    assert np.isclose(out["out"][0], np.sum((y - t) ** 2), rtol=1e-13)
    assert np.allclose(out["y_b"], 2 * (y - t) * seed, rtol=1e-13)
    assert np.allclose(out["t_b"], -2 * (y - t) * seed, rtol=1e-13)


def test_returned_value_is_an_output_the_original_c_fills():
    kernel = polyad.parse(RETURNED)
    assert kernel.source.returned == "result"
    assert [p.name for p in kernel.signature] == ["n", "y", "result"]
    assert kernel.array("result").role == "output"
    assert kernel.statements[-1].text == "return s;"
    n = 9
    y = rng.standard_normal(n)
    original, _ = codegen.compile_original(kernel)
    expected = sum(v * v for v in y)  # the C's order of additions
    assert original(n=n, y=y)["result"][0] == expected
    seed = rng.standard_normal()
    out = polyad.compile(polyad.grad(kernel))(n=n, y=y, result_b=np.array([seed]))
    assert out["result"][0] == expected
    assert np.allclose(out["y_b"], 2 * y * seed, rtol=1e-13)
    _all_oracles_pass(kernel, {"n": 9})


def test_returned_value_after_the_region_with_a_taken_name():
    kernel = polyad.parse(RETURNED_AFTER_REGION, function="norm")
    assert kernel.source.returned == "result_"
    assert [p.name for p in kernel.signature] == ["n", "y", "result", "result_"]
    assert kernel.statements[-1].text == "return sqrt(s);"
    y = np.arange(1.0, 5.0)
    original, init = codegen.compile_original(kernel)
    assert init is not None
    assert np.array_equal(init(n=4, y=np.zeros(4), result=0.5)["y"], y)
    assert original(n=4, y=y, result=2.0)["result_"][0] == np.sqrt(2.0 * 1 + 2 * 4
                                                                    + 2 * 9 + 2 * 16)
    _all_oracles_pass(kernel, {"n": 5})


def test_returned_value_of_a_function_a_parameter_shadows():
    kernel = polyad.parse(SHADOWED)
    x = rng.standard_normal(5)
    original, _ = codegen.compile_original(kernel)
    assert np.isclose(original(n=5, loss=x)["result"][0], np.sum(x ** 3), rtol=1e-14)
    _all_oracles_pass(kernel, {"n": 5})


def test_the_seed_is_a_one_element_array_in_the_generated_signature():
    """Oracle: the C text. As for any output array, the adjoint of the
    pointer's element and of the returned value is a one-element array."""
    pointer = polyad.generate_c(polyad.grad(polyad.parse(POINTER)))
    assert ("int loss_b(int n, double y[restrict n], double t[restrict n], "
            "double out[restrict 1], double y_b[restrict n], double t_b[restrict n], "
            "double out_b[restrict 1])") in pointer
    returned = polyad.generate_c(polyad.grad(polyad.parse(RETURNED)))
    assert ("int loss_b(int n, double y[restrict n], double result[restrict 1], "
            "double y_b[restrict n], double result_b[restrict 1])") in returned


def test_returned_value_inside_the_region():
    """The final return may also come just before #pragma endscop."""
    kernel = polyad.parse(RETURNED.replace("  double s = 0.0;\n",
                                           "  double s;\n#pragma scop\n  s = 0.0;\n")
                          .replace("  return s;\n", "  return s;\n#pragma endscop\n"))
    assert kernel.source.returned == "result" and kernel.statements[-1].text == "return s;"
    _all_oracles_pass(kernel, {"n": 4})
