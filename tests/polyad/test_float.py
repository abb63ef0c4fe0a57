"""Kernels in single precision (issue 15, item 5): float arrays, scalars and
literals, the f math functions, mixed float/double expressions under C's
usual arithmetic conversions, the gradient in the declared type.

Oracles: ``verify.check_gradient`` (the original C compiled by the system
compiler, bitwise against every forward sweep; the reverse-mode interpreter,
computing in double; central finite differences of the kernel's copy widened
to double; the dot-product test between tangent and adjoint code), with the
tolerances of float's precision; numpy, computing each conversion as C99
says, for the mixed kernel's primal; the generated C text for the types it
declares.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad import api
from polyad.ad import derivatives
from polyad.check import oracles, verify
from polyad.codegen.compile import compile_original
from polyad.errors import ScheduleError, UsageError
from polyad.model.expr import MATH

# (bitwise for the default schedule; auto's forward sweep sums in registers)
ORACLES = ("primal vs original C", "interpreter", "dot product",
           "finite differences")

LAYER = """\
#include <math.h>
/* h = tanh(alpha (W x + b) / 4) and more of the float math functions
   (tanh kept from saturating, where 1 - tanhf(u)^2, its derivative, keeps
   few of float's digits). */
void layer(int n, int m, float alpha, float W[n][m], float x[m], float b[n], float h[n]) {
  for (int i = 0; i < n; i++) {
    float s = b[i];
    for (int j = 0; j < m; j++)
      s += W[i][j] * x[j];
    h[i] = tanhf(0.25f * alpha * s) + 0.5f * sqrtf(1.0f + s * s) + expf(-fabsf(s)) * sinf(s)
           + logf(2.0f + fmaxf(s, 0.25f)) + powf(1.5f + cosf(s), 2.0f);
  }
}
"""

MIXED = """\
#include <math.h>
void mixed(int n, float x[n], double w[n], float y[n], double z[n]) {
  for (int i = 0; i < n; i++) {
    y[i] = x[i] * w[i] + 0.1 * x[i];
    z[i] = (double)y[i] * w[i] + (float)(w[i] * 3.0) * x[i] + 0.25f * x[i] * x[i];
  }
}
"""

# An in-place update: the forward sweep overwrites what the reverse sweep
# reads, so the exact tape records n values.
SCALE = """\
void scale(int n, TYPE x[n]) {
  for (int i = 1; i < n; i++)
    x[i] = x[i] * x[i - 1];
}
"""


def _all_ok(result):
    names = " | ".join(c["oracle"] for c in result["checks"])
    assert all(oracle in names for oracle in ORACLES), names
    assert result["verdict"] == "ok", result["checks"]


@pytest.mark.parametrize("schedule", [None, "auto"])
def test_float_layer_passes_every_oracle(schedule):
    kernel = polyad.parse(LAYER)
    assert [a.dtype for a in kernel.arrays] == ["float"] * 6
    result = verify.check_gradient(kernel, {"n": 6, "m": 7}, schedule=schedule)
    _all_ok(result)
    primal = result["checks"][0]["oracle"]
    assert (primal == "primal vs original C (bitwise)") == (schedule is None), primal
    interpreter = next(c for c in result["checks"] if "interpreter" in c["oracle"])
    # Judged in float's precision: a tolerance far above double's, far below 1.
    assert 1e-6 < interpreter["tolerance"] < 1e-2
    assert interpreter["max_rel_err"] > 1e-12  # computed in float, not double


def test_float_gradient_is_computed_and_returned_in_float():
    kernel = polyad.parse(LAYER)
    source = api.generate_c(polyad.grad(kernel, wrt=["W", "x", "alpha"], of=["h"]))
    assert "float W_b[restrict n][m]" in source and "float *restrict alpha_b" in source
    assert "double" not in source.split("int layer_b(", 1)[1]
    assert "tanhf(" in source and "1.0f" in source
    gradient = polyad.compile(polyad.grad(kernel, wrt=["W", "x"], of=["h"]))
    rng = np.random.default_rng(0)
    values = {"n": 3, "m": 4, "alpha": 0.5,
              "W": rng.standard_normal((3, 4)).astype(np.float32),
              "x": rng.standard_normal(4).astype(np.float32),
              "b": rng.standard_normal(3).astype(np.float32),
              "h": np.zeros(3, np.float32), "h_b": np.ones(3, np.float32)}
    out = gradient(**values)
    assert out["W_b"].dtype == np.float32 and out["x_b"].dtype == np.float32
    with pytest.raises(UsageError, match=r"W is an array of float, got numpy float64; "
                                         r"pass float32"):
        gradient(**{**values, "W": values["W"].astype(np.float64)})


def test_mixed_float_double_passes_every_oracle():
    kernel = polyad.parse(MIXED)
    assert [(a.name, a.dtype) for a in kernel.arrays] == [
        ("x", "float"), ("w", "double"), ("y", "float"), ("z", "double")]
    _all_ok(verify.check_gradient(kernel, {"n": 9}))


def test_mixed_expressions_convert_as_c_does():
    """The forward sweep against numpy computing each operation in the type
    C99's usual arithmetic conversions give it (and not in another)."""
    kernel = polyad.parse(MIXED)
    forward = polyad.compile(polyad.grad(kernel, wrt=["x"], of=["z"]))
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 2.0, 64).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 64)
    out = forward(n=64, x=x, w=w, y=np.zeros(64, np.float32), z=np.zeros(64),
                  z_b=np.zeros(64))
    wide = x.astype(np.float64)
    y = (wide * w + 0.1 * wide).astype(np.float32)   # double, rounded on assignment
    third = (w * 3.0).astype(np.float32) * x           # (float) cast, then float * float
    z = (y.astype(np.float64) * w + third.astype(np.float64)
         + (np.float32(0.25) * x * x).astype(np.float64))
    assert np.array_equal(out["y"], y) and np.array_equal(out["z"], z)
    # The oracle can fail: computed in float throughout, y differs.
    assert not np.array_equal(out["y"], x * w.astype(np.float32) + np.float32(0.1) * x)


