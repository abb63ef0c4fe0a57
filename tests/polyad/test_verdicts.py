"""The verdicts of ``polyad check``: a correct gradient passes where fixed
tolerances failed it, a wrong one fails, ill-conditioned inputs and inputs
on which the kernel computes NaN or inf are said as such.

Each test names its oracle; the wrong gradients are injected (a wrong
derivative rule, a perturbed adjoint result) so that the tests can fail."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from polyad import codegen
import polyad
from polyad.ad import derivatives
from polyad.check import numerics, verify
from polyad.errors import UsageError
from polyad.model.expr import MATH
from polyad.check.inputs import parse_init
from tests.conftest import example

#: r x (1 - x^2) / (1 + x^3): with r near 3 a long recurrence whose rounding
#: differences grow step by step (condition estimate 3e6 at n = 25, seed 4).
CUBIC = """void cubic(int n, double r, double x[n]) {
  for (int t = 1; t < n; t++)
    x[t] = r * x[t-1] * (1.0 - x[t-1] * x[t-1]) / (1.0 + x[t-1] * x[t-1] * x[t-1]);
}
"""
SQUARING = """void squaring(int n, int m, double x[m]) {
  for (int t = 0; t < n; t++)
    for (int i = 0; i < m; i++)
      x[i] = x[i] * x[i];
}
"""


def by_oracle(result: dict) -> dict:
    return {c["oracle"].split()[0]: c for c in result["checks"]}


def test_long_recurrence_passes_the_interpreter_beyond_a_fixed_tolerance():
    """Oracle: the reverse-mode interpreter. The compiled adjoint and the
    interpreter differ by 5e-10 (rounding, amplified by the recurrence; the
    old fixed tolerance was 1e-10): the tolerance scales with the measured
    condition estimate, and the gradient is ok."""
    kernel = polyad.parse(CUBIC)
    result = verify.check_gradient(kernel, {"n": 25}, seed=4,
                                   oracles=("primal", "interpreter", "dot"),
                                   init=parse_init({"r": "uniform:2.6:3.0",
                                                    "x": "uniform:0.2:0.8"}))
    interpreter = by_oracle(result)["reverse-mode"]
    assert interpreter["max_rel_err"] > 1e-10
    assert interpreter["verdict"] == "ok", interpreter
    assert interpreter["max_rel_err"] <= interpreter["tolerance"] <= verify.MEANINGFUL
    assert 1e5 < result["condition_estimate"] < verify.CONDITION_LIMIT
    assert result["verdict"] == "ok"


def test_long_recurrence_still_catches_a_wrong_gradient(monkeypatch):
    """Oracle: the interpreter, on the same recurrence: with the partials of
    every product off by a relative 1e-6 (a subtly wrong rule), the
    condition-scaled tolerance still fails the gradient."""
    kernel = polyad.parse(CUBIC)
    real = derivatives.RULES[sympy.Mul]
    monkeypatch.setitem(derivatives.RULES, sympy.Mul,
                        lambda args: tuple(sympy.Float(1 + 1e-6) * d for d in real(args)))
    result = verify.check_gradient(kernel, {"n": 25}, seed=4, oracles=("interpreter",),
                                   init=parse_init({"r": "uniform:2.6:3.0",
                                                    "x": "uniform:0.2:0.8"}))
    assert by_oracle(result)["reverse-mode"]["verdict"] == "wrong", result["checks"]
    assert result["verdict"] == "wrong gradient"


def test_repeated_squaring_passes_finite_differences():
    """Oracle: central finite differences with Ridders' extrapolation. x^4096
    failed the fixed h = 1e-6 at 3.7e-6 against 1e-6 (truncation error);
    with a step chosen for the direction the exact gradient agrees."""
    kernel = polyad.parse(SQUARING)
    result = verify.check_gradient(kernel, {"n": 12, "m": 3})
    fd = by_oracle(result)["central"]
    assert fd["verdict"] == "ok", fd
    assert fd["max_rel_err"] < 1e-8
    assert result["verdict"] == "ok"


def test_repeated_squaring_still_catches_a_wrong_gradient(monkeypatch):
    """Oracle: finite differences alone: the step search and Ridders'
    tolerance do not let a gradient 1e-5 off pass on x^4096."""
    _perturb_adjoint(monkeypatch, 1 + 1e-5)
    result = verify.check_gradient(polyad.parse(SQUARING), {"n": 12, "m": 3},
                                   oracles=("fd",))
    assert by_oracle(result)["central"]["verdict"] == "wrong", result["checks"]
    assert result["verdict"] == "wrong gradient"


def _perturb_adjoint(monkeypatch, factor: float) -> None:
    """Every gradient output of compiled adjoint code multiplied by factor."""
    def perturb(function):
        if not any(spec.name.endswith("_b") for spec in function.arguments):
            return function

        def perturbed(**values):
            out = function(**values)
            return {k: (v * factor if k.endswith("_b") else v) for k, v in out.items()}
        return perturbed
    _wrap_compiled(monkeypatch, perturb)


def _wrap_compiled(monkeypatch, wrap) -> None:
    """``wrap`` applied to every function check_gradient compiles, alone or
    several at once."""
    one, several = codegen.compile_program, codegen.compile_programs
    monkeypatch.setattr(verify.codegen, "compile_program", lambda program: wrap(one(program)))
    monkeypatch.setattr(verify.codegen, "compile_programs",
                        lambda programs: tuple(map(wrap, several(programs))))


@pytest.mark.parametrize("name", ["gemm", "cholesky", "jacobi_1d"])
def test_a_gradient_off_by_1e5_is_wrong(monkeypatch, name):
    """Oracles: the interpreter, the dot-product test and finite differences
    each say wrong for a gradient 1e-5 off in relative terms."""
    _perturb_adjoint(monkeypatch, 1 + 1e-5)
    kernel = example(name)
    result = verify.check_gradient(kernel, kernel.sizes("small"))
    verdicts = {c["oracle"].split()[0]: c["verdict"] for c in result["checks"]}
    assert verdicts == {"primal": "ok", "reverse-mode": "wrong", "dot": "wrong",
                        "central": "wrong"}, result["checks"]
    assert result["verdict"] == "wrong gradient"


def test_a_gradient_within_rounding_is_ok(monkeypatch):
    """Oracle: the interpreter and the dot-product test, again: a gradient
    off by 10 ulps (rounding, not a wrong rule) passes both."""
    _perturb_adjoint(monkeypatch, 1 + 10 * numerics.EPS)
    kernel = example("gemm")
    result = verify.check_gradient(kernel, kernel.sizes("small"))
    assert result["verdict"] == "ok", result["checks"]


def test_wrong_sin_rule_is_wrong_on_every_independent_oracle(monkeypatch):
    """Oracles: sympy.diff in the interpreter and finite differences; the
    dot-product test shares the wrong rule (tangent and adjoint), so agrees."""
    kernel = polyad.parse("#include <math.h>\nvoid k(int n, double x[n], double y[n]) {\n"
                          "for (int i = 0; i < n; i++) y[i] = sin(x[i]) * x[i];\n}")
    monkeypatch.setitem(derivatives.RULES, "sin", lambda args: (MATH["sin"](args[0]),))
    result = verify.check_gradient(kernel, {"n": 6})
    verdicts = {c["oracle"].split()[0]: c["verdict"] for c in result["checks"]}
    assert verdicts == {"primal": "ok", "reverse-mode": "wrong", "dot": "ok",
                        "central": "wrong"}
    assert result["verdict"] == "wrong gradient"


def test_rank_deficient_gram_schmidt_is_ill_conditioned():
    """Oracle: the condition estimate (the compiled gradient at perturbed
    inputs). Two columns 1e-10 apart: ill-conditioned, with the estimate;
    columns 1e-2 apart: ok."""
    kernel = example("gramschmidt")
    rng = np.random.default_rng(3)
    for gap, verdict in [(1e-10, "ill-conditioned"), (1e-2, "ok")]:
        A = rng.uniform(0.5, 1.5, (10, 8))
        A[:, 3] = A[:, 2] + gap * rng.standard_normal(10)
        result = verify.check_gradient(kernel, {"m": 10, "n": 8}, given={"A": A})
        assert result["verdict"] == verdict, (gap, result)
        if verdict == "ill-conditioned":
            assert result["condition_estimate"] > 1e8


def test_near_zero_pivot_is_ill_conditioned():
    """Oracle: the condition estimate. The second pivot of LU is
    1 + 1e-10 - 1 (cancellation): ill-conditioned; 1e-3: ok."""
    kernel = example("lu")
    rng = np.random.default_rng(4)
    for pivot, verdict in [(1e-10, "ill-conditioned"), (1e-3, "ok")]:
        A = rng.uniform(0.5, 1.5, (6, 6)) + 6 * np.eye(6)
        A[:2, :2] = [[1.0, 1.0], [1.0, 1.0 + pivot]]
        result = verify.check_gradient(kernel, {"n": 6}, given={"A": A})
        assert result["verdict"] == verdict, (pivot, result)


def test_overflowing_squaring_loop_is_bad_inputs_naming_the_statement():
    """Oracle: the original C's outputs (inf) and the interpreter run forward
    statement by statement: x^(2^20) overflows; the verdict is bad inputs,
    naming the statement, its line and the value it squared, and no oracle
    runs."""
    kernel = polyad.parse(SQUARING)
    result = verify.check_gradient(kernel, {"n": 20, "m": 3})
    assert result["verdict"] == "bad inputs" and result["checks"] == []
    bad = result["nonfinite"]
    assert bad["line"] == 4 and bad["statement"] == kernel.statements[0].name
    assert bad["instance"]["t"] < 20
    assert "x[i] = x[i] * x[i]" in bad["message"] and "gives inf" in bad["message"]
    assert bad["inputs"] == ["x"]
    (value,) = bad["reads"].values()
    assert value * value == np.inf


DEAD_OVERFLOW = """void dead(int n, double A[n], double B[n]) {
  for (int i = 0; i < n; i++) {
    double s = A[i] * 1e200;
    s = s * s;
    s = s * s;
    s = A[i];
    B[i] = 2.0 * s;
  }
}
"""


def test_an_overflowed_intermediate_is_bad_inputs_not_a_wrong_gradient():
    """Oracle: the interpreter run forward. The outputs are finite (the local
    that overflowed is overwritten), but plain reverse mode gives NaN through
    it (0 * inf), so the interpreter's gradient is NaN and no oracle can judge
    polyad's: the verdict is bad inputs naming line 4, after the oracles ran
    (on the old code: wrong gradient)."""
    kernel = polyad.parse(DEAD_OVERFLOW)
    result = verify.check_gradient(kernel, {"n": 5})
    assert by_oracle(result)["reverse-mode"]["verdict"] == "wrong"
    assert result["verdict"] == "bad inputs"
    bad = result["nonfinite"]
    assert bad["line"] == 4 and "gives inf" in bad["message"]
    assert "overwritten later" in bad["message"]


def test_nothing_to_differentiate_is_refused():
    """Oracle: C semantics (a scalar parameter is passed by value), and a
    kernel without arrays: no output, refused before anything runs."""
    loss = polyad.parse("void f(int n, double loss, double x[n]) {\n"
                        "for (int i = 0; i < n; i++) loss = loss + x[i];\n}")
    with pytest.raises(UsageError, match="nothing to differentiate: no floating-point "
                       "output.*double loss\\[1\\]"):
        verify.check_gradient(loss, {"n": 4})
    scalars = polyad.parse("void g(double a, double b) {\n  a = a * b;\n}")
    with pytest.raises(UsageError, match="nothing to differentiate"):
        verify.check_gradient(scalars, {})


def test_interpreter_runs_at_reduced_sizes_beyond_its_budget(monkeypatch):
    """Oracle: the interpreter at reduced sizes (said in the record) against
    the adjoint compiled and run at those sizes."""
    monkeypatch.setattr(verify, "INTERPRETER_BUDGET", 200)
    kernel = example("gemm")
    result = verify.check_gradient(kernel, {"ni": 12, "nj": 11, "nk": 10},
                                   oracles=("interpreter",))
    reduced = result["interpreter_sizes"]
    assert verify.instance_count(kernel, reduced) <= 200
    assert "reduced sizes" in result["checks"][0]["detail"]
    assert result["verdict"] == "ok"


def test_unknown_oracle_is_a_usage_error():
    """Oracle: the documented list of oracles; anything else is refused."""
    with pytest.raises(UsageError, match="unknown oracle fft"):
        verify.check_gradient(example("gemm"), example("gemm").sizes(), oracles=("fft",))


@pytest.mark.parametrize("error, tolerance, expected", [
    (1e-12, 1e-10, "ok"), (1e-9, 1e-10, "wrong"), (float("nan"), 1e-10, "wrong"),
    (1e-3, 1e-2, "ill-conditioned"), (1e-12, 1e-2, "ok"),
    (float("inf"), float("inf"), "ill-conditioned")])
def test_verdict_rule(error, tolerance, expected):
    """Oracle: the rule as docs/cli.md states it (ok within a meaningful
    tolerance, ill-conditioned when the tolerance is not meaningful, else
    wrong; a NaN error is never ok)."""
    assert numerics.verdict(error, tolerance, 1e-6) == expected


def test_ridders_error_estimate_covers_its_error():
    """Oracle: a closed form. d/dh exp(3 (1 + h)) at 0 is 3 e^3; the
    estimate's error is within its error estimate and far below h^2."""
    def phi(h):
        return float(np.exp(3.0 * (1.0 + h)))

    estimate = numerics.ridders(phi, numerics.choose_step(phi, 0.1))
    exact = 3.0 * np.exp(3.0)
    assert abs(estimate.value - exact) <= 10 * estimate.error + 1e-14 * exact
    assert abs(estimate.value - exact) < 1e-10 * exact


