"""The search space of ``polyad explore``, derived from a gradient's schedule.

The reverse sweep of a schedule falls into *bands*: perfect nests of loops
that hold the same instructions (``S1_b.k, S1_b.j`` in gemm's adjoint), each
loop named by its handle. Per band a configuration chooses

- the loop order, a permutation given by its Lehmer code (digit ``d`` picks
  the ``d``-th remaining loop, so ``0, 0, ...`` is the order as it is and a
  sampler sees orders near each other as near);
- a tile size per loop, untiled or a power of two from 8 to 256;
- the loop that runs in parallel (its tile loop once tiled), or none, among
  the loops the start's schedule says may run in parallel;
- whether the innermost loop is vectorised, and if not its unroll factor;

and for the whole sweep the tape layout (with the scratchpad of ``layers``)
and where the bands come from: the exact reverse order (``reverse``) or the
order ``auto`` reschedules to (``auto``: its reorders, gathers, peels and
colors, without its marks). :func:`auto_configuration` is the point of this
space that reproduces ``auto``'s schedule, so a search started there can
only improve on it.

Nothing here knows optuna: :func:`choose` walks the space with a ``suggest``
callback (a sampler's, or a fixed dictionary's), the way a define-by-run
sampler sees it, and :func:`scheduled` applies a configuration with the
schedule's public primitives, each checked by the schedule itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from polyad.errors import ScheduleError
from polyad.schedule.loops import Loop, LoopReport, group_of, names_of
from polyad.schedule.marks import Parallel, Simd, Unroll
from polyad.schedule.schedule import Schedule
from polyad.tape.registry import LAYOUT_NAMES

#: Where the bands come from: the exact reverse order, or auto's order.
STARTS = ("auto", "reverse")
#: Tile sizes: the parameter's 0 is untiled, e > 0 is 2**(e + MIN_TILE_LOG2 - 1).
MIN_TILE_LOG2, MAX_TILE_LOG2 = 3, 8
#: Unroll factors are 2**e for e in [0, MAX_UNROLL_LOG2].
MAX_UNROLL_LOG2 = 3
#: Scratchpads of the layers layout: 2**e KiB for e in this range.
SCRATCHPAD_KIB_LOG2 = (3, 10)
#: The primitives that only mark loops: auto's other steps build its order.
MARK_PRIMITIVES = ("parallel", "vectorize", "unroll")
NO_LOOP = "none"


@dataclass(frozen=True)
class Parameter:
    """One dimension of the space: ``int`` in ``[low, high]``, or
    ``categorical`` among ``choices`` (booleans are categorical)."""

    name: str
    kind: str
    low: int = 0
    high: int = 0
    choices: tuple = ()


#: What walks the space: given a parameter, the value it takes.
Suggest = Callable[[Parameter], object]


@dataclass(frozen=True)
class Band:
    """A perfect nest of the reverse sweep, outermost loop first.

    ``parallel``: the loops the schedule says may run in parallel (the
    others would be refused, or need atomics). ``ordered``: the loops a
    configuration may permute, the plain loops inside the band's last tile
    or color loop (tile loops keep their order: moving one inside its point
    loops undoes the tiling). ``tileable``: the plain loops without a tile
    loop yet. ``innermost``: no loop runs inside the last one, so it may be
    unrolled; ``vectorizable``: and vectorised, as far as the schedule can
    tell before the order changes (a single loop that carries a dependence
    is not). ``order``: the :func:`schedule_id` of the schedule it is in."""

    loops: tuple[Loop, ...]
    parallel: tuple[Loop, ...]
    ordered: tuple[Loop, ...]
    tileable: tuple[Loop, ...]
    innermost: bool
    vectorizable: bool
    order: str

    @property
    def key(self) -> str:
        """The band's name in parameter names: its loops, ``+``-joined."""
        return "+".join(str(loop) for loop in self.loops)


@dataclass(frozen=True)
class BandChoice:
    """The choices for one band; ``tiles`` holds ``(loop, size)`` for the
    tiled loops only."""

    band: Band
    order: tuple[Loop, ...]
    tiles: tuple[tuple[Loop, int], ...] = ()
    parallel: Loop | None = None
    vectorize: bool = False
    unroll: int = 1


