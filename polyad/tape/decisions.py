"""Record decisions, not operands: comparison outcomes on the tape.

The partials of a select ``c ? a : b`` (and of ``fmin``, ``fmax``, ``fabs``,
whose rules are selects, see polyad.ad.derivatives) depend on the operands
of ``c`` only through whether ``c`` held. When the reverse sweep needs a read
only inside such conditions and the forward sweep overwrites it, one byte per
instance (the outcome) replaces the 8 of the value. A read the partials also
use elsewhere (``c ? a * a : b`` uses ``a``) is recorded as before; a
comparison whose operands all stay in memory is recomputed as before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping

import sympy

from polyad.model.expr import evaluated, read_symbols, select
from polyad.model.kernel import Kernel
from polyad.tape.plan import Decision, TapeEntry, TapePlan


def conditions_of(expressions: Iterable[sympy.Basic]) -> tuple[sympy.Basic, ...]:
    """The outermost select conditions of some expressions, in order of
    appearance and each once: a select inside a condition goes with it.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> conditions_of([select(x < y, select(x > 0, 1, 0), 0)])
    (x < y, x > 0)
    """
    found: list[sympy.Basic] = []

    def walk(expr: sympy.Basic) -> None:
        if isinstance(expr, select):
            if expr.args[0] not in found:
                found.append(expr.args[0])
            for arg in expr.args[1:]:
                walk(arg)
            return
        for arg in expr.args:
            walk(arg)

    for expr in expressions:
        walk(expr)
    return tuple(found)


def record_decisions(plan: TapePlan, kernel: Kernel,
                     partials: Mapping[str, tuple[sympy.Basic, ...]]) -> TapePlan:
    """The plan recording, per statement, the outcome of each select
    condition of its ``partials`` that compares a read the partials use
    nowhere else and whose value the plan records by its readers, instead of
    that read's value.

    Precondition: ``plan`` was planned (exact strategy) from the reads the
    same partials use. A stack plan is returned as it is (it is the baseline
    that records every value). Reads recorded by their writer, on entry, or
    whose tape another read shares stay recorded (they are already shared).
    """
    if plan.strategy != "exact":
        return plan
    shared = {entry.shares for entry in plan.entries if entry.shares}
    dropped: set[tuple[str, sympy.Symbol]] = set()
    decisions: list[Decision] = []
    for statement in kernel.statements:
        expressions = partials.get(statement.name, ())
        conditions = conditions_of(expressions)
        if not conditions:
            continue
        hidden = {c: sympy.Dummy() for c in conditions}
        elsewhere = set().union(*(read_symbols(e.xreplace(hidden)) for e in expressions))
        entries = {entry.symbol: entry for entry in plan.entries
                   if entry.statement == statement.name}
        accesses = statement.read_accesses()
        written = {evaluated(c): c for c in conditions_of([statement.expr])}

        def replaceable(symbol: sympy.Symbol) -> TapeEntry | None:
            entry = entries.get(symbol)
            if entry is None or symbol in elsewhere or entry.writer or entry.on_entry \
                    or entry.shares or (statement.name, symbol) in shared:
                return None
            return entry

        for condition in conditions:
            if any(_complements(condition, d.condition) for d in decisions
                   if d.statement == statement.name):
                continue  # fmin's x <= y and x > y: one outcome answers both
            compared = written.get(condition)
            # The operands of what the record evaluates: the source's own
            # condition reads what its evaluated form may cancel (x - x).
            operands = sorted(read_symbols(compared if compared is not None else condition)
                              & set(accesses), key=str)
            replaced = tuple(e for e in (replaceable(s) for s in operands) if e is not None)
            if not replaced:
                continue
            instances = replaced[0].instances
            for entry in replaced[1:]:
                instances = instances | entry.instances
            decisions.append(Decision(
                statement.name, condition, _text(compared if compared is not None
                                                 else condition),
                tuple(accesses[s] for s in operands), replaced, instances.coalesce(),
                compared))
            dropped |= {(statement.name, e.symbol) for e in replaced}
    if not decisions:
        return plan
    kept = tuple(e for e in plan.entries if (e.statement, e.symbol) not in dropped)
    return replace(plan, entries=kept, decisions=tuple(decisions))


def complement_of(condition: sympy.Basic) -> sympy.Basic | None:
    """The comparison that holds exactly when ``condition`` does not, for
    ordered operands (``x > y`` for ``x <= y``), or None for another
    condition.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> complement_of(x <= y)
    x > y
    """
    if isinstance(condition, sympy.core.relational.Relational):
        return condition.negated
    return None


def _complements(one: sympy.Basic, other: sympy.Basic) -> bool:
    return complement_of(other) == one


def _text(condition: sympy.Basic) -> str:
    """A condition in C's operators (sympy's text of a comparison of reals
    already is; its logic operators are not)."""
    return str(condition).replace("&", "&&").replace("|", "||").replace("~", "!")
