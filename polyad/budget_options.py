"""The ``--memory-budget`` option of ``polyad show``, ``grad``, ``check`` and
``bench``, and ``--snapshots`` of the checkpoint layout (show, grad, check):
their arguments, their checks and what they do to the adjoint (kept out of
polyad/cli.py, which is at its size limit)."""

from __future__ import annotations

import argparse

from polyad.errors import UsageError
from polyad.memory import parse_bytes


def add_memory_budget(parser: argparse.ArgumentParser) -> None:
    """Add ``--memory-budget BYTES`` to a command's parser."""
    parser.add_argument("--memory-budget", metavar="BYTES", default=None,
                        help="extra memory the gradient may use at the sizes given (tape "
                        "and snapshots, e.g. 64MB, 2GiB): the exact tape when it fits, "
                        "else the checkpoint layout with the fewest snapshots that fit, "
                        "else binomial checkpointing with the most snapshot slots that "
                        "fit; refused, naming the smallest that works, when nothing fits")


def add_snapshots(parser: argparse.ArgumentParser) -> None:
    """Add ``--snapshots N`` (binomial checkpointing) to a command's parser."""
    parser.add_argument("--snapshots", metavar="N", type=int, default=None,
                        help="with --layout checkpoint: keep N snapshots of the time loop, "
                        "placed by binomial checkpointing (revolve), instead of one every "
                        "sqrt(steps) steps")


def memory_budget(args) -> int | None:
    """The budget in bytes the arguments give (None without one); a
    UsageError when a layout is given too (the budget chooses it)."""
    text = getattr(args, "memory_budget", None)
    if text is None:
        return None
    if getattr(args, "layout", None):
        raise UsageError("--memory-budget chooses the layout: give no --layout with it")
    budget = parse_bytes(text)
    if budget < 0:
        raise UsageError(f"--memory-budget takes a size in bytes, not {text!r}")
    return budget


def snapshots_of(args) -> int | None:
    """The ``--snapshots`` the arguments give (None without); a UsageError
    unless with ``--layout checkpoint`` and positive."""
    snapshots = getattr(args, "snapshots", None)
    if snapshots is None:
        return None
    if getattr(args, "layout", None) != "checkpoint":
        raise UsageError("--snapshots applies to --layout checkpoint only")
    if snapshots < 1:
        raise UsageError(f"--snapshots takes a positive number of snapshots, not {snapshots}")
    return snapshots


def budgeted(adjoint, args, sizes=None):
    """The adjoint in the layout the arguments' budget chooses at ``sizes``
    (default: the kernel's medium preset, else its default sizes), or as it
    is without a budget."""
    budget = memory_budget(args)
    snapshots = snapshots_of(args)
    if snapshots is not None:
        adjoint = adjoint.with_layout("checkpoint", sizes=sizes, snapshots=snapshots)
    return adjoint if budget is None else adjoint.with_memory_budget(budget, sizes)
