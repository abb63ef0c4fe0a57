"""The gradient's extra memory under a budget: exact tape, or checkpoints.

The extra memory of a gradient is what its program allocates beyond the
caller's arrays for the reverse sweep: tapes, comparison outcomes,
snapshots and the copy of the final values (every local buffer holding
recorded values, :attr:`polyad.program.ir.Buffer.tape`), counted at given
sizes from the buffers' extents. Under a budget, :func:`plan_memory` keeps
the exact layout when its tape fits, else checkpoints the time loop
(polyad.tape.checkpoints) with the longest segments whose tape and
snapshots fit, else refuses, naming the smallest budget that works at
those sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from polyad.ad.modes import ReverseMode
from polyad.errors import UsageError
from polyad.memory import format_bytes
from polyad.model.kernel import BUFFER_BYTES, evaluate_pw_aff
from polyad.program.ir import Program
from polyad.program.lowering import adjoint_program
from polyad.tape.checkpoints import segment_tapes
from polyad.tape.snapshots import SnapshotState, snapshot_state


@dataclass(frozen=True)
class MemoryPlan:
    """The layout a budget chose, and why.

    ``layout``: ``exact`` or ``checkpoint``; ``every``: the steps per
    segment (checkpoint only); ``bytes``: the planned extra memory at
    ``sizes``; ``exact_bytes``: the exact layout's; ``steps``: the time
    loop's steps (0 without one); ``snapshots``: snapshots taken; ``reruns``:
    forward steps run again in the reverse sweep.
    """

    budget: int
    sizes: tuple[tuple[str, int], ...]
    layout: str
    every: int | None
    bytes: int
    exact_bytes: int
    steps: int = 0
    snapshots: int = 0
    reruns: int = 0
    snapshot_bytes: int = 0

    def explain(self) -> str:
        """One sentence: the choice, its bytes against the budget and the
        exact tape's, the snapshots and reruns."""
        at = " ".join(f"{k}={v}" for k, v in self.sizes)
        head = (f"memory budget {format_bytes(self.budget)} ({self.budget} bytes) at {at}: ")
        if self.layout == "exact":
            return head + (f"the exact tape fits ({self.exact_bytes} bytes): layout exact, "
                           "no reruns")
        return head + (f"the exact tape ({self.exact_bytes} bytes) does not fit; layout "
                       f"checkpoint, a snapshot every {self.every} steps of {self.steps} "
                       f"({self.snapshots} snapshots of {self.snapshot_bytes} bytes), "
                       f"{self.bytes} bytes with the tape of one segment and the final "
                       f"values, each of the {self.reruns} steps rerun once")

    def as_data(self) -> dict:
        """The plan as JSON-ready data."""
        return {"budget": self.budget, "layout": self.layout, "every": self.every,
                "bytes": self.bytes, "exact_bytes": self.exact_bytes, "steps": self.steps,
                "snapshots": self.snapshots, "reruns": self.reruns,
                "explanation": self.explain()}


def allocated_tape_bytes(program: Program, sizes: Mapping[str, int]) -> int:
    """Bytes of the program's buffers of recorded values (tapes, outcomes,
    snapshots, final values) at these sizes, as allocated."""
    return sum(buffer_bytes(b, sizes) for b in program.buffers if b.tape and b.kind == "local")


def buffer_bytes(buffer, sizes: Mapping[str, int]) -> int:
    """A buffer's bytes at these sizes."""
    return BUFFER_BYTES[buffer.dtype] * math.prod(
        max(0, evaluate_pw_aff(e, sizes)) for e in buffer.extents)


def plan_memory(adjoint: ReverseMode, budget: int, sizes: Mapping[str, int]) -> MemoryPlan:
    """The plan of ``adjoint`` within ``budget`` bytes of extra memory at
    ``sizes``: exact when its tape fits, else the checkpoint layout with the
    longest segments that fit; a UsageError naming the smallest budget that
    works when none does.

    >>> import polyad
    >>> k = polyad.parse("tests/kernels/heat2d.c")            # doctest: +SKIP
    >>> plan_memory(polyad.grad(k), 4096, {"tsteps": 8, "n": 10}).layout  # doctest: +SKIP
    'checkpoint'
    """
    sizes = dict(sizes)
    at = tuple(sorted(sizes.items()))
    exact = allocated_tape_bytes(adjoint_program(adjoint, layout="exact"), sizes)
    if exact <= budget:
        return MemoryPlan(budget, at, "exact", None, exact, exact)
    state = snapshot_state(adjoint.kernel)
    options = checkpoint_costs(adjoint, state, sizes) if state is not None else {}
    fitting = [every for every, cost in options.items() if cost <= budget]
    if not fitting:
        smallest = min([exact, *options.values()])
        how = "the exact tape" if smallest == exact else \
            f"checkpoints every {min(options, key=options.get)} steps"
        raise UsageError(f"no plan of {adjoint.kernel.name}'s gradient fits a memory budget "
                         f"of {budget} bytes at {' '.join(f'{k}={v}' for k, v in at)}: the "
                         f"smallest that works is {smallest} bytes ({format_bytes(smallest)}, "
                         f"{how})")
    every = max(fitting)
    steps = state.loop.step_count(sizes)
    return MemoryPlan(budget, at, "checkpoint", every, options[every], exact, steps,
                      segments(state, every, sizes), steps,
                      state.bytes(adjoint.kernel, sizes))


def segments(state: SnapshotState, every: int, sizes: Mapping[str, int]) -> int:
    """How many segments (and snapshots) of ``every`` steps the loop has."""
    low = evaluate_pw_aff(state.loop.steps.dim_min(0), sizes)
    high = evaluate_pw_aff(state.loop.steps.dim_max(0), sizes)
    return (high - low) // every + 1 if state.loop.step_count(sizes) else 0


def checkpoint_costs(adjoint: ReverseMode, state: SnapshotState,
                     sizes: Mapping[str, int]) -> dict[int, int]:
    """The checkpoint layout's extra bytes per segment length (1 to the
    steps), from the exact program's buffers: the segment's tapes hold
    min(every, their steps) steps, the others keep their size, plus one
    snapshot per segment and the final values."""
    placed = adjoint_program(adjoint, layout="exact")
    shortened = segment_tapes(placed, adjoint.kernel, state)
    fixed, per_step = 0, []
    for buffer in placed.buffers:
        if not (buffer.tape and buffer.kind == "local"):
            continue
        if buffer.name in shortened:
            rows = max(0, evaluate_pw_aff(buffer.extents[0], sizes))
            per_step.append((rows, buffer_bytes(buffer, sizes) // rows if rows else 0))
        else:
            fixed += buffer_bytes(buffer, sizes)
    fixed += state.final_bytes(adjoint.kernel, sizes)
    snapshot = state.bytes(adjoint.kernel, sizes)
    steps = max(1, state.loop.step_count(sizes))
    return {every: fixed + sum(min(every, rows) * row for rows, row in per_step)
            + segments(state, every, sizes) * snapshot for every in range(1, steps + 1)}
