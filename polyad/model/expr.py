"""The expression language of statement right-hand sides, as sympy.

A right-hand side is a sympy expression whose free symbols are

* read symbols (``real=True``, or ``integer=True`` for reads of ``int``/``char``
  arrays): one per distinct access relation of the statement, named after the
  reference as written (``A[i][k]``);
* integer symbols (``integer=True``) for loop iterators and size parameters.

The C math functions are sympy *undefined* functions named exactly as in C
(``sqrt``, ``pow``, ``fmin`` ...), so nothing of sympy's own simplification
changes their meaning; :data:`to_double` marks a value converted to double
where C converts it explicitly (an integer, or a float widened), and
:data:`to_float` a conversion to float (C's ``(float)e``).

Every subexpression has a C type by C's usual arithmetic conversions
(:func:`value_type`): int below float below double. A floating literal keeps
its type as the precision of its sympy Float (53 bits for ``0.5``,
:data:`FLOAT_PRECISION` for ``0.5f``), a single-precision math function is
one of its own (``sinf``), so that code printed from the tree converts where
the source did.

Primal right-hand sides are built unevaluated (``evaluate=False``) so that they
keep the exact association and operand order of the source: regenerated primal
code is then bitwise identical to the original. :func:`evaluated` turns such a
tree into an ordinary sympy expression for differentiation.
"""

from __future__ import annotations

import sympy
from sympy.core.logic import fuzzy_and

#: name -> arity of every double C math function a kernel may call.
_DOUBLE_MATH = {
    "sqrt": 1, "exp": 1, "log": 1, "sin": 1, "cos": 1, "tan": 1, "tanh": 1,
    "pow": 2, "fabs": 1, "fmin": 2, "fmax": 2,
}

#: float math function (C99's f-suffixed one) -> the double function it is
#: the single-precision version of.
FLOAT_MATH = {name + "f": name for name in _DOUBLE_MATH}

#: name -> arity of every C math function a kernel may call.
MATH_ARITY = {**_DOUBLE_MATH, **{name: _DOUBLE_MATH[double]
                                 for name, double in FLOAT_MATH.items()}}

#: name -> sympy undefined function standing for the C math function.
MATH = {name: sympy.Function(name) for name in MATH_ARITY}

#: A value converted to double, as C's ``(double)e``: an integer, or a float
#: widened (exactly) so that what follows computes in double.
to_double = sympy.Function("to_double")

#: A value converted to float, as C's ``(float)e`` (rounded).
to_float = sympy.Function("to_float")

#: Bits of a float's significand: the precision of a sympy Float that is a
#: float literal (``0.5f``); every other Float is a double.
FLOAT_PRECISION = 24

#: The C types of values, narrowest first (C's usual arithmetic conversions
#: take the wider of two operands' types).
VALUE_TYPES = ("int", "float", "double")


class select(sympy.Function):  # noqa: N801  (named as the operator it stands for)
    """C's value select ``condition ? then : otherwise``.

    A function of its own rather than sympy's Piecewise, whose automatic
    simplification of conditions is slow on nested selects and fails on
    some of them. Its derivative goes through the chosen branch:

    >>> x, y = sympy.symbols("x y", real=True)
    >>> sympy.diff(select(x > y, x * x, y), x)
    select(x > y, 2*x, 0)
    """

    nargs = 3

    @classmethod
    def eval(cls, condition, then, otherwise):
        if condition is sympy.true:
            return then
        if condition is sympy.false:
            return otherwise
        if then == otherwise:
            return then
        return None

    def _eval_is_extended_real(self):
        return fuzzy_and(arg.is_extended_real for arg in self.args[1:])

    def _eval_is_integer(self):
        return fuzzy_and(arg.is_integer for arg in self.args[1:])

    def _eval_derivative(self, variable):
        condition, then, otherwise = self.args
        return select(condition, then.diff(variable), otherwise.diff(variable))


def integer_symbol(name: str) -> sympy.Symbol:
    """The symbol of a loop iterator or size parameter.

    >>> integer_symbol("i").is_integer
    True
    """
    return sympy.Symbol(name, integer=True)


def read_symbol(text: str, dtype: str = "double") -> sympy.Symbol:
    """The symbol standing for the value a reference reads.

    >>> read_symbol("A[i][k]")
    A[i][k]
    """
    if dtype in ("double", "float"):
        return sympy.Symbol(text, real=True)
    return sympy.Symbol(text, integer=True)


def function_name(expr: sympy.Basic) -> str | None:
    """The C name of a math-function application, else None."""
    if isinstance(expr, sympy.core.function.AppliedUndef):
        return expr.func.__name__
    return None


def evaluated(expr: sympy.Basic) -> sympy.Basic:
    """An unevaluated right-hand side rebuilt with sympy's evaluation.

    >>> a, b = sympy.symbols("a b")
    >>> evaluated(sympy.Add(a, a, evaluate=False))
    2*a
    """
    if not expr.args:
        return expr
    return expr.func(*[evaluated(arg) for arg in expr.args])


def read_symbols(expr: sympy.Basic) -> set[sympy.Symbol]:
    """The read symbols of an expression (its non-integer free symbols and
    integer-array reads, i.e. every symbol whose name is a reference)."""
    return {s for s in expr.free_symbols if not _is_index_symbol(s)}


def _is_index_symbol(symbol: sympy.Symbol) -> bool:
    return bool(symbol.is_integer) and symbol.name.isidentifier()


def float_number(value, dtype: str) -> sympy.Float:
    """A floating literal of type ``dtype`` ("double" or "float"), rounded
    to its precision as C rounds it.

    >>> float_number("0.1", "float")._prec, float(float_number("0.5", "float"))
    (24, 0.5)
    """
    return sympy.Float(value, precision=FLOAT_PRECISION if dtype == "float" else 53)


def wider(*types: str | None) -> str | None:
    """The type C's usual arithmetic conversions give operands of ``types``
    (None: an operand of no type of its own, ignored).

    >>> wider("int", "float"), wider("float", "double"), wider(None)
    ('float', 'double', None)
    """
    known = [t for t in types if t is not None]
    return max(known, key=VALUE_TYPES.index) if known else None


def value_type(expr: sympy.Basic, type_of) -> str | None:
    """The C type of an expression: ``type_of(symbol)`` gives each symbol's
    ("int", "float" or "double"). A rational constant, which derivatives
    bring and C text prints in the type around it, has none (None), nor has
    an expression of nothing else.

    >>> x = sympy.Symbol("x", real=True)
    >>> value_type(float_number("0.5", "float") * x, lambda s: "float")
    'float'
    >>> value_type(MATH["sin"](x), lambda s: "float")
    'double'
    """
    if isinstance(expr, sympy.Symbol):
        return type_of(expr)
    if isinstance(expr, sympy.Float):
        return "float" if expr._prec <= FLOAT_PRECISION else "double"
    if isinstance(expr, sympy.Integer):
        return "int"
    if isinstance(expr, sympy.Rational):
        return None
    if isinstance(expr, sympy.logic.boolalg.Boolean) or expr.is_Relational:
        return "int"
    name = function_name(expr)
    if name is not None:
        if name == "to_double" or name in _DOUBLE_MATH:
            return "double"
        if name == "to_float" or name in FLOAT_MATH:
            return "float"
    if isinstance(expr, select):
        return wider(*(value_type(arg, type_of) for arg in expr.args[1:]))
    if isinstance(expr, sympy.Piecewise):
        return wider(*(value_type(value, type_of) for value, _ in expr.args))
    return wider(*(value_type(arg, type_of) for arg in expr.args))
