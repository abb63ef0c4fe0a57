"""The gradient's extra memory under a budget: exact tape, or checkpoints.

The extra memory of a gradient is what its program allocates beyond the
caller's arrays for the reverse sweep: tapes, comparison outcomes,
snapshots and the copy of the final values (every local buffer holding
recorded values, :attr:`polyad.program.ir.Buffer.tape`) and binomial
checkpointing's action table, counted at given sizes from the buffers'
extents. Under a budget, :func:`plan_memory` keeps
the exact layout when its tape fits, else checkpoints the time loop
(polyad.tape.checkpoints) with the longest segments whose tape and
snapshots fit, else binomial checkpointing (polyad.tape.binomial) with the
most snapshot slots that fit (the tape of one step, each slot one
snapshot, the action table), else refuses, naming the smallest budget that
works at those sizes (the least of one slot, equidistant segments and the
exact tape), which :func:`smallest_budget` gives as a number.
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
from polyad.tape.revolve import action_count, minimal_advances, repetitions
from polyad.tape.snapshots import SnapshotState, snapshot_state


@dataclass(frozen=True)
class MemoryPlan:
    """The layout a budget chose, and why.

    ``layout``: ``exact`` or ``checkpoint``; ``every``: the steps per
    segment (checkpoint only); ``bytes``: the planned extra memory at
    ``sizes``; ``exact_bytes``: the exact layout's; ``steps``: the time
    loop's steps (0 without one); ``snapshots``: snapshots taken; ``reruns``:
    forward steps run again in the reverse sweep. ``slots``: binomial
    checkpointing's snapshot slots (None: equidistant segments or exact).
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
    slots: int | None = None

    def explain(self) -> str:
        """One sentence: the choice, its bytes against the budget and the
        exact tape's, the snapshots and reruns."""
        at = " ".join(f"{k}={v}" for k, v in self.sizes)
        head = (f"memory budget {format_bytes(self.budget)} ({self.budget} bytes) at {at}: ")
        if self.layout == "exact":
            return head + (f"the exact tape fits ({self.exact_bytes} bytes): layout exact, "
                           "no reruns")
        if self.slots is not None:
            return head + (
                f"neither the exact tape ({self.exact_bytes} bytes) nor equidistant "
                f"snapshots fit; layout checkpoint, binomial checkpointing with {self.slots} "
                f"snapshot slot{'s' if self.slots != 1 else ''} of {self.snapshot_bytes} bytes "
                f"over {self.steps} steps, {self.bytes} bytes with the tape of one step, "
                f"the final values and the action table, {rerun_text(self.steps, self.slots)}")
        return head + (f"the exact tape ({self.exact_bytes} bytes) does not fit; layout "
                       f"checkpoint, a snapshot every {self.every} steps of {self.steps} "
                       f"({self.snapshots} snapshots of {self.snapshot_bytes} bytes), "
                       f"{self.bytes} bytes with the tape of one segment and the final "
                       f"values, each of the {self.reruns} steps rerun once")

    def as_data(self) -> dict:
        """The plan as JSON-ready data."""
        return {"budget": self.budget, "layout": self.layout, "every": self.every,
                "slots": self.slots,
                "bytes": self.bytes, "exact_bytes": self.exact_bytes, "steps": self.steps,
                "snapshots": self.snapshots, "reruns": self.reruns,
                "explanation": self.explain()}


def rerun_text(steps: int, slots: int) -> str:
    """What binomial checkpointing reruns, in words: the steps run again in
    the reverse sweep (minimal_advances of them, every step but the last
    recording) and how often, at most, one step runs without recording
    (forward sweep included)."""
    most = repetitions(steps, slots) if steps > 1 else 0
    return (f"{minimal_advances(steps, slots)} steps rerun in the reverse sweep "
            f"({max(steps - 1, 0)} of them recording), none run without recording more than "
            f"{most} time{'s' if most != 1 else ''}")


#: Bytes of one action in binomial checkpointing's run-time table (4 ints).
ACTION_BYTES = 16


