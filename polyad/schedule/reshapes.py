"""Primitives that change the dimensions of one loop's instructions in
place (tile, interchange, distribute, skew, color); each a function of a
:class:`~polyad.schedule.schedule.Schedule` through its public methods.
"""

from __future__ import annotations

import islpy as isl

from polyad.errors import ScheduleError
from polyad.schedule.legality import MAX_COLORS, color_classes, parallel_verdict
from polyad.schedule.loops import Loop, depth, group_of, nest
from polyad.schedule.trace import Step
from polyad.schedule.tree import constant_piece, fixed_value


def distributed(schedule, loop, first=None, last=None):
    """:meth:`polyad.schedule.schedule.Schedule.distribute` (see there)."""
    handle = Loop.of(loop)
    members, dim = group_of(schedule.program, schedule.flat, handle)
    # Constant dimensions all members share (another instruction's
    # split or tiling inserted them) do not order the body: skip them.
    inner, values = dim + 1, {None}
    while inner < depth(members[0]):
        values = {fixed_value(m, inner) for m in members}
        if None in values or len(values) > 1:
            break
        inner += 1
    if None in values or len(values) < 2:
        raise ScheduleError(f"distribute: the body of {handle} is not a sequence")

    moved = {name: value for name, value in ((first, min(values) - 1),
                                             (last, max(values) + 1)) if name is not None}
    names = {m.get_tuple_name(isl.dim_type.in_) for m in members}
    for name in moved:
        if not any(schedule.program.instruction(n).handle == name for n in names):
            raise ScheduleError(f"distribute: {name} is not in the body of {handle}")

    def change(dims, domain):
        handle_of = schedule.program.instruction(domain.get_tuple_name()).handle
        position = dims[inner] if handle_of not in moved else \
            constant_piece(domain, moved[handle_of])
        return dims[:dim] + [position, dims[dim]] + dims[dim + 1:inner] \
            + dims[inner + 1:]
    arguments = (("loop", str(handle)),) + tuple(
        (key, name) for key, name in (("first", first), ("last", last)) if name is not None)
    return schedule.with_dims(members, change, None, 0, Step("distribute", arguments))


def skewed(schedule, loop, outer, factor=1):
    """:meth:`polyad.schedule.schedule.Schedule.skew` (see there)."""
    inner_handle, outer_handle = Loop.of(loop), Loop.of(outer)
    members, dim = group_of(schedule.program, schedule.flat, inner_handle)
    _, outer_dim = group_of(schedule.program, schedule.flat, outer_handle)
    if outer_dim >= dim:
        raise ScheduleError(f"skew: {outer_handle} is not outside {inner_handle}")
    factor = int(factor)

    def change(dims, domain):
        dims = list(dims)
        dims[dim] = dims[dim].add(dims[outer_dim].scale_val(isl.Val(factor)))
        return dims
    return schedule.with_dims(members, change, None, 0, Step(
        "skew", (("loop", str(inner_handle)), ("outer", str(outer_handle)),
                 ("factor", factor))))


def colored(schedule, loop):
    """:meth:`polyad.schedule.schedule.Schedule.color` (see there)."""
    handle = Loop.of(loop)
    members, dim = group_of(schedule.program, schedule.flat, handle)
    verdict = parallel_verdict(schedule.program, schedule.dependences, schedule.reassociate,
                               members, dim)
    if verdict.parallel:
        raise ScheduleError(f"color: {handle} is already free of conflicts")
    if not verdict.atomics_would_do:
        raise ScheduleError(f"color: {handle}: {verdict.reason}")
    classes = color_classes(schedule.dependences, members, dim)
    if classes is None:
        raise ScheduleError(f"color: increments of {handle}'s iterations meet "
                            f"{MAX_COLORS} or more iterations apart")

    def change(dims, domain):
        residue = dims[dim].mod_val(isl.Val(classes))
        return dims[:dim] + [residue] + dims[dim:]
    return schedule.with_dims(members, change, dim, 1,
                              Step("color", (("loop", str(handle)),)))


def tiled(schedule, loops, sizes):
    """:meth:`polyad.schedule.schedule.Schedule.tile` (see there)."""
    handles = [Loop.of(x) for x in loops]
    sizes = [int(x) for x in sizes]
    if len(sizes) != len(handles) or any(x <= 0 for x in sizes):
        raise ScheduleError("tile takes one positive size per loop")
    members, first = nest(schedule.program, schedule.flat, handles)

    def change(dims, domain):
        tiles = [dims[first + k].scale_down_val(isl.Val(size)).floor()
                 for k, size in enumerate(sizes)]
        return dims[:first] + tiles + dims[first:]
    step = Step("tile", (("loops", [str(h) for h in handles]), ("sizes", sizes)))
    return schedule.with_dims(members, change, first, len(sizes), step)


def interchanged(schedule, loops, order):
    """:meth:`polyad.schedule.schedule.Schedule.interchange` (see there)."""
    handles = [Loop.of(x) for x in loops]
    wanted = [Loop.of(x) for x in order]
    if sorted(map(str, handles)) != sorted(map(str, wanted)):
        raise ScheduleError("interchange: the new order must list the same loops")
    members, first = nest(schedule.program, schedule.flat, handles)
    permutation = [handles.index(h) for h in wanted]

    def change(dims, domain):
        band = dims[first:first + len(handles)]
        return dims[:first] + [band[p] for p in permutation] + \
            dims[first + len(handles):]
    step = Step("interchange", (("loops", [str(h) for h in handles]),
                                ("order", [str(h) for h in wanted])))
    return schedule.with_dims(members, change, None, 0, step)
