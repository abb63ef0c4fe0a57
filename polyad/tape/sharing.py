"""One record of a value, however many reads need it.

The exact tape records a value for every read that needs it. When several
reads need values one statement writes (a five-point stencil reading the
previous step's ``u`` at five neighbours), recording each written value
once, as its writer writes it, and looking it up from each reading
instance, records a fifth as much. isl's dataflow splits a read by the
source of its value: the last write before it (a *writer piece*, looked up
through the must-dependence) or none (an *entry piece*: the value the
kernel got, recorded before it runs). Pieces of the same source and array
share one record when their values mostly coincide: each read's values
cover all but a lower-dimensional part (a boundary) of the record. A read
whose instances share values (a row's mean read by every element) records
each value once even when no other read shares it.

>>> import polyad
>>> k = polyad.parse("tests/kernels/heat2d.c")               # doctest: +SKIP
>>> shared = share_records(polyad.grad(k).tape, k)           # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import islpy as isl
import sympy

from polyad.model import dataflow
from polyad.model.gathers import scattered_arrays
from polyad.model.kernel import Kernel, maps_of
from polyad.tape.plan import RecordKey, TapeEntry, TapePlan
from polyad.tape.snapshots import snapshot_state


@dataclass(frozen=True)
class Piece:
    """The instances of a read whose values come from one ``source``
    (a statement, or "" for the kernel's input), ``lookup`` mapping each
    to the source's instance (or the element) that holds its value."""

    entry: TapeEntry
    source: str
    instances: isl.Set
    lookup: isl.Map

    @cached_property  # isl calls are not free: each piece's, once
    def values(self) -> isl.Set:
        """The source instances (or elements) whose values it needs."""
        return self.lookup.range().coalesce()

    @cached_property
    def injective(self) -> bool:
        """Whether each value is needed by one reading instance only."""
        return self.lookup.is_injective()

    @property
    def key(self) -> RecordKey:
        return RecordKey(self.source, self.entry.access.array)


def share_records(plan: TapePlan, kernel: Kernel, *, stepwise: bool = False) -> TapePlan:
    """The plan with the reads that need the same written values sharing
    one record of them (see the module's docstring); the exact strategy
    only. ``stepwise`` (the checkpoint layout, whose reverse sweep reruns
    one step at a time) shares within a step of the time loop only: a read
    of the loop is split only when every value comes from a writer in its
    own step.

    Precondition: ``plan`` comes from polyad.tape.plan.plan_tape (and
    polyad.tape.decisions.record_decisions).
    """
    if plan.strategy != "exact":
        return plan
    borrowed = {entry.shares for entry in plan.entries if entry.shares}
    scattered = scattered_arrays(kernel)
    in_loop = set()
    if stepwise:
        state = snapshot_state(kernel)
        in_loop = set(state.loop.statements) if state is not None else set()
    split: dict[tuple, list[Piece]] = {}
    for entry in plan.entries:
        if entry.shares or entry.written or (entry.statement, entry.symbol) in borrowed \
                or entry.access.array in scattered or entry.access.is_gather:
            continue
        pieces = pieces_of(entry, kernel)
        if pieces is None:
            continue
        if entry.statement in in_loop and not all(p.source and keeps_step(p.lookup)
                                                 for p in pieces):
            continue
        split[entry.key] = pieces
    groups: dict[RecordKey, list[Piece]] = {}
    for pieces in split.values():
        for piece in pieces:
            groups.setdefault(piece.key, []).append(piece)
    shared = {key for key, members in groups.items() if worth_sharing(members)}
    entries = []
    for entry in plan.entries:
        pieces = split.get(entry.key)
        if pieces is None or not any(p.key in shared or not p.injective
                                     for p in pieces):
            entries.append(entry)
            continue
        for index, piece in enumerate(pieces):
            if piece.key in shared:
                key, recorded = piece.key, union_of_values(groups[piece.key])
            else:  # its own record: once per value still, when instances share one
                key = replace(piece.key, reader=(entry.statement, str(entry.symbol)))
                recorded = piece.values
            entries.append(replace(entry, instances=piece.instances, writer=piece.source,
                                   on_entry=not piece.source, lookup=piece.lookup,
                                   recorded=recorded, record=key, piece=index))
    return replace(plan, entries=tuple(entries), stepwise=stepwise)


def pieces_of(entry: TapeEntry, kernel: Kernel) -> list[Piece] | None:
    """The read's instances split by the source of their values, or None
    when isl cannot tell (its dataflow fails, a lookup is not a function, or
    the pieces do not cover the instances)."""
    flow = dataflow.value_flow(entry.access.relation, entry.instances, kernel.writes(),
                               kernel.schedule)
    if flow is None:
        return None
    pieces = []
    for dependence in maps_of(flow.get_must_dependence()):
        if dependence.is_empty():
            continue
        lookup = dependence.reverse().coalesce()
        if not lookup.is_single_valued():
            return None
        pieces.append(Piece(entry, lookup.get_tuple_name(isl.dim_type.out),
                            lookup.domain().coalesce(), lookup))
    for unwritten in maps_of(flow.get_must_no_source()):
        if unwritten.is_empty():
            continue
        lookup = unwritten.coalesce()
        if lookup.range_tuple_dim() == 0:
            return None  # a scalar on entry: nothing to share
        for d in range(lookup.dim(isl.dim_type.out)):  # loops of the record on entry need names
            lookup = lookup.set_dim_name(isl.dim_type.out, d, f"i{d}")
        pieces.append(Piece(entry, "", lookup.domain().coalesce(), lookup))
    covered = entry.instances.subtract(entry.instances)
    for piece in pieces:
        if not piece.instances.intersect(covered).is_empty():
            return None
        covered = covered.union(piece.instances)
    return pieces if pieces and covered.is_equal(entry.instances) else None


def keeps_step(lookup: isl.Map) -> bool:
    """Whether every reading instance finds its value in its own step (the
    first iterator, the time loop's, equal on both sides)."""
    if lookup.dim(isl.dim_type.in_) == 0 or lookup.dim(isl.dim_type.out) == 0:
        return False
    return lookup.equate(isl.dim_type.in_, 0, isl.dim_type.out, 0).is_equal(lookup)


def worth_sharing(members: list[Piece]) -> bool:
    """Whether one record of the values serves the pieces better than one
    each: two or more reads whose values each cover the record but for a
    part of lower dimension, or one read looking the same value up from
    several instances."""
    reads = {(p.entry.statement, p.entry.symbol) for p in members}
    if len(reads) == 1:
        return len(members) == 1 and not members[0].injective
    union = union_of_values(members)
    return all(dimension(union.subtract(p.values)) < dimension(p.values) for p in members)


def union_of_values(members: list[Piece]) -> isl.Set:
    """The values a shared record holds: every member's."""
    union = members[0].values
    for piece in members[1:]:
        union = union.union(piece.values)
    return union.coalesce()


def dimension(points: isl.Set) -> int:
    """The dimension of a set (-1 when empty): of its largest basic set,
    its dimensions less the rank of the equalities of its affine hull.

    >>> dimension(isl.Set("{ [i, j] : 0 <= i < 4 and j = i }"))
    1
    """
    best = -1
    for basic in points.get_basic_sets():
        if basic.is_empty():
            continue
        hull = basic.affine_hull()
        rows = []
        for constraint in hull.get_constraints():
            divs = [constraint.get_coefficient_val(isl.dim_type.div, d)
                    for d in range(hull.dim(isl.dim_type.div))]
            if constraint.is_equality() and all(v.is_zero() for v in divs):
                # An equality through an existential is a stride: no dimension lost.
                rows.append([int(constraint.get_coefficient_val(isl.dim_type.set, d)
                                 .to_python()) for d in range(basic.dim(isl.dim_type.set))])
        rank = sympy.Matrix(rows).rank() if rows else 0
        best = max(best, basic.dim(isl.dim_type.set) - rank)
    return best
