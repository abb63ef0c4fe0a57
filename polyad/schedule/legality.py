"""Legality: the dependences a schedule must keep, and what a loop may do.

Dependences are memory-based and exact (isl relations between instances of
the program's instructions, oriented by the original order). A schedule is
legal when it keeps every ordered pair in order (:func:`check_order`);
increments ``x += ...`` of one element may be reordered when reassociation
is allowed. A loop may run its iterations at once when it carries no ordered
pair and its iterations' increments meet only on elements a reduction or a
register accumulator can take (:func:`parallel_verdict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import islpy as isl

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of, union_of_maps
from polyad.program.ir import Program
from polyad.schedule.loops import classify, instruction_name, names_of
from polyad.schedule.tree import padded

#: Buffers of at most this many dimensions (scalars) get an OpenMP reduction when the
#: increments of a parallel loop's iterations meet on them; a private copy of
#: a larger array per thread costs as much as the loop itself.
SMALL_RANK = 0
#: At most this many classes for :meth:`polyad.schedule.schedule.Schedule.color`.
MAX_COLORS = 8


@dataclass(frozen=True)
class OrderingDependences:
    """The program's dependences, as pairs of instances in original order.

    ``ordered`` must keep their order (a write and a read or write of the
    same element); ``increments`` are two increments ``x += ...`` of the same
    element, which may be reordered (floating-point reassociation), kept per
    buffer.
    """

    ordered: tuple[isl.Map, ...]
    increments: tuple[tuple[str, isl.Map], ...]


@dataclass(frozen=True)
class Verdict:
    """Whether a loop may run its iterations at once, and why (not).

    ``reductions``: buffers whose meeting increments a reduction (or a
    register accumulator) takes; ``conflicts``: those it cannot, where
    ``atomics_would_do`` says atomic updates would make the loop parallel.
    """

    parallel: bool
    reason: str
    reductions: tuple[str, ...]
    conflicts: tuple[str, ...]
    atomics_would_do: bool


def program_dependences(program: Program, flat: isl.UnionMap) -> OrderingDependences:
    """Memory-based dependences of a program in the order of ``flat``:
    every pair of accesses to one element, at least one a write (or an
    increment against a plain access), oriented by execution order."""
    writes, increments, reads = [], [], []
    for instruction in program.instructions:
        locals_ = {a.target for a in instruction.body
                   if a.target not in instruction.references}
        for assignment in instruction.body:
            reference = instruction.references.get(assignment.target)
            if reference is not None and reference.relation is not None:
                relation = on_buffer(reference)
                (increments if assignment.op == "+=" else writes).append(relation)
            for symbol in assignment.value.free_symbols:
                reference = instruction.references.get(symbol)
                if symbol not in locals_ and reference is not None \
                        and reference.relation is not None:
                    reads.append(on_buffer(reference))
    w, i, r = union_of_maps(writes), union_of_maps(increments), union_of_maps(reads)
    schedule = {m.get_tuple_name(isl.dim_type.in_): m for m in maps_of(flat)}
    before: dict[tuple[str, str], isl.Map] = {}

    def ordered(first: isl.UnionMap, second: isl.UnionMap) -> list[isl.Map]:
        result = []
        for pair in maps_of(first.apply_range(second.reverse())):
            ends = (pair.get_tuple_name(isl.dim_type.in_), pair.get_tuple_name(isl.dim_type.out))
            if ends not in before:  # one lex_lt_map per instruction pair, not per access pair
                before[ends] = schedule[ends[0]].lex_lt_map(schedule[ends[1]])
            pair = pair.intersect(before[ends])
            if not pair.is_empty():
                result.append(pair.coalesce())
        return result

    kept = []
    for first, second in [(w, r), (w, w), (w, i), (i, w), (r, w), (r, i), (i, r)]:
        kept += ordered(first, second)
    by_buffer = []
    for increment in maps_of(i):
        buffer = increment.get_tuple_name(isl.dim_type.out)
        for pair in ordered(isl.UnionMap.from_map(increment), i):
            by_buffer.append((buffer, pair))
    return OrderingDependences(tuple(merged(kept)), tuple(by_buffer))


def merged(maps: list[isl.Map]) -> list[isl.Map]:
    """One map per (source, sink) instruction pair."""
    union = union_of_maps(maps)
    return [m.coalesce() for m in maps_of(union.coalesce())] if maps else []


def on_buffer(reference) -> isl.Map:
    """A reference's access relation, instance -> element of its buffer."""
    return reference.relation.set_tuple_name(isl.dim_type.out, reference.buffer)


def between(dependence: isl.Map, names: set[str]) -> bool:
    """Whether both ends of a dependence are among the instructions ``names``."""
    return (dependence.get_tuple_name(isl.dim_type.in_) in names
            and dependence.get_tuple_name(isl.dim_type.out) in names)


def within(space: isl.Space, classes: int) -> isl.Set:
    """{ [x] : -classes < x < classes }"""
    local = isl.LocalSpace.from_space(space)
    x = isl.PwAff.var_on_domain(local, isl.dim_type.set, 0)
    bound = isl.PwAff.val_on_domain(isl.Set.universe(space), isl.Val(classes))
    return x.lt_set(bound) & x.gt_set(bound.neg())


