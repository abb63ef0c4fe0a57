"""Derivative rules, one table keyed by operator.

Each rule gives the partial derivatives of an operator application with
respect to its arguments, as sympy expressions in those arguments (built
from the same C math functions, so derivative code computes what C would).
:func:`derivative` applies the chain rule over an evaluated expression. A
select ``c ? a : b`` differentiates through the chosen branch; conditions are
not differentiated. An operator without a rule is an error naming it.

>>> x, y = sympy.symbols("x y", real=True)
>>> derivative(MATH["exp"](x) * y, x)
y*exp(x)
"""

from __future__ import annotations

from typing import Callable

import sympy

from polyad.errors import PolyadError
from polyad.model.expr import MATH, float_number, function_name, select, to_double, to_float

Rule = Callable[[tuple], tuple]

#: operator -> rule giving the partials with respect to each argument.
RULES: dict[object, Rule] = {}

#: one-argument math function f -> f' as a function of the value y = f(u),
#: where it is one (``1 - y*y`` for tanh): the reverse sweep reads y from
#: memory instead of calling f again (polyad.ad.outputs decides where).
OUTPUT_RULES: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {}


class DerivativeError(PolyadError):
    """An operator polyad has no derivative rule for."""


def deflinear(key) -> None:
    """Every argument enters with partial 1 (sums)."""
    RULES[key] = lambda args: tuple(sympy.Integer(1) for _ in args)


def defproduct(key) -> None:
    """The partial for an argument is the product of the others."""
    def rule(args):
        return tuple(sympy.Mul(*(args[:i] + args[i + 1:])) for i in range(len(args)))
    RULES[key] = rule


def defunary(name: str, partial: Callable) -> None:
    """A one-argument math function with derivative ``partial(x)``."""
    RULES[name] = lambda args: (partial(args[0]),)


def defbinary(name: str, first: Callable, second: Callable) -> None:
    """A two-argument math function with partials ``first(x, y)``, ``second(x, y)``."""
    RULES[name] = lambda args: (first(*args), second(*args))


def defoutput(name: str, partial: Callable) -> None:
    """A one-argument math function whose derivative at u is
    ``partial(f(u))``, exactly: the same rounded f(u) the rule in
    :data:`RULES` would compute again."""
    OUTPUT_RULES[name] = partial


def defzero(name: str) -> None:
    """A function whose value does not vary with its arguments' derivatives
    (integer conversions)."""
    RULES[name] = lambda args: tuple(sympy.Integer(0) for _ in args)


def _power(args):
    base, exponent = args
    if exponent.is_Number:
        return (exponent * base ** (exponent - 1), sympy.Integer(0))
    return (exponent * base ** (exponent - 1), base ** exponent * MATH["log"](base))


def _choose(condition):
    return select(condition, sympy.Integer(1), sympy.Integer(0))


def _sign(x):
    zero = sympy.Integer(0)
    return select(sympy.StrictGreaterThan(x, zero, evaluate=False), sympy.Integer(1),
                  select(sympy.StrictLessThan(x, zero, evaluate=False), sympy.Integer(-1),
                         zero))


def _select(args):
    condition = args[0]
    return (sympy.Integer(0), _choose(condition), select(condition, sympy.Integer(0),
                                                         sympy.Integer(1)))


deflinear(sympy.Add)
defproduct(sympy.Mul)
RULES[sympy.Pow] = _power


def _defmath(suffix: str, half) -> None:
    """The rules of the math functions of one precision (suffix "" for
    double, "f" for float), each partial in that precision's functions so
    that a float kernel's derivative code computes in float."""
    def f(name):
        return MATH[name + suffix]
    defunary("sqrt" + suffix, lambda x: half / f("sqrt")(x))
    defunary("exp" + suffix, lambda x: f("exp")(x))
    defunary("log" + suffix, lambda x: 1 / x)
    defunary("sin" + suffix, lambda x: f("cos")(x))
    defunary("cos" + suffix, lambda x: -f("sin")(x))
    defunary("tan" + suffix, lambda x: 1 + f("tan")(x) ** 2)
    defunary("tanh" + suffix, lambda x: 1 - f("tanh")(x) ** 2)
    # The same partials through the value written: tanh' = 1 - tanh^2,
    # exp' = exp, sqrt' = 1 / (2 sqrt), each what the rule above computes.
    defoutput("sqrt" + suffix, lambda y: half / y)
    defoutput("exp" + suffix, lambda y: y)
    defoutput("tanh" + suffix, lambda y: 1 - y ** 2)
    defunary("fabs" + suffix, _sign)
    defbinary("pow" + suffix, lambda x, y: y * f("pow")(x, y - 1),
              lambda x, y: f("pow")(x, y) * f("log")(x))
    defbinary("fmin" + suffix, lambda x, y: _choose(sympy.LessThan(x, y, evaluate=False)),
              lambda x, y: _choose(sympy.StrictGreaterThan(x, y, evaluate=False)))
    defbinary("fmax" + suffix, lambda x, y: _choose(sympy.GreaterThan(x, y, evaluate=False)),
              lambda x, y: _choose(sympy.StrictLessThan(x, y, evaluate=False)))


_defmath("", sympy.Rational(1, 2))
_defmath("f", float_number("0.5", "float"))
# Conversions pass derivatives through (an integer operand has none).
deflinear(to_double.__name__)
deflinear(to_float.__name__)
RULES[select] = _select


def operator_key(expr: sympy.Basic):
    """The key of an expression's operator in :data:`RULES`."""
    name = function_name(expr)
    return name if name is not None else type(expr)


def derivative(expr: sympy.Basic, variable: sympy.Symbol) -> sympy.Basic:
    """d expr / d variable by the chain rule over :data:`RULES`."""
    if expr == variable:
        return sympy.Integer(1)
    if variable not in expr.free_symbols:
        return sympy.Integer(0)
    if isinstance(expr, sympy.logic.boolalg.Boolean):
        return sympy.Integer(0)  # a condition: not differentiated
    key = operator_key(expr)
    rule = RULES.get(key)
    if rule is None:
        name = key if isinstance(key, str) else getattr(key, "__name__", str(key))
        raise DerivativeError(f"no derivative rule for operator {name} (in {expr})")
    args = tuple(expr.args)
    total = sympy.Integer(0)
    for partial, arg in zip(rule(args), args):
        inner = derivative(arg, variable)
        if inner != 0 and partial != 0:
            total += partial * inner
    return total
