"""The layers layout: a program-to-program transform applied once the
reverse sweep has its schedule (the stream layout is in polyad.tape.streams).

``staged_layers``: the reverse sweep in layers whose tape operands and array
elements are staged through a scratchpad (see :func:`staged_layers`); which
instructions a layer takes is :mod:`polyad.tape.bands`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import islpy as isl
import sympy

from polyad.errors import UsageError
from polyad.model.kernel import BUFFER_BYTES, fix_sizes, maps_of, union_of_maps
from polyad.program.ir import Assignment, Buffer, Instruction, Program, Reference
from polyad.tape.bands import loop_nests, refuse_unstaged_inside
from polyad.schedule.schedule import Schedule
from polyad.program.names import NameSupply, program_identifiers
from polyad.schedule.tree import (constant_piece, fixed_value, map_from_pieces, output_pieces,
                                  padded, tree_from_flat)
from polyad.program.sweeps import REVERSE


@dataclass(frozen=True)
class StagedBuffer:
    """Part of a buffer a layer stages: the elements its ``references``
    (instruction, symbol) touch, which overlap one another (references whose
    elements never meet get boxes of their own); its box per layer (bounds
    on the layer's key space), the scratch extents (in the sizes), and
    whether it is written."""

    name: str
    part: int
    references: frozenset[tuple[str, sympy.Symbol]]
    lows: tuple[isl.PwAff, ...]
    highs: tuple[isl.PwAff, ...]
    extents: tuple[isl.PwAff, ...]
    bytes: int
    written: isl.Map | None  # key -> elements the layer writes (copied back), if any


@dataclass(frozen=True)
class Layer:
    """A nest of the reverse sweep run in layers: ``size`` iterations of
    its loop at ``position`` at a time, each staged through the scratchpad."""

    instructions: tuple[str, ...]
    position: int
    size: int
    buffers: tuple[StagedBuffer, ...]

    @property
    def bytes(self) -> int:
        return sum(b.bytes for b in self.buffers)


def plan_layers(program: Program, schedule: Schedule, scratchpad: int,
                sizes: Mapping[str, int]) -> list[Layer]:
    """Layers of the reverse sweep whose staged footprint fits ``scratchpad``
    bytes at ``sizes``: each top-level nest is layered along its outermost
    loop, as many iterations per layer as fit; a nest of which not even one
    iteration fits is layered along its inner loops instead. Precondition:
    ``sizes`` gives every size parameter of ``program``."""
    specialized, maps = specialize(program, schedule, sizes)
    return _plan(specialized, maps, scratchpad, sizes)


def specialize(program: Program, schedule: Schedule,
               sizes: Mapping[str, int]) -> tuple[Program, list[isl.Map]]:
    """The program and its flat schedule maps with every size parameter
    fixed at ``sizes``. Why: the boxes of parametric footprints are
    piecewise in the sizes (a stencil's pieces exist for n = 3, n >= 4, ...),
    and isl took minutes and gigabytes to print the copies of such boxes;
    fixed, every box is a constant."""
    missing = sorted(set(program.context.get_space().get_var_dict(isl.dim_type.param))
                     - set(sizes))
    if missing:
        raise UsageError(f"--layout layers needs a value for every size: missing "
                         f"{', '.join(missing)} (give -D NAME=VALUE or --dataset)")
    context = fix_sizes(program.context, sizes)
    if context.is_empty():
        raise UsageError(f"sizes {dict(sizes)} are outside the kernel's domain "
                         f"{program.context}")
    instructions = tuple(replace(
        instruction, domain=fix_sizes(instruction.domain, sizes),
        references={symbol: (replace(reference, relation=fix_sizes(reference.relation, sizes))
                             if reference.relation is not None else reference)
                    for symbol, reference in instruction.references.items()})
        for instruction in program.instructions)
    maps = [fix_sizes(m, sizes) for m in maps_of(schedule.flat)]
    fixed = tuple(sorted((name, int(value)) for name, value in sizes.items()
                         if name in program.context.get_space().get_var_dict(
                             isl.dim_type.param)))
    return replace(program, instructions=instructions, context=context,
                   sizes=fixed), maps


def _plan(program: Program, maps: list[isl.Map], scratchpad: int,
          sizes: Mapping[str, int]) -> list[Layer]:
    maps = padded(maps)
    reverse = [m for m in maps if fixed_value(m, 0) == REVERSE]
    layers: list[Layer] = []
    for group, position in loop_nests(maps, reverse, 1):
        layers += _layered(program, maps, group, position, scratchpad, sizes)
    staged = [name for layer in layers for name in layer.instructions]
    if len(staged) != len(set(staged)):
        # Staging an instruction twice makes the outer layer index the inner
        # layer's scratch buffers with the outer boxes: out of bounds.
        raise AssertionError(f"instructions in two layers: {sorted(staged)}")
    refuse_unstaged_inside(maps, layers)
    return layers


def _layered(program, every, group, position, scratchpad, sizes) -> list[Layer]:
    low, high = _loop_range(group, position, sizes)
    if low > high:  # no iteration at these sizes: nothing to stage
        return []
    candidates = sorted({high - low + 1} | {1 << k for k in range(max(high - low, 1)
                                                                   .bit_length())},
                        reverse=True)
    smallest = None
    for size in candidates:
        if size < 1 or size > high - low + 1:
            continue
        buffers = _footprints(program, group, position, size, sizes)
        total = sum(b.bytes for b in buffers)
        smallest = total if smallest is None else min(smallest, total)
        if total <= scratchpad:
            return [Layer(tuple(sorted(g.get_tuple_name(isl.dim_type.in_) for g in group)),
                          position, size, tuple(buffers))]
    names = {g.get_tuple_name(isl.dim_type.in_) for g in group}
    inner = loop_nests(every, group, position + 1)
    if not inner:
        raise UsageError(
            f"no layer of the reverse sweep of {', '.join(sorted(names))} fits a scratchpad "
            f"of {scratchpad} bytes: one iteration of its innermost loop needs "
            f"{smallest} bytes")
    layers = []
    for inner_group, inner_position in inner:
        layers += _layered(program, every, inner_group, inner_position, scratchpad, sizes)
    return layers


def _loop_range(group: list[isl.Map], position: int, sizes) -> tuple[int, int]:
    values = None
    for m in group:
        piece = fix_sizes(m.range(), sizes).project_out(
            isl.dim_type.set, position + 1, m.dim(isl.dim_type.out) - position - 1
        ).project_out(isl.dim_type.set, 0, position)
        values = piece if values is None else values | piece
    if values is None or values.is_empty():
        return 0, -1
    low = int(values.dim_min(0).min_val().to_python())
    high = int(values.dim_max(0).max_val().to_python())
    return low, high


def _key(m: isl.Map, position: int, size: int) -> isl.Map:
    """instance -> (schedule dimensions before ``position``, layer index)."""
    dims = output_pieces(m)
    layer = dims[position].scale_down_val(isl.Val(size)).floor()
    result = isl.Map.from_pw_aff(dims[0]) if position else isl.Map.from_pw_aff(layer)
    for piece in dims[1:position] + ([layer] if position else []):
        result = result.flat_range_product(isl.Map.from_pw_aff(piece))
    return result.intersect_domain(m.domain()).set_tuple_name(
        isl.dim_type.in_, m.get_tuple_name(isl.dim_type.in_))


def _footprints(program, group, position, size, sizes) -> list[StagedBuffer]:
    """Per buffer, the references of the layer grouped by overlap (two
    references whose elements meet in some layer share one box, so that a
    write through one is seen through the other), with each group's box."""
    buffers = {b.name: b for b in program.buffers}
    parts: dict[str, list[tuple[isl.Map, set, bool]]] = {}
    for m in group:
        instruction = program.instruction(m.get_tuple_name(isl.dim_type.in_))
        key = _key(m, position, size)
        targets = {a.target for a in instruction.body}
        for symbol, reference in instruction.references.items():
            buffer = buffers[reference.buffer]
            if reference.relation is None or not buffer.extents or buffer.sequence:
                continue
            touched = key.reverse().apply_range(
                reference.relation.set_tuple_name(isl.dim_type.out, buffer.name))
            merged = (touched, {(instruction.name, symbol)},
                      touched if symbol in targets else None)
            kept = []
            for part in parts.get(buffer.name, []):
                if part[0].intersect(merged[0]).is_empty():
                    kept.append(part)
                else:
                    writes = [w for w in (merged[2], part[2]) if w is not None]
                    merged = (merged[0].union(part[0]), merged[1] | part[1],
                              writes[0].union(writes[1]) if len(writes) == 2
                              else (writes[0] if writes else None))
            parts[buffer.name] = kept + [merged]
    staged = []
    for name, groups in parts.items():
        boxes = [_staged(name, number, footprint.coalesce(), frozenset(members),
                         written.coalesce() if written is not None else None,
                         buffers[name].dtype, sizes)
                 for number, (footprint, members, written) in enumerate(groups)]
        staged += _merged(boxes, groups, buffers[name].dtype, sizes)
    return staged


#: One box for all references to a buffer when it holds at most this many
#: times the elements of their separate boxes.
MERGE_SLACK = 2


def _merged(boxes: list[StagedBuffer], groups, dtype, sizes) -> list[StagedBuffer]:
    """``boxes`` of one buffer, or a single box around them all when that is
    not much larger (MERGE_SLACK) at ``sizes``. Why: pieces of one statement
    (a stencil's boundary rows and columns, split by the adjoint) touch
    disjoint but adjacent elements; a box and a copy per piece made dozens of
    parametric copies whose code isl took minutes and gigabytes to build."""
    if len(boxes) < 2:
        return boxes
    footprint, written = None, None
    for part, _, writes in groups:
        footprint = part if footprint is None else footprint.union(part)
        if writes is not None:
            written = writes if written is None else written.union(writes)
    members = frozenset().union(*(box.references for box in boxes))
    whole = _staged(boxes[0].name, 0, footprint.coalesce(), members,
                    written.coalesce() if written is not None else None, dtype, sizes)
    if whole.bytes <= MERGE_SLACK * sum(box.bytes for box in boxes):
        return [whole]
    return boxes


def _staged(name, number, footprint, members, written, dtype, sizes) -> StagedBuffer:
    """The box of a footprint (key -> element) and its size at ``sizes``."""
    lows, highs, extents, count = [], [], [], 1
    for d in range(footprint.dim(isl.dim_type.out)):
        low, high = footprint.dim_min(d), footprint.dim_max(d)
        extent = high.sub(low).add(isl.PwAff.val_on_domain(low.domain(), isl.Val(1)))
        lows.append(low)
        highs.append(high)
        at_sizes = isl.Map.from_pw_aff(extent).range().intersect_params(
            fix_sizes(isl.Set.universe(extent.get_domain_space().params()), sizes))
        count *= (max(int(at_sizes.lexmax().sample_point().get_coordinate_val(
            isl.dim_type.set, 0).to_python()), 0) if not at_sizes.is_empty() else 0)
        largest = isl.Map.from_pw_aff(extent).range().lexmax_pw_multi_aff().get_pw_aff(0)
        zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(
            largest.get_domain_space()))
        extents.append(largest.union_max(zero).coalesce())
    return StagedBuffer(name, number, members, tuple(lows), tuple(highs), tuple(extents),
                        count * BUFFER_BYTES[dtype], written)


def staged_layers(program: Program, schedule: Schedule, scratchpad: int,
                  sizes: Mapping[str, int]) -> Program:
    """The program with the reverse sweep in layers (:func:`plan_layers`):
    before each layer, the boxes of the array elements and tape values it
    touches are copied into scratch buffers (together at most ``scratchpad``
    bytes at ``sizes``); the layer works on the scratch copies; after it, the
    boxes it wrote are copied back. Refused for a program with a gather
    (``x[col[k]]``): the box its index array reaches is all of ``x``."""
    gathers = sorted({r.buffer for i in program.instructions
                      for r in i.references.values() if r.gather is not None})
    if gathers:
        raise UsageError(f"the layers layout does not stage gathers through index "
                         f"arrays (of {', '.join(gathers)}); use --layout exact or stream")
    program, maps = specialize(program, schedule, sizes)
    layers = _plan(program, maps, scratchpad, sizes)
    maps = padded(maps)
    instructions = list(program.instructions)
    buffers = list(program.buffers)
    supply = NameSupply.of(program_identifiers(program))
    for index, layer in sorted(enumerate(layers), key=lambda x: -x[1].position):
        names = set(layer.instructions)
        by_name = {m.get_tuple_name(isl.dim_type.in_): m for m in maps}
        keys = {name: _key(by_name[name], layer.position, layer.size) for name in names}
        scratch = {}
        for staged in layer.buffers:
            original = next(b for b in buffers if b.name == staged.name)
            scratch[staged.name, staged.part] = Buffer(
                supply.fresh(f"scratch{index}_{staged.name}_{staged.part}"),
                original.dtype, staged.extents, "local",
                purpose=f"layer {index}'s copy of part of {staged.name}")
            buffers.append(scratch[staged.name, staged.part])
        instructions = [_on_scratch(i, keys[i.name], layer, scratch) if i.name in names
                        else i for i in instructions]
        maps = [_layer_dims(m, layer, names) for m in maps]
        images = None
        for name in names:
            image = keys[name].range()
            images = image if images is None else images | image
        copies = [("in", staged) for staged in layer.buffers] + [
            ("out", staged) for staged in layer.buffers if staged.written is not None]
        for number, (direction, staged) in enumerate(copies):
            # Copies in before the layer's instructions (at 1), copies out
            # after, each at its own position so that their order is fixed.
            order = number - len(copies) if direction == "in" else 2 + number
            instruction, flat = _copy(index, staged, scratch[staged.name, staged.part],
                                      images.coalesce(), direction, order, layer.position,
                                      supply)
            instructions.append(instruction)
            maps.append(flat)
    flat = union_of_maps(padded(maps))
    return replace(program, instructions=tuple(instructions), buffers=tuple(buffers),
                   schedule=tree_from_flat(flat), flat=flat)


def _layer_dims(m: isl.Map, layer: Layer, names: set[str]) -> isl.Map:
    """Two dimensions more: (layer index, 1) at the layer's position for the
    layer's instructions; zeros at the end for the others, whose order with
    the layer is decided at an earlier dimension (and whose own layers, at
    any position, are still where they were).

    The new dimensions are constraints on the map's own output: rebuilding
    the map from its piecewise dimensions multiplies their pieces (seconds
    per instruction on a gathered stencil)."""
    out = isl.dim_type.out
    if m.get_tuple_name(isl.dim_type.in_) not in names:
        end = m.dim(out)
        widened = m.add_dims(out, 2)
        return widened.fix_val(out, end, isl.Val(0)).fix_val(out, end + 1, isl.Val(0))
    position, size = layer.position, layer.size
    widened = m.insert_dims(out, position, 2)
    local = isl.LocalSpace.from_space(widened.get_space())
    # size * layer <= x <= size * layer + size - 1, x the loop's own dimension
    low = (isl.Constraint.inequality_alloc(local)
           .set_coefficient_val(out, position + 2, isl.Val(1))
           .set_coefficient_val(out, position, isl.Val(-size)))
    high = (isl.Constraint.inequality_alloc(local)
            .set_coefficient_val(out, position + 2, isl.Val(-1))
            .set_coefficient_val(out, position, isl.Val(size))
            .set_constant_val(isl.Val(size - 1)))
    widened = widened.add_constraint(low).add_constraint(high)
    return widened.fix_val(out, position + 1, isl.Val(1))


def _on_scratch(instruction: Instruction, key: isl.Map, layer: Layer,
                scratch: dict[tuple[str, int], Buffer]) -> Instruction:
    """The instruction with its references to staged buffers moved to the
    scratch copies: element a of a layer with key p is at a - low(p)."""
    key_function = isl.PwMultiAff.from_map(key)
    references = {}
    for symbol, reference in instruction.references.items():
        staged = next((b for b in layer.buffers
                       if (instruction.name, symbol) in b.references), None)
        if staged is None:
            references[symbol] = reference
            continue
        target = scratch[staged.name, staged.part]
        index = isl.PwMultiAff.from_map(reference.relation)
        pieces = [index.get_pw_aff(d).sub(low.pullback_pw_multi_aff(key_function))
                  for d, low in enumerate(staged.lows)]
        relation = isl.Map.from_pw_aff(pieces[0])
        for piece in pieces[1:]:
            relation = relation.flat_range_product(isl.Map.from_pw_aff(piece))
        relation = relation.intersect_domain(instruction.domain).set_tuple_name(
            isl.dim_type.out, target.name)
        references[symbol] = Reference(target.name, relation)
    return replace(instruction, references=references)


def _copy(index: int, staged: StagedBuffer, scratch: Buffer, layers: isl.Set,
          direction: str, order: int, position: int,
          supply: NameSupply) -> tuple[Instruction, isl.Map]:
    """A copy of a staged box into (``in``) or out of its scratch buffer, for
    every layer key in ``layers``, and its schedule: at the layer, at
    ``order`` (below 1 before the layer's instructions, above after)."""
    rank = len(staged.lows)
    if direction == "out":
        # Only what the layer wrote goes back: boxes of two parts of a buffer
        # may overlap where their elements do not.
        box = staged.written.intersect_domain(layers).reset_tuple_id(isl.dim_type.out)
    else:
        box = None
        for d in range(rank):
            low, high = staged.lows[d], staged.highs[d]
            line = isl.Space.set_alloc(isl.DEFAULT_CONTEXT, 0, 1)
            above = isl.Map.from_pw_aff(low).apply_range(isl.Map.lex_le(line))
            below = isl.Map.from_pw_aff(high).apply_range(isl.Map.lex_ge(line))
            dimension = above.intersect(below)
            box = dimension if box is None else box.flat_range_product(dimension)
        box = box.intersect_domain(layers)
    domain = box.wrap().flatten()
    name = f"stage{index}_{direction}_{staged.name}" + (f"_{staged.part}" if staged.part
                                                         else "")
    keys = layers.dim(isl.dim_type.set)
    space = domain.get_space()
    local = isl.LocalSpace.from_space(space)
    projection = isl.MultiAff.project_out_map(space, isl.dim_type.set, keys, rank)
    original, copied = [], []
    for d in range(rank):
        element = isl.PwAff.var_on_domain(local, isl.dim_type.set, keys + d)
        original.append(element)
        copied.append(element.sub(staged.lows[d].pullback_multi_aff(projection)))

    def relation(pieces, buffer_name):
        result = isl.Map.from_pw_aff(pieces[0])
        for piece in pieces[1:]:
            result = result.flat_range_product(isl.Map.from_pw_aff(piece))
        return (result.intersect_domain(domain).set_tuple_name(isl.dim_type.in_, name)
                .set_tuple_name(isl.dim_type.out, buffer_name))

    source = sympy.Symbol(supply.fresh("_source"), real=True)
    target = sympy.Symbol(supply.fresh("_target"), real=True)
    outer, inner = ((staged.name, scratch.name) if direction == "in"
                    else (scratch.name, staged.name))
    pieces = {staged.name: original, scratch.name: copied}
    references = {source: Reference(outer, relation(pieces[outer], outer)),
                  target: Reference(inner, relation(pieces[inner], inner))}
    instruction = Instruction(name, domain.set_tuple_name(name), references,
                              (Assignment(target, "=", source),),
                              comment=f"layer {index}: copy {staged.name} "
                                      f"{'into' if direction == 'in' else 'out of'} "
                                      f"the scratchpad")
    # Schedule: the key dimensions, then the order (0 before, 2 after), then
    # the element; the key's last dimension is the layer index.
    dims = [isl.PwAff.var_on_domain(local, isl.dim_type.set, d) for d in range(keys)]
    flat_dims = dims[:position] + [dims[position], constant_piece(domain, order)] + original
    return instruction, map_from_pieces(name, domain, flat_dims)