SQRT = "#include <math.h>\nvoid r(int n, double x[n], double y[n]) {\n" \
       "  for (int i = 0; i < n; i++)\n    y[i] = sqrt(x[i]);\n}\n"


def test_a_derivative_that_does_not_exist_is_ill_conditioned_not_wrong():
    """Oracle: the interpreter (sympy's d sqrt(x)/dx = inf at 0, in the same
    element as the adjoint's). sqrt is finite at 0, its derivative is not."""
    kernel = polyad.parse(SQRT)
    x = np.array([1.0, 0.0, 2.0, 3.0])
    result = verify.check_gradient(kernel, {"n": 4}, given={"x": x})
    assert by_oracle(result)["reverse-mode"]["verdict"] == "ill-conditioned"
    assert result["verdict"] == "ill-conditioned", result["checks"]


def test_a_nan_gradient_where_the_interpreter_is_finite_is_wrong(monkeypatch):
    """Oracle: the interpreter. An adjoint that returns NaN in one element
    (a bug, not the numerics) is a wrong gradient, even though the NaN makes
    the condition estimate infinite."""
    def break_one(function):
        def broken(**values):
            out = function(**values)
            if "x_b" in out:
                out["x_b"] = np.array(out["x_b"], dtype=float)
                out["x_b"][1] = np.nan
            return out
        return broken
    _wrap_compiled(monkeypatch, break_one)
    result = verify.check_gradient(polyad.parse(SQRT), {"n": 4})
    assert by_oracle(result)["reverse-mode"]["verdict"] == "wrong"
    assert result["verdict"] == "wrong gradient"


def test_a_singular_partial_under_a_guard_is_bad_inputs_naming_it():
    """Oracle: the interpreter run forward, evaluating partials. correlation
    with one observation of one variable: stddev = sqrt(0), then the guard
    replaces it by 1, so the outputs are finite and constant, but the
    adjoint multiplies the guard's zero by d sqrt/dx = inf: NaN in the
    gradient where the interpreter (which skips zero seeds) has none. The
    verdict is bad inputs naming the sqrt (on the old code: a
    ZeroDivisionError inside the finite-difference oracle)."""
    kernel = example("correlation")
    result = verify.check_gradient(kernel, {"m": 1, "n": 1})
    assert result["verdict"] == "bad inputs", result["checks"]
    bad = result["nonfinite"]
    assert "sqrt" in bad["message"] and "derivative" in bad["message"]
    assert bad["line"] == kernel.statements[[s.name for s in kernel.statements].index(
        bad["statement"])].location.line
    assert bad["reads"] == {"stddev[0]": 0.0}
