"""isl AST expressions to C text, with loops that count down.

isl's AST generator only emits increasing loops, so a reverse sweep (whose
schedule negates the forward iterators) comes out as ``for (c0 = -n + 1;
c0 <= 0; c0++) A[-c0]``. Printing an iterator ``c`` of such a loop as its
negation ``c' = -c`` is a renaming, so it changes nothing of what runs, and
gives ``for (c0 = n - 1; c0 >= 0; c0--) A[c0]``. This printer does that for
the iterators it is told are reversed, and otherwise prints as isl does.
"""

from __future__ import annotations

from typing import Mapping

import islpy as isl

_OP = isl.ast_expr_op_type
_CONDITIONAL, _OR, _AND, _EQUALITY, _RELATIONAL, _ADDITIVE, _MULTIPLICATIVE, \
    _UNARY, _ATOM = range(9)
_BINARY = {
    _OP.add: ("+", _ADDITIVE), _OP.sub: ("-", _ADDITIVE), _OP.mul: ("*", _MULTIPLICATIVE),
    _OP.div: ("/", _MULTIPLICATIVE), _OP.pdiv_q: ("/", _MULTIPLICATIVE),
    _OP.pdiv_r: ("%", _MULTIPLICATIVE), _OP.zdiv_r: ("%", _MULTIPLICATIVE),
    _OP.eq: ("==", _EQUALITY), _OP.le: ("<=", _RELATIONAL), _OP.lt: ("<", _RELATIONAL),
    _OP.ge: (">=", _RELATIONAL), _OP.gt: (">", _RELATIONAL),
    _OP.and_: ("&&", _AND), _OP.and_then: ("&&", _AND),
    _OP.or_: ("||", _OR), _OP.or_else: ("||", _OR),
}
_MIRROR = {_OP.le: ">=", _OP.lt: ">", _OP.ge: "<=", _OP.gt: "<"}


def reads_id(expr: "isl.AstExpr | str", name: str) -> bool:
    """Whether an isl AST expression reads the identifier ``name`` (a loop
    iterator); a plain C name (a scalar buffer) reads none.

    >>> build = isl.AstBuild.alloc(isl.DEFAULT_CONTEXT)
    >>> reads_id(build.expr_from_pw_aff(isl.PwAff("[n] -> { [(n + 1)] }")), "n")
    True
    """
    if isinstance(expr, str):
        return False
    kind = expr.get_type()
    if kind == isl.ast_expr_type.id:
        return expr.get_id().get_name() == name
    if kind == isl.ast_expr_type.int:
        return False
    return any(reads_id(expr.op_get_arg(i), name) for i in range(expr.op_get_n_arg()))


