"""Scalar expansion: a scalar local made an array, one element per iteration
of the loops around its live ranges.

A scalar the kernel resets and accumulates in each iteration of some loops
(gesummv's ``ax = 0; for (j ...) ax += A[i][j] * x[j]; y[i] = alpha * ax ...``)
ties those loops together: every iteration reuses the one location, so no
loop around it can be distributed, and the accumulation is no matrix product.
Given one element per iteration of its ``depth`` outer loops, ``ax[i]``, the
loops come apart and ``ax[i] += A[i][j] * x[j]`` is a matrix-vector product.

Expansion is exact when every read still reads the value it read before:
:func:`expanded` compares isl's dataflow of the scalar before and after (a
read of a zeroed buffer's initial value and a read of a ``= 0`` reset are
the same value) and refuses the expansion otherwise.

>>> import polyad
>>> from polyad.program.ir import primal_program
>>> program = primal_program(polyad.parse("examples/gesummv.c"))
>>> print(expanded(program, "ax", 1).buffer("ax").extents[0])
[n] -> { [(n)] : n > 0 }
"""

from __future__ import annotations

from dataclasses import replace

import islpy as isl

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of, union_of_maps
from polyad.program.ir import Instruction, Program, Reference
from polyad.schedule.tree import flat_schedule, padded


def expandable_scalars(program: Program) -> list[str]:
    """The scalar locals of ``program`` (its own temporaries and their
    adjoints), the buffers :func:`expanded` may take."""
    return [b.name for b in program.buffers
            if b.kind == "local" and b.is_scalar and not b.sequence]


def users(program: Program, buffer: str) -> list[Instruction]:
    """The instructions referencing ``buffer``."""
    return [i for i in program.instructions
            if any(r.buffer == buffer for r in i.references.values())]


def expanded(program: Program, buffer: str, depth: int) -> Program:
    """The program with the scalar local ``buffer`` an array indexed by the
    first ``depth`` iterators of each instruction that references it.

    Precondition: ``buffer`` is one of :func:`expandable_scalars`. Raises a
    :class:`ScheduleError` when an instruction using it has fewer iterators,
    an iterator may be negative, or a read would read another value than
    before (the scalar carries a value from one iteration of those loops to
    another, or out of them).
    """
    original = program.buffer(buffer)
    if buffer not in expandable_scalars(program):
        raise ScheduleError(f"expand: {buffer} is not a scalar local")
    if depth < 1:
        raise ScheduleError(f"expand: depth {depth}: give at least one loop")
    using = users(program, buffer)
    short = [i.name for i in using if len(i.iterators) < depth]
    if short:
        raise ScheduleError(f"expand: {buffer} is used outside {depth} loop"
                            f"{'s' if depth != 1 else ''} (by {', '.join(short)})")
    indices = {i.name: _index_map(i.domain, buffer, depth).intersect_domain(i.domain)
               for i in using}
    extents = _extents(list(indices.values()), buffer, depth)
    instructions = tuple(
        replace(i, references={symbol: Reference(buffer, indices[i.name], r.push) if r.buffer == buffer else r
            for symbol, r in i.references.items()}) if i.name in indices else i
        for i in program.instructions)
    result = replace(program, instructions=instructions, buffers=tuple(
        replace(b, extents=extents, purpose=(b.purpose + "; " if b.purpose else "")
                + f"expanded over {depth} loop{'s' if depth > 1 else ''}")
        if b.name == buffer else b for b in program.buffers))
    _check_same_values(program, result, buffer, original.zeroed)
    return result


def _index_map(domain: isl.Set, buffer: str, depth: int) -> isl.Map:
    """{ S[i_0, ..., i_n] -> buffer[i_0, ..., i_(depth-1)] }"""
    space = isl.Space.map_from_set(domain.get_space())
    identity = isl.Map.identity(space)
    keep = identity.project_out(isl.dim_type.out, depth,
                                domain.dim(isl.dim_type.set) - depth)
    return keep.set_tuple_name(isl.dim_type.out, buffer)


def _extents(indices: list[isl.Map], buffer: str, depth: int) -> tuple[isl.PwAff, ...]:
    """The extent of each index of the expanded buffer: one more than its
    largest value; refused where an index may be negative."""
    elements = indices[0].range()
    for index in indices[1:]:
        image = index.range().align_params(elements.get_space())
        elements = elements.align_params(image.get_space()).union(image)
    elements = elements.coalesce()
    nonnegative = isl.Set.universe(elements.get_space())
    for d in range(depth):
        nonnegative = nonnegative.lower_bound_val(isl.dim_type.set, d, isl.Val(0))
    if not elements.is_subset(nonnegative):
        raise ScheduleError(f"expand: an index of {buffer} may be negative")
    return tuple(elements.dim_max(d).add_constant_val(isl.Val(1)).coalesce()
                 for d in range(depth))


def _check_same_values(before: Program, after: Program, buffer: str, zeroed: bool) -> None:
    """Refuse unless every read of ``buffer`` in ``after`` reads the value it
    read in ``before`` (the same write, or zero both times)."""
    flat = before.flat if before.flat is not None else flat_schedule(before.schedule)
    flat = union_of_maps(padded(maps_of(flat)))
    old, old_initial, zeros = _flow(before, buffer, flat)
    new, new_initial, _ = _flow(after, buffer, flat)
    zero_before = old.intersect_domain(zeros).range()
    zero_after = new.intersect_domain(zeros).range()
    if zeroed:
        zero_before, zero_after = zero_before.union(old_initial), zero_after.union(new_initial)
    both_zero = zero_before.intersect(zero_after)
    if not (old.subtract_range(both_zero).is_equal(new.subtract_range(both_zero))
            and old_initial.subtract(both_zero).is_equal(new_initial.subtract(both_zero))):
        raise ScheduleError(f"expand: {buffer} carries a value from one iteration of "
                            "those loops to another")


def _flow(program: Program, buffer: str, flat: isl.UnionMap):
    """(write -> read instances of ``buffer``, reads of its initial value,
    instances writing the constant 0 to it) in the order of ``flat``."""
    space = program.context.get_space()
    reads, writes, zeros = [], [], []
    for instruction in program.instructions:
        locals_ = {a.target for a in instruction.body if a.target not in instruction.references}
        for assignment in instruction.body:
            target = instruction.references.get(assignment.target)
            if target is not None and target.buffer == buffer:
                writes.append(target.relation)
                if assignment.op == "+=":
                    reads.append(target.relation)
                elif assignment.value.is_zero:
                    zeros.append(instruction.domain)
            for symbol in assignment.value.free_symbols:
                reference = instruction.references.get(symbol)
                if symbol not in locals_ and reference is not None \
                        and reference.buffer == buffer:
                    reads.append(reference.relation)
    named = [m.set_tuple_name(isl.dim_type.out, buffer) for m in reads]
    sink = union_of_maps(named) if named else isl.UnionMap.empty(space)
    source = union_of_maps([m.set_tuple_name(isl.dim_type.out, buffer) for m in writes]) \
        if writes else isl.UnionMap.empty(space)
    flow = (isl.UnionAccessInfo.from_sink(sink).set_must_source(source)
            .set_schedule_map(flat).compute_flow())
    zero_set = isl.UnionSet.empty(space)
    for domain in zeros:
        zero_set = zero_set.union(isl.UnionSet.from_set(domain))
    return (flow.get_must_dependence(), flow.get_must_no_source().domain(), zero_set)
