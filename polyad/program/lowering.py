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
from polyad.program.ir import (ADJOINT_SUFFIX, Argument, Assignment, Buffer,
                            Instruction, Program, Reference,
                            kernel_buffers, kernel_arguments, primal_instruction)
from polyad.schedule.tree import (negated, padded, renamed, tree_from_flat,
                                  with_prefix, with_suffix)
from polyad.program.sweeps import FINISH, FORWARD, REVERSE
from polyad.tape.boxes import tape_box, tape_relation
from polyad.tape.plan import TapeEntry
from polyad.tape.registry import Layout, layout_named


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


@dataclass(frozen=True)
class _Tape:
    """A tape entry lowered: its buffer, the relation from the recording
    instances to its elements (None for a sequential tape) and, when another
    statement records the value, the relation from the reading instances."""

    entry: TapeEntry
    buffer: Buffer
    relation: isl.Map | None
    read: isl.Map | None = None

    @property
    def reading(self) -> isl.Map | None:
        """Reading instance -> tape element."""
        return self.read if self.read is not None else self.relation


def _lower_tapes(adjoint: ReverseMode, layout: Layout, sequence: str | None,
                 supply: NameSupply) -> dict[tuple[str, sympy.Symbol], _Tape]:
    """Buffers and index relations of the tape in a layout: ``sequence``
    is the layout's (relation None, codegen addresses the tape with
    counters), or None to place even a sequence layout's tape in boxes;
    buffer names come from ``supply``, each from a stem of its own."""
    kernel = adjoint.kernel
    tapes = {}
    by_statement: dict[str, list[TapeEntry]] = {}
    shared = {entry.shares for entry in adjoint.tape.entries if entry.shares}
    for entry in adjoint.tape.entries:
        if entry.shares:
            continue
        if (entry.statement, entry.symbol) in shared and sequence:
            # Another reader looks values up in it: indexed by instance.
            tapes[(entry.statement, entry.symbol)] = _Tape(entry, *_box(
                supply.fresh(f"tape_{entry.statement}_shared_{len(tapes)}"), entry.instances,
                _reads(entry), entry.statement, kernel.context, entry.dtype))
            continue
        if entry.writer or entry.on_entry:
            # Recorded once per value, by its writer or on entry: a box
            # indexed by the writer's instance or the element.
            if entry.writer:
                name = supply.fresh(f"keep_{entry.writer}_{entry.statement}_{len(tapes)}")
                purpose = f"{entry.access.text} as {entry.writer} writes it, for " \
                          f"{entry.statement}"
            else:
                name = supply.fresh(
                    f"entry_{entry.access.array}_{entry.statement}_{len(tapes)}")
                purpose = f"{entry.access.array} as it was on entry, for {entry.statement}"
            buffer, relation = _box(name, entry.records, purpose, entry.statement,
                                    kernel.context, entry.dtype)
            tapes[(entry.statement, entry.symbol)] = _Tape(
                entry, buffer, relation, entry.lookup.apply_range(relation))
            continue
        by_statement.setdefault(entry.statement, []).append(entry)
    for statement, entries in by_statement.items():
        purpose = f"{statement}'s recorded values"
        if sequence:
            domain = kernel.statement(statement).domain
            _, extents = tape_box(domain, kernel.context)
            count = isl.PwAff.val_on_domain(kernel.context, isl.Val(len(entries)))
            buffer = Buffer(supply.fresh(f"{layout.name}_{statement}"), _widest(entries),
                            tuple(extents) + (count,), "local", sequence=sequence,
                            purpose=f"{purpose}, {layout.name}", tape=statement)
            for entry in entries:
                tapes[(statement, entry.symbol)] = _Tape(entry, buffer, None)
        elif layout.structs:
            union = entries[0].instances
            for entry in entries[1:]:
                union = union | entry.instances
            lows, extents = tape_box(union.coalesce(), kernel.context)
            fields = isl.PwAff.val_on_domain(kernel.context, isl.Val(len(entries)))
            name = supply.fresh(f"region_{statement}")
            buffer = Buffer(name, _widest(entries), tuple(extents) + (fields,), "local",
                            purpose=f"{purpose}, one struct per instance", tape=statement)
            for field, entry in enumerate(entries):
                relation = tape_relation(entry.instances, lows, name, field)
                tapes[(statement, entry.symbol)] = _Tape(entry, buffer, relation)
        else:
            for index, entry in enumerate(entries):
                tapes[(statement, entry.symbol)] = _Tape(entry, *_box(
                    supply.fresh(f"tape_{statement}_{index}"), entry.instances, _reads(entry), statement,
                    kernel.context, entry.dtype))
    for entry in adjoint.tape.entries:
        if entry.shares:
            source = tapes[entry.shares]
            tapes[(entry.statement, entry.symbol)] = _Tape(
                entry, source.buffer, source.relation, entry.lookup.apply_range(source.reading))
    return tapes


