"""What can be generated (a kernel's primal, an adjoint, a tangent), in
which schedule: the one place that maps a target and a schedule to the
program codegen prints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from polyad.ad.adjoint import Adjoint, Tangent
from polyad.bounds import bounded
from polyad.errors import UsageError
from polyad.program.gather import rewritten
from polyad.program.lowering import adjoint_program
from polyad.program.tangent import tangent_program
from polyad.model.kernel import Kernel
from polyad.program.ir import primal_program
from polyad.schedule.schedule import Schedule
from polyad.tape.registry import Layout, layout_named


def schedule(target: Kernel | Adjoint | Tangent, *, reassociate: bool = True) -> Schedule:
    """The schedule of a kernel's primal, an adjoint or a tangent, to explore
    and transform (``adjoint.schedule()`` is the same for an adjoint)."""
    if isinstance(target, Adjoint):
        return target.schedule(reassociate=reassociate)
    if isinstance(target, Tangent):
        return target.schedule()
    return Schedule.of(primal_program(target), reassociate=reassociate,
                       origin={"kernel": target.name, "mode": "primal"})


def load_schedule(target: Kernel | Adjoint | Tangent, spec: str | None, *,
                  blas: bool = True) -> Schedule | None:
    """A schedule named on the command line: ``none`` (the default order),
    ``auto`` (with BLAS calls unless ``blas=False``: ``--no-blas``), or a
    JSON trace file written by ``Schedule.to_json``."""
    if spec in (None, "", "none"):
        return None
    base = schedule(target)
    if spec == "auto":
        with bounded("--schedule auto", "use --schedule none, or a schedule file made "
                     "with fewer transformations"):
            return base.auto(blas=blas)
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
    layout = layout_named(target.layout) if isinstance(target, Adjoint) else None
    rescheduled = schedule is not None and bool(schedule.trace)
    if layout is not None and layout.bound_advice:
        # The layout's own analysis is what may pass the bounds: name it first.
        option, instead = (f"--layout {layout.name}", layout.bound_advice)
        if rescheduled:
            option += " with --schedule"
    elif rescheduled:
        option, instead = ("--schedule", "use --schedule none or a schedule with fewer "
                           "transformations")
    else:
        option, instead = (f"--layout {layout.name if layout else 'exact'}",
                           "use --layout exact")
    with bounded(option, instead):
        return _program_of(target, schedule, layout)


def _program_of(target, schedule: Schedule | None, layout: Layout | None):
    if isinstance(target, Adjoint):
        default = adjoint_program(target)
    elif isinstance(target, Tangent):
        default = tangent_program(target)
    else:
        default = primal_program(target)
    plain = schedule is None or not (schedule.trace or schedule.annotations)
    if plain and not (layout is not None and layout.always_transformed):
        return default
    if plain and not layout.needs_schedule:  # transformed in the exact reverse order
        return layout.transform(default, None, target)
    if schedule is None:
        schedule = target.schedule()
    if isinstance(target, Adjoint):
        # A sequence tape is read in the exact reverse order only: rescheduled,
        # the stack becomes an instance-indexed tape (which a schedule's
        # rewrites, split say, were made on), and the layout's transform
        # (the stream's refill in the new order, say) takes it from there.
        default = adjoint_program(target, rescheduled=True)
    default = rewritten(default, schedule.rewrites)
    if {i.name for i in schedule.program.instructions} != {i.name for i in default.instructions} \
            or schedule.program.name != default.name:
        raise UsageError(f"the schedule is for {schedule.program.name}, not {default.name} "
                         "(or for another wrt/of/strategy)")
    if not isinstance(target, Adjoint):
        return schedule.scheduled_program()
    placed = default
    if layout.transform is not None:
        return layout.transform(placed, schedule, target)
    return replace(placed, schedule=schedule.tree(), flat=schedule.flat)
