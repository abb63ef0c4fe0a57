"""Loops of a flat schedule: their handles, and which instructions share one.

A flat schedule maps each instance of an instruction to a point; a loop is a
dimension that is not constant, shared by the instructions whose earlier
dimensions agree (the same place in the same sequences). A handle names a
loop by an instruction (or the family a rewrite split it into) and a source
iterator: ``"S1_b.k"``; tile and color loops get ``_tile`` and ``_color``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import islpy as isl

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.program.ir import Program
from polyad.program.sweeps import SWEEP_NAMES
from polyad.schedule.marks import LoopMark
from polyad.schedule.tree import fixed_value


@dataclass(frozen=True)
class Loop:
    """A loop handle: an instruction (or family) and a source iterator."""

    instruction: str
    iterator: str

    @staticmethod
    def of(value: "Loop | str | Sequence[str]") -> "Loop":
        """``Loop("S1_b", "k")`` from ``"S1_b.k"``, ``("S1_b", "k")`` or a Loop."""
        if isinstance(value, Loop):
            return value
        if isinstance(value, str):
            instruction, dot, iterator = value.rpartition(".")
            if not dot or not instruction or not iterator:
                raise ScheduleError(f"a loop is named INSTRUCTION.ITERATOR, e.g. S1_b.k, "
                                    f"not {value!r}")
            return Loop(instruction, iterator)
        instruction, iterator = value
        return Loop(str(instruction), str(iterator))

    def __str__(self) -> str:
        return f"{self.instruction}.{self.iterator}"


@dataclass(frozen=True)
class LoopReport:
    """What :meth:`polyad.schedule.schedule.Schedule.loops` says of one loop."""

    loop: Loop
    sweep: str
    depth: int
    instructions: tuple[str, ...]
    annotations: tuple[LoopMark, ...]
    parallel: bool
    reason: str
    order: tuple = ()


def instruction_name(m: isl.Map) -> str:
    """The instruction a map of a flat schedule schedules."""
    return m.get_tuple_name(isl.dim_type.in_)


def names_of(maps) -> set[str]:
    """The instructions of some maps of a flat schedule."""
    return {instruction_name(m) for m in maps}


def depth(m: isl.Map) -> int:
    """The number of schedule dimensions of a flat map."""
    return m.dim(isl.dim_type.out)


def inserted(m: isl.Map, position: int, value: int) -> isl.Map:
    """A flat map with a constant dimension inserted at ``position``."""
    return m.insert_dims(isl.dim_type.out, position, 1).fix_val(
        isl.dim_type.out, position, isl.Val(value))


def classify(m: isl.Map, position: int) -> tuple[str, str | None]:
    """What one dimension of an instruction's flat schedule is:
    ``("const", None)``, ``("loop", iterator)``, ``("tile", iterator)`` or
    ``("color", iterator)``.

    >>> classify(isl.Map("{ S[i, j] -> [0, i, floor(j/32), j] }"), 2)
    ('tile', 'j')
    """
    if fixed_value(m, position) is not None:
        return "const", None
    names = [m.get_dim_name(isl.dim_type.in_, d) for d in range(m.dim(isl.dim_type.in_))]
    piece = isl.PwMultiAff.from_map(m).get_pw_aff(position)
    loop_dims: set[int] = set()
    tile_dims: set[int] = set()
    for _, aff in piece.get_pieces():
        for d in range(len(names)):
            if not aff.get_coefficient_val(isl.dim_type.in_, d).is_zero():
                loop_dims.add(d)
        for q in range(aff.dim(isl.dim_type.div)):
            if aff.get_coefficient_val(isl.dim_type.div, q).is_zero():
                continue
            inner = aff.get_div(q)
            for d in range(len(names)):
                if not inner.get_coefficient_val(isl.dim_type.in_, d).is_zero():
                    tile_dims.add(d)
    if loop_dims & tile_dims:
        return "color", names[max(loop_dims & tile_dims)]
    if loop_dims:
        return "loop", names[max(loop_dims)]
    if tile_dims:
        return "tile", names[max(tile_dims)]
    return "const", None


def instructions_of(program: Program, flat: isl.UnionMap, name: str) -> list[isl.Map]:
    """The flat maps of an instruction, or of every piece of a family."""
    maps = [m for m in maps_of(flat)
            if program.instruction(instruction_name(m)).handle == name
            or instruction_name(m) == name]
    if not maps:
        known = sorted({program.instruction(instruction_name(m)).handle for m in maps_of(flat)})
        raise ScheduleError(f"no instruction {name!r} (there are {', '.join(known)})")
    return maps


def resolve(program: Program, flat: isl.UnionMap, handle: Loop) -> tuple[isl.Map, int]:
    """One instruction map of a loop and the loop's dimension."""
    maps = instructions_of(program, flat, handle.instruction)
    kind_wanted, iterator = "loop", handle.iterator
    for kind in ("tile", "color"):
        if handle.iterator.endswith("_" + kind):
            kind_wanted, iterator = kind, handle.iterator[:-len(kind) - 1]
    for m in maps:
        for position in range(depth(m)):
            if classify(m, position) == (kind_wanted, iterator):
                return m, position
    available = sorted({f"{handle.instruction}.{name}" + ("" if kind == "loop" else "_" + kind)
                        for m in maps for position in range(depth(m))
                        for kind, name in [classify(m, position)] if kind != "const"})
    raise ScheduleError(f"no loop {handle} (loops of {handle.instruction}: "
                        f"{', '.join(available) or 'none'})")


