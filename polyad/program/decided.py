"""Comparison outcomes (polyad.tape.decisions) lowered: their byte buffers in
each layout, the forward records that store them, and the symbols the
reverse sweep reads in place of the comparisons.

A record evaluates the comparison just before its statement (the operands
still hold the values the statement compares) and stores 0 or 1; the reverse
instruction's partials read that byte where the comparison stood.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import islpy as isl
import sympy

from polyad.model.kernel import Kernel
from polyad.program.derived import instance_reference, instance_relation
from polyad.program.ir import DECISION_DTYPE, Assignment, Buffer, Instruction, Reference
from polyad.program.names import NameSupply
from polyad.program.sweeps import FORWARD
from polyad.schedule.tree import renamed, with_prefix, with_suffix
from polyad.model.expr import select
from polyad.tape.boxes import tape_box, tape_relation
from polyad.tape.decisions import complement_of
from polyad.tape.plan import Decision, TapePlan


@dataclass(frozen=True)
class DecisionTape:
    """A decision lowered: the ``symbol`` standing for its outcome in
    bodies, its buffer, and the relation from recording instances to the
    buffer's elements (None for a sequence, addressed by counters)."""

    decision: Decision
    symbol: sympy.Symbol
    buffer: Buffer
    relation: isl.Map | None


def lower_decisions(plan: TapePlan, kernel: Kernel, *, name: str, sequence: str | None,
                    structs: bool, supply: NameSupply) -> tuple[DecisionTape, ...]:
    """Byte buffers for the plan's decisions in a layout called ``name``:
    per statement one sequence buffer (``sequence``: lifo or stream, as that
    layout's double tapes), or one struct of outcomes per instance
    (``structs``), else a box per decision indexed by instance."""
    by_statement: dict[str, list[Decision]] = {}
    for decision in plan.decisions:
        by_statement.setdefault(decision.statement, []).append(decision)
    tapes = []
    for statement, decisions in by_statement.items():
        symbols = [sympy.Symbol(supply.fresh(f"_outcome{k}"), real=True)
                   for k in range(len(decisions))]
        purpose = f"{statement}'s comparison outcomes"
        count = isl.PwAff.val_on_domain(kernel.context, isl.Val(len(decisions)))
        if sequence:
            _, extents = tape_box(kernel.statement(statement).domain, kernel.context)
            buffer = Buffer(supply.fresh(f"{name}_{statement}_outcomes"), DECISION_DTYPE,
                            tuple(extents) + (count,), "local", sequence=sequence,
                            purpose=f"{purpose}, {name}", tape=statement)
            tapes += [DecisionTape(d, s, buffer, None) for d, s in zip(decisions, symbols)]
        elif structs:
            union = decisions[0].instances
            for decision in decisions[1:]:
                union = union | decision.instances
            lows, extents = tape_box(union.coalesce(), kernel.context)
            buffer = Buffer(supply.fresh(f"outcomes_{statement}"), DECISION_DTYPE,
                            tuple(extents) + (count,), "local",
                            purpose=f"{purpose}, one struct per instance", tape=statement)
            tapes += [DecisionTape(d, s, buffer, tape_relation(d.instances, lows,
                                                               buffer.name, field))
                      for field, (d, s) in enumerate(zip(decisions, symbols))]
        else:
            for index, (decision, symbol) in enumerate(zip(decisions, symbols)):
                lows, extents = tape_box(decision.instances, kernel.context)
                buffer = Buffer(supply.fresh(f"outcome_{statement}_{index}"), DECISION_DTYPE,
                                tuple(extents), "local",
                                purpose=f"outcome of {decision.text}, for {statement}",
                                tape=statement)
                tapes.append(DecisionTape(decision, symbol, buffer,
                                          tape_relation(decision.instances, lows, buffer.name)))
    return tuple(tapes)


def decision_records(tapes: tuple[DecisionTape, ...], kernel: Kernel,
                     flat: Mapping[str, isl.Map], before: Mapping[str, int],
                     supply: NameSupply) -> tuple[list[Instruction], list[isl.Map]]:
    """The forward sweep's records of the outcomes and their schedule maps:
    just before their statement and before the ``before[statement]`` record
    instructions lowering places there (at -1, -2, ...), in decision order
    (so that a sequence buffer is pushed in a known order)."""
    instructions, maps = [], []
    by_statement: dict[str, list[DecisionTape]] = {}
    for tape in tapes:
        by_statement.setdefault(tape.decision.statement, []).append(tape)
    for statement_name, group in by_statement.items():
        statement = kernel.statement(statement_name)
        for index, tape in enumerate(group):
            decision = tape.decision
            name = f"{statement_name}_decide{index}"
            domain = decision.instances.set_tuple_name(name)
            references = {a.symbol: instance_reference(a.array, a, name)
                          for a in decision.operands}
            slot = sympy.Symbol(supply.fresh("_outcome"), real=True)
            references[slot] = Reference(tape.buffer.name, None, push=True) \
                if tape.relation is None else \
                Reference(tape.buffer.name, instance_relation(tape.relation, name))
            instructions.append(Instruction(
                name, domain, references, (Assignment(slot, "=", decision.recorded),),
                comment=f"record the outcome of {decision.text} for the reverse of line "
                        f"{statement.location.line}", line=statement.location.line))
            order = index - len(group) - before.get(statement_name, 0)
            maps.append(with_prefix(renamed(with_suffix(flat[statement_name], order), name)
                                    .intersect_domain(domain), FORWARD))
    return instructions, maps


def decided(partial: sympy.Expr, tapes: list[DecisionTape]) -> sympy.Expr:
    """A partial with each decided comparison replaced by its outcome's
    symbol, and a select on its complement (fmin's ``x > y`` beside
    ``x <= y``) by the select on the outcome with its branches swapped.

    Precondition: ordered operands (a NaN makes both comparisons false)."""
    swapped = {complement_of(t.decision.condition): t.symbol for t in tapes}
    swapped.pop(None, None)

    def swap(expr: sympy.Basic) -> sympy.Basic:
        if isinstance(expr, select) and expr.args[0] in swapped:
            return select(swapped[expr.args[0]], swap(expr.args[2]), swap(expr.args[1]))
        if not expr.args:
            return expr
        return expr.func(*[swap(arg) for arg in expr.args])

    decided_ = {t.decision.condition: t.symbol for t in tapes}
    return swap(partial).xreplace(decided_)


def outcome_reference(tape: DecisionTape, instruction: str) -> Reference:
    """The reverse instruction's reference to a recorded outcome: popped
    from a sequence, or at its recording instance."""
    if tape.relation is None:
        return Reference(tape.buffer.name, None)
    return Reference(tape.buffer.name, instance_relation(tape.relation, instruction))
