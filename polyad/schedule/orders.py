"""Primitives that compute a new order of the flat schedule as a whole
(fuse, reorder), and the report of every loop; each a function of a
:class:`~polyad.schedule.schedule.Schedule` through its public methods.
"""

from __future__ import annotations

from dataclasses import replace

import islpy as isl

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.schedule.legality import parallel_verdict
from polyad.schedule.loops import (Loop, LoopReport, classify, group_key, group_of,
                                   instruction_name, loop_members, names_of, resolve,
                                   sweep_of)
from polyad.schedule.trace import Step, map_from_record, map_record
from polyad.schedule.tree import constant_piece, fixed_value, map_from_pieces, output_pieces


def fused(schedule, first, second):
    """:meth:`polyad.schedule.schedule.Schedule.fuse` (see there)."""
    a, b = Loop.of(first), Loop.of(second)
    group_a, dim_a = group_of(schedule.program, schedule.flat, a)
    group_b, dim_b = group_of(schedule.program, schedule.flat, b)
    if dim_a != dim_b or dim_a == 0:
        raise ScheduleError(f"fuse: {a} and {b} are not loops of one sequence")
    sequence = dim_a - 1
    value_a = fixed_value(group_a[0], sequence)
    value_b = fixed_value(group_b[0], sequence)
    prefix_a = [fixed_value(group_a[0], d) for d in range(sequence)]
    prefix_b = [fixed_value(group_b[0], d) for d in range(sequence)]
    if value_a is None or value_b is None or prefix_a != prefix_b or value_a >= value_b:
        raise ScheduleError(f"fuse: {a} must come before {b} in one sequence")
    names_b = {m.get_tuple_name(isl.dim_type.in_) for m in group_b}
    between = [m for m in maps_of(schedule.flat)
               if [fixed_value(m, d) for d in range(sequence)] == prefix_a
               and fixed_value(m, sequence) is not None
               and value_a < fixed_value(m, sequence) < value_b]
    if between:
        raise ScheduleError(f"fuse: {a} and {b} are not adjacent "
                            f"({between[0].get_tuple_name(isl.dim_type.in_)} runs "
                            "between them)")
    maps = []
    for m in maps_of(schedule.flat):
        dims = output_pieces(m)
        domain = m.domain()
        name = m.get_tuple_name(isl.dim_type.in_)
        inner = 1 if name in names_b else 0
        if name in names_b:
            dims[sequence] = constant_piece(domain, value_a)
        dims = dims[:dim_a + 1] + [constant_piece(domain, inner)] + dims[dim_a + 1:]
        maps.append(map_from_pieces(name, domain, dims))
    return schedule.with_order(maps, Step("fuse", (("first", str(a)), ("second", str(b)))))


def reordered(schedule, maps):
    """:meth:`polyad.schedule.schedule.Schedule.reorder` (see there)."""
    # A trace keeps records: in-memory maps take the same path, so that
    # a replay builds exactly what the recording did.
    records = [m if isinstance(m, dict) else map_record(m) for m in maps]
    new = [map_from_record(record) for record in records]
    names = names_of(new)
    known = names_of(maps_of(schedule.flat))
    if len(names) != len(new) or not names <= known:
        raise ScheduleError("reorder takes one map per instruction of the program "
                            f"({', '.join(sorted(known))})")
    for m in new:
        if not schedule.program.instruction(instruction_name(m)).domain.is_subset(m.domain()):
            raise ScheduleError(f"reorder: the map of {instruction_name(m)} does not "
                                "schedule all of its instances")

    def untouched(handle: Loop) -> bool:
        try:
            members, _ = group_of(schedule.program, schedule.flat, handle)
        except ScheduleError:
            return False
        return not names_of(members) & names
    kept_marks = tuple((h, mark) for h, mark in schedule.annotations if untouched(h))
    kept = [m for m in maps_of(schedule.flat) if instruction_name(m) not in names]
    # A map given without its instruction's constraints (as the docstring's
    # example is) schedules points outside the domain: isl's AST build fails.
    new = [m.intersect_domain(schedule.program.instruction(instruction_name(m)).domain)
           for m in new]
    step = Step("reorder", (("maps", records),))
    return replace(schedule, annotations=kept_marks).with_order(kept + new, step)


def _resolved_at(schedule, loop: Loop) -> tuple:
    """Where the loop a handle names is: (its dimension, what sits before it)."""
    m, position = resolve(schedule.program, schedule.flat, loop)
    return position, group_key(m, position)


def loop_reports(schedule) -> list[LoopReport]:
    """:meth:`polyad.schedule.schedule.Schedule.loops` (see there)."""
    reports, seen = [], set()
    for m in maps_of(schedule.flat):
        name = m.get_tuple_name(isl.dim_type.in_)
        family = schedule.program.instruction(name).handle
        for position in range(m.dim(isl.dim_type.out)):
            kind, iterator = classify(m, position)
            if kind == "const":
                continue
            loop = Loop(family, iterator + ("" if kind == "loop" else "_" + kind))
            key = (position, group_key(m, position))
            if key in seen:
                continue
            seen.add(key)
            if family != name and _resolved_at(schedule, loop) != key:
                # The family's pieces run in several such loops and its handle
                # names another: this one goes by the piece's own name.
                loop = Loop(name, loop.iterator)
            members = loop_members(schedule.flat, m, position)
            verdict = parallel_verdict(schedule.program, schedule.dependences,
                                       schedule.reassociate, members, position)
            reports.append(LoopReport(
                loop, sweep_of(schedule.origin.get("mode"), m), position,
                tuple(sorted(g.get_tuple_name(isl.dim_type.in_) for g in members)),
                # the marks the schedule tree puts on this loop, whichever
                # handle named it (a loop in pieces has several)
                tuple(dict.fromkeys(schedule.marks_for(members, position))),
                verdict.parallel, verdict.reason,
                order=tuple(fixed_value(m, d) or 0 for d in range(position + 1))))
    reports.sort(key=lambda r: r.order)
    return reports
