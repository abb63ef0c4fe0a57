"""sympy expressions to C expression text.

Unevaluated primal right-hand sides print with the association and operand
order they were built with, so regenerated code computes bit for bit what the
source computed; parentheses are added only where C precedence needs them.
Evaluated expressions (derivatives) print in sympy's order.

Types follow the tree (polyad.model.expr.value_type): a float literal prints
with its suffix (``0.5f``), and a constant the printer makes up (the ``1.0``
of a reciprocal, a rational of a derivative) takes the type of the
expression around it, so that a float kernel's derivative code computes in
float and a double kernel's prints as it always did.
"""

from __future__ import annotations

from typing import Callable, Mapping

import sympy
from sympy.core.function import AppliedUndef
from sympy.logic.boolalg import ITE, Equivalent, Implies, Xor
from sympy.functions.elementary.piecewise import ExprCondPair

from polyad.errors import PolyadError
import numpy as np

from polyad.model.expr import FLOAT_PRECISION, select, value_type

# C precedence levels, higher binds tighter.
_CONDITIONAL, _OR, _AND, _EQUALITY, _RELATIONAL, _ADDITIVE, _MULTIPLICATIVE, \
    _UNARY, _ATOM = range(9)

_RELATION_TEXT = {
    sympy.StrictLessThan: ("<", _RELATIONAL), sympy.LessThan: ("<=", _RELATIONAL),
    sympy.StrictGreaterThan: (">", _RELATIONAL), sympy.GreaterThan: (">=", _RELATIONAL),
    sympy.Eq: ("==", _EQUALITY), sympy.Ne: ("!=", _EQUALITY),
}


class CExpressionPrinter:
    """Prints expressions; ``name_of(symbol)`` gives each symbol's C text.

    >>> a, b, c = sympy.symbols("a b c", real=True)
    >>> e = sympy.Add(a, sympy.Add(b, c, evaluate=False), evaluate=False)
    >>> CExpressionPrinter(lambda s: s.name).print(e)
    'a + (b + c)'
    """

    def __init__(self, name_of: Callable[[sympy.Symbol], str],
                 functions: Mapping[str, str] | None = None,
                 type_of: Callable[[sympy.Symbol], str] | None = None):
        self.name_of = name_of
        #: C name of a called function where it is not its own
        self.functions = dict(functions or {})
        #: each symbol's C type ("int", "float", "double"); without it every
        #: value is a double
        self.type_of = type_of

    def _real(self, expr) -> str:
        """The floating type constants made up inside ``expr`` take: float
        when its typed values are at most float, else double."""
        if self.type_of is None:
            return "double"
        return "float" if value_type(expr, self.type_of) == "float" else "double"

    def _one(self, expr) -> str:
        return "1.0f" if self._real(expr) == "float" else "1.0"

    def print(self, expr: sympy.Basic) -> str:
        return self._print(expr)[0]

    # Each _print returns (text, precedence of its top-level operator).
    def _print(self, expr) -> tuple[str, int]:
        if isinstance(expr, sympy.Symbol):
            return self.name_of(expr), _ATOM
        if isinstance(expr, (sympy.Integer, sympy.Float, sympy.Rational)):
            return _number(expr, "double")
        if isinstance(expr, sympy.Add):
            return self._add(expr)
        if isinstance(expr, sympy.Mul):
            return self._mul(expr)
        if isinstance(expr, sympy.Pow):
            return self._pow(expr)
        if isinstance(expr, AppliedUndef):
            return self._call(expr)
        if isinstance(expr, select):
            return self._piecewise([(expr.args[1], expr.args[0]), (expr.args[2], sympy.true)])
        if isinstance(expr, sympy.Piecewise):
            return self._piecewise(expr.args)
        if type(expr) in _RELATION_TEXT:
            op, level = _RELATION_TEXT[type(expr)]
            return self._binary(expr.args[0], op, expr.args[1], level), level
        if isinstance(expr, sympy.And):
            return self._chain(expr.args, "&&", _AND), _AND
        if isinstance(expr, sympy.Or):
            return self._chain(expr.args, "||", _OR), _OR
        if isinstance(expr, sympy.Not):
            return "!" + self._operand(expr.args[0], _UNARY), _UNARY
        if isinstance(expr, ITE):
            return self._piecewise([(expr.args[1], expr.args[0]), (expr.args[2], sympy.true)])
        if isinstance(expr, Xor):
            return self._chain(expr.args, "!=", _EQUALITY), _EQUALITY
        if isinstance(expr, Equivalent):
            return self._chain(expr.args, "==", _EQUALITY), _EQUALITY
        if isinstance(expr, Implies):
            return (f"!{self._operand(expr.args[0], _UNARY)} || "
                    f"{self._operand(expr.args[1], _OR, right=True)}"), _OR
        if expr is sympy.true:
            return "1", _ATOM
        if expr is sympy.false:
            return "0", _ATOM
        raise PolyadError(f"internal error: no C form for {type(expr).__name__} "
                          f"in {expr}")

    def _operand(self, expr, level: int, right: bool = False) -> str:
        text, own = self._print(expr)
        if own < level or (right and own == level):
            return f"({text})"
        return text

    def _binary(self, left, op: str, right, level: int) -> str:
        return (f"{self._operand(left, level)} {op} "
                f"{self._operand(right, level, right=True)}")

    def _chain(self, args, op: str, level: int) -> str:
        text = self._operand(args[0], level)
        for arg in args[1:]:
            text += f" {op} {self._operand(arg, level, right=True)}"
        return text

    def _add(self, expr: sympy.Add) -> tuple[str, int]:
        args = list(expr.args)
        text = self._operand(args[0], _ADDITIVE)
        for term in args[1:]:
            negated = _negated(term)
            if negated is not None:
                text += f" - {self._operand(negated, _ADDITIVE, right=True)}"
            else:
                text += f" + {self._operand(term, _ADDITIVE, right=True)}"
        return text, _ADDITIVE

    def _mul(self, expr: sympy.Mul) -> tuple[str, int]:
        args = list(expr.args)
        negated = _negated(expr)
        if negated is not None:
            operand = self._operand(negated, _UNARY)
            if operand.startswith("-"):  # "--x" would be C's decrement
                operand = f"({operand})"
            return "-" + operand, _UNARY
        numerator, denominator = [], []
        real = self._real(expr)
        for factor in args:
            if (isinstance(factor, sympy.Pow) and factor.exp.is_Integer
                    and int(factor.exp) < 0):
                denominator.append(factor.base if int(factor.exp) == -1
                                   else sympy.Pow(factor.base, -factor.exp,
                                                  evaluate=False))
            elif isinstance(factor, sympy.Rational) and not factor.is_Integer:
                if factor.q & (factor.q - 1) == 0:  # a power of two: exact in binary
                    numerator.append(_made_up(factor, real))
                else:
                    if factor.p != 1:
                        numerator.append(sympy.Integer(factor.p))
                    denominator.append(_made_up(factor.q, real))
            else:
                numerator.append(factor)
        text = self._chain(numerator, "*", _MULTIPLICATIVE) if numerator else self._one(expr)
        for factor in denominator:
            text += f" / {self._operand(factor, _MULTIPLICATIVE, right=True)}"
        return text, _MULTIPLICATIVE

    def _pow(self, expr: sympy.Pow) -> tuple[str, int]:
        base, exponent = expr.args
        one = self._one(expr)
        suffix = "f" if self._real(expr) == "float" else ""
        if exponent.is_Integer:
            n = int(exponent)
            if n == -1:
                return f"{one} / {self._operand(base, _MULTIPLICATIVE, right=True)}", \
                    _MULTIPLICATIVE
            if 0 < n <= 4:
                factor = self._operand(base, _MULTIPLICATIVE, right=True)
                return " * ".join([factor] * n), _MULTIPLICATIVE
            if -4 <= n < 0:
                factor = self._operand(base, _MULTIPLICATIVE, right=True)
                return f"{one} / ({' * '.join([factor] * -n)})", _MULTIPLICATIVE
        if exponent == sympy.Rational(1, 2):
            return f"sqrt{suffix}({self.print(base)})", _ATOM
        if exponent == sympy.Rational(-1, 2):
            return f"{one} / sqrt{suffix}({self.print(base)})", _MULTIPLICATIVE
        if isinstance(exponent, sympy.Rational) and not exponent.is_Integer:
            exponent = _made_up(exponent, "float" if suffix else "double")
        return f"pow{suffix}({self.print(base)}, {self.print(exponent)})", _ATOM

    def _call(self, expr: AppliedUndef) -> tuple[str, int]:
        name = expr.func.__name__
        if name == "to_double":
            return f"(double){self._operand(expr.args[0], _ATOM)}", _UNARY
        if name == "to_float":
            return f"(float){self._operand(expr.args[0], _ATOM)}", _UNARY
        return (f"{self.functions.get(name, name)}"
                f"({', '.join(self.print(a) for a in expr.args)})", _ATOM)

    def _piecewise(self, pairs) -> tuple[str, int]:
        pairs = [p.args if isinstance(p, ExprCondPair) else tuple(p) for p in pairs]
        value, condition = pairs[0]
        if condition is sympy.true or len(pairs) == 1:
            return self._print(value)
        rest, _ = self._piecewise(pairs[1:])
        return (f"{self._operand(condition, _OR)} ? {self._operand(value, _OR)} : {rest}",
                _CONDITIONAL)


