"""Reverse and tangent mode: the derivative statements of a kernel.

:func:`grad` gives an :class:`Adjoint`: for each statement writing an active
array, the adjoint statement (how the adjoint of the written element flows
back to the adjoints of its reads) and the tape plan. :func:`jvp` gives a
:class:`Tangent`. Both are algorithm values; ``polyad.program.lowering`` turns them
into programs and codegen prints those.

The adjoint of ``W = f(R1, ..., Rk)`` is, per instance, in reverse order::

    g = W_b;  W_b = df/dW * g  (or 0 when f does not read W);  Ri_b += df/dRi * g

so ``=`` zeroes the adjoint of the element it overwrites after propagating
it, and a statement reading what it writes (``x = x * y``) keeps exactly the
part that flows through its own read. A compound ``W += e`` keeps ``W_b``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import sympy

from polyad.ad.activity import (Differentiated, analyze_activity, checked_names,
                             differentiate_statement, floating_inputs, floating_outputs)
from polyad.ad.outputs import choose_form, share_forms, written_form
from polyad.errors import UsageError
from polyad.memory import parse_bytes
from polyad.program.budget import plan_memory
from polyad.program.lowering import adjoint_program
from polyad.program.tangent import tangent_program
from polyad.model.kernel import Kernel
from polyad.ad.modes import (AdjointStatement, ReverseMode, planned_tape, read_needs,
                          TangentMode, TangentStatement)
from polyad.program.ir import ADJOINT_SUFFIX, TANGENT_SUFFIX  # noqa: F401  (re-exported)
from polyad.schedule.schedule import Schedule
from polyad.tape.plan import plan_tape
from polyad.tape.registry import SCRATCHPAD_LAYOUTS, layout_named


#: Scratchpad of the layers layout, bytes, unless given.
DEFAULT_SCRATCHPAD = 32 * 1024


@dataclass(frozen=True, repr=False)
class Adjoint(ReverseMode):
    """Reverse mode of a kernel (the values in :class:`polyad.ad.modes.ReverseMode`),
    with its tape layout, tape strategy and schedule to change."""

    def with_layout(self, layout: str, scratchpad: int | None = None,
                    sizes: Mapping[str, int] | None = None, *,
                    every: int | None = None, snapshots: int | None = None) -> "Adjoint":
        """The same adjoint with its tape in another layout (one of
        polyad.tape.registry.LAYOUTS); ``layers`` stages the reverse sweep
        through a scratchpad of ``scratchpad`` bytes (default 32 KiB), with
        layers as large as fit at ``sizes`` (default the kernel's medium
        preset, else its default sizes; the layers code is specialized to
        these sizes and refuses others). ``checkpoint`` takes a snapshot every
        ``every`` steps of the time loop (default: the square root of the
        steps at ``sizes``), or, given ``snapshots``, keeps that many
        snapshots placed by binomial checkpointing (revolve,
        polyad.tape.revolve); its code is right at every size.

        >>> import polyad
        >>> k = polyad.parse("examples/rnn.c")           # doctest: +SKIP
        >>> polyad.grad(k).with_layout("stream").layout   # doctest: +SKIP
        'stream'
        """
        placement = layout_named(layout)
        if scratchpad is not None and not placement.scratchpad:
            raise UsageError(f"a scratchpad size applies to the "
                             f"{' or '.join(SCRATCHPAD_LAYOUTS)} layout only")
        if every is not None and (not placement.always_transformed or placement.scratchpad
                                  or every < 1):
            raise UsageError("a checkpoint segment (a positive number of steps) applies to "
                             "the checkpoint layout only")
        if snapshots is not None and (not placement.always_transformed or placement.scratchpad
                                      or snapshots < 1 or every is not None):
            raise UsageError("a number of snapshots (at least 1) applies to the checkpoint "
                             "layout only, without a segment length (every)")
        if placement.scratchpad and scratchpad is None:
            scratchpad = DEFAULT_SCRATCHPAD
        if sizes is None:
            preset = "medium" if "medium" in self.kernel.source.presets else None
            sizes = self.kernel.sizes(preset)
        stepped = self.in_steps(placement.name == "checkpoint")
        return replace(stepped, tape_layout=layout, scratchpad=scratchpad,
                       layer_sizes=tuple(sorted(dict(sizes).items())), checkpoint_every=every,
                       checkpoint_snapshots=snapshots)

    def with_memory_budget(self, budget: int | str,
                           sizes: Mapping[str, int] | None = None) -> "Adjoint":
        """The same adjoint in the fastest layout whose extra memory (tape,
        snapshots) stays within ``budget`` bytes (``4MiB`` and ``64MB`` are
        read too) at ``sizes`` (default: the medium preset, else the default
        sizes): exact when its tape fits, else the checkpoint layout with the
        fewest snapshots that fit, else binomial checkpointing with the most
        snapshot slots that fit (polyad.program.budget); a UsageError
        naming the smallest budget that works when none does."""
        budget = parse_bytes(budget) if isinstance(budget, str) else int(budget)
        if sizes is None:
            preset = "medium" if "medium" in self.kernel.source.presets else None
            sizes = self.kernel.sizes(preset)
        plan = plan_memory(self, budget, sizes)
        return replace(self.with_layout(plan.layout, sizes=sizes, every=plan.every,
                                        snapshots=plan.slots),
                       memory_budget=budget)

    def with_strategy(self, strategy: str) -> "Adjoint":
        """The same adjoint with another tape strategy (and the partials'
        forms it allows, polyad.ad.outputs.choose_form)."""
        statements = _adjoint_statements(self.kernel, differentiate(self.kernel),
                                         self.activity, strategy)
        return replace(self, statements=statements,
                       tape=planned_tape(self.kernel, statements, strategy,
                                         stepwise=self.tape.stepwise))

    def schedule(self, *, reassociate: bool = True) -> Schedule:
        """The schedule of the forward and reverse sweeps, to explore and
        transform (see :class:`polyad.schedule.schedule.Schedule`): the forward sweep,
        then its exact reverse. ``reassociate=False`` forbids reordering
        increments of one adjoint element."""
        return Schedule.of(adjoint_program(self, layout="exact"), reassociate=reassociate,
                           origin={"kernel": self.kernel.name, "mode": "reverse",
                                   "wrt": list(self.wrt), "of": list(self.of),
                                   "strategy": self.strategy, "layout": self.layout,
                                   "scratchpad": self.scratchpad})


@dataclass(frozen=True, repr=False)
class Tangent(TangentMode):
    """Forward (tangent) mode of a kernel (the values in
    :class:`polyad.ad.modes.TangentMode`), with its schedule."""

    def schedule(self) -> Schedule:
        """The schedule of the tangent program (see :class:`Schedule`)."""
        return Schedule.of(tangent_program(self), origin={
            "kernel": self.kernel.name, "mode": "tangent", "wrt": list(self.wrt)})


def differentiate(kernel: Kernel) -> tuple[Differentiated, ...]:
    """Every statement with its partial derivatives."""
    return tuple(differentiate_statement(s, kernel) for s in kernel.statements)


def grad(kernel: Kernel, wrt: Sequence[str] | None = None,
         of: Sequence[str] | None = None, strategy: str = "exact", *,
         memory_budget: int | str | None = None,
         sizes: Mapping[str, int] | None = None) -> Adjoint:
    """Reverse mode: the vector-Jacobian product of ``of`` with respect to
    ``wrt`` (defaults: every floating-point input, every floating-point
    output). ``memory_budget`` (bytes, or ``"4MiB"``) bounds the extra
    memory at ``sizes`` (see :meth:`Adjoint.with_memory_budget`).

    >>> import polyad
    >>> k = polyad.parse("void f(int n, double x[n], double y[n]) "
    ...                  "{ for (int i = 0; i < n; i++) y[i] = x[i] * x[i]; }")
    >>> adj = grad(k)
    >>> adj.wrt, adj.of, str(adj.statements[0].increments[k.statements[0].reads[0].symbol])
    (('x',), ('y',), '2*x[i]')
    """
    inputs, outputs = floating_inputs(kernel), floating_outputs(kernel)
    wrt = checked_names(kernel, wrt, inputs, "wrt", inputs)
    of = checked_names(kernel, of, outputs, "of", outputs)
    differentiated = differentiate(kernel)
    activity = analyze_activity(kernel, differentiated, wrt, of)
    statements = _adjoint_statements(kernel, differentiated, activity, strategy)
    adjoint = Adjoint(kernel, activity, statements, planned_tape(kernel, statements, strategy))
    if memory_budget is not None:
        return adjoint.with_memory_budget(memory_budget, sizes)
    return adjoint


def jvp(kernel: Kernel, wrt: Sequence[str] | None = None) -> Tangent:
    """Tangent mode: the Jacobian-vector product of every floating-point
    output with respect to ``wrt`` (default every floating-point input)."""
    inputs, outputs = floating_inputs(kernel), floating_outputs(kernel)
    wrt = checked_names(kernel, wrt, inputs, "wrt", inputs)
    differentiated = differentiate(kernel)
    activity = analyze_activity(kernel, differentiated, wrt, outputs)
    statements = []
    for d in differentiated:
        if d.statement.write.array not in activity.varied:
            continue
        arrays = d.read_arrays()
        partials = {symbol: partial for symbol, partial in d.partials.items()
                    if arrays[symbol] in activity.varied}
        statements.append(TangentStatement(d.statement, partials))
    return Tangent(kernel, activity, tuple(statements))


def _adjoint_statements(kernel: Kernel, differentiated: Sequence[Differentiated],
                        activity, strategy: str) -> tuple[AdjointStatement, ...]:
    """The adjoint statement of each statement writing an active array, its
    partials through the written value where the strategy's tape allows
    (polyad.ad.outputs)."""
    statements, alternatives = [], []
    for d in differentiated:
        if d.statement.write.array not in activity.active:
            continue
        arrays = d.read_arrays()
        own = d.statement.self_read()
        self_partial = d.partials.get(own.symbol, sympy.Integer(0)) if own else None
        increments = {symbol: partial for symbol, partial in d.partials.items()
                      if arrays[symbol] in activity.active
                      and (own is None or symbol != own.symbol)}
        argument = AdjointStatement(d.statement, self_partial, increments)
        alternatives.append(written_form(argument, d, kernel))
        statements.append(choose_form(argument, alternatives[-1], kernel, strategy))
    if strategy != "exact" or not any(alternative is not None and chosen.output is None
                                      for alternative, chosen in zip(alternatives, statements)):
        return tuple(statements)
    plan = plan_tape(kernel, read_needs(statements), strategy)
    return share_forms(tuple(statements), tuple(alternatives), kernel, plan)
