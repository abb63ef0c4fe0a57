"""The checkpoint layout with binomial snapshots: the program of a revolve schedule.

With ``snapshots`` slots, the program runs as a loop over the action table
of polyad.tape.revolve (computed at run time, the number of steps being a
size): each action is one block of instances, parametric in the action's
``lo``, ``hi`` and ``slot``:

    pre       the forward sweep before the time loop (with its tape)
    advance   the loop's forward instances of steps lo..hi-1, no records
    takeshot  the snapshot state at step lo into slot ``slot``
    restore   the same state back from the slot
    record    step lo with the exact tape of one step
    middle    the forward sweep after the loop, the final values kept, then
              its reverse
    reverse   the reverse of step lo
    end       the reverse sweep before the loop, the finish, the final
              values put back

A program-to-program transform of the exact layout's program (like
polyad.tape.checkpoints, whose pieces it shares); the tape of one step is
the segment tape of segments of one step.
"""

from __future__ import annotations

from dataclasses import replace

import islpy as isl

from polyad.errors import PolyadError, UsageError
from polyad.model.kernel import Kernel, maps_of, union_of_maps, union_of_sets
from polyad.program.ir import Buffer, Driver, Instruction, Program
from polyad.program.names import NameSupply, program_identifiers
from polyad.program.sweeps import FORWARD, REVERSE
from polyad.schedule.tree import fixed_value, padded, tree_from_flat
from polyad.tape.boxes import tape_box, tape_relation
from polyad.tape.checkpoints import (copy_instruction, final_buffer, frame_of,
                                     moved_records, placement, renamed_copy, schedule_pieces,
                                     shortened, step_modulo, tail_of)
from polyad.tape.revolve import ACTION_KINDS
from polyad.tape.snapshots import SnapshotState


def revolved(placed: Program, kernel: Kernel, state: SnapshotState, snapshots: int) -> Program:
    """The program ``placed`` (the exact layout's, in the exact reverse
    order) with the loop of ``state`` reversed by revolve with ``snapshots``
    slots. Precondition: ``snapshots`` >= 1."""
    if snapshots < 1:
        raise UsageError(f"binomial checkpointing needs at least one snapshot, not {snapshots}")
    flat = {m.get_tuple_name(isl.dim_type.in_): m for m in maps_of(placed.flat)}
    frame = frame_of(flat, kernel, state)
    sweep, in_loop = placement(flat, frame)
    moved, moved_buffers = moved_records(placed, flat, frame)
    supply = NameSupply.of(program_identifiers(placed) | {i.name for i in placed.instructions})
    names = [supply.fresh(stem) for stem in ("revolve_lo", "revolve_hi", "revolve_slot")]
    supply = supply.taking(names)
    params = isl.Space.params_alloc(isl.DEFAULT_CONTEXT, 3)
    for d, name in enumerate(names):
        params = params.set_dim_name(isl.dim_type.param, d, name)

    blocks: dict[str, list[tuple[Instruction, list]]] = {kind: [] for kind in ACTION_KINDS}
    for instruction in placed.instructions:
        name = instruction.name
        m = flat[name]
        if any(r.buffer in moved_buffers for r in instruction.references.values()):
            instruction = step_modulo(instruction, moved_buffers, 1)
        kind = sweep(name)
        if kind == FORWARD and in_loop(name):
            record = instruction if name in moved else renamed_copy(
                instruction, supply.fresh(f"{name}_record"))
            supply = supply.taking([record.name])
            blocks["record"].append((_at_step(record, params, "at"),
                                     [_tail(m, frame.forward, record.name)]))
            if name not in moved:
                blocks["advance"].append((_at_step(instruction, params, "range"),
                                          [_tail(m, frame.forward, name)]))
        elif kind == FORWARD:
            where = "pre" if _before(m, frame.forward_head) else "middle"
            blocks[where].append((instruction, [0, m] if where == "middle" else [m]))
        elif kind == REVERSE and in_loop(name):
            blocks["reverse"].append((_at_step(instruction, params, "at"),
                                      [_tail(m, frame.reverse, name)]))
        elif kind == REVERSE:
            # The reverse sweep meets the statements after the loop first.
            if _before(m, frame.reverse_head):
                blocks["middle"].append((instruction, [2, m]))
            else:
                blocks["end"].append((instruction, [0, m]))
        else:
            blocks["end"].append((instruction, [1, 0, m]))
    buffers = [b if b.name not in moved_buffers else shortened(b, 1) for b in placed.buffers]
    slots = snapshots
    for array, elements in state.state:
        snapshot, domain, to_array, to_slot = _snapshot(kernel, array, elements, slots,
                                                         supply.fresh(f"snapshot_{array}"),
                                                         params)
        supply = supply.taking([snapshot.name])
        buffers.append(snapshot)
        for kind, into, outof in (("takeshot", snapshot.name, array),
                                  ("restore", array, snapshot.name)):
            name = supply.fresh(f"{kind}_{array}")
            supply = supply.taking([name])
            copy = copy_instruction(name, domain.set_tuple_name(name), into, outof, to_array,
                                    to_slot, array, snapshot.name,
                                    f"{kind} of {array}'s state at a step, slot "
                                    f"{names[2]} of {snapshots}")
            blocks[kind].append((copy, [_all(copy.domain)]))
    for array, elements in state.written:
        final, domain, to_array, to_final = final_buffer(kernel, array, elements,
                                                         supply.fresh(f"final_{array}"))
        supply = supply.taking([final.name])
        buffers.append(final)
        for kind, stem, into, outof, head in (
                ("middle", "keep_final", final.name, array, [1]),
                ("end", "put_back", array, final.name, [1, 1])):
            name = supply.fresh(f"{stem}_{array}")
            supply = supply.taking([name])
            copy = copy_instruction(name, domain.set_tuple_name(name), into, outof, to_array,
                                    to_final, array, final.name,
                                    f"{'keep' if kind == 'middle' else 'put back'} the final "
                                    f"values of {array} the reruns overwrite")
            blocks[kind].append((copy, [*head, _all(copy.domain)]))

    instructions, schedule, domains = [], [], []
    for index, kind in enumerate(ACTION_KINDS):
        members = blocks[kind]
        for instruction, items in members:
            instructions.append(instruction)
            schedule.append(schedule_pieces(instruction.domain, [index, *items]))
        domains.append((kind, union_of_sets([i.domain for i, _ in members],
                                            placed.context.get_space())))
    flat_map = union_of_maps(padded(schedule))
    low, high = state.loop.steps.dim_min(0), state.loop.steps.dim_max(0)
    driver = Driver(slots, low.coalesce(), high.coalesce(), *names, blocks=tuple(domains))
    return replace(placed, buffers=tuple(buffers), instructions=tuple(instructions),
                   schedule=tree_from_flat(flat_map), flat=flat_map, driver=driver)