def carried_at(space: isl.Space, position: int) -> isl.Map:
    """{ p -> q : p and q agree before ``position`` and differ at it }."""
    universe = isl.Map.universe(space)
    agree = universe
    for d in range(position):
        agree = agree.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
    return agree.subtract(agree.equate(isl.dim_type.in_, position, isl.dim_type.out, position))


def only_incremented(instruction) -> set:
    """The reference symbols an instruction only increments (never reads,
    never assigns with ``=``)."""
    values = set()
    for assignment in instruction.body:
        values |= assignment.value.free_symbols
    return {symbol for symbol in instruction.references if symbol not in values and all(
        a.op == "+=" for a in instruction.body if a.target == symbol)}


def moves(reference, dim: int) -> bool:
    """Whether a reference's element changes with domain dimension ``dim``
    (a gather's may: its index array's element can)."""
    if reference.gather is not None:
        return True
    index = isl.PwMultiAff.from_map(reference.relation)
    return any(not aff.get_coefficient_val(isl.dim_type.in_, dim).is_zero()
               for d in range(index.dim(isl.dim_type.out))
               for _, aff in index.get_pw_aff(d).get_pieces())


def meeting_instances(instruction, m: isl.Map, position: int,
                       program: Program) -> isl.Set | None:
    """The instances of an instruction where one of its increments of an
    element the loop at ``position`` does not move touches the element of
    another of its references to the same buffer; None when it has no such
    increment."""
    kind, iterator = classify(m, position)
    if kind != "loop":
        return None
    dim = instruction.iterators.index(iterator)
    incremented = only_incremented(instruction)
    meeting = None
    for symbol, reference in instruction.references.items():
        if reference.relation is None or symbol not in incremented \
                or moves(reference, dim):
            continue
        for other_symbol, other in instruction.references.items():
            if other_symbol == symbol or other.buffer != reference.buffer \
                    or other.relation is None:
                continue
            both = reference.relation.intersect(other.relation).domain()
            meeting = both if meeting is None else meeting.union(both)
    return None if meeting is None else meeting.coalesce()




def rank(program: Program, buffer: str) -> int:
    """The number of dimensions of a buffer (0: a scalar)."""
    return len(program.buffer(buffer).extents)


def describe(program: Program, pairs: isl.Map) -> str:
    """One pair of instances of a dependence, in words, for error messages."""
    point = pairs.wrap().sample_point()
    source = pairs.get_tuple_name(isl.dim_type.in_)
    sink = pairs.get_tuple_name(isl.dim_type.out)
    n_in = pairs.dim(isl.dim_type.in_)
    values = [int(point.get_coordinate_val(isl.dim_type.set, d).to_python())
              for d in range(n_in + pairs.dim(isl.dim_type.out))]
    params = {pairs.get_dim_name(isl.dim_type.param, d):
              int(point.get_coordinate_val(isl.dim_type.param, d).to_python())
              for d in range(pairs.dim(isl.dim_type.param))}
    sizes = ", ".join(f"{k} = {v}" for k, v in params.items())
    return (f"{source}{tuple(values[:n_in])} ({program.instruction(source).comment}) must run "
            f"before {sink}{tuple(values[n_in:])} ({program.instruction(sink).comment})"
            + (f" at {sizes}" if sizes else ""))


def check_order(program: Program, dependences: OrderingDependences, reassociate: bool,
                maps: list[isl.Map], primitive: str,
                kept: tuple[Mapping[str, isl.Map], bool] = (MappingProxyType({}), False)
                ) -> list[isl.Map]:
    """The padded flat maps, once checked to keep every dependence in order
    (increments too unless ``reassociate``); else a :class:`ScheduleError`
    naming ``primitive`` and a pair of instances it would reorder.

    ``kept`` is (maps known to keep every ordered dependence, whether they
    keep the increments' order too): a dependence between two instructions
    whose maps are those is not checked again, so a step that moves a few
    instructions checks only the dependences that touch them."""
    maps = padded(maps)
    by_name = {instruction_name(m): m for m in maps}
    known, increments_known = kept
    unchanged = {name for name, m in by_name.items()
                 if name in known and m.plain_is_equal(known[name])}

    def checked(dependence: isl.Map) -> bool:
        return (dependence.get_tuple_name(isl.dim_type.in_) in unchanged
                and dependence.get_tuple_name(isl.dim_type.out) in unchanged)
    required = [d for d in dependences.ordered if not checked(d)]
    if not reassociate:
        required += [d for _, d in dependences.increments
                     if not (increments_known and checked(d))]
    for dependence in required:
        source = by_name[dependence.get_tuple_name(isl.dim_type.in_)]
        sink = by_name[dependence.get_tuple_name(isl.dim_type.out)]
        before = source.lex_lt_map(sink)
        if not dependence.is_subset(before):
            raise ScheduleError(f"{primitive} would violate a dependence: "
                                + describe(program, dependence.subtract(before)))
    return maps


