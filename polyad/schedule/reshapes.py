"""Primitives that change the dimensions of one loop's instructions in
place (tile, interchange, distribute, separate, skew, color); each a
function of a :class:`~polyad.schedule.schedule.Schedule` through its
public methods, which :class:`LoopReshapes` gives the schedule.
"""

from __future__ import annotations

import islpy as isl

from polyad.errors import ScheduleError
from typing import Sequence, TypeVar

from polyad.schedule.legality import MAX_COLORS, color_classes, parallel_verdict
from polyad.schedule.loops import Loop, depth, group_of, instruction_name, nest
from polyad.schedule.trace import Step
from polyad.schedule.tree import constant_piece, fixed_value


#: The schedule a primitive is called on, and returns a changed copy of.
Reshaped = TypeVar("Reshaped", bound="LoopReshapes")


class LoopReshapes:
    """The primitives of :class:`~polyad.schedule.schedule.Schedule` that
    change one loop's dimensions (a base of that class)."""

    def tile(self: Reshaped, loops: Sequence, sizes: Sequence[int]) -> Reshaped:
        """Tile perfectly nested loops (outermost first) by ``sizes``.

        Precondition: the loops are consecutive in one nest and tiling
        keeps every dependence (the nest is permutable).

        Before::

            for (i ...) for (j ...) S(i, j);

        After ``tile(["S.i", "S.j"], [32, 32])``::

            for (it ...) for (jt ...) for (i = 32*it ...) for (j = 32*jt ...) S(i, j);
        """
        return tiled(self, loops, sizes)

    def interchange(self: Reshaped, loops: Sequence, order: Sequence) -> Reshaped:
        """Reorder perfectly nested loops: ``order`` lists the same loops,
        outermost first.

        Precondition: the loops are consecutive in one perfect nest (the
        same instructions in each), and the new order keeps every
        dependence (checked: a dependence carried by ``k`` with a negative
        distance in ``j`` forbids moving ``j`` outside ``k``).

        Before::  for (k ...) for (j ...) S(k, j);
        After ``interchange(["S.k", "S.j"], ["S.j", "S.k"])``::
                  for (j ...) for (k ...) S(k, j);
        """
        return interchanged(self, loops, order)

    def distribute(self: Reshaped, loop: "Loop | str", first: str | None = None,
                   last: str | None = None) -> Reshaped:
        """Split a loop whose body is a sequence into one loop per part, in
        the body's order, except that instruction ``first``'s part runs
        before the others and ``last``'s after them.

        Precondition: the loop's body is a sequence of at least two parts,
        and no part depends on a later iteration of a part placed after it
        (checked: ``S(i)`` reading ``T(i - 1)`` forbids it).

        Before::  for (i ...) { S(i); T(i); }
        After ``distribute("S.i")``::  for (i ...) S(i);  for (i ...) T(i);
        After ``distribute("S.i", last="S")``::  for (i ...) T(i);  for (i ...) S(i);
        """
        return distributed(self, loop, first, last)

    def separate(self: Reshaped, loop: "Loop | str") -> Reshaped:
        """Distribute a loop by its dependences (Allen and Kennedy): one loop
        per strongly connected component of the dependences among its body's
        instructions within one iteration of the loops outside it, in an
        order that keeps them, the body's order among independent ones. A
        recurrence stays in one loop and what only reads it moves after it,
        where :meth:`distribute` keeps the body's order and refuses.

        Precondition: the body holds at least two components (checked).

        Before::  for (t ...) { s[t] = b; s[t] += W * h[t]; s[t] += U * x[t];
                                h[t + 1] = tanh(s[t]); }
        After ``separate("S3.t")``::  for (t ...) s[t] = b;  for (t ...) s[t] += U * x[t];
                  for (t ...) { s[t] += W * h[t]; h[t + 1] = tanh(s[t]); }
        """
        return separated(self, loop)

    def skew(self: Reshaped, loop: "Loop | str", outer: "Loop | str", factor: int = 1) -> Reshaped:
        """Add ``factor`` times an outer loop's iterator to a loop's.

        Precondition: ``outer`` is a loop outside ``loop``. Pairs of
        instances that ``outer`` separates keep their order, the others
        keep their distance, so a skew keeps every dependence (still
        checked); it makes the band of a stencil's time loop permutable,
        so that it can be tiled.

        Before::  for (t ...) for (i ...) S(t, i);
        After ``skew("S.i", "S.t", 1)``::  for (t ...) for (i' = i + t ...) S(t, i' - t);
        """
        return skewed(self, loop, outer, factor)

    def color(self: Reshaped, loop: "Loop | str") -> Reshaped:
        """Run a loop's iterations in classes ``x mod C``, one class after
        the other, where C is one more than the largest distance at which
        the increments of two iterations meet; within a class no two
        iterations' increments meet, so the loop over a class may run in
        parallel without atomics (the reverse sweep of a stencil scatters
        into neighbours: C = 3 for a three-point stencil).

        Precondition: the loop carries no dependence other than increments,
        and those meet at a bounded distance.

        Before::  for (i ...) { A_b[i - 1] += g; A_b[i + 1] += g; }
        After ``color("S_b.i")``::
                  for (r = 0; r < 3; r++) for (i ... with i % 3 == r ...) { ... }
        """
        return colored(self, loop)



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


