"""The schedule primitives that rewrite instructions: gather and peel.

Both split an instruction of the program into parts (recorded in
``Schedule.rewrites`` so that the program can be regenerated from the
algorithm) and give each part its own place in the flat schedule, checked
against the rewritten program's dependences
(:meth:`~polyad.schedule.schedule.Schedule.with_rewrite`).
"""

from __future__ import annotations

from dataclasses import replace

import islpy as isl

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of, union_of_maps
from polyad.program.gather import single_multi_aff, split_for_gather, split_instances
from polyad.schedule.legality import meeting_instances
from polyad.schedule.loops import Loop, group_of, inserted, instructions_of, is_innermost
from polyad.schedule.trace import Step
from polyad.schedule.tree import flat_schedule, padded, with_suffix


def gathered(schedule, instruction: str, array: str):
    """:meth:`polyad.schedule.schedule.Schedule.gather` (see there)."""

    # A primal's adjoint is named by polyad.program.derived.derivative_names
    # (x_b_b when the kernel has its own x_b): find it by what it holds.
    adjoint_of = {b.purpose[len("adjoint of "):]: b.name for b in schedule.program.buffers
                  if b.purpose.startswith("adjoint of ")}
    buffer = adjoint_of.get(array, array)
    maps = instructions_of(schedule.program, schedule.flat, instruction)
    if len(maps) != 1:
        raise ScheduleError(f"gather: {instruction} is split in parts "
                            f"({', '.join(m.get_tuple_name(isl.dim_type.in_) for m in maps)})"
                            "; gather one of them")
    current = maps[0]
    name = current.get_tuple_name(isl.dim_type.in_)
    base = schedule.program.flat if schedule.program.flat is not None \
        else flat_schedule(schedule.program.schedule)
    split = split_for_gather(replace(schedule.program, flat=union_of_maps(padded(maps_of(base)))),
                             name, buffer)
    timing = single_multi_aff(current)
    if timing is None:
        raise ScheduleError(f"gather: the schedule of {name} is piecewise")
    moved = {d for offset in split.offsets for d, value in enumerate(offset) if value}
    position = next((p for p in range(timing.dim(isl.dim_type.out))
                     if any(not timing.get_aff(p).get_coefficient_val(
                         isl.dim_type.in_, d).is_zero() for d in moved)), None)
    if position is None:
        raise ScheduleError(f"gather: no loop of {name} runs along the iterators its "
                            f"increments of {buffer} are shifted in")
    domain = schedule.program.instruction(name).domain
    placed = []
    for k, part in enumerate(split.parts):
        shift = isl.MultiAff.identity(isl.Space.map_from_set(domain.get_space()))
        for d, value in enumerate(split.offsets[k]):
            shift = shift.set_aff(d, shift.get_aff(d).add_constant_val(isl.Val(-value)))
        at = isl.Map.from_multi_aff(timing.pullback_multi_aff(shift))
        placed.append((part, inserted(at.intersect_domain(domain), position, 0), k))
    if split.rest:
        placed.append((split.rest, inserted(current, position, 1), len(split.parts)))
    others = [inserted(m, position, 0) for m in maps_of(schedule.flat)
              if m.get_tuple_name(isl.dim_type.in_) != name]
    new = [with_suffix(m.set_tuple_name(isl.dim_type.in_, part), k)
           for part, m, k in placed]
    new = [m.intersect_domain(split.program.instruction(
        m.get_tuple_name(isl.dim_type.in_)).domain) for m in new]
    program = split.program
    return schedule.with_rewrite(program, (("gather", name, buffer),), others + new,
                                 Step("gather", (("instruction", instruction),
                                                 ("array", buffer))))


def peeled(schedule, loop):
    """:meth:`polyad.schedule.schedule.Schedule.peel` (see there)."""

    handle = Loop.of(loop)
    members, position = group_of(schedule.program, schedule.flat, handle)
    if not is_innermost(members, position):
        raise ScheduleError(f"peel: {handle} is not an innermost loop")
    program = schedule.program
    peeled: list[tuple[str, isl.Set]] = []
    for m in members:
        name = m.get_tuple_name(isl.dim_type.in_)
        instruction = program.instruction(name)
        meeting = meeting_instances(instruction, m, position, program)
        if meeting is None or meeting.is_empty():
            continue
        if any(r.relation is None or program.buffer(r.buffer).sequence
               for r in instruction.references.values()):
            raise ScheduleError(f"peel: {name} reads a sequential tape, whose order "
                                "is fixed")
        if instruction.domain.is_subset(meeting):
            raise ScheduleError(f"peel: in {name} the references meet on every instance")
        peeled.append((name, meeting))
    if not peeled:
        raise ScheduleError(f"peel: no increment of an element {handle} does not move "
                            "meets another reference of its array")
    flat = schedule.program.flat if schedule.program.flat is not None \
        else flat_schedule(schedule.program.schedule)
    program = replace(program, flat=union_of_maps(padded(maps_of(flat))))
    rewrites = schedule.rewrites
    maps = list(maps_of(schedule.flat))
    for name, meeting in peeled:
        program = split_instances(program, name, meeting)
        rewrites += (("peel", name, meeting),)  # the isl set: its text need not parse back
        split = []
        for m in maps:
            if m.get_tuple_name(isl.dim_type.in_) != name:
                split.append(m)
                continue
            split.append(inserted(m.intersect_domain(meeting), position, 0)
                         .set_tuple_name(isl.dim_type.in_, name + "_peel"))
            split.append(inserted(m.subtract_domain(meeting), position, 1))
        maps = split
    ordered_names = {m.get_tuple_name(isl.dim_type.in_) for m in maps_of(program.flat)}
    unordered = [i.name for i in program.instructions if i.name not in ordered_names]
    if unordered:
        # The original order covers fewer instances than a split piece
        # has (make fuzz, seed 2: a KeyError on S1_b4_peel).
        raise ScheduleError(f"peel: {handle}: the original order has no place for "
                            f"{', '.join(unordered)}")
    names = {n for n, _ in peeled} | {n + "_peel" for n, _ in peeled}
    maps = [m if m.get_tuple_name(isl.dim_type.in_) in names
            else inserted(m, position, 1) for m in maps]
    return schedule.with_rewrite(program, rewrites[len(schedule.rewrites):], maps,
                                 Step("peel", (("loop", str(handle)),)))
