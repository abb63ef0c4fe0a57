"""What can be generated (a kernel's primal, an adjoint, a tangent), in
which schedule: the one place that maps a target and a schedule to the
program codegen prints."""

from __future__ import annotations

from pathlib import Path

from polyad.adjoint import Adjoint, Tangent
from polyad.errors import UsageError
from polyad.lowering import adjoint_program, tangent_program
from polyad.model import Kernel
from polyad.program import primal_program
from polyad.schedule import Schedule


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
        return base.auto()
    try:
        text = Path(spec).read_text()
    except OSError as error:
        raise UsageError(f"cannot read schedule {spec}: {error.strerror}") from None
    return Schedule.replay(base, text)


def program_of(target: Kernel | Adjoint | Tangent, schedule: Schedule | None = None):
    """The program of a kernel (its primal), an adjoint or a tangent, in the
    given schedule (default: the original order, reversed for the reverse
    sweep)."""
    if isinstance(target, Adjoint):
        default = adjoint_program(target)
    elif isinstance(target, Tangent):
        default = tangent_program(target)
    else:
        default = primal_program(target)
    if schedule is None or not (schedule.trace or schedule.annotations):
        return default
    if {i.name for i in schedule.program.instructions} != {i.name for i in default.instructions} \
            or schedule.program.name != default.name:
        raise UsageError(f"the schedule is for {schedule.program.name}, not {default.name} "
                         "(or for another wrt/of/strategy)")
    return schedule.scheduled_program()


