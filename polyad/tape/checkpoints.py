"""The checkpoint layout: a time loop's reverse sweep rerun segment by segment.

The forward sweep runs the kernel and, at the first step of every segment
of ``every`` steps of the time loop, copies the snapshot state
(:mod:`polyad.tape.snapshots`) into a snapshot buffer; it records no tape
for the loop's steps. The reverse sweep takes the segments from last to
first: it restores the segment's snapshot, reruns the segment's forward
steps recording the exact tape of those steps only (the exact layout's
records, their step dimension taken modulo ``every``), then runs the
segment's reverse. The statements before and after the loop keep their
exact tape. Since the reruns leave the arrays as the first segment ends,
the forward sweep's final values of what the loop writes are copied once
more and put back after the reverse sweep, so the primal outputs are the
kernel's.

A program-to-program transform of the exact layout's program, on its flat
schedule (dimension 0 the sweep); the new schedule is, with ``c`` a
segment and ``t`` a step::

    forward   [0, 0, ..., t, 1, 0, ...]   snapshot [0, 0, ..., t, 0, 0, e]
    final     [0, 1, e]                   (the loop's writes, saved)
    reverse   [1, 0, ..., -c, 0, e]       restore
              [1, 0, ..., -c, 1, t, ...]  rerun with records
              [1, 0, ..., -c, 2, -t, ...] reverse
    finish    [2, 0, ...]                 [2, 1, e] (the final values back)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import islpy as isl
import sympy

from polyad.errors import UsageError
from polyad.model.kernel import Kernel, maps_of, union_of_maps
from polyad.program.derived import flat_by_statement
from polyad.program.ir import Assignment, Buffer, Instruction, Program, Reference
from polyad.program.names import NameSupply, program_identifiers
from polyad.program.sweeps import FINISH, FORWARD, REVERSE
from polyad.schedule.tree import fixed_value, padded, tree_from_flat
from polyad.tape.boxes import tape_box, tape_relation
from polyad.tape.snapshots import SnapshotState


@dataclass(frozen=True)
class LoopFrame:
    """Where the loop sits in the program's flat schedule: the forward
    head (constants before the step, ``forward`` its position) and the
    reverse one."""

    forward_head: tuple[int, ...]
    reverse_head: tuple[int, ...]

    @property
    def forward(self) -> int:
        return len(self.forward_head)

    @property
    def reverse(self) -> int:
        return len(self.reverse_head)


def checkpointed(placed: Program, kernel: Kernel, state: SnapshotState,
                 every: int) -> Program:
    """The program ``placed`` (the exact layout's, in the exact reverse
    order) with the loop of ``state`` checkpointed in segments of ``every``
    steps. Precondition: ``every`` >= 1."""
    if every < 1:
        raise UsageError(f"a checkpoint segment has at least one step, not {every}")
    flat = {m.get_tuple_name(isl.dim_type.in_): m for m in maps_of(placed.flat)}
    frame = frame_of(flat, kernel, state)
    loop = state.loop
    low = loop.steps.dim_min(0)
    segment_of = _segment(loop.steps, low, every)
    supply = NameSupply.of(program_identifiers(placed) | {i.name for i in placed.instructions})
    sweep, in_loop = placement(flat, frame)
    moved, moved_buffers = moved_records(placed, flat, frame)

    new_instructions: list[Instruction] = []
    schedule: list[isl.Map] = []
    for instruction in placed.instructions:
        name = instruction.name
        m = flat[name]
        if instruction.references and any(r.buffer in moved_buffers
                                          for r in instruction.references.values()):
            instruction = step_modulo(instruction, moved_buffers, every)
        kind = sweep(name)
        if kind == FORWARD:
            if in_loop(name):
                rerun = instruction if name in moved else renamed_copy(
                    instruction, supply.fresh(f"{name}_rerun"))
                new_instructions.append(rerun)
                schedule.append(schedule_pieces(rerun.domain, [
                    REVERSE, 0, *frame.reverse_head[1:], _negated(segment_of, rerun.domain),
                    1, tail_of(m, frame.forward).set_tuple_name(isl.dim_type.in_, rerun.name)]))
                if name in moved:
                    continue
            new_instructions.append(instruction)
            schedule.append(schedule_pieces(instruction.domain, [
                constant_head(m, 1), 0, dimensions_of(m, 1, frame.forward + 1), 1, 0,
                tail_of(m, frame.forward + 1)]))
        elif kind == REVERSE:
            new_instructions.append(instruction)
            step = [_negated(segment_of, instruction.domain), 2] if in_loop(name) else [0, 0]
            schedule.append(schedule_pieces(instruction.domain, [
                constant_head(m, 1), 0, dimensions_of(m, 1, frame.reverse), *step,
                tail_of(m, frame.reverse)]))
        else:
            new_instructions.append(instruction)
            schedule.append(schedule_pieces(instruction.domain, [constant_head(m, 1), 0,
                                                         tail_of(m, 1)]))
    buffers = [b if b.name not in moved_buffers else shortened(b, every)
               for b in placed.buffers]
    for array, elements in state.state:
        snapshot, relations = _snapshot_buffer(kernel, array, elements, low, every,
                                               segment_of, supply.fresh(f"snapshot_{array}"),
                                               loop.steps)
        buffers.append(snapshot)
        domain, to_array, to_snapshot = relations
        for stem, into, outof, place in (
                ("snapshot", snapshot.name, array, "save"),
                ("restore", array, snapshot.name, "restore")):
            name = supply.fresh(f"{stem}_{array}")
            instruction = copy_instruction(name, domain.set_tuple_name(name), into, outof,
                                to_array, to_snapshot, array, snapshot.name,
                                f"{place} the snapshot of {array} at the first step of a "
                                f"segment of {every}")
            new_instructions.append(instruction)
            elements_at = [_var(instruction.domain, d)
                           for d in range(1, instruction.domain.dim(isl.dim_type.set))]
            if place == "save":
                schedule.append(schedule_pieces(instruction.domain, [
                    FORWARD, 0, *frame.forward_head[1:], _var(instruction.domain, 0), 0, 0,
                    *elements_at]))
            else:
                schedule.append(schedule_pieces(instruction.domain, [
                    REVERSE, 0, *frame.reverse_head[1:], _negated(segment_of,
                                                                  instruction.domain),
                    0, *elements_at]))
    for array, elements in state.written:
        final, domain, to_array, to_final = final_buffer(kernel, array, elements,
                                                          supply.fresh(f"final_{array}"))
        buffers.append(final)
        for stem, into, outof, sweep_at in (("keep_final", final.name, array, FORWARD),
                                            ("put_back", array, final.name, FINISH)):
            name = supply.fresh(f"{stem}_{array}")
            instruction = copy_instruction(name, domain.set_tuple_name(name), into, outof, to_array,
                                to_final, array, final.name,
                                f"{'keep' if sweep_at == FORWARD else 'put back'} the final "
                                f"values of {array} the reruns overwrite")
            new_instructions.append(instruction)
            schedule.append(schedule_pieces(instruction.domain, [
                sweep_at, 1, *[_var(instruction.domain, d)
                               for d in range(instruction.domain.dim(isl.dim_type.set))]]))
    flat_map = union_of_maps(padded(schedule))
    return replace(placed, buffers=tuple(buffers), instructions=tuple(new_instructions),
                   schedule=tree_from_flat(flat_map), flat=flat_map)


def segment_tapes(placed: Program, kernel: Kernel, state: SnapshotState) -> frozenset[str]:
    """The tape buffers of ``placed`` that :func:`checkpointed` shortens to a
    segment of steps (the others keep their size): recorded by the loop's
    steps and read only by the reverse of the same step."""
    flat = {m.get_tuple_name(isl.dim_type.in_): m for m in maps_of(placed.flat)}
    return frozenset(moved_records(placed, flat, frame_of(flat, kernel, state))[1])


def placement(flat: dict[str, isl.Map], frame: "LoopFrame"):
    """The sweep of an instruction, and whether it runs in the loop's steps."""
    def sweep(name: str) -> int:
        return fixed_value(flat[name], 0)

    def in_loop(name: str) -> bool:
        # A piece of one step (the reverse of the last step, split off where
        # its tape differs) has a constant step dimension: still a step.
        m = flat[name]
        head = frame.forward_head if sweep(name) == FORWARD else frame.reverse_head
        if sweep(name) not in (FORWARD, REVERSE) or m.dim(isl.dim_type.out) <= len(head) \
                or m.dim(isl.dim_type.in_) == 0:
            return False
        if not all(fixed_value(m, d) == value for d, value in enumerate(head)):
            return False
        step = m.equate(isl.dim_type.in_, 0, isl.dim_type.out, len(head)) \
            if sweep(name) == FORWARD else m.oppose(isl.dim_type.in_, 0, isl.dim_type.out,
                                                    len(head))
        return step.is_equal(m)
    return sweep, in_loop


