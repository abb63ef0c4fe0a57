"""Library calls that share their matrix product (:meth:`Schedule.share`).

gemm's adjoint computes ``alpha_b += <A, C_b * B^T>`` (a :class:`GemmDot`:
the product into a workspace, then a dot) right before ``A_b += alpha * C_b
* B^T`` (a :class:`Gemm` of the same product). Both calls of adjacent nests
with one product become one :class:`SharedProduct` at the first nest, and
the second nest runs nothing (:class:`Computed`): one matrix product less.
"""

from __future__ import annotations

from dataclasses import replace

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.program.blascalls import Computed, Gemm, GemmDot, SharedProduct, same_product
from polyad.schedule.loops import instruction_name
from polyad.schedule.marks import Library
from polyad.schedule.trace import Step


def shared(schedule, first: str, second: str):
    """:meth:`polyad.schedule.schedule.Schedule.share` (see there)."""
    calls = {handle.instruction: (handle, mark.call) for handle, mark in schedule.annotations
             if isinstance(mark, Library)}
    for name in (first, second):
        if name not in calls:
            raise ScheduleError(f"share: {name} runs as no library call (blas it first)")
    (dot_loop, dot), (gemm_loop, gemm) = calls[first], calls[second]
    if not isinstance(dot, GemmDot) or not isinstance(gemm, Gemm):
        raise ScheduleError(f"share: {first} must be a gemm+dot and {second} a gemm "
                            f"(they are: {dot}; {gemm})")
    if not same_product(dot, gemm):
        raise ScheduleError(f"share: {first} and {second} compute different products")
    if dot.target in {buffer for _, buffer in gemm.scalars}:
        raise ScheduleError(f"share: {second}'s scale reads {dot.target}, which {first} "
                            "increments")
    _check_adjacent(schedule, first, second)
    step = Step("share", (("first", first), ("second", second)))
    marked = schedule.with_mark(dot_loop, Library(SharedProduct(dot, gemm)), step)
    return replace(marked.with_mark(gemm_loop, Library(Computed(first, gemm.writes)), step),
                   trace=marked.trace)


def _check_adjacent(schedule, first: str, second: str) -> None:
    """Refuse unless every instance of ``first`` runs before every instance
    of ``second`` with no other instance between them (so the second's
    increment may run at the first's place)."""
    ranges = {instruction_name(m): m.range() for m in maps_of(schedule.flat)}
    before, after = ranges[first], ranges[second]
    if not before.lex_ge_set(after).is_empty():
        raise ScheduleError(f"share: {second} does not run wholly after {first}")
    others = [r for name, r in ranges.items() if name not in (first, second)]
    for other in others:
        between = before.lex_lt_set(other).range().intersect(
            other.lex_lt_set(after).domain())
        if not between.is_empty():
            raise ScheduleError(f"share: an instruction runs between {first} and {second}")

