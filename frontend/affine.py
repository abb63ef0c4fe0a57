"""C integer expressions and conditions to isl piecewise affine objects.

Loop bounds, conditions of ``if`` and subscripts are translated here, in a
:class:`Scope`: the loop iterators around the point of use, as the set
dimensions of an isl space whose parameters are the kernel's sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import islpy as isl
from pycparser import c_ast, c_generator

from polyad.frontend.fixing import Fixing, fix_hint
from polyad.frontend.messages import article
from polyad.frontend.preprocess import Preprocessed, located_error, node_location

_COMPARISONS = {"<": "lt_set", "<=": "le_set", ">": "gt_set", ">=": "ge_set",
                "==": "eq_set", "!=": "ne_set"}
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Scope:
    """The loops around a point of the kernel.

    ``domain`` is the set of iterator values reaching that point, over a space
    whose set dimensions are named after the iterators (outermost first).
    """

    domain: isl.Set

    @staticmethod
    def outermost(params: list[str]) -> "Scope":
        space = isl.Space.create_from_names(isl.DEFAULT_CONTEXT, set=[], params=params)
        return Scope(isl.Set.universe(space))

    @property
    def iterators(self) -> tuple[str, ...]:
        return tuple(self.domain.get_dim_name(isl.dim_type.set, d)
                     for d in range(self.domain.dim(isl.dim_type.set)))

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(self.domain.get_dim_name(isl.dim_type.param, d)
                     for d in range(self.domain.dim(isl.dim_type.param)))

    def entered(self, iterator: str) -> "Scope":
        """The scope one loop deeper, before any bound on the new iterator."""
        n = self.domain.dim(isl.dim_type.set)
        domain = self.domain.add_dims(isl.dim_type.set, 1)
        domain = domain.set_dim_name(isl.dim_type.set, n, iterator)
        return Scope(domain)

    def restricted(self, condition: isl.Set) -> "Scope":
        return Scope(self.domain & condition)

    def local_space(self) -> isl.LocalSpace:
        return isl.LocalSpace.from_space(self.domain.get_space())

    def variable(self, name: str) -> isl.PwAff | None:
        """The iterator or size parameter ``name`` as an affine expression."""
        space = self.domain.get_space()
        for kind in (isl.dim_type.set, isl.dim_type.param):
            pos = space.find_dim_by_name(kind, name)
            if pos >= 0:
                return isl.PwAff.var_on_domain(self.local_space(), kind, pos)
        return None

    def constant(self, value: int) -> isl.PwAff:
        return isl.PwAff.val_on_domain(isl.Set.universe(self.domain.get_space()),
                                       isl.Val(int(value)))

    def universe(self) -> isl.Set:
        return isl.Set.universe(self.domain.get_space())


def integer_literal(node: c_ast.Constant) -> int | None:
    """The value of a C integer literal (``12``, ``0x1f``, ``10u``), or None."""
    if node.type not in ("int", "long int", "unsigned int", "long long int",
                         "unsigned long int", "unsigned long long int"):
        return None
    text = node.value.rstrip("uUlL")
    if text.lower().startswith("0x"):
        return int(text, 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text, 8)
    return int(text)


#: Why a name cannot appear in an affine expression: (what it is, advice).
Explanation = Callable[[str, str], "tuple[str, str] | None"]

_AFFINE_HINT = ("bounds and subscripts may use only loop iterators, int size "
                "parameters and integer constants")


class AffineTranslator:
    """Translates C expressions to isl, reporting what is not affine.

    ``explain(name, what)`` may say what a name that is neither an iterator
    in scope nor a size parameter is, as ``(construct, hint)`` for the error.
    ``fixing`` holds the values offered for size parameters (``-D``), taken
    where a product or division is not affine otherwise.
    """

    def __init__(self, pre: Preprocessed, explain: Explanation | None = None,
                 fixing: Fixing | None = None):
        self.pre = pre
        self.explain = explain
        self.fixing = fixing or Fixing()
        #: the values of int locals (declared with a value, assigned or
        #: incremented): name -> the value at this point of the walk, an
        #: affine function over the scope where it was given (lifted into
        #: deeper scopes where it is used); None while a loop that changes it
        #: is being analysed (its value there is what is being derived)
        self.aliases: dict[str, isl.PwAff | None] = {}
        #: the sizes the kernel runs at, as far as known (a parameter set)
        self.context: isl.Set | None = None

    def bind(self, name: str, init, scope: Scope, unsigned: bool = False) -> None:
        """Make the int local ``name`` stand for the affine ``init`` (an
        error if it is not affine in ``scope``, or may be negative for an
        unsigned local, whose wrap-around is not modelled)."""
        self.set_value(name, self.expression(init, scope, "int initialiser"), scope,
                       init, unsigned)

    def set_value(self, name: str, value: isl.PwAff, scope: Scope, node,
                  unsigned: bool = False) -> None:
        """Give the int local ``name`` the affine ``value`` (over ``scope``'s
        space) from here on; ``node`` is where, for the error of an unsigned
        local whose value may be negative."""
        if unsigned and not value.lt_set(scope.constant(0)).intersect(scope.domain).is_empty():
            raise self.error(node, f"unsigned int local {name} with a value that may be "
                             "negative", f"declare it int: int {name} = ...;")
        self.aliases[name] = value

    def value_of(self, node: c_ast.ID, scope: Scope, what: str) -> isl.PwAff:
        """The value the int local ``node`` names, over ``scope``'s space."""
        value = self.aliases[node.name]
        if value is None:
            raise self.error(node, f"use of int local {node.name} in {article(what)} {what} "
                             f"inside a loop that changes it, around its own change",
                             f"polyad derives {node.name}'s value from the loops around its "
                             "changes: compute this bound or condition from the iterators")
        lifted = lifted_to(value, scope)
        if lifted is None:  # its scope has ended: C's block rules make this rare
            raise self.error(node, f"use of int local {node.name} outside the loops "
                             "where it got its value", f"give {node.name} its value again here")
        return lifted

    def error(self, node, construct: str, hint: str = ""):
        return located_error(self.pre, node, construct, hint)

    # --- expressions -----------------------------------------------------
    def expression(self, node, scope: Scope, what: str = "expression") -> isl.PwAff:
        """An affine integer expression in iterators and sizes."""
        if isinstance(node, c_ast.Constant):
            value = integer_literal(node)
            if value is None:
                raise self.error(node, f"{node.type} constant {node.value} in {what}",
                                 "affine expressions take integer constants only")
            return scope.constant(value)
        if isinstance(node, c_ast.ID):
            variable = scope.variable(node.name)
            if variable is None and node.name in self.aliases:
                return self.value_of(node, scope, what)
            if variable is None:
                explained = self.explain(node.name, what) if self.explain else None
                if explained is not None:
                    raise self.error(node, *explained)
                raise self.error(
                    node, f"non-affine {what}: '{node.name}' is neither a loop iterator "
                    "nor an int size parameter", _AFFINE_HINT)
            return variable
        if isinstance(node, c_ast.ArrayRef):
            raise self.error(node, f"non-affine {what}: it reads the array element "
                             f"{describe(node)}",
                             ("a subscript reads an int array parameter only as the "
                              "whole subscript, x[col[k]] (a gather), not in arithmetic; "
                              if what == "subscript" else
                              f"{article(what)} {what} cannot depend on array data; ")
                             + _AFFINE_HINT)
        if isinstance(node, c_ast.UnaryOp):
            if node.op == "-":
                return self.expression(node.expr, scope, what).neg()
            if node.op == "+":
                return self.expression(node.expr, scope, what)
        if isinstance(node, c_ast.Cast):
            words = type_names(node.to_type)
            if words and set(words) <= {"int", "long", "unsigned", "signed"}:
                return self.expression(node.expr, scope, what)
        if isinstance(node, c_ast.BinaryOp) and node.op in ("+", "-", "*", "/", "%"):
            left = self.expression(node.left, scope, what)
            right = self.expression(node.right, scope, what)
            return self._arithmetic(node, left, right, what)
        if isinstance(node, c_ast.TernaryOp):
            condition = self.condition(node.cond, scope, what)
            then = self.expression(node.iftrue, scope, what)
            otherwise = self.expression(node.iffalse, scope, what)
            return then.intersect_domain(condition).union_add(
                otherwise.intersect_domain(condition.complement()))
        if isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID):
            return self._call(node, scope, what)
        raise self.error(node, f"non-affine {what} ({describe(node)})",
                         "bounds and subscripts must be affine in loop iterators "
                         "and int size parameters")

    def _arithmetic(self, node, left: isl.PwAff, right: isl.PwAff, what: str) -> isl.PwAff:
        if node.op == "+":
            return left.add(right)
        if node.op == "-":
            return left.sub(right)
        where = (node_location(self.pre, node), f"{what} {describe(node)}")
        if node.op == "*":
            if not (left.is_cst() or right.is_cst()):
                factors = self.fixing.factors(left, right, *where)
                if factors is None:
                    raise self.error(node, f"non-affine {what} (product of two variables)",
                                     fix_hint((right, left), "multiply iterators and sizes "
                                              "only by constants"))
                left, right = factors
            return left.mul(right)
        if not right.is_cst():
            fixed = self.fixing.constant(right, *where)
            if fixed is None:
                operation = "division" if node.op == "/" else "remainder"
                raise self.error(node, f"non-affine {what} ({operation} by a variable)",
                                 fix_hint((right,), "divide only by a positive integer "
                                          "constant"))
            right = fixed
        divisor = constant_value(right)
        if divisor is None or divisor <= 0:
            raise self.error(node, f"{what} divides by {divisor}",
                             "divide only by a positive integer constant")
        # C's / and % truncate toward zero: isl's tdiv_q and tdiv_r do too.
        if node.op == "/":
            return left.tdiv_q(right)
        return left.tdiv_r(right)

    def _call(self, node: c_ast.FuncCall, scope: Scope, what: str) -> isl.PwAff:
        name = node.name.name
        args = list(node.args.exprs) if node.args is not None else []
        if name in ("min", "max", "MIN", "MAX") and len(args) == 2:
            a, b = (self.expression(x, scope, what) for x in args)
            return a.min(b) if name.lower() == "min" else a.max(b)
        if name in ("floord", "ceild") and len(args) == 2:
            a, b = (self.expression(x, scope, what) for x in args)
            if not b.is_cst():
                b = self.fixing.constant(b, node_location(self.pre, node),
                                         f"{what} {describe(node)}") or b
            divisor = constant_value(b) if b.is_cst() else None
            if divisor is None or divisor <= 0:
                raise self.error(node, f"{name} by a non-constant or non-positive divisor",
                                 "divide only by a positive integer constant")
            quotient = a.scale_down_val(isl.Val(divisor))
            return quotient.floor() if name == "floord" else quotient.ceil()
        raise self.error(node, f"call to {name}() in {what}",
                         "bounds and subscripts may use min/max (or the ?: form) "
                         "and floor division by a constant")

    # --- conditions ------------------------------------------------------
    def condition(self, node, scope: Scope, what: str = "condition") -> isl.Set:
        """An affine condition as the set of iterator values where it holds."""
        if isinstance(node, c_ast.BinaryOp) and node.op in ("&&", "||"):
            left = self.condition(node.left, scope, what)
            right = self.condition(node.right, scope, what)
            return left & right if node.op == "&&" else left | right
        if isinstance(node, c_ast.UnaryOp) and node.op == "!":
            return self.condition(node.expr, scope, what).complement()
        if isinstance(node, c_ast.BinaryOp) and node.op in _COMPARISONS:
            left = self.expression(node.left, scope, what)
            right = self.expression(node.right, scope, what)
            return getattr(left, _COMPARISONS[node.op])(right)
        value = self.expression(node, scope, what)
        return value.ne_set(scope.constant(0))