def moved_records(placed: Program, flat: dict[str, isl.Map], frame: "LoopFrame"):
    """The forward records that move into the reruns, and the tape buffers
    they write (the segment's tape)."""
    sweep, in_loop = placement(flat, frame)
    instructions = {i.name: i for i in placed.instructions}
    tapes = {b.name for b in placed.buffers if b.tape}
    records = {name for name, i in instructions.items() if sweep(name) == FORWARD
               and all(i.references.get(a.target) is not None
                       and i.references[a.target].buffer in tapes for a in i.body)}
    buffers = _segment_local(placed, tapes, records, in_loop)
    moved = {name for name in records if in_loop(name)
             and _written(instructions[name]) <= buffers}
    buffers = {b for b in buffers if all(name in moved for name in _writers(placed, b))}
    moved = {name for name in moved if _written(instructions[name]) <= buffers}
    return moved, buffers


def frame_of(flat: dict[str, isl.Map], kernel: Kernel, state: SnapshotState) -> LoopFrame:
    """The loop's heads in the program's flat schedule, found on its first
    statement's primal instruction (named as the statement) and the
    kernel's flat schedule (which the reverse sweep negates)."""
    first = state.loop.statements[0]
    forward = _step_position(flat[first], 1)
    kernel_flat = flat_by_statement(kernel)[first]
    position = _step_position(kernel_flat, 1)
    return LoopFrame(tuple(fixed_value(flat[first], d) for d in range(forward)),
                  (REVERSE, *(-fixed_value(kernel_flat, d) for d in range(position))))


