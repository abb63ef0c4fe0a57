"""Small tools on pycparser trees shared by the C-to-C rewrites of the
frontend (inlining helpers, lowering pointers): copies with mapped children,
the identifiers a tree names, casts and integer constants to build.

They never change a tree in place: every rewrite returns new nodes and
shares the untouched ones.
"""

from __future__ import annotations

import copy
from typing import Callable

from pycparser import c_ast

_NOT_CHILDREN = ("coord", "__weakref__", "attributes")


def mapped(node: c_ast.Node, function: Callable[[c_ast.Node], c_ast.Node]) -> c_ast.Node:
    """A shallow copy of ``node`` whose child nodes (single or in lists) are
    ``function(child)``; strings and other attributes are kept."""
    result = copy.copy(node)
    for slot in node.__slots__:
        if slot in _NOT_CHILDREN:
            continue
        value = getattr(node, slot, None)
        if isinstance(value, c_ast.Node):
            setattr(result, slot, function(value))
        elif isinstance(value, list):
            setattr(result, slot, [function(v) if isinstance(v, c_ast.Node) else v
                                   for v in value])
    return result


def identifiers(node: c_ast.Node) -> set[str]:
    """Every name an ID or a declaration under ``node`` spells."""
    own = {node.name} if isinstance(node, (c_ast.ID, c_ast.Decl)) and node.name else set()
    if isinstance(node, c_ast.TypeDecl) and node.declname:
        own.add(node.declname)
    return own.union(*(identifiers(child) for _, child in node.children()))


def nodes(node: c_ast.Node, kind):
    """Every node of type ``kind`` under ``node`` (``node`` included), in
    source order."""
    if isinstance(node, kind):
        yield node
    for _, child in node.children():
        yield from nodes(child, kind)


def int_constant(value: int, coord) -> c_ast.Constant:
    """The C literal ``value`` (an int) at ``coord``."""
    return c_ast.Constant("int", str(value), coord=coord)


def is_zero(node: c_ast.Node) -> bool:
    """Whether ``node`` is the literal 0."""
    return isinstance(node, c_ast.Constant) and node.type == "int" and node.value == "0"


def sum_of(left: c_ast.Node, right: c_ast.Node, coord) -> c_ast.Node:
    """``left + right`` without a literal 0 operand (an offset of 0 leaves a
    subscript as written)."""
    if is_zero(left):
        return right
    if is_zero(right):
        return left
    return c_ast.BinaryOp("+", left, right, coord=coord)


def cast(words: list[str], expr: c_ast.Node, coord) -> c_ast.Cast:
    """``(words) expr``: the conversion C applies when it passes or returns
    a value of another type."""
    kind = c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(list(words), coord=coord),
                          coord=coord)
    return c_ast.Cast(c_ast.Typename(None, [], None, kind, coord=coord), expr, coord=coord)


def renamed_declaration(decl: c_ast.Decl, name: str, init=None,
                        type_map: Callable[[c_ast.Node], c_ast.Node] | None = None,
                        coord=None) -> c_ast.Decl:
    """A copy of ``decl`` declaring ``name`` (its innermost TypeDecl renamed
    too) with ``init``; ``type_map`` rewrites the expressions of its type
    (array extents); ``coord``, if given, is its new place in the source."""
    def retyped(node):
        if isinstance(node, c_ast.TypeDecl):
            result = copy.copy(node)
            result.declname = name
            return result
        if isinstance(node, (c_ast.ArrayDecl, c_ast.PtrDecl)):
            result = copy.copy(node)
            result.type = retyped(node.type)
            if isinstance(node, c_ast.ArrayDecl) and node.dim is not None and type_map:
                result.dim = type_map(node.dim)
            return result
        return node
    result = copy.copy(decl)
    result.name = name
    result.type = retyped(decl.type)
    result.init = init
    result.storage = []
    if coord is not None:
        result.coord = coord
    return result
