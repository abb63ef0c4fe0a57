"""Random paths through polyad for the random-kernel tests: a tape
strategy and layout, a schedule (none, ``auto``, or random primitives built
through the public Schedule API) and a thread count.

A random primitive that is illegal raises :class:`polyad.ScheduleError`
and changes nothing (the documented contract); the builder then goes on
with the next one, so every schedule it returns was accepted as legal.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass

from hypothesis import strategies as st

from polyad import ScheduleError
from polyad.program.expansion import expandable_scalars
from polyad.program.gather import gathered_buffers
from polyad.schedule.schedule import Schedule

#: POLYAD_FUZZ_LAYOUTS and POLYAD_FUZZ_SCHEDULES (comma separated) narrow
#: the paths, to chase one bug.
LAYOUTS = tuple(os.environ.get("POLYAD_FUZZ_LAYOUTS",
                               "exact,stack,regions,stream,layers,checkpoint").split(","))
#: Layouts that run the exact reverse order only (refusing other schedules).
UNSCHEDULED = ("checkpoint",)
SCHEDULES = tuple(os.environ.get("POLYAD_FUZZ_SCHEDULES", "none,auto,random").split(","))
PRIMITIVES = ("tile", "interchange", "skew", "unroll", "vectorize", "parallel", "fuse",
              "distribute", "peel", "color", "split", "gather", "expand", "blas",
              "vector_math")
#: Primitives that apply to innermost loops only: drawn among those.
INNERMOST = ("vectorize", "vector_math", "peel")


@dataclass(frozen=True)
class Path:
    """One way through polyad: what ``polyad check`` is asked to do."""

    layout: str
    schedule: str
    steps: tuple[tuple[str, int, int], ...]  # (primitive, loop pick, number)
    threads: int
    #: checkpoint's binomial snapshot slots (None: equidistant segments).
    snapshots: int | None = None

    @property
    def strategy(self) -> str:
        return "stack" if self.layout == "stack" else "exact"

    def build(self, base: Schedule) -> Schedule:
        """The schedule of this path on ``base`` (the adjoint's own)."""
        if self.schedule == "auto":
            return base.auto()
        schedule = base
        for primitive, pick, number in self.steps:
            if primitive == "peel" and self.layout == "layers":
                continue  # a UsageError by design (docs/limitations.md)
            try:
                schedule = _step(schedule, primitive, pick, number)
            except ScheduleError:
                continue
        return schedule


@st.composite
def paths(draw) -> Path:
    layout = draw(st.sampled_from(LAYOUTS))
    schedule = "none" if layout in UNSCHEDULED else draw(st.sampled_from(SCHEDULES))
    steps = ()
    if schedule == "random":
        steps = tuple(draw(st.lists(st.tuples(st.sampled_from(PRIMITIVES),
                                              st.integers(0, 1000), st.integers(1, 4)),
                                    min_size=1, max_size=5)))
    snapshots = draw(st.sampled_from([None, 1, 2, 3])) if layout == "checkpoint" else None
    return Path(layout, schedule, steps, draw(st.sampled_from([1, 2])), snapshots)


def _step(schedule: Schedule, primitive: str, pick: int, number: int) -> Schedule:
    program = schedule.program
    if primitive in ("split", "blas", "gather"):
        instruction = program.instructions[pick % len(program.instructions)]
        if primitive == "gather":
            shifted = gathered_buffers(instruction, program)
            if not shifted:
                return schedule
            return schedule.gather(instruction.name, shifted[number % len(shifted)])
        return getattr(schedule, primitive)(instruction.name)
    if primitive == "expand":
        scalars = sorted(expandable_scalars(program))
        if not scalars:
            return schedule
        return schedule.expand(scalars[pick % len(scalars)], 1 + number % 2)
    loops = schedule.loops()
    if not loops:
        return schedule
    if primitive in INNERMOST:
        loops = [r for r in loops if not any(
            o.depth == r.depth + 1 and set(o.instructions) & set(r.instructions) for o in loops)]
    report = loops[pick % len(loops)]
    loop = report.loop
    if primitive == "vector_math":
        return schedule.vectorize(loop, vector_math=True)
    if primitive == "peel":
        return schedule.peel(loop)
    if primitive == "color":
        return schedule.color(loop)
    if primitive == "distribute":
        names = list(report.instructions)
        chosen = names[number % len(names)]
        return schedule.distribute(loop, **({} if number < 3 else
                                           {"first" if number == 3 else "last": chosen}))
    if primitive == "fuse":
        siblings = [r for r in loops if r.depth == report.depth and r.loop != loop]
        if not siblings:
            return schedule
        return schedule.fuse(loop, siblings[number % len(siblings)].loop)
    if primitive == "tile":
        return schedule.tile([loop], [number + 1])
    if primitive == "unroll":
        return schedule.unroll(loop, number)
    if primitive == "vectorize":
        return schedule.vectorize(loop)
    if primitive == "parallel":
        return schedule.parallel(loop, atomics=number % 2 == 0)
    inner = [r for r in loops if r.depth == report.depth + 1
             and set(r.instructions) == set(report.instructions)]
    if not inner:
        return schedule
    other = inner[number % len(inner)].loop
    if primitive == "interchange":
        return schedule.interchange([loop, other], [other, loop])
    return schedule.skew(other, loop, 1 + number % 2)


def set_threads(count: int) -> None:
    """OpenMP's thread count for the loops of libraries loaded in this
    process (OMP_NUM_THREADS is read once, when libgomp starts)."""
    name = ctypes.util.find_library("gomp")
    if name is None:
        raise RuntimeError("libgomp not found: the C compiler's OpenMP runtime is needed")
    ctypes.CDLL(name).omp_set_num_threads(int(count))