def _step_position(m: isl.Map, sign: int) -> int:
    """The output dimension equal to ``sign`` times the first iterator."""
    for d in range(m.dim(isl.dim_type.out)):
        if fixed_value(m, d) is not None:
            continue
        equal = m.equate(isl.dim_type.in_, 0, isl.dim_type.out, d) if sign > 0 else \
            m.oppose(isl.dim_type.in_, 0, isl.dim_type.out, d)
        if equal.is_equal(m):
            return d
        break
    raise UsageError("the checkpoint layout needs the time loop outermost in the schedule")


def _segment(steps: isl.Set, low: isl.PwAff, every: int) -> isl.PwAff:
    """{ [t] -> floor((t - low) / every) } on the steps."""
    t = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(steps.get_space()),
                                isl.dim_type.set, 0)
    return t.sub(low.insert_domain(steps.get_space())).scale_down_val(
        isl.Val(every)).floor().intersect_domain(steps)


def _on(pa: isl.PwAff, domain: isl.Set) -> isl.PwAff:
    """``pa`` (a function of the step) on an instance domain whose first
    dimension is the step."""
    n = domain.dim(isl.dim_type.set)
    step = isl.Map.identity(domain.get_space().map_from_set()).intersect_domain(domain)
    step = step.project_out(isl.dim_type.out, 1, n - 1).reset_tuple_id(isl.dim_type.out)
    step = step.set_dim_name(isl.dim_type.out, 0, pa.get_domain_space().get_dim_name(
        isl.dim_type.set, 0) or "t")
    return pa.pullback_pw_multi_aff(isl.PwMultiAff.from_map(step))


def _negated(segment_of: isl.PwAff, domain: isl.Set) -> isl.PwAff:
    return _on(segment_of, domain).neg()


def _var(domain: isl.Set, d: int) -> isl.PwAff:
    return isl.PwAff.var_on_domain(isl.LocalSpace.from_space(domain.get_space()),
                                   isl.dim_type.set, d).intersect_domain(domain)


