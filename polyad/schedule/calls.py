"""Loop nests for library calls: an instruction's own nest, and the parts
an instruction is split into, each in a nest of its own.

A library call (:class:`polyad.schedule.marks.Library`) does every instance
of one instruction at the place of its loop nest, in the library's order.
That is the same program, up to the order of the instruction's own
increments (reassociation), exactly when the nest holds that instruction
alone: everything else then runs wholly before or wholly after it. These
helpers find that nest and keep it so (:func:`check_library_nests`); the
primitives themselves are :meth:`polyad.schedule.schedule.Schedule.split`
and :meth:`~polyad.schedule.schedule.Schedule.blas`.
"""

from __future__ import annotations

from dataclasses import replace

import islpy as isl

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.program.gather import split_assignments
from polyad.program.ir import Program
from polyad.schedule.loops import (Loop, classify, depth, group_key, inserted,
                                   instruction_name, instructions_of, loop_members, names_of)
from polyad.program.library import library_call
from polyad.schedule.marks import Library
from polyad.schedule.trace import Step
from polyad.schedule.tree import fixed_value


def outermost_loop(m: isl.Map) -> int | None:
    """The first dimension of an instruction's flat map that is a loop."""
    return next((p for p in range(depth(m)) if fixed_value(m, p) is None), None)


def loop_handle(m: isl.Map, position: int) -> Loop:
    """The handle of the loop at ``position`` of instruction map ``m``, by
    the instruction's own name."""
    kind, iterator = classify(m, position)
    return Loop(instruction_name(m), iterator + ("" if kind == "loop" else "_" + kind))


def own_nest(program: Program, flat: isl.UnionMap, name: str) -> Loop:
    """The outermost loop of instruction ``name``'s loop nest, when that nest
    holds nothing else; else a :class:`ScheduleError` saying what it shares.
    Precondition: ``name`` is one instruction of ``flat`` (not a family)."""
    maps = [m for m in maps_of(flat) if instruction_name(m) == name]
    if len(maps) != 1:
        raise ScheduleError(f"{name} is not one instruction of the schedule")
    m = maps[0]
    position = outermost_loop(m)
    if position is None:
        raise ScheduleError(f"{name} runs in no loop")
    key = group_key(m, position)
    sharing = sorted(instruction_name(other) for other in maps_of(flat)
                     if instruction_name(other) != name and depth(other) > position
                     and group_key(other, position) == key)
    if sharing:
        raise ScheduleError(f"{name} shares its loop nest with {', '.join(sharing)} "
                            "(distribute first)")
    return loop_handle(m, position)


def shared_loops(flat: isl.UnionMap, name: str) -> list[Loop]:
    """The loops around instruction ``name`` that hold other instructions
    too, innermost first (what :meth:`~polyad.schedule.schedule.Schedule.distribute`
    must split before the instruction has a nest of its own)."""
    (m,) = [m for m in maps_of(flat) if instruction_name(m) == name]
    # (a dimension fixed to a parametric value, m - 1, is no loop either)
    loops = [p for p in range(depth(m)) if classify(m, p)[0] != "const"]
    return [loop_handle(m, p) for p in reversed(loops)
            if names_of(loop_members(flat, m, p)) != {name}]


def instruction_order(flat: isl.UnionMap, name: str) -> isl.Map | None:
    """Instruction ``name``'s flat schedule map (None when it is in pieces)."""
    maps = [m for m in maps_of(flat) if instruction_name(m) == name]
    return maps[0] if len(maps) == 1 else None


def library_instructions(annotations) -> set[str]:
    """The instructions that run as library calls under these annotations."""
    return {handle.instruction for handle, mark in annotations if isinstance(mark, Library)}


def check_library_nests(program: Program, flat: isl.UnionMap, annotations,
                        primitive: str) -> None:
    """Raise a :class:`ScheduleError` naming ``primitive`` unless each
    library call's loop is still the outermost of a nest holding only its
    instruction (a tile loop around it, say, would call it once per tile)."""
    for handle, mark in annotations:
        if not isinstance(mark, Library):
            continue
        try:
            still = own_nest(program, flat, handle.instruction) == handle
        except ScheduleError:
            still = False
        if not still:
            raise ScheduleError(f"{primitive}: {handle.instruction} runs as one library "
                                f"call ({mark.call}), whose loop nest must stay its own")


def split_placement(program: Program, flat: isl.UnionMap, base: isl.UnionMap,
                    instruction: str) -> tuple[Program, str, list[isl.Map]]:
    """The program with ``instruction`` split into one instruction per
    assignment (:func:`polyad.program.gather.split_assignments`, on the
    program whose original order is ``base``), the name split, and the flat
    maps that run the parts one after the other where the instruction's own
    loops begin, each over all of its instances (the other instructions keep
    their order)."""
    maps = instructions_of(program, flat, instruction)
    if len(maps) != 1:
        raise ScheduleError(f"split: {instruction} is in pieces "
                            f"({', '.join(sorted(names_of(maps)))}); split one of them")
    current = maps[0]
    name = instruction_name(current)
    position = next((p for p in range(depth(current)) if fixed_value(current, p) is None
                     and names_of(loop_members(flat, current, p)) == {name}), None)
    if position is None:
        raise ScheduleError(f"split: {name} has no loop of its own (distribute first)")
    split, parts = split_assignments(replace(program, flat=base), name)
    placed = [inserted(current.set_tuple_name(isl.dim_type.in_, part), position, k)
              for k, part in enumerate(parts)]
    others = [inserted(m, position, 0) for m in maps_of(flat) if instruction_name(m) != name]
    return split, name, others + placed


def blas_marked(schedule, instruction: str):
    """:meth:`polyad.schedule.schedule.Schedule.blas` (see there)."""
    name = instruction
    if name not in {i.name for i in schedule.program.instructions}:
        raise ScheduleError(f"blas: no instruction {name!r}")
    if schedule.program.instruction(name).handle != name:
        raise ScheduleError(f"blas: {name} is a piece of "
                            f"{schedule.program.instruction(name).handle}")
    try:
        call = library_call(schedule.program.instruction(name), schedule.program,
                            instruction_order(schedule.flat, name))
        handle = own_nest(schedule.program, schedule.flat, name)
    except ScheduleError as error:
        raise ScheduleError(f"blas: {error}") from None
    if not schedule.reassociate:
        raise ScheduleError(f"blas: the library sums {call.writes} in its own order, "
                            "and this schedule keeps increments in order "
                            "(reassociate=False)")
    inner = [h for h, mark in schedule.annotations if h.instruction == name]
    if inner:
        raise ScheduleError(f"blas: a loop of {name} is marked already ({inner[0]})")
    return schedule.with_mark(handle, Library(call),
                           Step("blas", (("instruction", name),)))
