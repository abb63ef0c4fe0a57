"""C value expressions (right-hand sides) to unevaluated sympy expressions.

Every C operator becomes one two-operand sympy node built with
``evaluate=False``, so the expression keeps the association and operand order
of the source: ``a - b`` is ``Add(a, Mul(-1, b))``, ``a / b`` is
``Mul(a, Pow(b, -1))``. Each subexpression has a C type, ``int`` or
``float`` or ``double``, by C's usual arithmetic conversions (an operation
computes in the wider of its operands' types); integer arithmetic is kept as
integer arithmetic (C converts it where it meets a floating value), integer
division of variables is refused. Floating literals keep their type
(``0.5f`` is a float), casts between float and double are explicit nodes, so
that the printed tree converts where the source did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import islpy as isl
import sympy
from pycparser import c_ast

from polyad.frontend.affine import AffineTranslator, Scope, describe, integer_literal, type_names
from polyad.model.expr import (FLOAT_MATH, MATH, MATH_ARITY, float_number, integer_symbol,
                               select, to_double, to_float, wider)

_RELATIONS = {
    "<": sympy.StrictLessThan, "<=": sympy.LessThan, ">": sympy.StrictGreaterThan,
    ">=": sympy.GreaterThan, "==": sympy.Eq, "!=": sympy.Ne,
}
_NEGATIVE_ONE = sympy.S.NegativeOne


@dataclass(frozen=True)
class Typed:
    """A translated value: its sympy expression and its C type."""

    expr: sympy.Basic
    ctype: str  # "int", "float" or "double"


def add(a, b):
    return sympy.Add(a, b, evaluate=False)


def subtract(a, b):
    return sympy.Add(a, negate(b), evaluate=False)


def multiply(a, b):
    return sympy.Mul(a, b, evaluate=False)


def divide(a, b):
    return sympy.Mul(a, sympy.Pow(b, _NEGATIVE_ONE, evaluate=False), evaluate=False)


def negate(a):
    return sympy.Mul(_NEGATIVE_ONE, a, evaluate=False)


_BINARY = {"+": add, "-": subtract, "*": multiply, "/": divide}


def float_literal(text: str) -> Typed | None:
    """A C floating literal with its type (``0.5`` double, ``0.5f`` float),
    or None for a long double one (``0.5L``: not modelled)."""
    if text[-1] in "lL":
        return None
    if text[-1] in "fF":
        return Typed(float_number(text[:-1], "float"), "float")
    return Typed(float_number(text, "double"), "double")


def _as_real(typed: Typed, dtype: str) -> sympy.Basic:
    """An integer value converted to ``dtype`` as C converts it where a
    function of that type takes it (a literal folded)."""
    if typed.ctype != "int":
        return typed.expr
    if typed.expr.is_Integer:
        return float_number(int(typed.expr), dtype)
    return (to_float if dtype == "float" else to_double)(typed.expr)


class ValueTranslator:
    """Translates right-hand sides; ``read`` turns a reference into a symbol.

    ``read(node, scope)`` is called for each array reference or scalar
    variable read, and returns its :class:`Typed` value (a read symbol).
    """

    def __init__(self, affine: AffineTranslator,
                 read: Callable[[c_ast.Node, Scope], Typed | None]):
        self.affine = affine
        self.read = read

    def error(self, node, construct: str, hint: str = ""):
        return self.affine.error(node, construct, hint)

    def value(self, node, scope: Scope) -> Typed:
        if isinstance(node, c_ast.Constant):
            return self._constant(node)
        if isinstance(node, (c_ast.ID, c_ast.ArrayRef)):
            if isinstance(node, c_ast.ID) and node.name in scope.iterators + scope.params:
                return Typed(integer_symbol(node.name), "int")
            if isinstance(node, c_ast.ID) and node.name in self.affine.aliases:
                return self._int_local(node, scope)
            typed = self.read(node, scope)
            if typed is not None:
                return typed
            raise self.error(node, f"reference {describe(node)}")
        if isinstance(node, c_ast.BinaryOp):
            return self._binary(node, scope)
        if isinstance(node, c_ast.UnaryOp):
            return self._unary(node, scope)
        if isinstance(node, c_ast.Cast):
            return self._cast(node, scope)
        if isinstance(node, c_ast.TernaryOp):
            condition = self.condition(node.cond, scope)
            then = self.value(node.iftrue, scope)
            otherwise = self.value(node.iffalse, scope)
            ctype = wider(then.ctype, otherwise.ctype)
            return Typed(select(condition, then.expr, otherwise.expr, evaluate=False), ctype)
        if isinstance(node, c_ast.FuncCall):
            return self._call(node, scope)
        if isinstance(node, c_ast.Assignment):
            raise self.error(node, "assignment inside an expression",
                             "write each assignment as its own statement "
                             "(chained a = b = e is fine)")
        raise self.error(node, f"expression {describe(node)}",
                         "right-hand sides use + - * /, math functions, casts to "
                         "double and c ? a : b")

    def _int_local(self, node: c_ast.ID, scope: Scope) -> Typed:
        """An int local's value in a value expression: its affine function
        of iterators and sizes, as integer arithmetic."""
        value = self.affine.value_of(node, scope, "value expression").gist(scope.domain)
        if self.affine.context is not None:
            value = value.gist_params(self.affine.context.align_params(value.get_space()).params())
        pieces = value.get_pieces()
        expr = _aff_expr(pieces[0][1]) if len(pieces) == 1 else None
        if expr is None:
            raise self.error(node, f"int local {node.name} in a value expression where "
                             "its value has a division or several cases",
                             "convert the sizes first, e.g. (double)n / 2, or use it in "
                             "subscripts and bounds only")
        return Typed(expr, "int")

    def _constant(self, node: c_ast.Constant) -> Typed:
        integer = integer_literal(node)
        if integer is not None:
            return Typed(sympy.Integer(integer), "int")
        if node.type in ("double", "float", "long double"):
            value = float_literal(node.value)
            if value is None:
                raise self.error(node, f"long double literal {node.value}",
                                 "polyad computes in double or float: drop the L "
                                 "(or write f for a float)")
            return value
        raise self.error(node, f"{node.type} constant {node.value}",
                         "use integer or floating-point literals")

    def _binary(self, node: c_ast.BinaryOp, scope: Scope) -> Typed:
        if node.op not in _BINARY and node.op != "%":
            raise self.error(node, f"operator {node.op} in a value expression",
                             "comparisons and logic belong in the condition of c ? a : b")
        left = self.value(node.left, scope)
        right = self.value(node.right, scope)
        if left.ctype == "int" and right.ctype == "int":
            return self._integer_arithmetic(node, left.expr, right.expr)
        if node.op == "%":
            raise self.error(node, "operator % on floating-point values",
                             "% takes integers (fmod is not among the modelled functions)")
        return Typed(_BINARY[node.op](left.expr, right.expr), wider(left.ctype, right.ctype))

    def _integer_arithmetic(self, node, left, right) -> Typed:
        if node.op in ("/", "%"):
            if not (left.is_Integer and right.is_Integer) or int(right) == 0:
                raise self.error(
                    node, f"integer {'division' if node.op == '/' else 'remainder'} "
                    "in a value expression",
                    "convert first, e.g. (double)n / 2, or use a double scalar")
            quotient = abs(int(left)) // abs(int(right))
            if (int(left) < 0) != (int(right) < 0):
                quotient = -quotient
            value = quotient if node.op == "/" else int(left) - quotient * int(right)
            return Typed(sympy.Integer(value), "int")
        return Typed(_BINARY[node.op](left, right), "int")

    def _unary(self, node: c_ast.UnaryOp, scope: Scope) -> Typed:
        if node.op == "+":
            return self.value(node.expr, scope)
        if node.op == "-":
            operand = self.value(node.expr, scope)
            if operand.expr.is_Integer:
                return Typed(sympy.Integer(-int(operand.expr)), "int")
            return Typed(negate(operand.expr), operand.ctype)
        if node.op in ("++", "--", "p++", "p--"):
            raise self.error(node, f"increment {describe(node)} inside an expression",
                             "write x += 1 as a statement of its own")
        if node.op == "sizeof":
            raise self.error(node, "sizeof", "sizes are the kernel's int parameters")
        if node.op in ("&", "*"):
            raise self.error(node, "pointer operation " + describe(node),
                             "index arrays with affine subscripts, A[i][j]")
        raise self.error(node, f"operator {node.op} in a value expression",
                         "logic belongs in the condition of c ? a : b")

    def _cast(self, node: c_ast.Cast, scope: Scope) -> Typed:
        operand = self.value(node.expr, scope)
        target = " ".join(type_names(node.to_type))
        if target in ("double", "float"):
            if operand.ctype == target:
                return operand
            if operand.expr.is_Integer:
                return Typed(float_number(int(operand.expr), target), target)
            if operand.expr.is_Float and target == "double":
                return Typed(float_number(operand.expr, "double"), "double")
            return Typed((to_double if target == "double" else to_float)(operand.expr),
                         target)
        if target in ("int", "long") and operand.ctype == "int":
            return operand
        raise self.error(node, f"cast to {target or describe(node.to_type)}",
                         "only conversions to double and float, (double)n or "
                         "(float)x, are modelled")

    def _call(self, node: c_ast.FuncCall, scope: Scope) -> Typed:
        name = node.name.name if isinstance(node.name, c_ast.ID) else describe(node.name)
        if name not in MATH_ARITY:
            hint = ("use fmin/fmax for values (min/max only in bounds)"
                    if name in ("min", "max", "MIN", "MAX")
                    else "polyad models calls to the math functions "
                    + " ".join(sorted(MATH_ARITY)) + " and to functions defined "
                    "in the kernel's file (inlined)")
            raise self.error(node, f"call to {name}()", hint)
        args = list(node.args.exprs) if node.args is not None else []
        if len(args) != MATH_ARITY[name]:
            raise self.error(node, f"call to {name}() with {len(args)} argument"
                             + ("" if len(args) == 1 else "s"),
                             f"{name} takes {MATH_ARITY[name]}")
        dtype = "float" if name in FLOAT_MATH else "double"
        converted = [_as_real(self.value(arg, scope), dtype) for arg in args]
        return Typed(MATH[name](*converted), dtype)

    def condition(self, node, scope: Scope) -> sympy.Basic:
        """The condition of a value select, as an unevaluated sympy boolean."""
        if isinstance(node, c_ast.BinaryOp) and node.op in ("&&", "||"):
            left = self.condition(node.left, scope)
            right = self.condition(node.right, scope)
            combine = sympy.And if node.op == "&&" else sympy.Or
            return combine(left, right, evaluate=False)
        if isinstance(node, c_ast.UnaryOp) and node.op == "!":
            return sympy.Not(self.condition(node.expr, scope), evaluate=False)
        if isinstance(node, c_ast.BinaryOp) and node.op in _RELATIONS:
            left = self.value(node.left, scope)
            right = self.value(node.right, scope)
            return _RELATIONS[node.op](left.expr, right.expr, evaluate=False)
        operand = self.value(node, scope)
        return sympy.Ne(operand.expr, sympy.Integer(0), evaluate=False)


def _aff_expr(aff) -> sympy.Basic | None:
    """An affine function with integer coefficients and no division as a
    sum of integer symbols (iterators first, then sizes, then the
    constant); None for any other."""
    if aff.dim(isl.dim_type.div):
        return None
    terms = []  # (factor, symbol or None for the constant)
    for kind in (isl.dim_type.in_, isl.dim_type.param):
        for d in range(aff.dim(kind)):
            coefficient = aff.get_coefficient_val(kind, d)
            if coefficient.is_zero():
                continue
            if not coefficient.is_int():
                return None
            terms.append((int(coefficient.to_python()), integer_symbol(aff.get_dim_name(kind, d))))
    constant = aff.get_constant_val()
    if not constant.is_int():
        return None
    if int(constant.to_python()) or not terms:
        terms.append((int(constant.to_python()), None))
    result = None
    for factor, symbol in terms:
        size = abs(factor) if result is not None else factor
        term = (sympy.Integer(size) if symbol is None else symbol if size == 1
                else multiply(sympy.Integer(size), symbol))
        if symbol is not None and size == -1:
            term = negate(symbol)
        result = term if result is None else (add if factor > 0 else subtract)(result, term)
    return result