def group_key(m: isl.Map, position: int) -> tuple:
    """Where a map's loop at ``position`` sits: its constant dimensions before it."""
    return tuple(fixed_value(m, d) for d in range(position))


def loop_members(flat: isl.UnionMap, m: isl.Map, position: int) -> list[isl.Map]:
    """The maps of every instruction in the loop of ``m`` at ``position``."""
    key = group_key(m, position)
    return [other for other in maps_of(flat)
            if other.dim(isl.dim_type.out) > position
            and group_key(other, position) == key
            and fixed_value(other, position) is None]


def group_of(program: Program, flat: isl.UnionMap, handle: Loop) -> tuple[list[isl.Map], int]:
    """The maps of the instructions in a loop, and the loop's dimension."""
    m, position = resolve(program, flat, handle)
    return loop_members(flat, m, position), position


def nest(program: Program, flat: isl.UnionMap, handles: list[Loop]
         ) -> tuple[list[isl.Map], int]:
    """The instructions of a perfect nest of the given loops (outermost
    first), and the dimension of its outermost loop."""
    if not handles:
        raise ScheduleError("no loops given")
    members, first = group_of(program, flat, handles[0])
    names = names_of(members)
    for offset, handle in enumerate(handles[1:], start=1):
        inner, dim = group_of(program, flat, handle)
        if dim != first + offset:
            raise ScheduleError(f"{handle} is not directly inside {handles[offset - 1]}: "
                                "loops must be perfectly nested (distribute first)")
        if names_of(inner) != names:
            raise ScheduleError(f"{handles[0]} and {handle} do not hold the same "
                                "statements: the nest is not perfect (distribute first)")
    return members, first


def is_innermost(members: list[isl.Map], position: int) -> bool:
    """Whether no loop of these instructions lies inside the one at ``position``."""
    return all(classify(m, d)[0] == "const" for m in members
               for d in range(position + 1, depth(m)))


def sweep_of(mode: str | None, m: isl.Map) -> str:
    """The sweep an instruction's flat map runs in: its outermost dimension
    in a reverse-mode program; ``"forward"`` in any other program."""
    if mode != "reverse":
        return "forward"
    return SWEEP_NAMES.get(fixed_value(m, 0), "?")
