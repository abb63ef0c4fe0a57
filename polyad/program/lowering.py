"""Adjoints to programs: buffers, instructions, one schedule.

The adjoint program is the forward sweep (the primal statements, each
preceded by the records the tape plan asks of it) followed by the reverse
sweep (the adjoint statements in the exact reverse of the forward order: the
negated flat schedule). Tangents: :mod:`polyad.program.tangent`.
"""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl
import sympy

from polyad.model.kernel import Array, union_of_maps
from polyad.ad.modes import AdjointStatement, ReverseMode
from polyad.program.decided import (DecisionTape, decided, decision_records,
                                    lower_decisions, outcome_reference)
from polyad.program.derived import (cse_body, derivative_names, derivative_symbol,
                                    flat_by_statement, generated_supply, instance_reference,
                                    instance_relation)
from polyad.program.names import NameSupply
from polyad.program.records import (entry_records, forward_records, lower_tapes,
                                    record_groups)
from polyad.program.ir import (ADJOINT_SUFFIX, Argument, Assignment, Buffer,
                            Instruction, Program, Reference,
                            kernel_buffers, kernel_arguments, primal_instruction)
from polyad.schedule.tree import (negated, padded, renamed, tree_from_flat,
                                  with_prefix, with_suffix)
from polyad.program.sweeps import FINISH, FORWARD, REVERSE
from polyad.tape.registry import layout_named


# --- reverse mode ---------------------------------------------------------
@dataclass(frozen=True)
class _Region:
    """Part of a statement's instances reading the same needed values from
    the tape (the rest from memory)."""

    domain: isl.Set
    taped: frozenset[sympy.Symbol]


def _regions(domain: isl.Set, parts: list[tuple[isl.Set, sympy.Symbol]]) -> list[_Region]:
    """The domain split by the instances of each recorded value or outcome
    (``parts``: the instances that read it from the tape, and its symbol)."""
    regions = [_Region(domain, frozenset())]
    for instances, symbol in parts:
        split = []
        for region in regions:
            inside = region.domain & instances
            outside = region.domain - instances
            if not inside.is_empty():
                split.append(_Region(inside.coalesce(), region.taped | {symbol}))
            if not outside.is_empty():
                split.append(_Region(outside.coalesce(), region.taped))
        regions = split
    return regions