@dataclass(frozen=True)
class Configuration:
    """A point of the space: the layout, the start and one choice per band."""

    layout: str
    start: str
    bands: tuple[BandChoice, ...]
    scratchpad: int | None = None

    def describe(self) -> str:
        """One line for reports: what differs from the start's own order.

        >>> Configuration("exact", "auto", ()).describe()
        'layout exact, auto order'
        """
        words = [f"layout {self.layout}" + (f" ({self.scratchpad // 1024} KiB)"
                                            if self.scratchpad else ""),
                 f"{self.start} order"]
        for choice in self.bands:
            parts = []
            if choice.order != choice.band.loops:
                parts.append("order " + ",".join(loop.iterator for loop in choice.order))
            if choice.tiles:
                parts.append("tile " + ",".join(f"{loop.iterator}={size}"
                                                for loop, size in choice.tiles))
            if choice.parallel is not None:
                parts.append(f"parallel {choice.parallel.iterator}")
            if choice.vectorize:
                parts.append("simd")
            if choice.unroll > 1:
                parts.append(f"unroll {choice.unroll}")
            if parts:
                words.append(f"{choice.band.key}: {' '.join(parts)}")
        return ", ".join(words)


def bands_of(schedule: Schedule) -> tuple[Band, ...]:
    """The bands of a schedule's reverse sweep, outermost first.

    A loop in pieces (one handle, several reports) counts once, by its first
    piece, as the primitives name it.

    >>> import polyad
    >>> s = polyad.grad(polyad.parse("examples/gemm.c")).schedule()
    >>> [band.key for band in bands_of(s)]
    ['S0_b.i', 'S1_b.k+S1_b.j', 'S0_b.j']
    """
    reports: list[LoopReport] = []
    for report in schedule.loops():
        if report.sweep == "reverse" and report.loop not in {r.loop for r in reports}:
            reports.append(report)
    handles = {str(report.loop) for report in reports}
    order = schedule_id(schedule)
    bands, taken = [], set()
    for report in reports:
        if report.loop in taken:
            continue
        chain = [report]
        while True:
            inner = [r for r in reports if r.depth == chain[-1].depth + 1
                     and set(r.instructions) == set(report.instructions)
                     and r.order[:len(chain[-1].order)] == chain[-1].order
                     and r.loop not in taken]
            if len(inner) != 1:
                break
            chain.append(inner[0])
        taken |= {r.loop for r in chain}
        last = chain[-1]
        innermost = not any(r.depth > last.depth and set(r.instructions) & set(last.instructions)
                            for r in reports)
        loops = tuple(r.loop for r in chain)
        plain = [not loop.iterator.endswith(("_tile", "_color")) for loop in loops]
        inside = len(loops) - (plain[::-1] + [False]).index(False)
        tileable = tuple(loop for loop, is_plain in zip(loops, plain)
                         if is_plain and f"{loop}_tile" not in handles)
        parallel = tuple(r.loop for r in chain if r.parallel)
        vectorizable = innermost and (len(loops[inside:]) > 1 or _vectorizes(schedule, last.loop))
        bands.append(Band(loops, parallel, loops[inside:], tileable, innermost, vectorizable,
                          order))
    return tuple(bands)


def _vectorizes(schedule: Schedule, loop: Loop) -> bool:
    try:
        schedule.vectorize(loop)
    except ScheduleError:
        return False
    return True


