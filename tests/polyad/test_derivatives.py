"""The derivative table against sympy's own differentiation (an oracle that
shares nothing with the table), numerically at random points."""

from __future__ import annotations

import math

import pytest
import sympy

from polyad.ad.derivatives import RULES, DerivativeError, derivative
from polyad.model.expr import MATH, MATH_ARITY, select
from polyad.check.interpreter import as_sympy, power

x, y = sympy.symbols("x y", real=True)


def _value(expr, point):
    numeric = {"select": lambda c, a, b: a if c else b, "power": math.pow}
    return sympy.lambdify([x, y], as_sympy(expr), modules=[numeric, "math"])(*point)


def _sympy_own(expr):
    """The expression in sympy's own functions, C's pow as sympy's Pow (the
    interpreter's ``power`` has a derivative rule of its own)."""
    return as_sympy(expr).replace(power, lambda base, exponent: sympy.Pow(base, exponent))


@pytest.mark.parametrize("name", sorted(MATH))
def test_rule_agrees_with_sympy(name):
    f = MATH[name]
    expr = f(x, y) if MATH_ARITY[name] == 2 else f(x)
    for point in [(0.7, 1.3), (1.9, 0.4), (0.35, 2.2)]:
        for variable in (x, y):
            ours = _value(derivative(expr, variable), point)
            reference = _value(sympy.diff(_sympy_own(expr), variable), point)
            assert math.isclose(ours, reference, rel_tol=1e-12, abs_tol=1e-15), (
                name, variable, point, ours, reference)


def test_every_math_function_has_a_rule():
    assert set(MATH) <= set(RULES)


def test_chain_rule_through_nested_functions():
    expr = MATH["tanh"](x * MATH["exp"](y)) / (1 + x * x)
    reference = sympy.diff(_sympy_own(expr), x)
    point = (0.3, -0.2)
    assert math.isclose(_value(derivative(expr, x), point), _value(reference, point),
                        rel_tol=1e-12)


def test_select_differentiates_through_the_chosen_branch():
    expr = select(x > y, x * x, 3 * y)
    d = derivative(expr, x)
    assert _value(d, (2.0, 1.0)) == 4.0
    assert _value(d, (1.0, 2.0)) == 0.0
    assert _value(derivative(expr, y), (1.0, 2.0)) == 3.0


def test_missing_rule_names_the_operator():
    erf = sympy.Function("erf")
    with pytest.raises(DerivativeError, match="erf"):
        derivative(erf(x) * y, x)


def test_no_derivative_of_what_does_not_depend():
    assert derivative(MATH["sin"](y) * 2, x) == 0
