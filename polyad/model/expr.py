"""The expression language of statement right-hand sides, as sympy.

A right-hand side is a sympy expression whose free symbols are

* read symbols (``real=True``, or ``integer=True`` for reads of ``int``/``char``
  arrays): one per distinct access relation of the statement, named after the
  reference as written (``A[i][k]``);
* integer symbols (``integer=True``) for loop iterators and size parameters.

The C math functions are sympy *undefined* functions named exactly as in C
(``sqrt``, ``pow``, ``fmin`` ...), so nothing of sympy's own simplification
changes their meaning; :data:`to_double` marks an integer value converted to
double where C would have converted it explicitly.

Primal right-hand sides are built unevaluated (``evaluate=False``) so that they
keep the exact association and operand order of the source: regenerated primal
code is then bitwise identical to the original. :func:`evaluated` turns such a
tree into an ordinary sympy expression for differentiation.
"""

from __future__ import annotations

import sympy
from sympy.core.logic import fuzzy_and

#: name -> arity of every C math function a kernel may call.
MATH_ARITY = {
    "sqrt": 1, "exp": 1, "log": 1, "sin": 1, "cos": 1, "tan": 1, "tanh": 1,
    "pow": 2, "fabs": 1, "fmin": 2, "fmax": 2,
}

#: name -> sympy undefined function standing for the C math function.
MATH = {name: sympy.Function(name) for name in MATH_ARITY}

#: An integer expression converted to double, as C's ``(double)e``.
to_double = sympy.Function("to_double")


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
    if dtype == "double":
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
