"""The tape layouts, one frozen value each: where the tape lives, what the
command line offers and says about it, how lowering places the tape, and
what turns the placed program into the layout's once the reverse sweep has
its schedule. Adding a layout is one entry in :data:`LAYOUTS`.

In the import graph the registry sits below lowering, above the transforms:
it imports polyad.tape.layouts and polyad.tape.streams (which never import
lowering), and lowering, the adjoint, targets, the command line and the bench
read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from polyad.ad.modes import ReverseMode
from polyad.errors import UsageError
from polyad.program.ir import Program
from polyad.schedule.schedule import Schedule
from polyad.tape.binomial import revolved
from polyad.tape.checkpoints import checkpointed
from polyad.tape.layouts import staged_layers
from polyad.tape.plan import STRATEGIES
from polyad.tape.snapshots import snapshot_state
from polyad.tape.streams import stream_in_order

#: A layout's transform: from the program whose tape is placed for a
#: rescheduled reverse sweep (instance-indexed) and rewritten for
#: ``schedule``, to the program in the layout; the adjoint carries the
#: layout's options (scratchpad, planned sizes).
Transform = Callable[[Program, Schedule | None, ReverseMode], Program]


@dataclass(frozen=True)
class Layout:
    """One tape layout.

    ``description``: one line for ``--help`` and the docs.
    ``strategy``: the tape strategy the layout implies when none is given.
    ``sequence``: the ``Buffer.sequence`` of each statement's tape (``lifo``,
    ``stream``: addressed by counters, not by instance), or None. A sequence
    is read in the exact reverse order only, so a rescheduled reverse sweep
    gets instance-indexed boxes instead (and the transform, if any).
    ``structs``: one struct per instance, all its recorded values together,
    instead of a box per recorded read.
    ``scratchpad``: the reverse sweep is staged in layers through a
    scratchpad whose size the user may give (polyad.tape.layouts.plan_layers).
    ``specialised``: the program is specialised to the sizes it was planned
    at (``with_layout(sizes=...)``) and refuses others.
    ``transform``: what turns the placed program into the layout's once the
    reverse sweep has its schedule; None when placing the tape is all.
    ``always_transformed``: the transform runs in the exact reverse order,
    too (the layout has no placement of its own in lowering); otherwise only
    for a rescheduled reverse sweep.
    ``needs_schedule``: the transform reads the schedule even in the exact
    reverse order (False: it is given None there, and no schedule is built).
    ``bound_advice``: what to do instead when the layout's own analysis
    passes the isl bounds (polyad.bounds); None when the layout adds no
    analysis of its own worth naming before the schedule.
    """

    name: str
    description: str
    strategy: str = "exact"
    sequence: str | None = None
    structs: bool = False
    scratchpad: bool = False
    specialised: bool = False
    transform: Transform | None = None
    always_transformed: bool = False
    needs_schedule: bool = True
    bound_advice: str | None = None

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"layout {self.name}: unknown strategy {self.strategy!r}")
        if self.always_transformed and self.transform is None:
            raise ValueError(f"layout {self.name}: always transformed, but by nothing")


def _refill_stream(placed: Program, schedule: Schedule, adjoint: ReverseMode) -> Program:
    """Rescheduled, the stream is recorded by instance and refilled in the
    reverse sweep's new order by a copy pass (polyad.tape.streams)."""
    return stream_in_order(placed, schedule)


def _stage_layers(placed: Program, schedule: Schedule, adjoint: ReverseMode) -> Program:
    """The reverse sweep in layers through the adjoint's scratchpad, at its
    planned sizes (polyad.tape.layouts); refuses a peeled schedule."""
    if any(kind == "peel" for kind, _, _ in schedule.rewrites):
        raise UsageError("the layers layout does not stage a peeled schedule (the boxes of "
                         "its pieces take isl too long): use another layout, or a schedule "
                         "made for the layers adjoint (its auto does not peel)")
    return staged_layers(placed, schedule, adjoint.scratchpad, dict(adjoint.layer_sizes))


def _checkpoint(placed: Program, schedule: Schedule | None,
                adjoint: ReverseMode) -> Program:
    """The time loop rerun from snapshots segment by segment in the reverse
    sweep (polyad.tape.checkpoints), in the exact reverse order only; a
    kernel with no loop whose steps overwrite what a later step reads keeps
    the exact layout's program (there is nothing to snapshot)."""
    if schedule is not None and schedule.trace:
        raise UsageError("the checkpoint layout runs the exact reverse order only: use "
                         "--schedule none, or another layout")
    state = snapshot_state(adjoint.kernel)
    if state is None:  # no step overwrites what a later one reads: the exact tape is all
        return placed
    if adjoint.checkpoint_snapshots:
        return revolved(placed, adjoint.kernel, state, adjoint.checkpoint_snapshots)
    return checkpointed(placed, adjoint.kernel, state, checkpoint_segment(adjoint, state))


def checkpoint_segment(adjoint: ReverseMode, state) -> int:
    """Steps per segment of the checkpoint layout: the adjoint's, else the
    square root of the steps at its planned sizes (rounded up)."""
    if adjoint.checkpoint_every:
        return adjoint.checkpoint_every
    sizes = dict(adjoint.layer_sizes) or adjoint.kernel.sizes()
    steps = state.loop.step_count(sizes)
    return max(1, math.isqrt(max(steps - 1, 0)) + 1)


#: Every layout, in the order ``--layout`` lists them and ``polyad analyze``
#: runs them (see docs/how-it-works.md#tape-layouts).
LAYOUTS: tuple[Layout, ...] = (
    Layout("stack", "per statement, a LIFO in forward order", strategy="stack",
           sequence="lifo"),
    Layout("exact", "a box per recorded read, indexed by instance"),
    Layout("regions", "per statement, an array of structs", structs=True),
    Layout("stream", "per statement, read front to back", sequence="stream",
           transform=_refill_stream),
    Layout("layers", "the reverse sweep staged through a scratchpad", scratchpad=True,
           specialised=True, transform=_stage_layers, always_transformed=True,
           bound_advice="use --layout stream or exact, or smaller sizes (-D) to plan "
                        "the layers at"),
    Layout("checkpoint", "snapshots of the time loop, segments rerun in the reverse sweep",
           transform=_checkpoint, always_transformed=True, needs_schedule=False),
)
#: The layouts' names, in the order of LAYOUTS.
LAYOUT_NAMES: tuple[str, ...] = tuple(layout.name for layout in LAYOUTS)
#: The layout of an adjoint of the exact strategy that names none.
DEFAULT_LAYOUT = "exact"
#: The layouts that take a scratchpad size.
SCRATCHPAD_LAYOUTS: tuple[str, ...] = tuple(layout.name for layout in LAYOUTS
                                            if layout.scratchpad)
_BY_NAME = {layout.name: layout for layout in LAYOUTS}


def layout_named(name: str) -> Layout:
    """The layout called ``name``; a UsageError naming the known layouts for
    any other name.

    >>> layout_named("stack").strategy, layout_named("stream").sequence
    ('stack', 'stream')
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UsageError(f"unknown tape layout {name!r} "
                         f"(choose {', '.join(LAYOUT_NAMES)})") from None


def implied_strategy(name: str | None) -> str:
    """The tape strategy of layout ``name`` (None: the default layout) when
    the user names no strategy: ``stack`` for the stack layout, else exact.

    >>> implied_strategy("stack"), implied_strategy(None)
    ('stack', 'exact')
    """
    return layout_named(name or DEFAULT_LAYOUT).strategy