def separated(schedule, loop):
    """:meth:`polyad.schedule.schedule.Schedule.separate` (see there)."""
    handle = Loop.of(loop)
    members, dim = group_of(schedule.program, schedule.flat, handle)
    names = [instruction_name(m) for m in members]
    flat = {instruction_name(m): m for m in members}
    required = list(schedule.dependences.ordered)
    if not schedule.reassociate:
        required += [d for _, d in schedule.dependences.increments]
    edges = set()
    for dependence in required:
        ends = (dependence.get_tuple_name(isl.dim_type.in_),
                dependence.get_tuple_name(isl.dim_type.out))
        if ends[0] == ends[1] or not set(ends) <= flat.keys() or ends in edges:
            continue
        # Instances in one iteration of the loops outside (their flat
        # points agree before the loop's dimension).
        points = dependence.apply_domain(flat[ends[0]]).apply_range(flat[ends[1]])
        for d in range(dim):
            points = points.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
        if not points.is_empty():
            edges.add(ends)
    components = _ordered_components(names, edges)
    if len(components) < 2:
        raise ScheduleError(f"separate: the body of {handle} is one strongly connected "
                            "component of its dependences (nothing to separate)")
    place = {name: k for k, component in enumerate(components) for name in component}

    def change(dims, domain):
        return dims[:dim] + [constant_piece(domain, place[domain.get_tuple_name()])] + dims[dim:]
    return schedule.with_dims(members, change, dim, 1, Step("separate", (("loop", str(handle)),)))


def _ordered_components(names: list[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of the graph, in an order where
    every edge goes forward, each component at its first name's place in
    ``names`` where the edges leave a choice. (A loop body is a few
    instructions: reachability by closure is enough.)"""
    reach = {name: {name} for name in names}
    changed = True
    while changed:
        changed = False
        for source, sink in edges:
            new = reach[sink] - reach[source]
            if new:
                reach[source] |= new
                changed = True
            for name in names:
                if source in reach[name] and not reach[sink] <= reach[name]:
                    reach[name] |= reach[sink]
                    changed = True
    components: list[list[str]] = []
    for name in names:
        if not any(name in c for c in components):
            components.append([n for n in names if n in reach[name] and name in reach[n]])
    ordered, left = [], list(components)
    while left:
        # The first component no other left one reaches.
        ready = next(c for c in left if not any(
            c[0] in reach[o[0]] for o in left if o is not c))
        ordered.append(ready)
        left.remove(ready)
    return ordered


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
