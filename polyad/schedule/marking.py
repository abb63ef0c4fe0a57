"""The primitives that mark a loop (unroll, vectorize, parallel): each
checks the loop's verdict and the marks it has, and adds a typed mark
(:mod:`polyad.schedule.marks`) through the schedule's public ``with_mark``.
"""

from __future__ import annotations

from sympy.core.function import AppliedUndef

from polyad.errors import ScheduleError
from polyad.schedule.calls import library_instructions
from polyad.schedule.legality import parallel_verdict
from polyad.schedule.loops import Loop, group_of, is_innermost, names_of
from polyad.schedule.marks import VECTOR_MATH, Parallel, Simd, Unroll, excluded_by
from polyad.schedule.trace import Step


def unrolled(schedule, loop, factor: int):
    """:meth:`polyad.schedule.schedule.Schedule.unroll` (see there)."""

    handle = Loop.of(loop)
    check_unmarked(schedule, handle, "unroll", "unroll")
    if int(factor) < 1:
        raise ScheduleError("unroll factor must be at least 1")
    return schedule.with_mark(handle, Unroll(int(factor)),
                           Step("unroll", (("loop", str(handle)), ("factor", int(factor)))))


def vectorized(schedule, loop, vector_math: bool = False):
    """:meth:`polyad.schedule.schedule.Schedule.vectorize` (see there)."""

    handle = Loop.of(loop)
    members, dim = group_of(schedule.program, schedule.flat, handle)
    if not is_innermost(members, dim):
        raise ScheduleError(f"vectorize: {handle} is not an innermost loop")
    check_unmarked(schedule, handle, "simd", "vectorize")
    verdict = parallel_verdict(schedule.program, schedule.dependences, schedule.reassociate,
                           members, dim, invariant_ok=True)
    if not verdict.parallel:
        raise ScheduleError(f"vectorize: {handle}: {verdict.reason}")
    functions = tuple(sorted(called_functions(schedule.program, names_of(members))
                             & VECTOR_MATH)) if vector_math else ()
    return schedule.with_mark(handle, Simd(verdict.reductions, functions), Step(
        "vectorize", (("loop", str(handle)),) + ((("vector_math", True),)
                                                 if vector_math else ())))


def called_functions(program, names) -> set[str]:
    """The math functions the bodies of instructions ``names`` call."""
    return {call.func.__name__ for name in names for assignment in
            program.instruction(name).body
            for call in assignment.value.atoms(AppliedUndef)}


def parallelized(schedule, loop, atomics: bool = False):
    """:meth:`polyad.schedule.schedule.Schedule.parallel` (see there)."""

    handle = Loop.of(loop)
    members, dim = group_of(schedule.program, schedule.flat, handle)
    check_unmarked(schedule, handle, "parallel", "parallel")
    verdict = parallel_verdict(schedule.program, schedule.dependences, schedule.reassociate,
                           members, dim)
    if not verdict.parallel and not (atomics and verdict.atomics_would_do):
        raise ScheduleError(f"parallel: {handle}: {verdict.reason}")
    mark = Parallel(verdict.reductions, verdict.conflicts if atomics else ())
    return schedule.with_mark(handle, mark, Step(
        "parallel", (("loop", str(handle)),) + ((("atomics", True),) if atomics else ())))


def check_unmarked(schedule, handle: Loop, family: str, primitive: str) -> None:
    """Refuse a second loop-execution mark of another family on a loop (a
    loop runs in parallel, is vectorised or is unrolled, one at most), and
    any mark on a loop that runs as a library call."""
    members, dim = group_of(schedule.program, schedule.flat, handle)
    called = names_of(members) & library_instructions(schedule.annotations)
    if called:
        raise ScheduleError(f"{primitive}: {handle} runs as a library call "
                            f"({', '.join(sorted(called))})")
    other = excluded_by(family, schedule.marks_for(members, dim))
    if other is not None:
        raise ScheduleError(f"{primitive}: {handle} is already marked {other.family}: a "
                            "loop runs in parallel, is vectorised or is unrolled, one "
                            "at most")
