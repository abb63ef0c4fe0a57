"""The values of reverse and tangent mode, as lowering reads them.

:class:`ReverseMode` and :class:`TangentMode` hold what ``polyad.program.lowering``
turns into programs; ``polyad.ad.adjoint`` builds them and adds the operations
that lower them (:class:`polyad.ad.adjoint.Adjoint` and
:class:`polyad.ad.adjoint.Tangent`). Kept apart so that lowering needs nothing
from the module that calls it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import sympy

from polyad.ad.activity import Activity
from polyad.model.kernel import Access, Kernel, Statement
from polyad.tape.decisions import record_decisions
from polyad.tape.plan import TapePlan, plan_tape
from polyad.tape.sharing import share_records
from polyad.tape.written import record_written


@dataclass(frozen=True)
class AdjointStatement:
    """The reverse-sweep work of one statement.

    ``self_partial`` is the partial with respect to the statement's read of
    the very element it writes (None when it does not read it: the write
    then resets that adjoint); ``increments`` the partials with respect to
    the other active reads. ``output``, when set, is the value the statement
    wrote, at its write's element: the partials use its symbol
    (``1 - y*y`` for ``y = tanh(u)``, see polyad.ad.outputs).
    """

    statement: Statement
    self_partial: sympy.Expr | None
    increments: Mapping[sympy.Symbol, sympy.Expr]
    output: Access | None = None

    @property
    def resets(self) -> bool:
        """Whether the adjoint of the written element changes (it keeps its
        value only for ``W = W + ...``)."""
        return self.self_partial is None or self.self_partial != 1

    def partials(self) -> tuple[sympy.Expr, ...]:
        """Every partial the reverse sweep evaluates (self partial first)."""
        own = () if self.self_partial is None else (self.self_partial,)
        return own + tuple(self.increments.values())

    def needed(self) -> tuple[Access, ...]:
        """The reads whose primal values the partials use (one per symbol),
        the written value (``output``) last."""
        used: set[sympy.Symbol] = set()
        for partial in [self.self_partial, *self.increments.values()]:
            if partial is not None:
                used |= partial.free_symbols
        accesses = dict(self.statement.read_accesses())
        if self.output is not None:
            accesses[self.output.symbol] = self.output
        return tuple(access for symbol, access in accesses.items() if symbol in used)


@dataclass(frozen=True, repr=False)
class ReverseMode:
    """Reverse mode of a kernel: ``wrt`` inputs, ``of`` outputs, the adjoint
    statements (forward order) and the tape plan.

    ``print()`` shows a few lines (what is differentiated, the tape in a
    sentence, the statements); ``repr`` one. Equality is field by field.
    """

    kernel: Kernel
    activity: Activity
    statements: tuple[AdjointStatement, ...]
    tape: TapePlan
    tape_layout: str = ""
    scratchpad: int | None = None
    layer_sizes: tuple[tuple[str, int], ...] = ()
    checkpoint_every: int | None = None
    checkpoint_snapshots: int | None = None
    memory_budget: int | None = None

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

    def in_steps(self, stepwise: bool = True) -> "ReverseMode":
        """The same adjoint with its tape planned for a reverse sweep rerun
        step by step (the checkpoint layout: records shared within a step of
        the time loop only), or (``stepwise=False``) for the whole sweep."""
        if self.tape.stepwise == stepwise:
            return self
        return replace(self, tape=planned_tape(self.kernel, self.statements, self.strategy,
                                               stepwise=stepwise))

    def __repr__(self) -> str:
        recorded = self.tape.reads()
        decided = len(self.tape.decisions)
        outcomes = f" and {decided} comparison outcome{'s' if decided != 1 else ''}" \
            if decided else ""
        return (f"<{type(self).__name__} of {self.kernel.name}: {', '.join(self.of)} with "
                f"respect to {', '.join(self.wrt)}; {self.strategy} tape of {recorded} "
                f"recorded read{'s' if recorded != 1 else ''}{outcomes}, {self.layout} "
                "layout>")

    def __str__(self) -> str:
        """A few lines for people; ``polyad show --tape`` gives the reasons.

        >>> import polyad
        >>> k = polyad.parse("void f(int n, double x[n], double y[n]) "
        ...                  "{ for (int i = 0; i < n; i++) y[i] = x[i] * x[i]; }")
        >>> print(polyad.grad(k))
        adjoint of f (reverse mode): the gradient of y with respect to x
          tape       exact strategy, exact layout
                     records nothing: every value the reverse sweep needs is read from memory
          reverse    S0 line 1
        """
        layout = f"{self.layout} layout" + (f", scratchpad {self.scratchpad} bytes"
                                            if self.scratchpad else "")
        lines = [f"adjoint of {self.kernel.name} (reverse mode): the gradient of "
                 f"{', '.join(self.of)} with respect to {', '.join(self.wrt)}",
                 f"  tape       {self.strategy} strategy, {layout}"]
        head, *recorded = self.tape.summary(self.kernel)
        lines.append(f"             {head}")
        lines += [f"               {line}" for line in recorded]
        lines += ["  reverse    " + (", ".join(f"{s.statement.name} line "
                                               f"{s.statement.location.line}"
                                               for s in self.statements) or "nothing")]
        return "\n".join(lines)


@dataclass(frozen=True)
class TangentStatement:
    """The tangent of one statement writing a varied array: the partials
    with respect to its varied reads."""

    statement: Statement
    partials: Mapping[sympy.Symbol, sympy.Expr]


@dataclass(frozen=True, repr=False)
class TangentMode:
    """Forward (tangent) mode of a kernel; printed as a short summary."""

    kernel: Kernel
    activity: Activity
    statements: tuple[TangentStatement, ...]

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.activity.wrt

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} of {self.kernel.name}: tangents with respect to "
                f"{', '.join(self.wrt)}; {len(self.statements)} statements>")

    def __str__(self) -> str:
        """Two lines: what is differentiated, and the tangent statements."""
        return "\n".join([
            f"tangent of {self.kernel.name} (forward mode): with respect to "
            f"{', '.join(self.wrt)}",
            "  tangents   " + (", ".join(f"{s.statement.name} line {s.statement.location.line}"
                                         for s in self.statements) or "nothing")])


def read_needs(statements: Sequence[AdjointStatement]) -> dict[str, tuple[Access, ...]]:
    """The reads each statement's partials use (the written values apart:
    polyad.tape.written plans them)."""
    return {s.statement.name: tuple(a for a in s.needed() if a is not s.output)
            for s in statements}


def planned_tape(kernel: Kernel, statements: Sequence[AdjointStatement], strategy: str, *,
                 stepwise: bool = False) -> TapePlan:
    """The tape plan of the statements: the values their partials need
    (reads, and values they wrote), with comparison outcomes recorded
    instead of values used only to compare, and one record of a value
    shared by the reads that need it (``stepwise``: see
    polyad.tape.sharing.share_records)."""
    plan = record_written(plan_tape(kernel, read_needs(statements), strategy), kernel,
                          {s.statement.name: s.output for s in statements if s.output})
    plan = record_decisions(plan, kernel, {s.statement.name: s.partials() for s in statements})
    return share_records(plan, kernel, stepwise=stepwise)