def test_tape_holds_float_values_in_four_bytes():
    sizes = {"n": 10}
    single = polyad.grad(polyad.parse(SCALE.replace("TYPE", "float")))
    double = polyad.grad(polyad.parse(SCALE.replace("TYPE", "double")))
    assert double.tape.values(sizes) == single.tape.values(sizes) > 0
    assert single.tape.bytes(sizes) * 2 == double.tape.bytes(sizes)
    assert "float *restrict tape_S0_0 = malloc(sizeof(float[" in api.generate_c(single)
    _all_ok(verify.check_gradient(polyad.parse(SCALE.replace("TYPE", "float")), sizes))


def test_blas_calls_the_float_routines_for_float_data():
    """A float matrix product is handed to OpenBLAS's sgemm (and the
    adjoint's dot to sdot), never to the double routines on float data;
    oracles: the original C compiled by cc (primal, up to BLAS's
    reassociation), the interpreter, finite differences, the dot product."""
    gemm = """\
void sgemm(int n, float alpha, float C[n][n], float A[n][n], float B[n][n]) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int k = 0; k < n; k++)
        C[i][j] += alpha * A[i][k] * B[k][j];
}
"""
    adjoint = polyad.grad(polyad.parse(gemm))
    auto = adjoint.schedule().auto()
    assert auto.library_calls()
    body = api.generate_c(adjoint, auto).split("\nint sgemm_b(", 1)[1]  # after the prototypes
    assert "scipy_cblas_sgemm(" in body and "scipy_cblas_sdot(" in body
    assert "cblas_d" not in body and "double" not in body
    _all_ok(verify.check_gradient(polyad.parse(gemm), {"n": 7}, schedule="auto"))


def test_blas_is_not_called_for_mixed_float_and_double():
    """C converts a mixed product's float operands to double per operation;
    one BLAS call computes in one type, so the product stays a loop."""
    mixed = """\
void mixed(int n, double C[n][n], float A[n][n], double B[n][n]) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int k = 0; k < n; k++)
        C[i][j] += A[i][k] * B[k][j];
}
"""
    adjoint = polyad.grad(polyad.parse(mixed))
    with pytest.raises(ScheduleError, match="its data are double and float"):
        adjoint.schedule().blas("S0")
    assert not adjoint.schedule().auto().library_calls()
    # The same kernel all in double is handed to dgemm: the refusal is the mix's.
    assert adjoint_in_double(mixed).schedule().auto().library_calls()


def adjoint_in_double(text: str):
    return polyad.grad(polyad.parse(text.replace("float", "double")))