def negated(expr) -> sympy.Basic | None:
    """``x`` when ``expr`` is ``-x`` (a product with a negative leading
    coefficient), else None."""
    return _negated(expr)


def _negated(expr) -> sympy.Basic | None:
    """``x`` when ``expr`` is ``-1 * x`` (or a product with a negative
    leading coefficient), else None."""
    if isinstance(expr, sympy.Mul) and expr.args and isinstance(expr.args[0], sympy.Number) \
            and expr.args[0].is_negative:
        coefficient = -expr.args[0]
        rest = expr.args[1:]
        if coefficient == 1:
            return rest[0] if len(rest) == 1 else sympy.Mul(*rest, evaluate=False)
        return sympy.Mul(coefficient, *rest, evaluate=False)
    return None


def _made_up(value, real: str) -> sympy.Float:
    """A constant the printer makes up, as a literal of type ``real``."""
    return sympy.Float(value, precision=FLOAT_PRECISION if real == "float" else 53)


def _number(value, real: str) -> tuple[str, int]:
    """A number's C literal; a rational's quotient in type ``real``."""
    if isinstance(value, sympy.Integer):
        n = int(value)
        return (str(n), _ATOM) if n >= 0 else (str(n), _UNARY)
    if isinstance(value, sympy.Float):
        single = value._prec <= FLOAT_PRECISION
        x = float(value)
        # The shortest text that reads back as the same float (or double).
        text = str(np.float32(x)) if single else repr(x)
        if "e" not in text and "." not in text and "inf" not in text and "nan" not in text:
            text += ".0"
        if single and "inf" not in text and "nan" not in text:
            text += "f"
        return (text, _ATOM) if not text.startswith("-") else (text, _UNARY)
    p, q = int(value.p), int(value.q)
    suffix = "f" if real == "float" else ""
    return f"{p}.0{suffix} / {q}.0{suffix}", _MULTIPLICATIVE
