"""What a gradient function computes, checked against closed forms in numpy
(an oracle independent of polyad), and that the oracles of `polyad check`
catch a wrong derivative."""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad.ad import derivatives
from polyad.check import verify
from polyad.errors import UsageError
from polyad.model.expr import MATH
from tests.conftest import example

rng = np.random.default_rng(11)


def test_gemm_seed_in_gradient_out():
    kernel = example("gemm")
    ni, nj, nk = 5, 6, 7
    A, B, C = rng.standard_normal((ni, nk)), rng.standard_normal((nk, nj)), \
        rng.standard_normal((ni, nj))
    alpha, beta = 0.7, -1.3
    seed = rng.standard_normal((ni, nj))
    held = rng.standard_normal((ni, nk))
    out = polyad.compile(polyad.grad(kernel))(
        ni=ni, nj=nj, nk=nk, alpha=alpha, beta=beta, A=A, B=B, C=C, C_b=seed, A_b=held)
    assert np.allclose(out["C"], beta * C + alpha * A @ B, rtol=1e-13)
    # C carries the seed in and the gradient with respect to the initial C out.
    assert np.allclose(out["C_b"], beta * seed, rtol=1e-13)
    # Inputs accumulate: A_b held something before.
    assert np.allclose(out["A_b"], held + alpha * seed @ B.T, rtol=1e-13)
    assert np.allclose(out["B_b"], alpha * A.T @ seed, rtol=1e-13)
    assert np.isclose(out["alpha_b"], np.sum(seed * (A @ B)), rtol=1e-13)
    assert np.isclose(out["beta_b"], np.sum(seed * C), rtol=1e-13)


def test_overwritten_input_not_in_of_gets_its_gradient_added():
    # x is an input the kernel overwrites; differentiate only y: the seed of
    # x's own final value is zero, its gradient is added to what x_b held.
    kernel = polyad.parse("void k(int n, double x[n], double y[n]) {\n"
                          "for (int i = 0; i < n; i++) x[i] = 2.0 * x[i];\n"
                          "for (int i = 0; i < n; i++) y[i] = x[i] * x[i];\n}")
    adjoint = polyad.grad(kernel, wrt=["x"], of=["y"])
    x = rng.standard_normal(4)
    w = rng.standard_normal(4)
    out = polyad.compile(adjoint)(n=4, x=x, y=np.zeros(4), y_b=w, x_b=np.ones(4))
    assert np.allclose(out["x_b"], 1.0 + 8.0 * x * w, rtol=1e-14)


def test_assignment_kills_the_adjoint_of_what_it_overwrites():
    # y is overwritten by a constant after being computed: nothing of the
    # first value reaches the output.
    kernel = polyad.parse("void k(int n, double x[n], double y[n]) {\n"
                          "for (int i = 0; i < n; i++) y[i] = x[i] * x[i];\n"
                          "for (int i = 0; i < n; i += 2) y[i] = 1.0;\n}")
    x = rng.standard_normal(5)
    out = polyad.compile(polyad.grad(kernel))(n=5, x=x, y_b=np.ones(5))
    expected = 2 * x
    expected[::2] = 0.0
    assert np.allclose(out["x_b"], expected, rtol=1e-14)


def test_several_reads_of_one_array_each_contribute():
    kernel = polyad.parse("void k(int n, double x[n], double y[n]) {\n"
                          "for (int i = 1; i < n - 1; i++) "
                          "y[i] = x[i - 1] * x[i] * x[i + 1];\n}")
    n = 6
    x = rng.standard_normal(n)
    out = polyad.compile(polyad.grad(kernel))(n=n, x=x, y_b=np.ones(n))
    expected = np.zeros(n)
    for i in range(1, n - 1):
        expected[i - 1] += x[i] * x[i + 1]
        expected[i] += x[i - 1] * x[i + 1]
        expected[i + 1] += x[i - 1] * x[i]
    assert np.allclose(out["x_b"], expected, rtol=1e-14)


def test_compound_and_self_referencing_updates():
    # s = s * x[i] over i: a product; its gradient is prod / x[i].
    kernel = polyad.parse("void k(int n, double x[n], double p[1]) {\n  double s;\n"
                          "  s = 1.0;\n  for (int i = 0; i < n; i++) s *= x[i];\n"
                          "  p[0] = s;\n}")
    x = rng.uniform(0.5, 1.5, 5)
    for strategy in ("exact", "stack"):
        out = polyad.compile(polyad.grad(kernel, strategy=strategy))(
            n=5, x=x, p_b=np.ones(1))
        assert np.allclose(out["x_b"], np.prod(x) / x, rtol=1e-13), strategy


def test_inactive_statements_cost_nothing_in_the_reverse_sweep():
    kernel = polyad.parse("void k(int n, double a[n], double b[n], double y[n], "
                          "double z[n]) {\n"
                          "for (int i = 0; i < n; i++) y[i] = a[i] * a[i];\n"
                          "for (int i = 0; i < n; i++) z[i] = b[i] * b[i];\n}")
    adjoint = polyad.grad(kernel, wrt=["a"])
    assert adjoint.activity.active == {"a", "y"}
    assert [s.statement.name for s in adjoint.statements] == ["S0"]
    code = polyad.generate_c(adjoint)
    body = code[code.index("{\n"):]
    assert "b_b" not in code and "z_b" not in body


@pytest.mark.parametrize("wrt, message", [(["nope"], "no array or scalar 'nope'"),
                                          (["y"], "y is not a floating-point input")])
def test_bad_wrt_is_a_clear_error(wrt, message):
    kernel = polyad.parse("void k(int n, double x[n], double y[n]) {\n"
                          "for (int i = 0; i < n; i++) y[i] = x[i];\n}")
    with pytest.raises(UsageError, match=message):
        polyad.grad(kernel, wrt=wrt)


def test_int_data_cannot_be_differentiated():
    kernel = polyad.parse("void k(int n, int m[n], double x[n], double y[n]) {\n"
                          "for (int i = 0; i < n; i++) y[i] = m[i] * x[i];\n}")
    with pytest.raises(UsageError, match="floating-point"):
        polyad.grad(kernel, wrt=["m"])
    assert polyad.grad(kernel).wrt == ("x",)


def test_a_wrong_derivative_rule_is_caught(monkeypatch):
    """The oracles can fail: with d sin(x)/dx = sin(x) instead of cos(x) the
    interpreter (sympy.diff), the finite differences and the dot-product test
    (the tangent uses the same wrong rule, so it still agrees) react as they
    should."""
    kernel = polyad.parse("#include <math.h>\nvoid k(int n, double x[n], double y[n]) {\n"
                          "for (int i = 0; i < n; i++) y[i] = sin(x[i]) * x[i];\n}")
    monkeypatch.setitem(derivatives.RULES, "sin", lambda args: (MATH["sin"](args[0]),))
    result = verify.check_gradient(kernel, {"n": 6})
    verdicts = {c["oracle"]: c["ok"] for c in result["checks"]}
    assert not verdicts["reverse-mode interpreter"]
    assert not verdicts["central finite differences"]
    assert verdicts["dot product <w, J v> = <J^T w, v>"]