def schedule_pieces(domain: isl.Set, items: list) -> isl.Map:
    """One schedule map from pieces in order: ints (constants), PwAffs on
    the domain, maps from the domain (several dimensions each)."""
    result = None
    for item in items:
        if isinstance(item, int):
            item = isl.PwAff.val_on_domain(domain, isl.Val(item))
        if isinstance(item, isl.PwAff):
            item = isl.Map.from_pw_aff(item)
        if item is None:
            continue
        item = item.intersect_domain(domain).reset_tuple_id(isl.dim_type.out)
        result = item if result is None else result.flat_range_product(item)
    return result.reset_tuple_id(isl.dim_type.out)


def constant_head(m: isl.Map, count: int) -> isl.Map:
    """The first ``count`` output dimensions of a flat schedule map."""
    return dimensions_of(m, 0, count)


def dimensions_of(m: isl.Map, start: int, stop: int) -> isl.Map | None:
    """Output dimensions start..stop-1 of a map (None when none)."""
    n = m.dim(isl.dim_type.out)
    if stop <= start:
        return None
    return m.project_out(isl.dim_type.out, stop, n - stop).project_out(
        isl.dim_type.out, 0, start)


def tail_of(m: isl.Map, start: int) -> isl.Map | None:
    """Output dimensions ``start`` on of a map (None when none)."""
    return dimensions_of(m, start, m.dim(isl.dim_type.out))


def _written(instruction: Instruction) -> set[str]:
    return {instruction.references[a.target].buffer for a in instruction.body
            if a.target in instruction.references}


def _writers(program: Program, buffer: str) -> set[str]:
    return {i.name for i in program.instructions if buffer in _written(i)}


def _segment_local(program: Program, tapes: set[str], records: set[str],
                   in_loop) -> set[str]:
    """The tape buffers that the loop's records write and only the loop's
    reverse instructions of the same step read, indexed by the step
    (minus a constant) in their first dimension: those the reruns hold a
    segment of."""
    local = set()
    for buffer in tapes:
        writes, reads, ok = [], [], True
        for instruction in program.instructions:
            for symbol, reference in instruction.references.items():
                if reference.buffer != buffer:
                    continue
                if reference.relation is None or not in_loop(instruction.name):
                    ok = False
                elif any(a.target == symbol for a in instruction.body):
                    ok = ok and instruction.name in records
                    writes.append(reference.relation)
                else:
                    reads.append(reference.relation)
        if not ok or not writes:
            continue
        written, read = union_of_maps(writes), union_of_maps(reads) if reads else None
        if not all(_indexed_by_step(m) for m in writes):
            continue
        if read is not None:
            pairs = written.apply_range(read.reverse())
            if not all(m.equate(isl.dim_type.in_, 0, isl.dim_type.out, 0).is_equal(m)
                       for m in maps_of(pairs)):
                continue
        local.add(buffer)
    return local


def _indexed_by_step(relation: isl.Map) -> bool:
    """Whether the first index of ``relation``'s elements is the instance's
    step less one value (per size)."""
    if relation.dim(isl.dim_type.out) == 0 or relation.dim(isl.dim_type.in_) == 0:
        return False
    first = relation.project_out(isl.dim_type.out, 1, relation.dim(isl.dim_type.out) - 1)
    first = first.project_out(isl.dim_type.in_, 1, relation.dim(isl.dim_type.in_) - 1)
    first = first.reset_tuple_id(isl.dim_type.in_).reset_tuple_id(isl.dim_type.out)
    deltas = first.deltas()
    return deltas.params().is_subset(deltas.dim_min(0).eq_set(deltas.dim_max(0)))


def step_modulo(instruction: Instruction, buffers: set[str], every: int) -> Instruction:
    """The instruction with its references to ``buffers`` taking the first
    index modulo ``every``."""
    references = {}
    for symbol, reference in instruction.references.items():
        if reference.buffer in buffers and reference.relation is not None:
            space = reference.relation.get_space().range()
            n = space.dim(isl.dim_type.set)
            local = isl.LocalSpace.from_space(space)
            first = isl.PwAff.var_on_domain(local, isl.dim_type.set, 0).mod_val(isl.Val(every))
            wrap = isl.Map.from_pw_aff(first)
            for d in range(1, n):
                wrap = wrap.flat_range_product(isl.Map.from_pw_aff(
                    isl.PwAff.var_on_domain(local, isl.dim_type.set, d)))
            wrap = wrap.set_tuple_name(isl.dim_type.out, reference.buffer)
            reference = replace(reference, relation=reference.relation.apply_range(wrap))
        references[symbol] = reference
    return replace(instruction, references=references)