def allocated_tape_bytes(program: Program, sizes: Mapping[str, int]) -> int:
    """Bytes of the program's buffers of recorded values (tapes, outcomes,
    snapshots, final values) at these sizes, as allocated, and of its
    action table (binomial checkpointing)."""
    table = 0
    if program.driver is not None:
        steps = evaluate_pw_aff(program.driver.last, sizes) - evaluate_pw_aff(
            program.driver.first, sizes) + 1
        table = ACTION_BYTES * action_count(max(0, steps), program.driver.slots)
    return table + sum(buffer_bytes(b, sizes) for b in program.buffers
                       if b.tape and b.kind == "local")


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
    exact = allocated_tape_bytes(adjoint_program(adjoint.in_steps(False), layout="exact"),
                                 sizes)
    if exact <= budget:
        return MemoryPlan(budget, at, "exact", None, exact, exact)
    state = snapshot_state(adjoint.kernel)
    options = checkpoint_costs(adjoint, state, sizes) if state is not None else {}
    binomial = binomial_costs(adjoint, state, sizes) if state is not None else {}
    fitting = [every for every, cost in options.items() if cost <= budget]
    # More slots cost more snapshots but a shorter table: from the most
    # slots whose buffers fit, down to the first whose table fits too.
    slots = [count for count, cost in binomial.items() if cost <= budget]
    count = max(slots, default=0)
    while count and binomial_cost(binomial, state, sizes, count) > budget:
        count -= 1
    if not fitting and not count:
        smallest, how = _smallest(exact, options, binomial, state, sizes)
        raise UsageError(f"no plan of {adjoint.kernel.name}'s gradient fits a memory budget "
                         f"of {budget} bytes at {' '.join(f'{k}={v}' for k, v in at)}: the "
                         f"smallest that works is {smallest} bytes ({format_bytes(smallest)}, "
                         f"{how})")
    steps = state.loop.step_count(sizes)
    snapshot = state.bytes(adjoint.kernel, sizes)
    if not fitting:
        return MemoryPlan(budget, at, "checkpoint", None,
                          binomial_cost(binomial, state, sizes, count), exact, steps,
                          min(count, steps), minimal_advances(steps, count), snapshot,
                          slots=count)
    every = max(fitting)
    return MemoryPlan(budget, at, "checkpoint", every, options[every], exact, steps,
                      segments(state, every, sizes), steps, snapshot)


def smallest_budget(adjoint: ReverseMode, sizes: Mapping[str, int]) -> int:
    """The smallest memory budget (bytes) that :func:`plan_memory` accepts
    for ``adjoint`` at ``sizes``, the one its refusal names: the least of
    the exact tape, equidistant checkpoints and binomial checkpointing with
    one snapshot slot.

    >>> import polyad
    >>> k = polyad.parse("tests/kernels/heat2d.c")            # doctest: +SKIP
    >>> smallest_budget(polyad.grad(k), {"tsteps": 7, "n": 10})  # doctest: +SKIP
    4832
    """
    sizes = dict(sizes)
    exact = allocated_tape_bytes(adjoint_program(adjoint.in_steps(False), layout="exact"),
                                 sizes)
    state = snapshot_state(adjoint.kernel)
    options = checkpoint_costs(adjoint, state, sizes) if state is not None else {}
    binomial = binomial_costs(adjoint, state, sizes) if state is not None else {}
    return _smallest(exact, options, binomial, state, sizes)[0]


def _smallest(exact: int, options: dict[int, int], binomial: dict[int, int],
              state: SnapshotState | None, sizes: Mapping[str, int]) -> tuple[int, str]:
    """The least bytes of the plans, and which plan in words."""
    one = binomial_cost(binomial, state, sizes, 1) if binomial else None
    smallest = min([exact, *options.values(), *([one] if one is not None else [])])
    how = "the exact tape" if smallest == exact else \
        "binomial checkpointing with one snapshot slot" if smallest == one \
        else f"checkpoints every {min(options, key=options.get)} steps"
    return smallest, how


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
    fixed, per_step, snapshot = _cost_parts(adjoint, state, sizes)
    steps = max(1, state.loop.step_count(sizes))
    return {every: fixed + sum(min(every, rows) * row for rows, row in per_step)
            + segments(state, every, sizes) * snapshot for every in range(1, steps + 1)}


def binomial_costs(adjoint: ReverseMode, state: SnapshotState,
                   sizes: Mapping[str, int]) -> dict[int, int]:
    """Binomial checkpointing's extra bytes per number of snapshot slots (1
    to the steps) without the action table: the tape of one step, the slots
    (as many as there are steps, at most), the other tapes and the final
    values (:func:`binomial_cost` adds the table)."""
    fixed, per_step, snapshot = _cost_parts(adjoint, state, sizes)
    steps = max(1, state.loop.step_count(sizes))
    one_step = sum(min(1, rows) * row for rows, row in per_step)
    return {count: fixed + one_step + min(count, steps) * snapshot
            for count in range(1, steps + 1)}


def binomial_cost(costs: dict[int, int], state: SnapshotState, sizes: Mapping[str, int],
                  count: int) -> int:
    """Binomial checkpointing's extra bytes with ``count`` slots: the
    buffers (``costs``, from :func:`binomial_costs`) and the action table."""
    return costs[count] + ACTION_BYTES * action_count(state.loop.step_count(sizes), count)


def _cost_parts(adjoint: ReverseMode, state: SnapshotState, sizes: Mapping[str, int]):
    """The bytes every checkpointed plan keeps (the tapes not shortened, the
    final values), (steps, bytes per step) of each segment tape, and the
    bytes of one snapshot."""
    # The checkpoint layout's tape: records shared within a step only.
    stepped = adjoint.in_steps()
    placed = adjoint_program(stepped, layout="exact")
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
    return fixed, per_step, state.bytes(adjoint.kernel, sizes)
