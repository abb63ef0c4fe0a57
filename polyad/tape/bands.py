"""Which instructions of the reverse sweep run inside one loop: the members
of a layer of the layers layout (:mod:`polyad.tape.layouts`), decided on isl
sets of the values their instances' schedule dimensions take, and the check
that no other instruction runs inside a layer.

Why sets and not the constants a map shows: an instruction may have a
constant where others loop (a reverse loop's last iteration split off,
inside a tile loop) and still run between their iterations.
"""

from __future__ import annotations

from typing import Sequence

import islpy as isl

from polyad.errors import ScheduleError
from polyad.schedule.tree import fixed_value


def refuse_unstaged_inside(maps: list[isl.Map], layers: Sequence) -> None:
    """Raise ScheduleError if an instruction outside a layer shares the
    dimensions before the layer's loop with one of its instances: it would
    run between the layer's copies in and out of the scratchpad, on the
    arrays themselves, and the copies out would overwrite what it wrote
    (the layer's dimensions order it only against the layer's own).

    Precondition: ``maps`` are the padded flat maps, at fixed sizes, that
    ``layers`` (:class:`polyad.tape.layouts.Layer`: ``instructions`` run in
    layers along their loop at ``position``) were planned on. Example:
    gramschmidt's last reverse iteration of line 16 (S2_b1, split off) left
    out of the layer of its tile is refused; the plan never leaves it out."""
    for number, layer in enumerate(layers):
        members = [m for m in maps if m.get_tuple_name(isl.dim_type.in_) in layer.instructions]
        reach = None
        for m in members:
            prefixes = schedule_prefixes(m, layer.position)
            reach = prefixes if reach is None else reach.union(prefixes)
        for m in maps:
            name = m.get_tuple_name(isl.dim_type.in_)
            if (name not in layer.instructions and reach is not None
                    and not schedule_prefixes(m, layer.position).intersect(reach).is_empty()):
                raise ScheduleError(
                    f"--layout layers cannot stage this schedule: {name} runs inside layer "
                    f"{number} ({', '.join(layer.instructions)}, loop dimension "
                    f"{layer.position}) without being staged; use --layout stream or exact")


def loop_nests(every: list[isl.Map], maps: list[isl.Map], start: int):
    """(band members, loop dimension) of the outermost loops at or after
    ``start`` among ``maps`` (a part of the schedule ``every``, padded to
    one depth); every instruction in at most one of them.

    Loops are taken outermost first: an instruction with a constant at a
    dimension where others loop runs between their iterations, so it belongs
    to their layer even if its own first loop is deeper (taken in the order
    of ``maps``, such an instruction would get a layer of its own inside the
    outer one, whose boxes would then index the inner scratch buffers).
    Precondition: ``maps`` are among ``every``, all of one depth (see
    :func:`band_members` for an example)."""
    names = {g.get_tuple_name(isl.dim_type.in_) for g in maps}
    covered: set[str] = set()
    found = []
    depth = max((m.dim(isl.dim_type.out) for m in maps), default=0)
    for position in range(start, depth):
        for m in maps:
            if (m.get_tuple_name(isl.dim_type.in_) in covered
                    or m.dim(isl.dim_type.out) <= position or fixed_value(m, position) is not None):
                continue
            group = band_members(
                [g for g in every if g.get_tuple_name(isl.dim_type.in_) in names - covered],
                m, position)
            covered |= {g.get_tuple_name(isl.dim_type.in_) for g in group}
            found.append((group, position))
    return found


def band_members(candidates: list[isl.Map], m: isl.Map, position: int) -> list[isl.Map]:
    """The instructions among ``candidates`` that run inside the loop of
    ``m`` at ``position``: those with an instance whose dimensions before
    ``position`` equal those of an instance of a member (``m``, and in turn
    every member found), whether they loop at ``position`` or have a
    constant there (they run between the loop's iterations).

    Why the instances' dimensions and not their constants: an instruction
    may have a constant where the band loops (the last iteration of a
    reverse loop split off, inside a tile loop); its layer must still be the
    band's, or it runs between the band's copies in and out of the
    scratchpad on the arrays themselves, and the copies out overwrite what
    it wrote. Precondition: ``m`` is among ``candidates``, all of one depth.

    >>> a = isl.Map("{ A[k] -> [1, o, -k] : 0 <= k <= 3 and -1 - k <= 2o <= -k }")
    >>> b = isl.Map("{ B[k = 3] -> [1, -2, -3] }")  # split off, in A's last tile
    >>> c = isl.Map("{ C[k] -> [0, 0, k] : 0 <= k <= 3 }")  # another sweep
    >>> [g.get_tuple_name(isl.dim_type.in_) for g in band_members([a, b, c], a, 2)]
    ['A', 'B']
    """
    members = {m.get_tuple_name(isl.dim_type.in_)}
    reach = schedule_prefixes(m, position)
    grown = True
    while grown:
        grown = False
        for other in candidates:
            name = other.get_tuple_name(isl.dim_type.in_)
            if (name not in members and other.dim(isl.dim_type.out) > position
                    and not schedule_prefixes(other, position).intersect(reach).is_empty()):
                members.add(name)
                reach = reach.union(schedule_prefixes(other, position)).coalesce()
                grown = True
    return [g for g in candidates if g.get_tuple_name(isl.dim_type.in_) in members]


def schedule_prefixes(m: isl.Map, position: int) -> isl.Set:
    """The values of the schedule dimensions before ``position`` that
    ``m``'s instances take (an unnamed set). Precondition: ``position`` is
    at most ``m``'s number of output dimensions.

    >>> schedule_prefixes(isl.Map("{ A[k] -> [1, o, -k] : 0 <= k <= 3 and -1 - k <= 2o <= -k }"), 2)
    Set("{ [1, o] : -2 <= o <= 0 }")
    """
    values = m.range()
    values = values.project_out(isl.dim_type.set, position, values.dim(isl.dim_type.set)
                                - position)
    return values.reset_tuple_id()