def schedule_id(schedule: Schedule) -> str:
    """A short name of a schedule's order (its flat map and rewrites): the
    parameters of bands of one order share names, those of two orders that
    differ do not, whatever start and layout gave them.

    >>> import polyad
    >>> s = polyad.grad(polyad.parse("examples/gemm.c")).schedule()
    >>> schedule_id(s) == schedule_id(s.unroll("S1_b.j", 2))  # marks are no order
    True
    >>> schedule_id(s) == schedule_id(s.tile(["S1_b.k"], [8]))
    False
    """
    text = f"{schedule.flat.to_str()}|{schedule.rewrites}|{schedule.origin.get('fingerprint')}"
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def band_parameters(start: str, band: Band) -> dict[str, Parameter]:
    """The parameters of one band, by role (``lehmer0``..., ``tile:LOOP``,
    ``parallel``, ``vectorize``, ``unroll``); their names carry the start,
    the order's :func:`schedule_id` and the band."""
    prefix = f"{start}#{band.order}:{band.key}:"
    parameters = {f"lehmer{d}": Parameter(f"{prefix}lehmer{d}", "int", 0,
                                          len(band.ordered) - 1 - d)
                  for d in range(len(band.ordered) - 1)}
    for loop in band.tileable:
        parameters[f"tile:{loop}"] = Parameter(f"{prefix}{loop}.tile", "int", 0,
                                               MAX_TILE_LOG2 - MIN_TILE_LOG2 + 1)
    if band.parallel:
        parameters["parallel"] = Parameter(f"{prefix}parallel", "categorical",
                                           choices=(NO_LOOP, *map(str, band.parallel)))
    if band.vectorizable:
        parameters["vectorize"] = Parameter(f"{prefix}vectorize", "categorical",
                                            choices=(False, True))
    if band.innermost:
        parameters["unroll"] = Parameter(f"{prefix}unroll_log2", "int", 0, MAX_UNROLL_LOG2)
    return parameters


START = Parameter("start", "categorical", choices=STARTS)
SCRATCHPAD = Parameter("scratchpad_kib_log2", "int", *SCRATCHPAD_KIB_LOG2)


def layout_parameter(layouts: tuple[str, ...]) -> Parameter:
    """The layout parameter restricted to ``layouts`` (in registry order)."""
    return Parameter("layout", "categorical",
                     choices=tuple(name for name in LAYOUT_NAMES if name in layouts))


def choose(suggest: Suggest, bases: Callable[[str, str], Schedule],
           layouts: tuple[str, ...] = LAYOUT_NAMES,
           bands: Callable[[Schedule], tuple[Band, ...]] = bands_of) -> Configuration:
    """Walk the space: the layout, the start, then each band of the base
    schedule ``bases(start, layout)`` the two give (``bands``: its bands,
    :func:`bands_of` or a cache of it).

    Precondition: ``bases`` returns the schedule a start names for a
    layout (auto's order is worked out per layout: layers never peels)."""
    layout = str(suggest(layout_parameter(layouts)))
    scratchpad = 1024 * 2 ** int(suggest(SCRATCHPAD)) if layout == "layers" else None
    start = str(suggest(START))
    base = bases(start, layout)
    choices = []
    for band in bands(base):
        parameters = band_parameters(start, band)
        remaining = list(band.ordered)
        order = list(band.loops[:len(band.loops) - len(remaining)])
        for d in range(len(band.ordered) - 1):
            order.append(remaining.pop(int(suggest(parameters[f"lehmer{d}"]))))
        order += remaining
        tiles = []
        for loop in order:
            if loop in band.tileable:
                exponent = int(suggest(parameters[f"tile:{loop}"]))
                if exponent:
                    tiles.append((loop, 2 ** (exponent + MIN_TILE_LOG2 - 1)))
        parallel = str(suggest(parameters["parallel"])) if band.parallel else NO_LOOP
        # One pragma per loop: an untiled parallel innermost loop takes no other.
        marked = band.innermost and not (parallel == str(order[-1]) and
                                         order[-1] not in dict(tiles))
        vectorize = bool(suggest(parameters["vectorize"])) if marked and band.vectorizable \
            else False
        unroll = 2 ** int(suggest(parameters["unroll"])) if marked and not vectorize else 1
        choices.append(BandChoice(band, tuple(order), tuple(tiles),
                                  None if parallel == NO_LOOP else Loop.of(parallel),
                                  vectorize, unroll))
    return Configuration(layout, start, tuple(choices), scratchpad)


