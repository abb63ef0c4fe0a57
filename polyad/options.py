"""The command line's options shared by its commands: kernel, assumptions,
sizes, inputs, derivatives, schedules; and reading their values.

:mod:`polyad.cli` builds its parser from these and runs the commands.
"""

from __future__ import annotations

import argparse

from polyad import api
from polyad.budget_options import add_memory_budget, add_snapshots
from polyad.errors import UsageError
from polyad.model.kernel import Kernel
from polyad.tape.plan import STRATEGIES
from polyad.tape.registry import DEFAULT_LAYOUT, LAYOUT_NAMES, LAYOUTS, SCRATCHPAD_LAYOUTS, \
    implied_strategy


def sizes_of(pairs: list[str] | None) -> dict[str, int]:
    """The sizes of ``-D NAME=VALUE`` options.

    >>> sizes_of(["n=4", "m = 3"])
    {'n': 4, 'm': 3}
    """
    sizes = {}
    for pair in pairs or []:
        name, _, value = pair.partition("=")
        try:
            sizes[name.strip()] = int(value)
        except ValueError:
            raise UsageError(f"-D expects NAME=INTEGER, got {pair!r}") from None
    return sizes


def add_kernel_arguments(parser: argparse.ArgumentParser) -> None:
    """The kernel file, ``--function`` and ``--assume`` (every command)."""
    parser.add_argument("kernel", help="C file holding the kernel")
    parser.add_argument("--function", help="the kernel function (default: the only "
                        "function, or the one holding #pragma scop)")
    parser.add_argument("--assume", action="append", metavar="CONDITION", default=None,
                        help="a condition on the size parameters the kernel may rely on "
                        "(repeatable; C, affine: 'n %% 4 == 0 && n >= 8'), as #pragma "
                        "polyad assume states it in the file; the generated code "
                        "checks it at entry")


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    """``-D NAME=VALUE`` and ``--dataset``."""
    parser.add_argument("-D", dest="sizes", action="append", metavar="NAME=VALUE",
                        help="a size parameter's value (repeatable); it also fixes an "
                        "int parameter the kernel uses non-affinely (x[i * inc])")
    parser.add_argument("--dataset", help="a size preset of the kernel file "
                        "(its polyad-sizes line; default small)")


def add_fix_argument(parser: argparse.ArgumentParser) -> None:
    """``-D NAME=VALUE`` of a command that takes no sizes (``grad``)."""
    parser.add_argument("-D", dest="sizes", action="append", metavar="NAME=VALUE",
                        help="fix an int parameter that the kernel uses non-affinely "
                        "(x[i * inc], i += inc) to this value (repeatable); the "
                        "generated code checks it at entry")


def add_init_argument(parser: argparse.ArgumentParser) -> None:
    """``--init NAME=KIND``."""
    parser.add_argument("--init", action="append", metavar="NAME=KIND", default=None,
                        help="how to fill an input array (repeatable): uniform "
                        "(default; uniform:LO:HI), normal (normal:MEAN:STD), positive, "
                        "spd, diagonally-dominant, orthogonal, int:LO:HI")


def add_wrt_of(parser: argparse.ArgumentParser) -> None:
    """``--wrt`` and ``--of``."""
    parser.add_argument("--wrt", action="append", metavar="NAMES",
                        help="inputs to differentiate with respect to (comma separated or "
                        "repeated; default every floating-point input)")
    parser.add_argument("--of", action="append", metavar="NAMES",
                        help="outputs to differentiate (default every floating-point "
                        "output)")


def add_derivative_arguments(parser: argparse.ArgumentParser) -> None:
    """``--wrt``, ``--of``, ``--strategy``, ``--layout``, ``--scratchpad``,
    ``--memory-budget`` and ``--snapshots``."""
    add_wrt_of(parser)
    implying = "".join(f", {layout.strategy} with --layout {layout.name}" for layout in LAYOUTS
                       if layout.strategy != implied_strategy(None))
    parser.add_argument("--strategy", choices=STRATEGIES, default=None,
                        help="tape strategy: exact (record only values overwritten "
                        "before the reverse sweep reads them) or stack (record every "
                        "needed value, the Enzyme/Tapenade baseline); default "
                        f"{implied_strategy(None)}{implying}")
    parser.add_argument("--layout", choices=LAYOUT_NAMES, default=None, help=layout_help())
    parser.add_argument("--scratchpad", metavar="SIZE", default=None,
                        help=f"scratchpad of the {' or '.join(SCRATCHPAD_LAYOUTS)} layout, "
                        "e.g. 32KiB (default)")
    add_memory_budget(parser)
    add_snapshots(parser)


def layout_help() -> str:
    """The help of ``--layout``: each layout's description and what its
    registry entry implies for the other options."""
    entries = []
    for layout in LAYOUTS:
        facts = [layout.description]
        if layout.strategy != implied_strategy(None):
            facts.append(f"implies --strategy {layout.strategy}")
        if layout.specialised:
            facts.append("specialised to the sizes it is planned at")
        entries.append(f"{layout.name} ({'; '.join(facts)})")
    return f"where the tape lives (default {DEFAULT_LAYOUT}): " + ", ".join(entries)


def add_schedule_argument(parser: argparse.ArgumentParser) -> None:
    """``--schedule`` and ``--no-blas``."""
    parser.add_argument("--schedule", default="none", metavar="auto|none|FILE.json",
                        help="schedule of the generated code: none (original order, "
                        "exact reverse; default), auto (isl scheduler, tiling, parallel "
                        "loops) or a trace written by Schedule.to_json")
    add_blas_argument(parser)


def add_blas_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-blas``."""
    parser.add_argument("--no-blas", dest="blas", action="store_false",
                        help="auto schedules keep matrix products as loops instead of "
                        "calling OpenBLAS (the library sums in its own order)")


def names_of(values: list[str] | None) -> list[str] | None:
    """The names of repeated, comma separated options (None when not given).

    >>> names_of(["A,B", " C"])
    ['A', 'B', 'C']
    """
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def kernel_of(args: argparse.Namespace) -> Kernel:
    """The kernel the arguments name (``kernel``, ``--function``,
    ``--assume``; a ``-D`` value fixes an int parameter the kernel uses
    non-affinely, ``x[i * inc]``)."""
    return api.parse(args.kernel, args.function, assume=tuple(args.assume or ()),
                     fix=sizes_of(getattr(args, "sizes", None)))
