"""If-conversion: an ``if`` whose condition reads data becomes assignments of
value selects, the form the model already has.

The rewrite is C to C (pycparser trees in, pycparser trees out), so the
builder models its result like any other statement and reports errors at the
places of the original text::

    if (x[i] > 0.0) y[i] = x[i]; else y[i] = 0.0;   ->  y[i] = x[i] > 0.0 ? x[i] : 0.0;
    if (a[i] > m) m = a[i];                          ->  m = a[i] > m ? a[i] : m;
    if (c) s += e;                                   ->  s = c ? s + e : s;

An untaken branch keeps the old value (``s = c ? s + e : s`` rather than
``s += c ? e : 0.0``: the latter turns a -0.0 into +0.0, so the primal would
not match the original bit for bit). Nested ifs nest the selects; an affine
``if`` inside a data branch stays an ``if`` (a domain) around guarded
assignments; so does a ``for`` loop. A condition mixing affine and data
parts at its top level (``i > 0 && x[i] > 0.0``) is split into an affine
``if`` around a data one, so the affine part still guards the reads.

The predicate is evaluated once, before the branch: where a branch writes
something the condition reads and more than one assignment is guarded, the
condition's value is first stored in a fresh double local
(``double cond12 = a[i] > 0.0 ? 1.0 : 0.0;``), and the assignments test that
local. It knows nothing of derivatives: the select and that local are
differentiated and taped by polyad like any other statement and scalar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pycparser import c_ast

from polyad.frontend.affine import describe
from polyad.program.names import NameSupply

#: The data variables an expression reads (arrays, double scalars), by name.
DataReads = Callable[[c_ast.Node], "set[str]"]


@dataclass(frozen=True)
class Guard:
    """One enclosing data condition and the branch taken under it."""

    cond: c_ast.Node
    taken: bool


def data_reads(node: c_ast.Node, variables) -> set[str]:
    """The names among ``variables`` (arrays, double scalars) that an
    expression reads."""
    if isinstance(node, c_ast.ID):
        return {node.name} & set(variables)
    return set().union(*(data_reads(child, variables) for _, child in node.children()))


class FreshNames:
    """Names for the locals if-conversion adds, taken by no identifier of the
    function or the file (nor by the names generated code reserves)."""

    def __init__(self, funcdef: c_ast.FuncDef, file_scope):
        self.supply = NameSupply.of(set(file_scope) | _identifiers(funcdef))

    def fresh(self, stem: str) -> str:
        """A new name from ``stem`` (a C identifier not ending in ``_``)."""
        name = self.supply.fresh(stem)
        self.supply = self.supply.taking([name])
        return name


def split_mixed_condition(node: c_ast.If, data_reads: DataReads) -> c_ast.If | None:
    """An ``if`` whose condition is ``affine && data`` or ``affine || data``
    (either order, or negated) as an affine ``if`` around a data one; None
    when the condition has no affine operand at its top level.
    Precondition: ``node.cond`` reads data."""
    cond, then, otherwise = node.cond, node.iftrue, node.iffalse
    if isinstance(cond, c_ast.UnaryOp) and cond.op == "!":
        return split_mixed_condition(
            c_ast.If(cond.expr, otherwise or c_ast.EmptyStatement(node.coord), then,
                     coord=node.coord), data_reads)
    if not (isinstance(cond, c_ast.BinaryOp) and cond.op in ("&&", "||")):
        return None
    if not data_reads(cond.left):
        affine, data = cond.left, cond.right
    elif not data_reads(cond.right):
        affine, data = cond.right, cond.left
    else:
        return None
    inner = c_ast.If(data, then, otherwise, coord=node.coord)
    if cond.op == "&&":   # if (A && D) T else E  ==  if (A) { if (D) T else E } else E
        return c_ast.If(affine, inner, otherwise, coord=node.coord)
    # if (A || D) T else E  ==  if (A) T else { if (D) T else E }
    return c_ast.If(affine, then, inner, coord=node.coord)


def if_converted(node: c_ast.If, data_reads: DataReads,
                 fresh: Callable[[str], str]) -> list[c_ast.Node]:
    """The statements that do what ``node`` does without branching on data.
    Precondition: ``node.cond`` reads data and has no affine operand at its
    top level (see :func:`split_mixed_condition`). ``fresh(stem)`` names a
    new local that captures no name of the kernel."""
    local = _declared(node.iftrue) | _declared(node.iffalse)
    if local:  # the builder has not seen them yet: they are data all the same
        outer = data_reads
        data_reads = lambda expr: outer(expr) | (_identifiers(expr) & local)  # noqa: E731
    then, otherwise = _single(node.iftrue), _single(node.iffalse)
    if _paired(then, otherwise):  # if (c) y = a; else y = b;  ->  y = c ? a : b;
        value = c_ast.TernaryOp(node.cond, then.rvalue, otherwise.rvalue, coord=then.coord)
        return [c_ast.Assignment("=", then.lvalue, value, coord=then.coord)]
    cond = node.cond
    prologue: list[c_ast.Node] = []
    count = _guarded_count(node.iftrue) + _guarded_count(node.iffalse)
    written = _written(node.iftrue) | _written(node.iffalse)
    if count > 1 and data_reads(cond) & written:
        name = fresh(f"cond{node.coord.line}" if node.coord else "cond")
        prologue.append(_double_local(name, c_ast.TernaryOp(
            cond, _double(1, node), _double(0, node), coord=node.coord), node))
        cond = c_ast.ID(name, coord=node.coord)
    converted = (guarded(node.iftrue, Guard(cond, True), data_reads, fresh)
                 + guarded(node.iffalse, Guard(cond, False), data_reads, fresh))
    return prologue + converted


def guarded(node, guard: Guard, data_reads: DataReads,
            fresh: Callable[[str], str]) -> list[c_ast.Node]:
    """``node`` with every assignment in it made to take effect only where
    ``guard`` holds; constructs it does not know pass unchanged, for the
    builder to refuse."""
    if node is None or isinstance(node, c_ast.EmptyStatement):
        return []
    again = lambda child: guarded(child, guard, data_reads, fresh)  # noqa: E731
    if isinstance(node, c_ast.Compound):
        items = [s for item in node.block_items or [] for s in again(item)]
        return [c_ast.Compound(items, coord=node.coord)]
    if isinstance(node, c_ast.Assignment):
        return _guarded_assignment(node, guard)
    if isinstance(node, c_ast.Decl):
        return [_guarded_declaration(node, guard)]
    if isinstance(node, c_ast.DeclList):
        return [c_ast.DeclList([_guarded_declaration(d, guard) for d in node.decls],
                               coord=node.coord)]
    if isinstance(node, c_ast.If):
        if data_reads(node.cond):
            split = split_mixed_condition(node, data_reads)
            inner = [split] if split is not None else if_converted(node, data_reads, fresh)
            return [s for item in inner for s in again(item)]
        return [c_ast.If(node.cond, _block(again(node.iftrue), node),
                         _block(again(node.iffalse), node) if node.iffalse else None,
                         coord=node.coord)]
    if isinstance(node, c_ast.For):
        return [c_ast.For(node.init, node.cond, node.next, _block(again(node.stmt), node),
                          coord=node.coord)]
    return [node]


def _guarded_assignment(node: c_ast.Assignment, guard: Guard) -> list[c_ast.Node]:
    before: list[c_ast.Node] = []
    rvalue = node.rvalue
    if isinstance(rvalue, c_ast.Assignment):  # a = b = e: b = e, then a = b
        before = _guarded_assignment(rvalue, guard)
        rvalue = rvalue.lvalue
    if node.op == "=":
        value = rvalue
    elif node.op in ("+=", "-=", "*=", "/="):
        value = c_ast.BinaryOp(node.op[0], node.lvalue, rvalue, coord=node.coord)
    else:  # an operator the builder refuses: keep it for its error
        return before + [node]
    chosen = _select(guard, value, node.lvalue, node.coord)
    return before + [c_ast.Assignment("=", node.lvalue, chosen, coord=node.coord)]


def _guarded_declaration(decl: c_ast.Decl, guard: Guard) -> c_ast.Decl:
    """A double or float local declared in the branch gets 0.0 where the branch is not
    taken: it is dead there, and a value that is never read keeps it out of
    the uninitialised-read check. Int locals and arrays pass unchanged."""
    from_type = decl.type
    words = getattr(getattr(from_type, "type", None), "names", [])
    if decl.init is None or not isinstance(from_type, c_ast.TypeDecl) \
            or words not in (["double"], ["float"]):
        return decl
    init = _select(guard, decl.init, _double(0, decl), decl.coord)
    return c_ast.Decl(decl.name, decl.quals, decl.align, decl.storage, decl.funcspec,
                      decl.type, init, decl.bitsize, coord=decl.coord)


def _select(guard: Guard, taken, untaken, coord) -> c_ast.TernaryOp:
    if guard.taken:
        return c_ast.TernaryOp(guard.cond, taken, untaken, coord=coord)
    return c_ast.TernaryOp(guard.cond, untaken, taken, coord=coord)


def _single(node):
    """The one statement of ``node`` (a block of one statement is that statement)."""
    while isinstance(node, c_ast.Compound) and len(node.block_items or []) == 1:
        node = node.block_items[0]
    return node


def _paired(then, otherwise) -> bool:
    return (isinstance(then, c_ast.Assignment) and isinstance(otherwise, c_ast.Assignment)
            and then.op == otherwise.op == "="
            and not isinstance(then.rvalue, c_ast.Assignment)
            and not isinstance(otherwise.rvalue, c_ast.Assignment)
            and describe(then.lvalue) == describe(otherwise.lvalue))


def _guarded_count(node) -> int:
    """How many assignments a branch makes (a loop counts as many)."""
    if node is None:
        return 0
    if isinstance(node, c_ast.For):
        return 2 * max(1, _guarded_count(node.stmt))
    if isinstance(node, c_ast.Assignment):
        return 1 + _guarded_count(node.rvalue if isinstance(node.rvalue, c_ast.Assignment)
                                  else None)
    if isinstance(node, c_ast.Decl):
        return int(node.init is not None)
    return sum(_guarded_count(child) for _, child in node.children()
               if isinstance(child, (c_ast.Compound, c_ast.If, c_ast.For, c_ast.Assignment,
                                     c_ast.Decl, c_ast.DeclList)))


def _written(node) -> set[str]:
    """The names of the variables a branch assigns."""
    if node is None:
        return set()
    if isinstance(node, c_ast.Assignment):
        base = node.lvalue
        while isinstance(base, c_ast.ArrayRef):
            base = base.name
        own = {base.name} if isinstance(base, c_ast.ID) else set()
        return own | _written(node.rvalue)
    if isinstance(node, c_ast.Decl):
        return {node.name}
    return set().union(*(_written(child) for _, child in node.children()))


def _declared(node) -> set[str]:
    """The data variables (not int locals) declared in a branch."""
    if node is None:
        return set()
    own = set()
    if isinstance(node, c_ast.Decl) and node.name:
        kind = node.type
        if not (isinstance(kind, c_ast.TypeDecl)
                and getattr(kind.type, "names", None) in (["int"], ["unsigned"])):
            own = {node.name}
    return own.union(*(_declared(child) for _, child in node.children()))


def _block(items: list[c_ast.Node], at) -> c_ast.Node:
    return items[0] if len(items) == 1 else c_ast.Compound(items, coord=at.coord)


def _double(value: int, at) -> c_ast.Constant:
    return c_ast.Constant("double", f"{value}.0", coord=at.coord)


def _double_local(name: str, init, at) -> c_ast.Decl:
    kind = c_ast.TypeDecl(name, [], None, c_ast.IdentifierType(["double"], coord=at.coord),
                          coord=at.coord)
    return c_ast.Decl(name, [], [], [], [], kind, init, None, coord=at.coord)


def _identifiers(node) -> set[str]:
    own = {node.name} if isinstance(node, (c_ast.ID, c_ast.Decl)) and node.name else set()
    return own.union(*(_identifiers(child) for _, child in node.children()))
