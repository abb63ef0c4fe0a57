"""The stream layout, for any schedule of the reverse sweep.

``stream_in_order``: the reverse sweep reads each tape front to back, in
whatever order it runs. The forward sweep records into the instance-indexed
tape; a copy pass, scheduled exactly like the reverse sweep's reads, moves
the values into a FIFO in reading order; the reverse sweep then reads the
FIFO sequentially. (In the exact reverse order no pass is needed: lowering
writes the stream from its end, see polyad.program.lowering.)
"""

from __future__ import annotations

from dataclasses import replace

import islpy as isl
import sympy

from polyad.model.kernel import maps_of, union_of_maps
from polyad.tape.boxes import tape_box
from polyad.program.names import NameSupply, program_identifiers
from polyad.program.ir import Assignment, Buffer, Instruction, Program, Reference
from polyad.schedule.marks import LoopMark, Parallel
from polyad.schedule.schedule import Schedule
from polyad.schedule.tree import fixed_value, padded, tree_from_flat, with_prefix
from polyad.program.sweeps import FORWARD, REVERSE, STREAM_COPY, streamed


def _with_sweep(flat: isl.Map, sweep: int) -> isl.Map:
    return with_prefix(flat.project_out(isl.dim_type.out, 0, 1), sweep)


def stream_in_order(program: Program, schedule: Schedule) -> Program:
    """The program with every tape read by the reverse sweep from a FIFO
    filled, just before the reverse sweep, in the reverse sweep's order."""
    flats = {m.get_tuple_name(isl.dim_type.in_): m for m in maps_of(schedule.flat)}
    buffers = {b.name: b for b in program.buffers}
    supply = NameSupply.of(program_identifiers(program))
    streams: dict[tuple[str, str, str], Buffer] = {}
    instructions, maps, reading = [], [], set()
    for instruction in program.instructions:
        flat = flats[instruction.name]
        sweep = fixed_value(flat, 0)
        taped = [symbol for symbol, reference in instruction.references.items()
                 if reference.relation is not None and buffers[reference.buffer].tape
                 and sweep == REVERSE]
        if not taped:
            instructions.append(instruction)
            maps.append(flat if sweep == FORWARD else _with_sweep(flat, streamed(sweep)))
            continue
        name = f"{instruction.name}_stream"
        references, body, popped = {}, [], {}
        # One FIFO per read of a tape, as long as the reading instruction
        # has instances (readers may share a recorded value); two reads of
        # one tape by one instruction push two values per instance.
        _, capacity = tape_box(instruction.domain, program.context)
        for position, symbol in enumerate(taped):
            reference = instruction.references[symbol]
            tape = buffers[reference.buffer]
            key = (tape.name, instruction.name, symbol.name)
            if key not in streams:
                fifo = supply.fresh(f"stream_{tape.name}_{instruction.name}")
                supply = supply.taking([fifo])
                streams[key] = replace(
                    tape, name=fifo, sequence="fifo",
                    extents=tuple(capacity) or (isl.PwAff.val_on_domain(program.context,
                                                                          isl.Val(1)),),
                    purpose=f"{tape.purpose}, in the reverse sweep's order")
            stream = streams[key]
            value = sympy.Symbol(supply.fresh(f"_value{position}"), real=True)
            slot = sympy.Symbol(supply.fresh(f"_stream{position}"), real=True)
            references[value] = Reference(tape.name, reference.relation.set_tuple_name(
                isl.dim_type.in_, name))
            references[slot] = Reference(stream.name, None, push=True)
            body.append(Assignment(slot, "=", value))
            popped[symbol] = Reference(stream.name, None)
        instructions.append(Instruction(
            name, instruction.domain.set_tuple_name(name), references, tuple(body),
            comment=f"stream the tape of the {instruction.comment}", line=instruction.line))
        maps.append(_with_sweep(flat.set_tuple_name(isl.dim_type.in_, name), STREAM_COPY))
        instructions.append(replace(instruction, references={
            symbol: popped.get(symbol, reference)
            for symbol, reference in instruction.references.items()}))
        maps.append(_with_sweep(flat, streamed(REVERSE)))
        reading.add(instruction.name)

    def marks(group: list[isl.Map], position: int) -> list[LoopMark]:
        names = {m.get_tuple_name(isl.dim_type.in_) for m in group}
        found = schedule.marks_for(group, position)
        # A FIFO is read through one counter: no parallel loop around it.
        if names & reading:
            found = [mark for mark in found if not isinstance(mark, Parallel)]
        return found

    flat = union_of_maps(padded(maps))
    return replace(program, instructions=tuple(instructions),
                   buffers=program.buffers + tuple(streams.values()),
                   schedule=tree_from_flat(flat, marks=marks), flat=flat)