class AstExprPrinter:
    """Prints isl AST expressions; ``reversed_ids`` are iterators printed as
    their negation; ``functions`` renames the ``min``, ``max`` and ``floord``
    helpers (to the names the generated prelude defines them under)."""

    def __init__(self, reversed_ids: frozenset[str] = frozenset(),
                 functions: Mapping[str, str] | None = None):
        self.reversed_ids = reversed_ids
        self.functions = dict(functions or {})

    def reversing(self, iterator: str) -> "AstExprPrinter":
        """The printer with ``iterator`` printed negated as well."""
        return AstExprPrinter(self.reversed_ids | {iterator}, self.functions)

    def _function(self, name: str) -> str:
        return self.functions.get(name, name)

    def text(self, expr: isl.AstExpr) -> str:
        return self._print(expr)[0]

    def negated_text(self, expr: isl.AstExpr) -> str:
        return self._negated(expr)[0]

    def _args(self, expr) -> list[isl.AstExpr]:
        return [expr.op_get_arg(i) for i in range(expr.op_get_n_arg())]

    def _operand(self, expr, level: int, right: bool = False) -> str:
        text, own = self._print(expr)
        return f"({text})" if own < level or (right and own == level) else text

    def _print(self, expr) -> tuple[str, int]:
        kind = expr.get_type()
        if kind == isl.ast_expr_type.id:
            name = expr.get_id().get_name()
            return (f"-{name}", _UNARY) if name in self.reversed_ids else (name, _ATOM)
        if kind == isl.ast_expr_type.int:
            value = int(expr.get_val().to_python())
            return str(value), (_ATOM if value >= 0 else _UNARY)
        op = expr.op_get_type()
        args = self._args(expr)
        if op == _OP.minus:
            return self._negated(args[0])
        if op in (_OP.add, _OP.sub) and self._reads_negative(args[1]):
            # a + (-b) reads better as a - b, and a - (-b) as a + b.
            symbol = "-" if op == _OP.add else "+"
            right = self._negated(args[1])
            right_text = f"({right[0]})" if right[1] <= _ADDITIVE else right[0]
            return f"{self._operand(args[0], _ADDITIVE)} {symbol} {right_text}", _ADDITIVE
        if op in _BINARY:
            symbol, level = _BINARY[op]
            return (f"{self._operand(args[0], level)} {symbol} "
                    f"{self._operand(args[1], level, right=True)}"), level
        if op in (_OP.min, _OP.max):
            name = self._function("min" if op == _OP.min else "max")
            text = self.text(args[0])
            for arg in args[1:]:
                text = f"{name}({text}, {self.text(arg)})"
            return text, _ATOM
        if op == _OP.fdiv_q:
            return (f"{self._function('floord')}({self.text(args[0])}, "
                    f"{self.text(args[1])})"), _ATOM
        if op in (_OP.cond, _OP.select):
            return (f"{self._operand(args[0], _OR)} ? {self._operand(args[1], _OR)} : "
                    f"{self._operand(args[2], _CONDITIONAL)}"), _CONDITIONAL
        if op == _OP.access:
            return self.text(args[0]) + "".join(f"[{self.text(a)}]" for a in args[1:]), _ATOM
        if op == _OP.call:
            return (f"{self.text(args[0])}({', '.join(self.text(a) for a in args[1:])})",
                    _ATOM)
        return expr.to_C_str(), _ATOM

    def _reads_negative(self, expr) -> bool:
        kind = expr.get_type()
        if kind == isl.ast_expr_type.id:
            return expr.get_id().get_name() in self.reversed_ids
        if kind == isl.ast_expr_type.int:
            return int(expr.get_val().to_python()) < 0
        return expr.op_get_type() == _OP.minus

    def _negated(self, expr) -> tuple[str, int]:
        """The text of -expr, with the negation pushed inwards where that
        reads better (-(-a) = a, -(a + b) = -a - b, -min(a, b) = max(-a, -b))."""
        kind = expr.get_type()
        if kind == isl.ast_expr_type.id:
            name = expr.get_id().get_name()
            return (name, _ATOM) if name in self.reversed_ids else (f"-{name}", _UNARY)
        if kind == isl.ast_expr_type.int:
            value = -int(expr.get_val().to_python())
            return str(value), (_ATOM if value >= 0 else _UNARY)
        op = expr.op_get_type()
        args = self._args(expr)
        if op == _OP.minus:
            return self._print(args[0])
        if op in (_OP.add, _OP.sub):
            first = self._negated(args[0])
            first_text = f"({first[0]})" if first[1] < _ADDITIVE else first[0]
            symbol = "-" if op == _OP.add else "+"
            return f"{first_text} {symbol} {self._operand(args[1], _ADDITIVE, right=True)}", \
                _ADDITIVE
        if op in (_OP.min, _OP.max):
            name = self._function("max" if op == _OP.min else "min")
            text = self.negated_text(args[0])
            for arg in args[1:]:
                text = f"{name}({text}, {self.negated_text(arg)})"
            return text, _ATOM
        return f"-{self._operand(expr, _UNARY)}", _UNARY

    def reversed_loop_header(self, iterator: str, init: isl.AstExpr, cond: isl.AstExpr,
                             inc: isl.AstExpr) -> str:
        """``for (int c = -init; c >= -bound; c -= inc)`` for an isl loop
        ``for (c = init; c <= bound; c += inc)`` whose ``c`` is printed
        negated inside."""
        step = self.text(inc)
        update = f"{iterator}--" if step == "1" else f"{iterator} -= {step}"
        op = cond.op_get_type() if cond.get_type() == isl.ast_expr_type.op else None
        args = self._args(cond) if op is not None else []
        if op in _MIRROR and args[0].get_type() == isl.ast_expr_type.id \
                and args[0].get_id().get_name() == iterator:
            test = f"{iterator} {_MIRROR[op]} {self.negated_text(args[1])}"
        else:
            test = self.text(cond)
        return f"for (int {iterator} = {self.negated_text(init)}; {test}; {update})"
