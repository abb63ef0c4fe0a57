"""File-scope globals and constant extents with parametric loops (issue 15,
item 6).

Oracles: ``verify.check_gradient`` (the original C compiled by the system
compiler, bitwise, through a wrapper copying the globals in and out; the
reverse-mode interpreter; central finite differences; the dot-product
test); numpy for what the original C leaves in its globals; the C
functions called through ctypes, bypassing the binding, for the status at
sizes beyond the constant extents; hand-written isl sets for the contexts.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import islpy as isl
import numpy as np
import pytest

import polyad
from polyad import api
from polyad.check import verify
from polyad.codegen.compile import compile_original
from polyad.errors import KernelError, UsageError

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "tests" / "kernels" / "global_layer.c"
ORACLES = ("primal vs original C", "interpreter", "dot product", "finite differences")

FIXED = """\
#define N 100
void mv(int n, int m, double A[N][N], double x[N], double y[N]) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++)
      y[i] += A[i][j] * x[j];
}
"""


def _all_ok(result):
    names = " | ".join(c["oracle"] for c in result["checks"])
    assert all(oracle in names for oracle in ORACLES), names
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_globals_are_parameters_named_as_in_the_source():
    kernel = polyad.parse(LAYER)
    assert [p.name for p in kernel.signature] == ["n", "x", "W", "bias", "h", "scale"]
    assert kernel.source.globals == ("W", "bias", "h", "scale")
    assert [(a.name, a.role) for a in kernel.arrays] == [
        ("x", "input"), ("W", "input"), ("bias", "input"), ("h", "output"),
        ("scale", "input")]
    source = api.generate_c(polyad.grad(kernel))
    assert ("int layer_b(int n, double x[restrict 20], double W[restrict 20][20], "
            "double bias[restrict 20], double h[restrict 20], double scale, ") in source
    assert "double W_b[restrict 20][20]" in source and "double *restrict scale_b" in source


@pytest.mark.parametrize("sizes", [{"n": 12}, {"n": 20}])
def test_a_kernel_on_globals_passes_every_oracle(sizes):
    _all_ok(verify.check_gradient(polyad.parse(LAYER), sizes))


def test_the_original_c_gets_and_gives_back_its_globals():
    """Oracle: numpy; the wrapper copies W, bias, scale into the globals and
    h back out (without the copies h would stay as passed, zeros)."""
    kernel = polyad.parse(LAYER)
    original, _ = compile_original(kernel)
    rng = np.random.default_rng(0)
    n = 9
    W, bias, x = rng.random((20, 20)), rng.random(20), rng.random(20)
    out = original(n=n, x=x, W=W, bias=bias, h=np.zeros(20), scale=0.25)
    expected = 0.25 * np.tanh(bias[:n] + W[:n, :n] @ x[:n])
    assert np.allclose(out["h"][:n], expected, rtol=1e-14, atol=0)
    assert np.all(out["h"][n:] == 0.0)
    again = original(n=n, x=x, W=2 * W, bias=bias, h=np.zeros(20), scale=0.25)
    assert np.allclose(again["h"][:n], 0.25 * np.tanh(bias[:n] + 2 * W[:n, :n] @ x[:n]))


def test_constant_extents_with_parametric_loops_assume_the_extents():
    kernel = polyad.parse(FIXED)
    assert kernel.context.is_equal(isl.Set("[n, m] -> { : n <= 100 and m <= 100 }"))
    (note,) = kernel.notes
    assert note.startswith("assumed n <= 100 and m <= 100, implied by the constant extents "
                           "of y[100], A[100][100], x[100]")
    _all_ok(verify.check_gradient(kernel, {"n": 30, "m": 17}))
    _all_ok(verify.check_gradient(kernel, {"n": 6, "m": 100}))  # at the extent


def test_sizes_beyond_the_constant_extents_are_refused_not_run():
    kernel = polyad.parse(FIXED)
    function = api.compile(polyad.grad(kernel))
    values = {"n": 101, "m": 3, "A": np.ones((100, 100)), "x": np.ones(100),
              "y": np.ones(100), "A_b": np.zeros((100, 100)), "x_b": np.zeros(100),
              "y_b": np.ones(100)}
    with pytest.raises(UsageError, match=r"sizes n=101, m=3 are outside what the kernel "
                                         r"assumes \(n <= 100 and m <= 100\)"):
        function(**values)
    c_function = getattr(ctypes.CDLL(str(function.library_path)), function.symbol)
    c_function.restype = ctypes.c_int
    arrays = {name: np.array(values[name]) for name in ("A", "x", "y", "A_b", "x_b", "y_b")}
    status = c_function(ctypes.c_int(101), ctypes.c_int(3),
                        *[ctypes.c_void_p(arrays[s.name].ctypes.data)
                          for s in function.arguments if s.kind != "size"])
    assert status == 1
    assert np.all(arrays["x_b"] == 0.0) and np.all(arrays["y"] == 1.0)


def test_an_access_outside_at_every_size_is_still_refused():
    with pytest.raises(KernelError, match=r"out-of-bounds access x\[i \+ 100\] outside "
                                          r"x\[100\]"):
        polyad.parse("#define N 100\nvoid f(int n, double x[N]) {\n"
                     "  for (int i = 0; i < n; i++)\n    x[i + 100] = 1.0;\n}\n")


def test_a_global_shadowed_by_a_parameter_is_the_parameter():
    kernel = polyad.parse("double x[4];\nvoid f(int n, double x[n]) {\n"
                          "  for (int i = 0; i < n; i++)\n    x[i] = 2.0 * x[i];\n}\n")
    assert kernel.source.globals == ()
    assert kernel.array("x").extent_texts() == ("n",)
