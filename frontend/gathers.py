"""Gathers: reads through index arrays (``x[col[k]]``, ``E[idx[b][l]][j]``).

A subscript that is, as a whole, an element of an int array parameter is a
gather's index; the access becomes a may-access of every element of the
array in that dimension (polyad.model.kernel.Access), the index element a
read of the statement. A write through an index array (a scatter,
``y[perm[i]] = e``) is taken when the index array is stated injective
(frontend/injective.py): a may-write of the whole extent in that dimension.
What stays refused, at its place: other writes through an index array,
arithmetic on an index, an index array read through another,
local index arrays, and (once the walk is done) gathers from an array the
kernel writes or an index array it writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import islpy as isl
from pycparser import c_ast

from polyad.errors import KernelError
from polyad.frontend.declarations import Variable
from polyad.model.kernel import Access, Array, Statement


def index_array(subscript, variables: Mapping[str, Variable],
                searched: frozenset[str] = frozenset()) -> Variable | None:
    """The int array a subscript reads as a whole (``col`` for
    ``col[i][p]``), or the ``searched`` int local it is (an argmax's ``k``,
    frontend/searches.py), or None."""
    if isinstance(subscript, c_ast.ID) and subscript.name in searched:
        return variables[subscript.name]
    if not isinstance(subscript, c_ast.ArrayRef):
        return None
    base = subscript
    while isinstance(base, c_ast.ArrayRef):
        base = base.name
    index = variables.get(base.name) if isinstance(base, c_ast.ID) else None
    if index is None or index.dtype != "int" or not index.extents:
        return None
    return index


def refuse_index(error, subscript, index: Variable, text: str, write: bool,
                 searched: frozenset[str] = frozenset(),
                 injective: frozenset[str] = frozenset()) -> None:
    """Raise ``error(...)`` for an index the model does not take: in a
    write, unless the index array is stated ``injective``, or of a local
    array (other than a ``searched`` int local)."""
    if write and index.name not in injective:
        hint = ("two instances could write one element; if the values of "
                f"{index.name} are pairwise distinct, say so with #pragma polyad "
                f"injective({index.name}) before the kernel")
        if index.storage != "parameter":
            hint = ("polyad writes through int array parameters stated injective "
                    "(#pragma polyad injective(perm)) only")
        raise error(subscript, f"write through the index array {index.name} ({text})", hint)
    if index.storage != "parameter" and index.name not in searched:
        raise error(subscript, f"subscript through the local int array {index.name}",
                    "an index array must be an int array parameter of the kernel")


def checked_index(error, subscript, index: Variable, added: list[Access]) -> Access:
    """The index's own access, the one read ``added``; an error for an index
    that is itself read through an index array."""
    if len(added) != 1 or added[0].is_gather:
        raise error(subscript, f"index array {index.name} read through an index array",
                    "subscript the index array affinely, idx[b * L + l]")
    return added[0]


def free_dimension(domain: isl.Set) -> isl.Map:
    """{ instance -> [o] }: a subscript any element may take."""
    return isl.Map.from_domain_and_range(
        isl.Set.universe(domain.get_space()),
        isl.Set.universe(isl.Space.set_alloc(isl.DEFAULT_CONTEXT, 0, 1)))


def access_relation(scope_domain: isl.Set, pieces: list[isl.PwAff | None], statement: str,
                    array: str) -> isl.Map:
    """An access relation from its subscripts (pieces on the domain of the
    loops around it): instances of ``statement`` to elements of ``array``; a
    None piece (a subscript through an index array) leaves its dimension
    free."""
    if pieces:
        maps = [free_dimension(scope_domain) if p is None else isl.Map.from_pw_aff(p)
                for p in pieces]
        relation = maps[0]
        for piece in maps[1:]:
            relation = relation.flat_range_product(piece)
    else:
        relation = isl.Map.from_domain(isl.Set.universe(scope_domain.get_space()))
    relation = relation.set_tuple_name(isl.dim_type.in_, statement)
    return relation.set_tuple_name(isl.dim_type.out, array)


def gather_access(access: Access, variable: Variable,
                  indices: Sequence[Access | None]) -> Access:
    """``access`` (its relation free in the gathered dimensions) as a
    gather through ``indices`` (None for an affine subscript), its relation
    kept inside the array; ``access`` unchanged when nothing is gathered."""
    if all(index is None for index in indices):
        return access
    shape = Array(variable.name, variable.dtype, variable.extents, "", "").shape_set()
    relation = access.relation.intersect_range(shape.align_params(access.relation.get_space()))
    return replace(access, relation=relation,
                   subscripts=tuple(None if i is None else i.symbol for i in indices),
                   indices=tuple(i for i in indices if i is not None))


def check_gathers(statements: Sequence[Statement],
                  searched: frozenset[str] = frozenset(),
                  injective: frozenset[str] = frozenset()) -> None:
    """Raise a KernelError at the first gather (``x[col[k]]``) from an array
    the kernel writes, or at the first write of an index array other than
    the ``searched`` int locals (frontend/searches.py checks those): the
    model reads index arrays as the caller gave them, and its may-accesses
    of a gathered array are only read. A scatter through an ``injective``
    index (``y[perm[i]] += e``) may read the element it writes, through the
    same index: that read is the one the compound assignment makes."""
    written = {s.write.array: s.write for s in reversed(statements)}
    indices_written = {name: write for name, write in written.items()
                       if name not in searched}
    for statement in statements:
        for access in (statement.write,) + statement.reads:
            for index in access.indices:
                if index.array in indices_written:
                    write = written[index.array]
                    raise KernelError(write.location, f"write to the index array "
                                      f"{index.array} ({write.text})", "an index array "
                                      f"({access.text}) is data the kernel only reads")
        for access in statement.reads:
            if access.is_gather and access.array in written and not (
                    statement.write.is_gather and access.array == statement.write.array
                    and access.subscripts == statement.write.subscripts
                    and access.relation.is_equal(statement.write.relation)):
                raise KernelError(access.location, f"gather {access.text} from "
                                  f"{access.array}, which the kernel writes",
                                  "polyad gathers from arrays the kernel only reads "
                                  "(a scatter y[perm[i]] += e may read the element it "
                                  "writes): copy the values into another array first")
