"""The tape lowered: its buffers, and the forward sweep's records.

Each tape entry of the plan becomes a buffer (a box indexed by the
recording instance, or a sequence the layout addresses with counters) and
record instructions that copy the value into it: before the reading
statement, after the writer, or before the forward sweep (values on
entry). Entries sharing one record (polyad.tape.sharing) share one buffer,
written once per value. polyad.program.lowering reads the tapes back in the
reverse sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl
import sympy

from polyad.ad.modes import ReverseMode
from polyad.program.derived import instance_reference, instance_relation
from polyad.program.ir import Assignment, Buffer, Instruction, Reference
from polyad.program.names import NameSupply
from polyad.program.sweeps import FORWARD
from polyad.schedule.tree import renamed, with_prefix, with_suffix
from polyad.tape.boxes import tape_box, tape_relation
from polyad.tape.plan import RecordKey, TapeEntry
from polyad.tape.registry import Layout

#: A lowered tape's key: the entry's (statement, symbol, piece).
TapeKey = tuple[str, sympy.Symbol, int]


@dataclass(frozen=True)
class LoweredTape:
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


def lower_tapes(adjoint: ReverseMode, layout: Layout, sequence: str | None,
                supply: NameSupply) -> dict[TapeKey, LoweredTape]:
    """Buffers and index relations of the tape in a layout: ``sequence``
    is the layout's (relation None, codegen addresses the tape with
    counters), or None to place even a sequence layout's tape in boxes;
    buffer names come from ``supply``, each from a stem of its own."""
    kernel = adjoint.kernel
    tapes = {}
    records: dict[RecordKey, tuple[Buffer, isl.Map]] = {}
    by_statement: dict[str, list[TapeEntry]] = {}
    shared = {entry.shares for entry in adjoint.tape.entries if entry.shares}
    for entry in adjoint.tape.entries:
        if entry.shares:
            continue
        if (entry.statement, entry.symbol) in shared and sequence:
            # Another reader looks values up in it: indexed by instance.
            tapes[entry.key] = LoweredTape(entry, *_box(
                supply.fresh(f"tape_{entry.statement}_shared_{len(tapes)}"), entry.instances,
                _reads(entry), entry.statement, kernel.context, entry.dtype))
            continue
        if entry.record is not None and entry.record.reader is None:
            # One record several reads look up (polyad.tape.sharing).
            if entry.record not in records:
                records[entry.record] = _box(
                    supply.fresh(_record_stem(entry.record, len(tapes))), entry.records,
                    _record_purpose(entry.record, adjoint.tape.entries), entry.recorder,
                    kernel.context, entry.dtype)
            buffer, relation = records[entry.record]
            tapes[entry.key] = LoweredTape(entry, buffer, relation,
                                           entry.lookup.apply_range(relation))
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
            tapes[entry.key] = LoweredTape(entry, buffer, relation,
                                           entry.lookup.apply_range(relation))
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
                tapes[entry.key] = LoweredTape(entry, buffer, None)
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
                tapes[entry.key] = LoweredTape(entry, buffer, relation)
        else:
            for index, entry in enumerate(entries):
                tapes[entry.key] = LoweredTape(entry, *_box(
                    supply.fresh(f"tape_{statement}_{index}"), entry.instances, _reads(entry), statement,
                    kernel.context, entry.dtype))
    for entry in adjoint.tape.entries:
        if entry.shares:
            source = tapes[(*entry.shares, 0)]  # a borrowed tape is never split
            tapes[entry.key] = LoweredTape(
                entry, source.buffer, source.relation, entry.lookup.apply_range(source.reading))
    return tapes


def _record_stem(key: RecordKey, count: int) -> str:
    """The name stem of a shared record's buffer."""
    if key.source:
        return f"keep_{key.source}_{key.array}_{count}"
    return f"entry_{key.array}_{count}"


def _record_purpose(key: RecordKey, entries: tuple[TapeEntry, ...]) -> str:
    """What a shared record holds, and for which reads."""
    reads = []
    for entry in entries:
        read = f"{entry.statement}'s {entry.access.text}"
        if entry.record == key and read not in reads:
            reads.append(read)
    held = f"{key.array} as {key.source} writes it" if key.source else \
        f"{key.array} as it was on entry"
    return f"{held}, for {', '.join(reads)}"


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


def record_groups(tapes: dict, writers: bool = False) -> dict[str, list[list[LoweredTape]]]:
    """Per recording statement, its tape entries grouped by set of recording
    instances (one record instruction each), in the order they are recorded:
    entries recorded by their readers, or (``writers``) by their writers."""
    by_statement: dict[str, list[list[LoweredTape]]] = {}
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


def _copies(group: list[LoweredTape], name: str, value: sympy.Symbol, source: Reference,
            supply: NameSupply) -> tuple[dict, list[Assignment]]:
    """References and body of record instruction ``name`` that copies one
    value (read through ``source``) into the tape of every entry of a group."""
    references, body, written = {value: source}, [], set()
    for position, tape in enumerate(group):
        if tape.buffer.name in written:  # a shared record, written once
            continue
        written.add(tape.buffer.name)
        slot = sympy.Symbol(supply.fresh(f"_tape{position}"), real=True)
        references[slot] = Reference(tape.buffer.name, instance_relation(tape.relation, name))
        body.append(Assignment(slot, "=", value))
    return references, body


def entry_records(tapes: dict, supply: NameSupply) -> list[Instruction]:
    """The copies, before the forward sweep, of the input values that
    entries recorded on entry need: one instruction per array and set of
    elements."""
    groups: list[list[LoweredTape]] = []
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


def forward_records(adjoint: ReverseMode, tapes: dict, flat: dict, schedule: list,
             supply: NameSupply) -> list[Instruction]:
    """The forward sweep's tape writes, just before their statement, one
    record instruction after the other (so that sequential tapes are
    written in a known order)."""
    kernel = adjoint.kernel
    instructions = []
    for statement_name, groups in record_groups(tapes).items():
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
    for writer_name, groups in record_groups(tapes, writers=True).items():
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
