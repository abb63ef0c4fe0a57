"""Pointers into the kernel's arrays, lowered to subscripts of the arrays.

A pointer the kernel declares with its target, and never moves, is a name
for a place in an array: on copies of pycparser's trees, its declaration
disappears and every use becomes an access of the array itself, the offset
folded into the subscript (affine when the offset is)::

    double *p = &a[1];        p[i]      ->  a[1 + i]
    double *p = a + k;        p[i]      ->  a[k + i]
    double *row = A[i];       row[j]    ->  A[i][j]
                              *(a + i)  ->  a[i]
                              *p        ->  a[1]

The same lowering gives meaning to the array arguments of inlined helpers
(:mod:`~polyad.frontend.inline`), ``(&a[1])[j]`` or ``(A[i])[j]``, and to a
scalar result written as ``*out`` (``out[0]``).

A pointer is a pair (base, offset): element ``j`` of it is ``base[offset +
j]``, with ``base`` an array or a row of one. Refused at their place in the
source: a pointer without a target, assigned or incremented after its
declaration (moved), that may point into two arrays (``c ? a : b``), a
pointer as a value (stored, compared, passed to a math function), the sum or
difference of two pointers, arithmetic other than adding an int, casts, and
pointers to pointers or arrays of pointers. Whether an offset is affine is
the builder's question, asked where the access is used.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from pycparser import c_ast

from polyad.frontend.affine import describe
from polyad.frontend.ctree import int_constant, identifiers, is_zero, mapped, nodes, sum_of
from polyad.frontend.preprocess import Preprocessed, located_error

_TARGET_HINT = ("a pointer names an array, a row A[i], &a[k] or a + k, with k an int "
                "affine in the iterators and sizes")


@dataclass(frozen=True)
class _Target:
    """Where a pointer points: element j is ``base[offset + j]``."""

    base: c_ast.Node
    offset: c_ast.Node

    def element(self, index: c_ast.Node, coord) -> c_ast.ArrayRef:
        """``base[offset + index]`` on fresh copies of the nodes."""
        return c_ast.ArrayRef(copy.deepcopy(self.base),
                              sum_of(copy.deepcopy(self.offset), index, coord), coord=coord)


def with_pointers_lowered(pre: Preprocessed, ast: c_ast.FileAST,
                          funcdef: c_ast.FuncDef) -> c_ast.FuncDef:
    """A copy of the kernel ``funcdef`` without pointer locals, pointer
    arithmetic or dereferences (``funcdef`` itself when it has none).
    Raises a located KernelError for a pointer it cannot lower."""
    if not any(_pointer_syntax(node) for node in nodes(funcdef.body, c_ast.Node)):
        return funcdef
    ranks = {}
    for node in list(ast.ext) + list(nodes(funcdef, c_ast.Decl)):
        if isinstance(node, c_ast.Decl) and node.name and not isinstance(
                node.type, c_ast.FuncDecl):
            ranks[node.name] = _rank(node.type)
    result = copy.copy(funcdef)
    (result.body,) = _Lowering(pre, ranks).statement(funcdef.body)
    return result


def _pointer_syntax(node) -> bool:
    if isinstance(node, c_ast.UnaryOp):
        return node.op in ("*", "&")
    if isinstance(node, c_ast.Decl):
        return any(True for _ in nodes(node.type, c_ast.PtrDecl))
    if isinstance(node, c_ast.ArrayRef):
        return not isinstance(node.name, (c_ast.ID, c_ast.ArrayRef))
    return False


def _rank(node) -> int:
    """How many subscripts a declared name takes (a pointer counts one)."""
    rank = 0
    while isinstance(node, (c_ast.ArrayDecl, c_ast.PtrDecl)):
        rank += 1
        node = node.type
    return rank


class _Lowering:
    """One walk of the kernel body with C's block scopes: name -> the
    target of a pointer local, or None where a variable hides it."""

    def __init__(self, pre: Preprocessed, ranks: dict[str, int]):
        self.pre = pre
        self.ranks = ranks
        self.scopes: list[dict[str, _Target | None]] = [{}]

    def error(self, node, construct: str, hint: str):
        return located_error(self.pre, node, construct, hint)

    def target(self, name: str) -> _Target | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    # --- statements -------------------------------------------------------
    def statement(self, node) -> list:
        """The statements ``node`` becomes (none for a pointer declaration)."""
        if isinstance(node, c_ast.Compound):
            self.scopes.append({})
            try:
                items = [s for item in node.block_items or [] for s in self.statement(item)]
            finally:
                self.scopes.pop()
            return [c_ast.Compound(items, coord=node.coord)]
        if isinstance(node, c_ast.Decl):
            return self.declaration(node)
        if isinstance(node, c_ast.DeclList):
            decls = [d for decl in node.decls for d in self.declaration(decl)]
            return [c_ast.DeclList(decls, coord=node.coord)] if decls else []
        if isinstance(node, c_ast.For):
            return [self.loop(node)]
        if isinstance(node, c_ast.If):
            result = copy.copy(node)
            result.cond = self.value(node.cond)
            result.iftrue = self.single(node.iftrue)
            result.iffalse = self.single(node.iffalse)
            return [result]
        if isinstance(node, c_ast.Assignment):
            moved = node.lvalue
            if isinstance(moved, c_ast.ID) and self.target(moved.name) is not None:
                raise self.error(node, f"assignment to the pointer {moved.name}",
                                 "a pointer keeps the target it is declared with: "
                                 "declare another pointer, or index the array directly")
        if isinstance(node, c_ast.UnaryOp) and node.op in ("++", "--", "p++", "p--") and \
                isinstance(node.expr, c_ast.ID) and self.target(node.expr.name) is not None:
            raise self.error(node, f"moving the pointer {node.expr.name} ({describe(node)})",
                             "a pointer keeps the target it is declared with: index "
                             f"it instead, {node.expr.name}[k]")
        if isinstance(node, (c_ast.Assignment, c_ast.Return, c_ast.FuncCall, c_ast.UnaryOp,
                             c_ast.BinaryOp, c_ast.TernaryOp)):
            return [self.value(node)]
        return [node]  # a construct the builder refuses, at its place

    def single(self, node):
        if node is None:
            return None
        items = self.statement(node)
        if len(items) == 1:
            return items[0]
        return c_ast.Compound(items, coord=node.coord)

    def loop(self, node: c_ast.For) -> c_ast.For:
        init = node.init
        if isinstance(init, c_ast.Assignment) and isinstance(init.lvalue, c_ast.ID):
            name = init.lvalue.name
            for scope in self.scopes:
                for pointer, target in scope.items():
                    if target is not None and name in (identifiers(target.base)
                                                       | identifiers(target.offset)):
                        raise self.error(init, f"loop over {name}, which the pointer "
                                         f"{pointer} declared before it uses",
                                         "declare the pointer inside the loop")
        self.scopes.append({})
        try:
            result = copy.copy(node)
            if isinstance(init, c_ast.DeclList):
                (result.init,) = self.statement(init) or [None]
            else:
                result.init = self.value(init) if init is not None else None
            result.cond = self.value(node.cond) if node.cond is not None else None
            result.next = self.value(node.next) if node.next is not None else None
            result.stmt = self.single(node.stmt) or c_ast.EmptyStatement(coord=node.coord)
            return result
        finally:
            self.scopes.pop()

    def declaration(self, decl: c_ast.Decl) -> list:
        if not decl.name or isinstance(decl.type, c_ast.FuncDecl):
            return [decl]
        kind = decl.type
        if isinstance(kind, c_ast.PtrDecl):
            if not isinstance(kind.type, c_ast.TypeDecl):
                raise self.error(decl, f"pointer to a pointer or an array, {decl.name}",
                                 "point into arrays of numbers: double *p = &a[k];")
            if decl.init is None:
                raise self.error(decl, f"pointer {decl.name} without a target",
                                 f"declare it with its target, double *{decl.name} = "
                                 "&a[k]; (it may not move afterwards)")
            target = self.pointer(decl.init)
            self.scopes[-1][decl.name] = target
            return []
        if any(True for _ in nodes(kind, c_ast.PtrDecl)):
            raise self.error(decl, f"array of pointers {decl.name}",
                             "pointers are not stored: index the arrays directly")
        self.scopes[-1][decl.name] = None
        return [mapped(decl, self.value)]

    # --- expressions ------------------------------------------------------
    def value(self, node):
        """An expression where a number is meant (or a statement's parts)."""
        if isinstance(node, c_ast.ID):
            if self.target(node.name) is not None:
                raise self.error(node, f"use of the pointer {node.name} as a value",
                                 f"read and write its elements, {node.name}[i] or "
                                 f"*{node.name}")
            return node
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            return self.pointer(node.expr).element(int_constant(0, node.coord), node.coord)
        if isinstance(node, c_ast.UnaryOp) and node.op == "&":
            raise self.error(node, f"address {describe(node)} as a value",
                             "take addresses only to declare a pointer, double *p = "
                             "&a[k]; or to pass an array to a helper")
        if isinstance(node, c_ast.ArrayRef):
            base = node.name
            if isinstance(base, c_ast.ID) and self.target(base.name) is None:
                return mapped(node, self.value)
            if isinstance(base, (c_ast.ArrayRef, c_ast.Constant)):  # a string: the builder's
                return mapped(node, self.value)
            return self.pointer(base).element(self.value(node.subscript), node.coord)
        if isinstance(node, c_ast.Cast) and any(
                True for _ in nodes(node.to_type, c_ast.PtrDecl)):
            raise self.error(node, f"cast {describe(node)}",
                             "pointers keep the element type of their array: no casts")
        return mapped(node, self.value)

    def pointer(self, node) -> _Target:
        """Where the pointer expression ``node`` points."""
        if isinstance(node, c_ast.ID):
            target = self.target(node.name)
            if target is not None:
                return target
            if self.ranks.get(node.name, 1) == 0:
                raise self.error(node, f"{node.name} used as a pointer", "it is a scalar: "
                                 "only arrays and pointers declared with a target are "
                                 "dereferenced")
            return _Target(node, int_constant(0, node.coord))
        if isinstance(node, c_ast.ArrayRef):  # a row, A[i]: its element j is A[i][j]
            return _Target(self.value(node), int_constant(0, node.coord))
        if isinstance(node, c_ast.UnaryOp) and node.op == "&":
            element = self.value(node.expr)
            if not isinstance(element, c_ast.ArrayRef):
                raise self.error(node, f"address of the scalar {describe(node.expr)}",
                                 "take the address of array elements only, &a[k]")
            return _Target(element.name, element.subscript)
        if isinstance(node, c_ast.BinaryOp) and node.op in ("+", "-"):
            left, right = self._rank(node.left), self._rank(node.right)
            if left and right:
                what = "difference" if node.op == "-" else "sum"
                raise self.error(node, f"{what} of two pointers ({describe(node)})",
                                 _TARGET_HINT)
            if right and node.op == "+":
                pointer, offset = node.right, node.left
            elif left:
                pointer, offset = node.left, node.right
            else:
                raise self.error(node, f"pointer arithmetic {describe(node)} without an "
                                 "array", _TARGET_HINT)
            target = self.pointer(pointer)
            offset = self.value(offset)
            if node.op == "-":
                offset = (c_ast.UnaryOp("-", offset, coord=node.coord) if is_zero(target.offset)
                          else c_ast.BinaryOp("-", target.offset, offset, coord=node.coord))
                return _Target(target.base, offset)
            return _Target(target.base, sum_of(target.offset, offset, node.coord))
        if isinstance(node, c_ast.Cast):
            raise self.error(node, f"cast {describe(node)}",
                             "pointers keep the element type of their array: no casts")
        if isinstance(node, c_ast.TernaryOp):
            raise self.error(node, f"pointer {describe(node)} that may point into two "
                             "arrays", "declare one pointer per array, or select the "
                             "values: c ? a[i] : b[i]")
        raise self.error(node, f"pointer arithmetic {describe(node)}", _TARGET_HINT)

    def _rank(self, node) -> int:
        """How many subscripts an expression still takes (0: a number)."""
        if isinstance(node, c_ast.ID):
            if self.target(node.name) is not None:
                return 1
            return self.ranks.get(node.name, 0)
        if isinstance(node, c_ast.ArrayRef):
            return max(self._rank(node.name) - 1, 0)
        if isinstance(node, c_ast.UnaryOp) and node.op == "&":
            return 1
        if isinstance(node, c_ast.BinaryOp) and node.op in ("+", "-"):
            return max(self._rank(node.left), self._rank(node.right))
        if isinstance(node, c_ast.Cast):
            return int(any(True for _ in nodes(node.to_type, c_ast.PtrDecl)))
        return 0