def _box(name: str, points: isl.Set, purpose: str, statement: str,
         context: isl.Set, dtype: str) -> tuple[Buffer, isl.Map]:
    """A tape buffer of ``dtype`` shaped as the box of ``points``, and the
    map from the points to its elements."""
    lows, extents = tape_box(points, context)
    buffer = Buffer(name, dtype, tuple(extents), "local", purpose=purpose, tape=statement)
    return buffer, tape_relation(points, lows, name)


def _widest(entries: list[TapeEntry]) -> str:
    """The element type of one buffer holding the values of ``entries``:
    float when all are float, else double (which holds a float exactly)."""
    return "float" if all(entry.dtype == "float" for entry in entries) else "double"


def _reads(entry: TapeEntry) -> str:
    return f"{entry.statement} reads {entry.access.text}, line {entry.access.location.line}"


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

    tapes = _lower_tapes(adjoint, placement, None if rescheduled else placement.sequence,
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
    instructions += _records(adjoint, tapes, flat, schedule, supply)
    records, maps = decision_records(outcomes, kernel, flat, {
        name: len(groups) for name, groups in _record_groups(tapes).items()}, supply)
    instructions += records
    schedule += maps
    entry_records = _entry_records(tapes, supply)
    if entry_records:
        # The forward sweep becomes [0, 1, ...] after the records on entry's [0, 0, ...].
        schedule = [m.insert_dims(isl.dim_type.out, 1, 1).fix_val(isl.dim_type.out, 1,
                                                                  isl.Val(1)) for m in schedule]
        for instruction in entry_records:
            identity = isl.Map.identity(isl.Space.map_from_set(instruction.domain.get_space()))
            schedule.append(with_prefix(with_prefix(
                identity.intersect_domain(instruction.domain)
                .reset_tuple_id(isl.dim_type.out), 0), FORWARD))
        instructions += entry_records
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


def _record_groups(tapes: dict, writers: bool = False) -> dict[str, list[list[_Tape]]]:
    """Per recording statement, its tape entries grouped by set of recording
    instances (one record instruction each), in the order they are recorded:
    entries recorded by their readers, or (``writers``) by their writers."""
    by_statement: dict[str, list[list[_Tape]]] = {}
    for tape in tapes.values():
        if bool(tape.entry.writer) != writers or tape.entry.on_entry or tape.entry.shares:
            continue
        groups = by_statement.setdefault(tape.entry.recorder, [])
        for group in groups:
            if group[0].entry.records.is_equal(tape.entry.records):
                group.append(tape)
                break
        else:
            groups.append([tape])
    return by_statement


def _copies(group: list[_Tape], name: str, value: sympy.Symbol, source: Reference,
            supply: NameSupply) -> tuple[dict, list[Assignment]]:
    """References and body of record instruction ``name`` that copies one
    value (read through ``source``) into the tape of every entry of a group."""
    references, body = {value: source}, []
    for position, tape in enumerate(group):
        slot = sympy.Symbol(supply.fresh(f"_tape{position}"), real=True)
        references[slot] = Reference(tape.buffer.name, instance_relation(tape.relation, name))
        body.append(Assignment(slot, "=", value))
    return references, body


def _entry_records(tapes: dict, supply: NameSupply) -> list[Instruction]:
    """The copies, before the forward sweep, of the input values that
    entries recorded on entry need: one instruction per array and set of
    elements."""
    groups: list[list[_Tape]] = []
    for tape in tapes.values():
        if not tape.entry.on_entry:
            continue
        for group in groups:
            if group[0].entry.access.array == tape.entry.access.array \
                    and group[0].entry.records.is_equal(tape.entry.records):
                group.append(tape)
                break
        else:
            groups.append([tape])
    instructions = []
    for index, group in enumerate(groups):
        array = group[0].entry.access.array
        name = f"{array}_entry{index}"
        domain = group[0].entry.records.set_tuple_name(name)
        element = isl.Map.identity(isl.Space.map_from_set(domain.get_space()))
        value = sympy.Symbol(supply.fresh("_on_entry"), real=True)
        references, body = _copies(group, name, value, Reference(
            array, element.intersect_domain(domain).set_tuple_name(isl.dim_type.out, array)),
            supply)
        readers = ", ".join(sorted({t.entry.statement for t in group}))
        instructions.append(Instruction(
            name, domain, references, tuple(body),
            comment=f"record {array} as it is on entry, for the reverse of {readers}"))
    return instructions


def _records(adjoint: ReverseMode, tapes: dict, flat: dict, schedule: list,
             supply: NameSupply) -> list[Instruction]:
    """The forward sweep's tape writes, just before their statement, one
    record instruction after the other (so that sequential tapes are
    written in a known order)."""
    kernel = adjoint.kernel
    instructions = []
    for statement_name, groups in _record_groups(tapes).items():
        statement = kernel.statement(statement_name)
        for index, group in enumerate(groups):
            name = f"{statement_name}_save{index}"
            domain = group[0].entry.instances.set_tuple_name(name)
            references, body = {}, []
            for position, tape in enumerate(group):
                value = tape.entry.symbol
                slot = sympy.Symbol(supply.fresh(f"_tape{position}"), real=True)
                references[value] = instance_reference(tape.entry.access.array, tape.entry.access,
                                               name)
                if tape.relation is None:
                    references[slot] = Reference(tape.buffer.name, None, push=True)
                else:
                    references[slot] = Reference(tape.buffer.name,
                                                 instance_relation(tape.relation, name))
                body.append(Assignment(slot, "=", value))
            texts = ", ".join(t.entry.access.text for t in group)
            instructions.append(Instruction(
                name, domain, references, tuple(body),
                comment=f"record {texts} for the reverse of line {statement.location.line}",
                line=statement.location.line))
            order = index - len(groups)  # before the statement's 1, in group order
            schedule.append(with_prefix(renamed(with_suffix(flat[statement_name], order), name)
                                        .intersect_domain(domain), FORWARD))
    for writer_name, groups in _record_groups(tapes, writers=True).items():
        writer = kernel.statement(writer_name)
        for index, group in enumerate(groups):
            name = f"{writer_name}_keep{index}"
            domain = group[0].entry.records.set_tuple_name(name)
            written = sympy.Symbol(supply.fresh("_written"), real=True)
            references, body = _copies(group, name, written,
                                       instance_reference(writer.write.array, writer.write, name),
                                       supply)
            readers = ", ".join(sorted({t.entry.statement for t in group}))
            instructions.append(Instruction(
                name, domain, references, tuple(body),
                comment=f"record {writer.write.text} as line {writer.location.line} writes "
                        f"it, for the reverse of {readers}", line=writer.location.line))
            after = 2 + index  # after the writer's own 1
            schedule.append(with_prefix(renamed(with_suffix(flat[writer_name], after), name)
                                        .intersect_domain(domain), FORWARD))
    return instructions


def _reverse_instructions(adjoint_statement: AdjointStatement, tapes: dict,
                          outcomes: tuple[DecisionTape, ...], adjoint_buffer: dict,
                          names: dict[str, str], supply: NameSupply) -> list[Instruction]:
    statement = adjoint_statement.statement
    seed = sympy.Symbol(supply.fresh("_g"), real=True)
    if not adjoint_statement.resets and not adjoint_statement.increments:
        return []
    needed = adjoint_statement.needed()
    entries = [tapes[(statement.name, a.symbol)].entry for a in needed
               if (statement.name, a.symbol) in tapes]
    decisions = [t for t in outcomes if t.decision.statement == statement.name]
    regions = _regions(statement.domain, [(e.instances, e.symbol) for e in entries]
                       + [(t.decision.instances, t.symbol) for t in decisions])
    instructions = []
    for index, region in enumerate(regions):
        name = f"{statement.name}{ADJOINT_SUFFIX}" + (str(index) if len(regions) > 1 else "")
        domain = region.domain.set_tuple_name(name)
        references: dict[sympy.Symbol, Reference] = {}
        # Pops come first, in the reverse of the push order.
        pushed = [tape.entry.symbol for group in _record_groups(tapes).get(statement.name, [])
                  for tape in group]
        popped = [a for a in needed if a.symbol in region.taped]
        position = {symbol: k for k, symbol in enumerate(pushed)}
        popped.sort(key=lambda a: position.get(a.symbol, -1), reverse=True)
        for access in popped + [a for a in needed if a.symbol not in region.taped]:
            if access.symbol in region.taped:
                tape = tapes[(statement.name, access.symbol)]
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
