"""Int locals found by a search on data: an argmax's ``k``.

``if (a[i] > m) { m = a[i]; k = i; }`` gives the int local ``k`` a value
that depends on data, so it cannot stand for an affine expression as other
int locals do (frontend/induction.py). Such a local is int data of the
model instead: a scalar variable of the kernel, each assignment to it a
statement (an int select once the ``if`` is converted, never
differentiated), each use a read, and a use as a whole subscript (``y[0] =
x[k]``) a gather (frontend/gathers.py): a may-access of the whole extent,
printed as written, whose adjoint scatters into the element chosen. The
index is piecewise constant, so its derivative is zero; the read
differentiates through the chosen element.

What is modelled, checked once the walk is done: each value given to such
a local is its old value or affine in iterators and sizes (``k = i``, ``k =
0``), and every value it may take is inside each extent it subscripts (so
the generated code needs no check of it); and no use of it reads a value
that a later assignment overwrites, since the reverse sweep reads the index
as it is at the end of the forward sweep (recording indices on the tape is
not modelled). An index declared inside loops has one element per
iteration of them, as C gives each iteration its own variable, so a search
per row used in its row is accepted; one declared outside, searched again
per row and used per row, is refused at the use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import islpy as isl
from pycparser import c_ast

from polyad.errors import KernelError, SourceLocation
from polyad.frontend.affine import AffineTranslator, Scope, describe, lifted_to, type_names
from polyad.frontend.declarations import is_size_type
from polyad.frontend.preprocess import Preprocessed, located_error, node_location
from polyad.model import dataflow
from polyad.model.kernel import Statement, constraints_text

#: what a searched index's value may be: its old value, or affine
_VALUE_HINT = ("an index found by a search takes its own old value or one affine in "
               "iterators and sizes (k = i; k = 0;)")


def searched_ints(funcdef: c_ast.FuncDef) -> frozenset[str]:
    """The int locals of ``funcdef`` assigned in a branch of an ``if`` whose
    condition reads data (an array, or a floating-point scalar)."""
    ints, data = set(), set()
    for decl in _declarations(funcdef):
        if isinstance(decl.type, c_ast.TypeDecl) and is_size_type(type_names(decl.type)):
            ints.add(decl.name)
        else:
            data.add(decl.name)
    ints -= _iterators(funcdef.body)
    found: set[str] = set()

    def visit(node, under_data: bool) -> None:
        if isinstance(node, c_ast.If):
            under = under_data or bool(_names(node.cond) & data)
            for branch in (node.iftrue, node.iffalse):
                if branch is not None:
                    visit(branch, under)
            return
        if under_data and isinstance(node, c_ast.Assignment) \
                and isinstance(node.lvalue, c_ast.ID) and node.lvalue.name in ints:
            found.add(node.lvalue.name)
        for _, child in node.children():
            visit(child, under_data)
    visit(funcdef.body, False)
    return frozenset(found)


@dataclass
class Searches:
    """The searched int locals of a kernel and, as the walk meets them, the
    values each assignment gives them (per assignment: where, and the set
    of values over the sizes)."""

    pre: Preprocessed
    names: frozenset[str]
    values: dict[str, list[tuple[SourceLocation, str, isl.Set]]] = field(default_factory=dict)
    #: per index declared inside loops: those loops' iterators, and the
    #: lowest value of each (where its elements start)
    loops: dict[str, tuple[tuple[str, ...], tuple[isl.PwAff, ...]]] = \
        field(default_factory=dict)

    def extents(self, name: str, scope: Scope,
                context: isl.Set | None = None) -> tuple[isl.PwAff, ...]:
        """The extents of the index ``name`` declared in ``scope``: one
        element per iteration of the loops around its declaration, as C
        gives each iteration a variable of its own (none outside loops);
        simpler under ``context`` (the sizes known so far)."""
        lows, extents = [], []
        for position in range(len(scope.iterators)):
            low, high = scope.domain.dim_min(position), scope.domain.dim_max(position)
            one = isl.PwAff.val_on_domain(isl.Set.universe(low.get_domain_space()), isl.Val(1))
            lows.append(low)
            extent = high.sub(low).add(one).union_max(one)
            extents.append(extent if context is None else extent.gist_params(
                context.align_params(extent.get_space()).params()).coalesce())
        self.loops[name] = (scope.iterators, tuple(lows))
        return tuple(extents)

    def subscripts(self, name: str, scope: Scope) -> list[isl.PwAff]:
        """The element of the index ``name`` that a use in ``scope`` (inside
        the loops of its declaration) reads or writes: the iteration's."""
        iterators, lows = self.loops.get(name, ((), ()))
        return [scope.variable(iterator).sub(lifted_to(low, scope))
                for iterator, low in zip(iterators, lows)]

    def record(self, affine: AffineTranslator, assignment: c_ast.Assignment, name: str,
               node: c_ast.Node, scope: Scope) -> None:
        """Note the values the ``assignment`` ``name = node`` (``node`` a
        select of its old value and affine values) may give; an error for
        another operator, the affine translator's at a value of another kind."""
        if assignment.op != "=":
            raise located_error(self.pre, assignment, f"{assignment.op} on the index {name} "
                                "found by a search", _VALUE_HINT)
        for leaf in _leaves(node):
            if isinstance(leaf, c_ast.ID) and leaf.name == name:
                continue  # keeps the old value
            value = affine.expression(leaf, scope, f"value of the index {name}")
            values = isl.Map.from_pw_aff(value.intersect_domain(scope.domain)).range()
            self.values.setdefault(name, []).append(
                (node_location(self.pre, leaf), describe(leaf), values))

    def check(self, statements: Sequence[Statement], schedule: isl.Schedule,
              context: isl.Set, extents: Mapping[str, tuple[isl.PwAff, ...]]) -> None:
        """Raise a located KernelError for a value of a searched index
        outside an extent it subscripts, or for a use of one whose value is
        overwritten later (see the module's docstring)."""
        if not self.names:
            return
        self._check_ranges(statements, context, extents)
        self._check_overwrites(statements, schedule, context)

    def _check_ranges(self, statements, context, extents) -> None:
        for statement in statements:
            for access in statement.reads:
                symbols = {index.symbol: index.array for index in access.indices}
                for dim, symbol in enumerate(access.subscripts or ()):
                    name = symbols.get(symbol)
                    if name not in self.names:
                        continue
                    extent = extents[access.array][dim]
                    for location, text, values in self.values.get(name, ()):
                        outside = _outside(values, extent, context)
                        if not outside.is_empty():
                            raise KernelError(
                                location, f"value {text} of {name}, which may be outside "
                                f"{access.array} (it subscripts {access.text} at line "
                                f"{access.location.line}) where "
                                f"{constraints_text(outside.params().coalesce())}",
                                f"keep every value of {name} inside the extents it "
                                "subscripts", verb="out-of-bounds")

    def _check_overwrites(self, statements, schedule, context) -> None:
        writes = isl.UnionMap.empty(context.get_space())
        for statement in statements:
            if statement.write.array in self.names:
                writes = writes.union(isl.UnionMap.from_map(statement.write.relation))
        order = dataflow.order_or_same(dataflow.schedule_map(schedule))
        writers = {s.name: s for s in statements}
        for statement in statements:
            if statement.write.array in self.names:
                continue  # an int statement, never in the reverse sweep
            for access in statement.reads:
                if access.array not in self.names:
                    continue
                later = dataflow.overwritten_later(access.relation, writes, order)
                if later.is_empty():
                    continue
                writer = writers[later.range().get_set_list().get_at(0).get_tuple_name()]
                raise KernelError(
                    access.location, f"use of {access.array}, found by a search, whose "
                    f"value is overwritten later ({writer.text.strip()} at line "
                    f"{writer.location.line})",
                    "the reverse sweep reads the index as the forward sweep leaves it "
                    "(recording indices is not modelled): declare the index inside "
                    "the loop each of whose iterations searches and uses it (it then "
                    "has an element per iteration)")