def adjoint_program(adjoint: ReverseMode, *, layout: str | None = None,
                    rescheduled: bool = False) -> Program:
    """The C function computing the primal outputs and the gradient.

    Its arguments are the kernel's, then the adjoint ``X_b`` of each array
    in ``wrt`` or ``of`` (signature order); ``double *s_b`` for a scalar.
    ``layout`` (default the adjoint's; see polyad.tape.registry) places the
    tape; every layout has the same instructions, so one schedule applies to
    all. A sequence tape (stack, stream) is valid only in the exact reverse
    order: ``rescheduled`` places it in instance-indexed boxes instead, for
    a reverse sweep about to get another schedule.
    """
    placement = layout_named(layout or adjoint.layout)
    kernel = adjoint.kernel
    names = derivative_names(kernel, ADJOINT_SUFFIX)
    supply = generated_supply(kernel, names)
    active = adjoint.activity.active
    interface = set(adjoint.wrt) | set(adjoint.of)
    buffers = kernel_buffers(kernel)
    arguments = kernel_arguments(kernel)
    adjoint_buffer: dict[str, str] = {}
    finishing: list[tuple[Array, str]] = []
    for array in kernel.arrays:
        name = names[array.name]
        if array.name in interface:
            arguments.append(Argument(name, "buffer"))
            buffers.append(Buffer(name, array.dtype, array.extents, "argument",
                                  by_pointer=array.is_scalar, optional=True,
                                  purpose=f"adjoint of {array.name}"))
            adjoint_buffer[array.name] = name
            if array.name in adjoint.wrt and array.name not in adjoint.of \
                    and array.role == "inout":
                # Its seed must be zero while the gradient accumulates into
                # the caller's buffer: work in a zeroed local, add at the end.
                work = supply.fresh(name + "_work")
                buffers.append(Buffer(work, array.dtype, array.extents, "local", zeroed=True,
                                      purpose=f"adjoint of {array.name} during the sweep"))
                adjoint_buffer[array.name] = work
                finishing.append((array, name))
        elif array.name in active:
            buffers.append(Buffer(name, array.dtype, array.extents, "local", zeroed=True,
                                  purpose=f"adjoint of {array.name}"))
            adjoint_buffer[array.name] = name

    tapes = lower_tapes(adjoint, placement, None if rescheduled else placement.sequence,
                         supply)
    outcomes = lower_decisions(adjoint.tape, kernel, name=placement.name,
                               sequence=None if rescheduled else placement.sequence,
                               structs=placement.structs, supply=supply)
    seen_buffers = set()
    for buffer in [t.buffer for t in tapes.values()] + [t.buffer for t in outcomes]:
        if buffer.name not in seen_buffers:
            buffers.append(buffer)
            seen_buffers.add(buffer.name)

    flat = flat_by_statement(kernel)
    instructions: list[Instruction] = []
    schedule: list[isl.Map] = []
    for statement in kernel.statements:
        instructions.append(primal_instruction(statement))
        schedule.append(with_prefix(with_suffix(flat[statement.name], 1), FORWARD))
    instructions += forward_records(adjoint, tapes, flat, schedule, supply)
    records, maps = decision_records(outcomes, kernel, flat, {
        name: len(groups) for name, groups in record_groups(tapes).items()}, supply)
    instructions += records
    schedule += maps
    on_entry = entry_records(tapes, supply)
    if on_entry:
        # The forward sweep becomes [0, 1, ...] after the records on entry's [0, 0, ...].
        schedule = [m.insert_dims(isl.dim_type.out, 1, 1).fix_val(isl.dim_type.out, 1,
                                                                  isl.Val(1)) for m in schedule]
        for instruction in on_entry:
            identity = isl.Map.identity(isl.Space.map_from_set(instruction.domain.get_space()))
            schedule.append(with_prefix(with_prefix(
                identity.intersect_domain(instruction.domain)
                .reset_tuple_id(isl.dim_type.out), 0), FORWARD))
        instructions += on_entry
    for adjoint_statement in adjoint.statements:
        for instruction in _reverse_instructions(adjoint_statement, tapes, outcomes,
                                                 adjoint_buffer, names, supply):
            instructions.append(instruction)
            reverse = renamed(negated(with_suffix(flat[adjoint_statement.statement.name], 0)),
                              instruction.name)
            schedule.append(with_prefix(reverse.intersect_domain(instruction.domain), REVERSE))
    for array, target in finishing:
        instruction = _accumulate(array, adjoint_buffer[array.name], target)
        instructions.append(instruction)
        identity = isl.Map.identity(isl.Space.map_from_set(instruction.domain.get_space()))
        schedule.append(with_prefix(identity.intersect_domain(instruction.domain)
                                    .reset_tuple_id(isl.dim_type.out), FINISH))
    return Program(
        name=f"{kernel.name}{ADJOINT_SUFFIX}", arguments=tuple(arguments),
        buffers=tuple(buffers), instructions=tuple(instructions),
        schedule=tree_from_flat(union_of_maps(padded(schedule))),
        context=kernel.context, source=kernel.source.path,
        flat=union_of_maps(padded(schedule)))