def _before(m: isl.Map, head: tuple[int, ...]) -> bool:
    """Whether an instruction's flat schedule comes before the loop's head."""
    for d, value in enumerate(head):
        fixed = fixed_value(m, d)
        if fixed is None:
            raise PolyadError("internal error: an instruction shares the time loop's position "
                              "without being in the loop")
        if fixed != value:
            return fixed < value
    raise PolyadError("internal error: an instruction at the time loop's position")


def _tail(m: isl.Map, start: int, name: str) -> isl.Map:
    return tail_of(m, start).set_tuple_name(isl.dim_type.in_, name)


def _all(domain: isl.Set) -> isl.Map:
    """The identity schedule of a copy's instances (their element order)."""
    return isl.Map.identity(domain.get_space().map_from_set()).intersect_domain(
        domain).reset_tuple_id(isl.dim_type.out)


def _parameter(space: isl.Space, params: isl.Space, d: int) -> isl.PwAff:
    """Parameter ``d`` of ``params`` as a function on ``space``."""
    aligned = space.align_params(params)
    position = aligned.find_dim_by_name(isl.dim_type.param, params.get_dim_name(
        isl.dim_type.param, d))
    return isl.PwAff.var_on_domain(isl.LocalSpace.from_space(aligned), isl.dim_type.param,
                                   position)


def _at_step(instruction: Instruction, params: isl.Space, how: str) -> Instruction:
    """The instruction's instances at step ``lo`` (``at``) or in steps
    lo..hi-1 (``range``), the step being its first iterator."""
    domain = instruction.domain.align_params(params)
    space = domain.get_space()
    step = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(space), isl.dim_type.set, 0)
    lo = _parameter(space, params, 0)
    if how == "at":
        domain = domain & step.eq_set(lo)
    else:
        domain = domain & step.ge_set(lo) & step.lt_set(_parameter(space, params, 1))
    return replace(instruction, domain=domain)


def _snapshot(kernel: Kernel, array: str, elements: isl.Map, slots: int, name: str,
              params: isl.Space):
    """The slots of one array's snapshots (slots x the box of its state),
    the copies' domain (the state at step ``lo``) and their relations to
    the array and to slot ``slot``."""
    lows, extents = tape_box(elements.range(), kernel.context)
    # Every slot revolve may use: its slot numbers run over the loop's steps,
    # not over the fewer steps at which this array has state (k_b[c - 1]
    # from the second step on had n - 3 slots at n = 5 where revolve used
    # three: a heap-buffer-overflow the fuzz found).
    count = isl.PwAff.val_on_domain(kernel.context, isl.Val(slots))
    buffer = Buffer(name, kernel.array(array).dtype, (count, *extents), "local",
                    purpose=f"snapshots of {array}, {slots} slots", tape=array)
    steps_space = elements.get_space().domain().align_params(params)
    step = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(steps_space), isl.dim_type.set, 0)
    at_lo = step.eq_set(_parameter(steps_space, params, 0))
    state = elements.align_params(params).intersect_domain(at_lo).range()
    identity = isl.Map.identity(state.get_space().map_from_set()).intersect_domain(state)
    inside = tape_relation(state, lows, name)
    slot = isl.Map.from_pw_aff(_parameter(state.get_space(), params, 2)).intersect_domain(state)
    to_slot = slot.flat_range_product(inside).set_tuple_name(isl.dim_type.out, name)
    return buffer, state, identity, to_slot