def _outside(values: isl.Set, extent: isl.PwAff, context: isl.Set) -> isl.Set:
    """The values in ``values`` (a 1-d set over the sizes) below 0 or at or
    above ``extent`` (a function of the sizes), under ``context``."""
    values = values.align_params(context.get_space()).intersect_params(context)
    space = values.get_space()
    value = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(space), isl.dim_type.set, 0)
    bound = extent.align_params(space).add_dims(isl.dim_type.in_, 1)
    zero = isl.PwAff.val_on_domain(isl.Set.universe(space), isl.Val(0))
    return values - (value.ge_set(zero) & value.lt_set(bound))


def _leaves(node):
    """The values a select tree may give: its branches' leaves."""
    if isinstance(node, c_ast.TernaryOp):
        yield from _leaves(node.iftrue)
        yield from _leaves(node.iffalse)
    else:
        yield node


def _names(node) -> set[str]:
    if isinstance(node, c_ast.ID):
        return {node.name}
    return set().union(*(_names(child) for _, child in node.children()))


def _declarations(node):
    if isinstance(node, c_ast.Decl) and node.name and not isinstance(node.type, c_ast.FuncDecl):
        yield node
    for _, child in node.children():
        yield from _declarations(child)


def _iterators(node) -> set[str]:
    """Names a for header initialises (loop iterators)."""
    found = set()
    if isinstance(node, c_ast.For) and node.init is not None:
        if isinstance(node.init, c_ast.DeclList):
            found |= {d.name for d in node.init.decls}
        elif isinstance(node.init, c_ast.Assignment) and isinstance(node.init.lvalue, c_ast.ID):
            found.add(node.init.lvalue.name)
    for _, child in node.children():
        found |= _iterators(child)
    return found
