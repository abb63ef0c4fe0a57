"""What can be generated (a kernel's primal, an adjoint, a tangent), in
which schedule: the one place that maps a target and a schedule to the
program codegen prints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from polyad.tape import layouts, streams
from polyad.ad.adjoint import Adjoint, Tangent
from polyad.bounds import bounded
from polyad.errors import UsageError
from polyad.program.gather import rewritten
from polyad.program.lowering import adjoint_program, tangent_program
from polyad.model.kernel import Kernel
from polyad.program.ir import primal_program
from polyad.schedule.schedule import Schedule


def schedule(target: Kernel | Adjoint | Tangent, *, reassociate: bool = True) -> Schedule:
    """The schedule of a kernel's primal, an adjoint or a tangent, to explore
    and transform (``adjoint.schedule()`` is the same for an adjoint)."""
    if isinstance(target, Adjoint):
        return target.schedule(reassociate=reassociate)
    if isinstance(target, Tangent):
        return target.schedule()
    return Schedule.of(primal_program(target), reassociate=reassociate,
                       origin={"kernel": target.name, "mode": "primal"})


def load_schedule(target: Kernel | Adjoint | Tangent, spec: str | None) -> Schedule | None:
    """A schedule named on the command line: ``none`` (the default order),
    ``auto``, or a JSON trace file written by ``Schedule.to_json``."""
    if spec in (None, "", "none"):
        return None
    base = schedule(target)
    if spec == "auto":
        with bounded("--schedule auto", "use --schedule none, or a schedule file made "
                     "with fewer transformations"):
            return base.auto()
    try:
        text = Path(spec).read_text()
    except OSError as error:
        raise UsageError(f"cannot read schedule {spec}: {error.strerror}") from None
    return Schedule.replay(base, text)


def program_of(target: Kernel | Adjoint | Tangent, schedule: Schedule | None = None):
    """The program of a kernel (its primal), an adjoint or a tangent, in the
    given schedule (default: the original order, reversed for the reverse
    sweep) and, for an adjoint, its tape layout; within the isl bounds
    (polyad.bounds), past which the error names the layout or schedule."""
    layout = target.layout if isinstance(target, Adjoint) else None
    if layout == "layers":
        option, instead = ("--layout layers", "use --layout stream or exact, or smaller "
                           "sizes (-D) to plan the layers at")
    elif schedule is not None and schedule.trace:
        option, instead = ("--schedule", "use --schedule none or a schedule with fewer "
                           "transformations")
    else:
        option, instead = (f"--layout {layout or 'exact'}", "use --layout exact")
    with bounded(option + (" with --schedule" if layout == "layers" and schedule is not None
                           and schedule.trace else ""), instead):
        return _program_of(target, schedule)


def _program_of(target, schedule):
    if isinstance(target, Adjoint):
        default = adjoint_program(target)
    elif isinstance(target, Tangent):
        default = tangent_program(target)
    else:
        default = primal_program(target)
    plain = schedule is None or not (schedule.trace or schedule.annotations)
    layers = isinstance(target, Adjoint) and target.layout == "layers"
    if plain and not layers:
        return default
    if schedule is None:
        schedule = target.schedule()
    default = rewritten(default, schedule.rewrites)
    if {i.name for i in schedule.program.instructions} != {i.name for i in default.instructions} \
            or schedule.program.name != default.name:
        raise UsageError(f"the schedule is for {schedule.program.name}, not {default.name} "
                         "(or for another wrt/of/strategy)")
    if not isinstance(target, Adjoint):
        return schedule.scheduled_program()
    # A sequential tape is read in the exact reverse order only: rescheduled,
    # the stack becomes an instance-indexed tape and the stream is refilled
    # in the new order (polyad.tape.layouts).
    placed = rewritten(adjoint_program(target, layout="regions" if target.layout == "regions"
                                       else "exact"), schedule.rewrites)
    if target.layout == "stream":
        return streams.stream_in_order(placed, schedule)
    if layers and any(kind == "peel" for kind, _, _ in schedule.rewrites):
        raise UsageError("the layers layout does not stage a peeled schedule (the boxes of "
                         "its pieces take isl too long): use another layout, or a schedule "
                         "made for the layers adjoint (its auto does not peel)")
    if layers:
        return layouts.staged_layers(placed, schedule, target.scratchpad,
                                     dict(target.layer_sizes))
    return replace(placed, schedule=schedule.tree(), flat=schedule.flat)