def parallel_verdict(program: Program, dependences: OrderingDependences, reassociate: bool,
                     members: list[isl.Map], position: int,
                     invariant_ok: bool = False) -> Verdict:
    """Whether the loop at ``position`` over the instructions of ``members``
    may run its iterations at once. Conflicting increments of scalars are
    reductions; with ``invariant_ok`` (vectorisation), so are those of any
    element the loop does not move and only increments."""
    names = names_of(members)
    by_name = {instruction_name(m): m for m in members}

    def carried(dependence: isl.Map) -> bool:
        source = by_name[dependence.get_tuple_name(isl.dim_type.in_)]
        sink = by_name[dependence.get_tuple_name(isl.dim_type.out)]
        pairs = dependence.apply_domain(source).apply_range(sink)
        return not pairs.intersect(carried_at(pairs.get_space(), position)).is_empty()

    for dependence in dependences.ordered:
        if between(dependence, names) and carried(dependence):
            return Verdict(False, "carries a dependence: " + describe(program, dependence),
                           (), (), False)
    reductions, conflicts = [], []
    for buffer, dependence in dependences.increments:
        if not (between(dependence, names) and carried(dependence)):
            continue
        if not reassociate:
            return Verdict(False, f"increments of {buffer} would be reordered "
                           "(reassociation is forbidden)", (), (), False)
        small = (accumulable(program, buffer, members, position) if invariant_ok
                 else rank(program, buffer) <= SMALL_RANK)
        target = reductions if small else conflicts
        if buffer not in target:
            target.append(buffer)
    if conflicts:
        return Verdict(False, "increments of " + ", ".join(conflicts) + " from "
                       "different iterations meet (a race); interchange to a loop "
                       "whose iterations touch disjoint elements, or use atomics",
                       tuple(reductions), tuple(conflicts), True)
    reason = ("iterations independent" if not reductions else
              "iterations independent but for increments of "
              + ", ".join(reductions) + " (an OpenMP reduction)")
    return Verdict(True, reason, tuple(reductions), (), False)


def accumulable(program: Program, buffer: str, members: list[isl.Map], position: int) -> bool:
    """Whether, in the loop at ``position``, the increments of ``buffer``
    that meet across iterations may be accumulated in registers: they
    are increments of elements the loop does not move, and no other
    reference to ``buffer`` in the loop (a read, a write, an increment of
    a moving element) touches those elements, nor do two of them touch
    one element from different iterations (checked on the instances)."""
    invariant: list[isl.Map] = []
    others: list[isl.Map] = []
    for m in members:
        instruction = program.instruction(instruction_name(m))
        kind, iterator = classify(m, position)
        if kind not in ("loop", "const"):
            return False
        # A member fixed at this position (a peeled last instance) runs at
        # one iteration of each run of the loop: nothing of it moves.
        dim = instruction.iterators.index(iterator) if kind == "loop" else None
        incremented = only_incremented(instruction)
        for symbol, reference in instruction.references.items():
            if reference.buffer != buffer:
                continue
            if reference.relation is None:
                return False
            at_points = on_buffer(reference).apply_domain(m)  # point -> element
            unmoved = symbol in incremented and (dim is None or not moves(reference, dim))
            (invariant if unmoved else others).append(at_points)
    if not invariant:
        return False
    if others:
        kept = union_of_maps(invariant).apply_range(union_of_maps(others).reverse())
        for pairs in maps_of(kept):  # in one run of the loop: agree outside it
            agree = isl.Map.universe(pairs.get_space())
            for d in range(position):
                agree = agree.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
            if not pairs.intersect(agree).is_empty():
                return False
        moving = union_of_maps(others)
        for pairs in maps_of(moving.apply_range(moving.reverse())):
            if not pairs.intersect(carried_at(pairs.get_space(), position)).is_empty():
                return False
    return True


def color_classes(dependences: OrderingDependences, members: list[isl.Map],
                  position: int) -> int | None:
    """The fewest classes C such that the increments of two iterations of
    the loop at ``position`` meet only less than C apart (None: not below
    :data:`MAX_COLORS`)."""
    names = names_of(members)
    by_name = {instruction_name(m): m for m in members}
    distances = []
    for _, dependence in dependences.increments:
        if not between(dependence, names):
            continue
        source = by_name[dependence.get_tuple_name(isl.dim_type.in_)]
        sink = by_name[dependence.get_tuple_name(isl.dim_type.out)]
        pairs = dependence.apply_domain(source).apply_range(sink)
        pairs = pairs.intersect(carried_at(pairs.get_space(), position))
        if not pairs.is_empty():
            depth = pairs.dim(isl.dim_type.out)
            distances.append(pairs.deltas()
                             .project_out(isl.dim_type.set, position + 1, depth - position - 1)
                             .project_out(isl.dim_type.set, 0, position))
    for classes in range(2, MAX_COLORS + 1):
        if all(d.is_subset(within(d.get_space(), classes)) for d in distances):
            return classes
    return None
