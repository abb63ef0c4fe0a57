"""The values of reverse and tangent mode, as lowering reads them.

:class:`ReverseMode` and :class:`TangentMode` hold what ``polyad.program.lowering``
turns into programs; ``polyad.ad.adjoint`` builds them and adds the operations
that lower them (:class:`polyad.ad.adjoint.Adjoint` and
:class:`polyad.ad.adjoint.Tangent`). Kept apart so that lowering needs nothing
from the module that calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import sympy

from polyad.ad.activity import Activity
from polyad.model.kernel import Access, Kernel, Statement
from polyad.tape.plan import TapePlan


@dataclass(frozen=True)
class AdjointStatement:
    """The reverse-sweep work of one statement.

    ``self_partial`` is the partial with respect to the statement's read of
    the very element it writes (None when it does not read it: the write
    then resets that adjoint); ``increments`` the partials with respect to
    the other active reads.
    """

    statement: Statement
    self_partial: sympy.Expr | None
    increments: Mapping[sympy.Symbol, sympy.Expr]

    @property
    def resets(self) -> bool:
        """Whether the adjoint of the written element changes (it keeps its
        value only for ``W = W + ...``)."""
        return self.self_partial is None or self.self_partial != 1

    def needed(self) -> tuple[Access, ...]:
        """The reads whose primal values the partials use (one per symbol)."""
        used: set[sympy.Symbol] = set()
        for partial in [self.self_partial, *self.increments.values()]:
            if partial is not None:
                used |= partial.free_symbols
        accesses = self.statement.read_accesses()
        return tuple(access for symbol, access in accesses.items() if symbol in used)


@dataclass(frozen=True)
class ReverseMode:
    """Reverse mode of a kernel: ``wrt`` inputs, ``of`` outputs, the adjoint
    statements (forward order) and the tape plan."""

    kernel: Kernel
    activity: Activity
    statements: tuple[AdjointStatement, ...]
    tape: TapePlan
    tape_layout: str = ""
    scratchpad: int | None = None
    layer_sizes: tuple[tuple[str, int], ...] = ()

    @property
    def layout(self) -> str:
        """Where the tape lives (see polyad.tape.registry.LAYOUTS): by default
        ``stack`` for the stack strategy, ``exact`` otherwise."""
        return self.tape_layout or ("stack" if self.strategy == "stack" else "exact")

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.activity.wrt

    @property
    def of(self) -> tuple[str, ...]:
        return self.activity.of

    @property
    def strategy(self) -> str:
        return self.tape.strategy


@dataclass(frozen=True)
class TangentStatement:
    """The tangent of one statement writing a varied array: the partials
    with respect to its varied reads."""

    statement: Statement
    partials: Mapping[sympy.Symbol, sympy.Expr]


@dataclass(frozen=True)
class TangentMode:
    """Forward (tangent) mode of a kernel."""

    kernel: Kernel
    activity: Activity
    statements: tuple[TangentStatement, ...]

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.activity.wrt