def test_widened_copy_computes_in_double():
    """Finite differences of a float kernel are taken of its widened copy:
    the same C computing in double (float literals keep their value)."""
    kernel = polyad.parse(MIXED)
    widened, _ = compile_original(kernel, widened=True)
    x = np.linspace(0.5, 2.0, 5)
    w = np.linspace(1.0, 2.0, 5)
    out = widened(n=5, x=x, w=w, y=np.zeros(5), z=np.zeros(5))
    assert out["y"].dtype == np.float64
    assert np.array_equal(out["y"], x * w + 0.1 * x)


TANH = """\
void broken_tanh(int n, int m, float W[n][m], float x[m], float h[n]) {
  for (int i = 0; i < n; i++) {
    float s = 0.0f;
    for (int j = 0; j < m; j++)
      s += W[i][j] * x[j];
    h[i] = tanhf(0.25f * s);
  }
}
"""


@pytest.mark.parametrize("factor", [1.01, -1.0])
def test_a_wrong_float_gradient_fails(monkeypatch, factor):
    """A derivative rule broken on purpose (tanhf's partial off by 1%, or of
    the wrong sign): the
    interpreter and finite differences, which do not use the table, say
    'wrong gradient' at float's tolerances (the tangent shares the rule, so
    the dot-product test agrees)."""
    assert verify.check_gradient(polyad.parse(TANH), {"n": 5, "m": 4})["verdict"] == "ok"
    wrong = derivatives.RULES["tanhf"]
    monkeypatch.setitem(derivatives.RULES, "tanhf",
                        lambda args: tuple(factor * p for p in wrong(args)))
    # and its form through the written value (polyad.ad.outputs), which
    # the adjoint of a whole tanhf right-hand side uses
    through = derivatives.OUTPUT_RULES["tanhf"]
    monkeypatch.setitem(derivatives.OUTPUT_RULES, "tanhf", lambda y: factor * through(y))
    result = verify.check_gradient(polyad.parse(TANH), {"n": 5, "m": 4})
    assert result["verdict"] == "wrong gradient", result["checks"]
    verdicts = {c["oracle"].split(" ")[0]: c["verdict"] for c in result["checks"]}
    assert verdicts["reverse-mode"] == "wrong" and verdicts["central"] == "wrong", verdicts
    assert verdicts["primal"] == "ok"


def test_float_precision_is_the_kernels():
    assert oracles.precision_of(polyad.parse(MIXED)).name == "float"
    assert oracles.precision_of(adjoint_in_double(SCALE.replace("TYPE", "float"))
                                .kernel).name == "double"
    assert MATH["sinf"] is not MATH["sin"]


@pytest.mark.parametrize("text", [
    "float loss(int n, float x[n]) {\n  float s = 0.0f;\n"
    "  for (int i = 0; i < n; i++)\n    s += x[i] * x[i];\n  return s;\n}\n",
    "void loss(int n, const float x[n], float *out) {\n"
    "  for (int i = 0; i < n; i++)\n    *out += 0.5f * x[i] * x[i];\n}\n"])
def test_float_scalar_results(text):
    kernel = polyad.parse(text)
    result = [a for a in kernel.arrays if a.name in ("result", "out")]
    assert [(a.dtype, a.rank) for a in result] == [("float", 1)]
    _all_ok(verify.check_gradient(kernel, {"n": 11}))


def test_a_tiny_float_gradient_is_judged_against_the_largest():
    """tanhf saturated (alpha s up to about 7): alpha's gradient sums terms
    1 - tanhf^2 of about 1e-6, each with few of float's digits (12% off the
    interpreter's double), while W's is of order 1e-2. In float the
    interpreter oracle measures every array against the largest element of
    any (the scale its condition estimate measures on): ok; in double each
    array against its own."""
    saturated = LAYER.replace("tanhf(0.25f * alpha * s)", "tanhf(alpha * s)")
    result = verify.check_gradient(polyad.parse(saturated), {"n": 6, "m": 7})
    _all_ok(result)
    gradient = {"W": np.array([1.0, -2.0]), "alpha": np.array(1.1e-6)}
    reference = {"W": np.array([1.0, -2.0]), "alpha": np.array(1.0e-6)}
    single = oracles.compare_with_interpreter(gradient, reference, 1.0,
                                              precision=oracles.FLOAT)
    double = oracles.compare_with_interpreter(gradient, reference, 1.0)
    assert single["verdict"] == "ok" and single["max_rel_err"] == pytest.approx(5e-8)
    assert double["verdict"] == "wrong" and double["max_rel_err"] == pytest.approx(0.1)