def lifted_to(value: isl.PwAff, scope: Scope) -> isl.PwAff | None:
    """``value``, a function over the iterators of an enclosing scope (a
    prefix of ``scope``'s), as a function over ``scope``'s space; None when
    its iterators are not such a prefix.

    >>> inner = Scope.outermost(["n"]).entered("i").entered("j")
    >>> str(lifted_to(isl.PwAff("[n] -> { [i] -> [(i + n)] }"), inner))
    '[n] -> { [i, j] -> [(n + i)] }'
    """
    space = value.get_domain_space()
    have = [space.get_dim_name(isl.dim_type.set, d) for d in range(space.dim(isl.dim_type.set))]
    want = list(scope.iterators)
    if want[:len(have)] != have:
        return None
    lifted = value.align_params(scope.domain.get_space()).add_dims(
        isl.dim_type.in_, len(want) - len(have))
    for position in range(len(have), len(want)):
        lifted = lifted.set_dim_id(isl.dim_type.in_, position, isl.Id(want[position]))
    return lifted


def constant_value(pa: isl.PwAff) -> int | None:
    """The integer a constant affine function has everywhere, or None.

    >>> constant_value(isl.PwAff("[inc] -> { [i] -> [(3)] }"))
    3
    """
    pieces = pa.get_pieces()
    if len(pieces) != 1:
        return None
    aff = pieces[0][1]
    if not aff.is_cst():
        return None
    value = aff.get_constant_val()
    return int(value.to_python()) if value.is_int() else None


def type_names(type_node) -> list[str]:
    """The type specifier words of a declaration or cast type."""
    node = type_node
    while node is not None and not isinstance(node, c_ast.IdentifierType):
        node = getattr(node, "type", None)
    return list(node.names) if node is not None else []


def describe(node) -> str:
    """The C text of a pycparser node, for error messages."""
    try:
        return c_generator.CGenerator().visit(node)
    except Exception:  # a construct the generator cannot print: name its kind
        return type(node).__name__