def auto_order(auto: Schedule, base: Schedule) -> Schedule:
    """``base`` with the steps of ``auto``'s trace that build its order
    (reorders, gathers, peels, colors), not those that only mark loops of
    the reverse sweep, whose bands the space searches (the forward sweep's
    vectorised loops are auto's, as they are).

    Precondition: ``auto`` is ``base.auto()``."""
    forward = {r.loop for r in auto.loops() if r.sweep == "forward"}
    result = base
    for step in auto.trace:
        loop = dict(step.arguments).get("loop")
        marks_forward = isinstance(loop, str) and Loop.of(loop) in forward
        if step.primitive not in MARK_PRIMITIVES or marks_forward:
            result = result.apply(step.to_dict())
    return result


def auto_configuration(auto: Schedule, order: Schedule, layout: str = "exact"
                       ) -> dict[str, object]:
    """The values of the parameters :func:`choose` asks for (those and no
    others) that give ``auto``'s own schedule: auto's order, each band as
    it is, and auto's marks (its parallel loops, its vectorised loops).

    Precondition: ``auto`` is the auto schedule of an adjoint in ``layout``
    and ``order`` is ``auto_order(auto, ...)``."""
    marks = {_loop_key(auto, handle): mark for handle, mark in auto.annotations}
    values: dict[str, object] = {"layout": layout, START.name: "auto",
                                 SCRATCHPAD.name: SCRATCHPAD.low}
    for band in bands_of(order):
        parameters = band_parameters("auto", band)
        mark_of = {loop: marks.get(_loop_key(auto, loop)) for loop in band.loops}
        parallel = [loop for loop in band.loops if isinstance(mark_of[loop], Parallel)]
        innermost = mark_of[band.loops[-1]]
        for role, parameter in parameters.items():
            if role == "parallel":
                values[parameter.name] = str(parallel[0]) if parallel else NO_LOOP
            elif role == "vectorize":
                values[parameter.name] = isinstance(innermost, Simd)
            elif role == "unroll" and isinstance(innermost, Unroll):
                values[parameter.name] = innermost.factor.bit_length() - 1
            else:
                values[parameter.name] = 0
    asked: dict[str, object] = {}

    def suggest(parameter: Parameter) -> object:
        asked[parameter.name] = values[parameter.name]
        return values[parameter.name]
    choose(suggest, lambda start, _: order, (layout,))
    return asked


def _loop_key(schedule: Schedule, handle: Loop) -> tuple:
    """What a handle names: the instructions of its loop and the loop's
    dimension (a loop of several instructions has several handles)."""
    members, dim = group_of(schedule.program, schedule.flat, handle)
    return frozenset(names_of(members)), dim


def scheduled(base: Schedule, configuration: Configuration) -> Schedule:
    """``base`` transformed as ``configuration`` says: per band the
    interchange, then tiles of each run of tiled loops that are next to
    each other in the new order; then the marks, once every loop is in its
    place. A :class:`ScheduleError` names the step the schedule refused.

    Precondition: ``configuration`` was chosen on ``base``'s bands."""
    schedule = base
    for choice in configuration.bands:
        if choice.order != choice.band.loops:
            moved = len(choice.band.ordered)
            schedule = schedule.interchange(list(choice.band.ordered),
                                            list(choice.order[-moved:]))
        sizes = dict(choice.tiles)
        run: list[Loop] = []
        for loop in [*choice.order, None]:
            if loop is not None and loop in sizes:
                run.append(loop)
                continue
            if run:
                schedule = schedule.tile(run, [sizes[x] for x in run])
            run = []
    for choice in configuration.bands:
        tiled = {loop for loop, _ in choice.tiles}
        if choice.parallel is not None:
            target = choice.parallel
            if target in tiled:
                target = Loop(target.instruction, target.iterator + "_tile")
            schedule = schedule.parallel(target)
        if choice.vectorize:
            # The bands are the reverse sweep's: vector math as auto does
            # there (the primal outputs do not come from it).
            schedule = schedule.vectorize(choice.order[-1], vector_math=True)
        if choice.unroll > 1:
            schedule = schedule.unroll(choice.order[-1], choice.unroll)
    return schedule