def _reverse_instructions(adjoint_statement: AdjointStatement, tapes: dict,
                          outcomes: tuple[DecisionTape, ...], adjoint_buffer: dict,
                          names: dict[str, str], supply: NameSupply) -> list[Instruction]:
    statement = adjoint_statement.statement
    seed = sympy.Symbol(supply.fresh("_g"), real=True)
    if not adjoint_statement.resets and not adjoint_statement.increments:
        return []
    needed = adjoint_statement.needed()
    pieces = {a.symbol: [t for t in tapes.values() if t.entry.statement == statement.name
                         and t.entry.symbol == a.symbol] for a in needed}
    entries = [t.entry for a in needed for t in pieces[a.symbol]]
    decisions = [t for t in outcomes if t.decision.statement == statement.name]
    regions = _regions(statement.domain, [(e.instances, e.symbol) for e in entries]
                       + [(t.decision.instances, t.symbol) for t in decisions])
    instructions = []
    for index, region in enumerate(regions):
        name = f"{statement.name}{ADJOINT_SUFFIX}" + (str(index) if len(regions) > 1 else "")
        domain = region.domain.set_tuple_name(name)
        references: dict[sympy.Symbol, Reference] = {}
        # Pops come first, in the reverse of the push order.
        pushed = [tape.entry.symbol for group in record_groups(tapes).get(statement.name, [])
                  for tape in group]
        popped = [a for a in needed if a.symbol in region.taped]
        position = {symbol: k for k, symbol in enumerate(pushed)}
        popped.sort(key=lambda a: position.get(a.symbol, -1), reverse=True)
        for access in popped + [a for a in needed if a.symbol not in region.taped]:
            if access.symbol in region.taped:
                # The piece of the read (by source of its value) the region lies in.
                tape = next(t for t in pieces[access.symbol]
                            if region.domain.is_subset(t.entry.instances))
                if tape.reading is None:
                    references[access.symbol] = Reference(tape.buffer.name, None)
                else:
                    references[access.symbol] = Reference(
                        tape.buffer.name, instance_relation(tape.reading, name))
            else:
                references[access.symbol] = instance_reference(access.array, access, name)
        # Outcomes are popped last-recorded first, like values.
        read = [t for t in decisions if t.symbol in region.taped]
        for tape in reversed(read):
            references[tape.symbol] = outcome_reference(tape, name)
        write = statement.write
        written = derivative_symbol(write, names[write.array])
        references[written] = instance_reference(adjoint_buffer[write.array], write, name)
        updates: list[tuple[sympy.Symbol, str, sympy.Expr]] = []
        self_partial = adjoint_statement.self_partial
        if adjoint_statement.resets:
            kept = sympy.Integer(0) if self_partial is None else \
                decided(self_partial, read) * seed
            updates.append((written, "=", kept))
        accesses = statement.read_accesses()
        for symbol, partial in adjoint_statement.increments.items():
            access = accesses[symbol]
            target = derivative_symbol(access, names[access.array])
            references[target] = instance_reference(adjoint_buffer[access.array], access, name)
            updates.append((target, "+=", decided(partial, read) * seed))
        body = cse_body(updates, supply)
        if read:
            # Reads only the recorded outcomes replaced are not made.
            used = set().union({written}, *(a.value.free_symbols | {a.target} for a in body))
            references = {symbol: reference for symbol, reference in references.items()
                          if symbol in used or reference.relation is None}
        if any(seed in a.value.free_symbols for a in body):
            body = (Assignment(seed, "=", written),) + body
        instructions.append(Instruction(
            name, domain, references, body,
            comment=f"adjoint of line {statement.location.line}: {statement.text}",
            family=f"{statement.name}{ADJOINT_SUFFIX}", line=statement.location.line))
    return instructions


def _accumulate(array: Array, work: str, target: str) -> Instruction:
    """``target[a] += work[a]`` over the whole array."""
    name = f"{target}_add"
    shape = array.shape_set()
    domain = shape.set_tuple_name(name)
    identity = isl.Map.identity(isl.Space.map_from_set(shape.get_space()))
    source = sympy.Symbol(work, real=True)
    destination = sympy.Symbol(target, real=True)
    references = {
        source: Reference(work, identity.set_tuple_name(isl.dim_type.in_, name)
                          .set_tuple_name(isl.dim_type.out, work).intersect_domain(domain)),
        destination: Reference(target, identity.set_tuple_name(isl.dim_type.in_, name)
                               .set_tuple_name(isl.dim_type.out, target)
                               .intersect_domain(domain)),
    }
    return Instruction(name, domain, references, (Assignment(destination, "+=", source),),
                       comment=f"add the gradient of {array.name} to what the caller held")