def shortened(buffer: Buffer, every: int) -> Buffer:
    """A segment's worth of a step-indexed tape buffer."""
    first = buffer.extents[0]
    cap = isl.PwAff.val_on_domain(first.domain(), isl.Val(every))
    return replace(buffer, extents=(first.min(cap).coalesce(), *buffer.extents[1:]),
                   purpose=f"{buffer.purpose}, one segment of {every} steps")


def renamed_copy(instruction: Instruction, name: str) -> Instruction:
    """A copy of ``instruction`` named ``name``, its references (a
    gather's index references too) renamed with it."""
    references = {symbol: reference.renamed(name)
                  for symbol, reference in instruction.references.items()}
    return replace(instruction, name=name, domain=instruction.domain.set_tuple_name(name),
                   references=references, family="",
                   comment=f"rerun of {instruction.comment}")


def _snapshot_buffer(kernel: Kernel, array: str, elements: isl.Map, low: isl.PwAff,
                     every: int, segment_of: isl.PwAff, name: str, steps: isl.Set):
    """The snapshot buffer of one array (segments x the box of its
    elements) and the copy's domain (first step of a segment x elements)
    with its relations to the array and to the buffer."""
    starts = steps & _on_steps(segment_of, every, low, steps)
    at_starts = elements.intersect_domain(starts)
    segments = isl.Map.from_pw_aff(segment_of).range()
    _, counts = tape_box(segments, kernel.context)
    lows, extents = tape_box(elements.range(), kernel.context)
    buffer = Buffer(name, kernel.array(array).dtype, (counts[0], *extents), "local",
                    purpose=f"snapshots of {array}, one per segment", tape=array)
    domain = at_starts.wrap().flatten()
    to_array = isl.Map.range_map(at_starts).flatten_domain()
    by_segment = isl.Map.domain_map(at_starts).apply_range(isl.Map.from_pw_aff(segment_of))
    inside = isl.Map.range_map(at_starts).apply_range(
        tape_relation(elements.range(), lows, name))
    to_snapshot = by_segment.flat_range_product(inside).flatten_domain() \
        .set_tuple_name(isl.dim_type.out, name)
    return buffer, (domain, to_array, to_snapshot)


def _on_steps(segment_of: isl.PwAff, every: int, low: isl.PwAff, steps: isl.Set) -> isl.Set:
    """The first step of each segment: t = low + every * segment(t)."""
    t = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(steps.get_space()),
                                isl.dim_type.set, 0)
    start = segment_of.scale_val(isl.Val(every)).add(low.insert_domain(steps.get_space()))
    return t.eq_set(start)


def final_buffer(kernel: Kernel, array: str, elements: isl.Set, name: str):
    lows, extents = tape_box(elements, kernel.context)
    buffer = Buffer(name, kernel.array(array).dtype, tuple(extents), "local",
                    purpose=f"final values of {array}", tape=array)
    identity = isl.Map.identity(elements.get_space().map_from_set()).intersect_domain(elements)
    return buffer, elements, identity, tape_relation(elements, lows, name)


def copy_instruction(name: str, domain: isl.Set, into: str, outof: str, to_array: isl.Map,
          to_buffer: isl.Map, array: str, buffer: str, comment: str) -> Instruction:
    """``into[...] = outof[...]`` over ``domain``, one of them the array."""
    relations = {array: to_array, buffer: to_buffer}
    target = sympy.Symbol(f"_into_{into}", real=True)
    source = sympy.Symbol(f"_from_{outof}", real=True)
    references = {
        target: Reference(into, relations[into].set_tuple_name(isl.dim_type.in_, name)
                          .intersect_domain(domain)),
        source: Reference(outof, relations[outof].set_tuple_name(isl.dim_type.in_, name)
                          .intersect_domain(domain)),
    }
    return Instruction(name, domain, references, (Assignment(target, "=", source),),
                       comment=comment)
