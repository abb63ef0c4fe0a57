"""Instruction rewrites behind schedule primitives: adjoint stencils as
gathers (:meth:`polyad.schedule.schedule.Schedule.gather`), instances split off
an instruction (:meth:`polyad.schedule.schedule.Schedule.peel`), and an
instruction split into one per assignment
(:meth:`polyad.schedule.schedule.Schedule.split`).

The adjoint of a stencil statement scatters: ``A_b[i - 1] += t; A_b[i] += t;
A_b[i + 1] += t``, one loop-carried read-modify-write chain per element that
no compiler vectorises. Split into one instruction per increment, each
shifted by its reference's offset, the increments of one element meet in
one iteration (``A_b[e] += t(e + 1); A_b[e] += t(e); A_b[e] += t(e - 1)``):
a gather, which vectorises. This module does the split (a program with the
same semantics when each part runs at the original instance, in order); the
schedule places the parts and checks the new order against the dependences.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import islpy as isl
import sympy

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of, union_of_maps
from polyad.program.expansion import expanded
from polyad.program.ir import Assignment, Instruction, Program
from polyad.schedule.tree import with_suffix


#: The parts of instruction S1_b are S1_b_gather0, S1_b_gather1, ...
PART = "_gather"


def is_gather_part(name: str) -> bool:
    """Whether an instruction is a part of a gathered one.

    >>> is_gather_part("S1_b_gather0"), is_gather_part("S1_b")
    (True, False)
    """
    head, _, index = name.rpartition(PART)
    return bool(head) and index.isdigit()


@dataclass(frozen=True)
class GatherSplit:
    """The parts of a split instruction: ``parts[k]`` does the k-th
    increment of the gathered buffer, ``offsets[k]`` is how far (per
    iterator) its instances must move so that the k-th increments meet the
    first's; ``rest`` (or ``""``) does everything else, after them."""

    program: Program
    parts: tuple[str, ...]
    offsets: tuple[tuple[int, ...], ...]
    rest: str


def gathered_buffers(instruction: Instruction, program: Program) -> list[str]:
    """Buffers the instruction increments through two or more references
    and that :func:`split_for_gather` accepts, most increments first.

    >>> import polyad
    >>> from polyad.program.lowering import adjoint_program
    >>> program = adjoint_program(polyad.grad(polyad.parse("examples/jacobi_1d.c")))
    >>> gathered_buffers(program.instruction("S1_b"), program)
    ['B_b']
    """
    counts: dict[str, int] = {}
    for assignment in instruction.body:
        if assignment.op == "+=" and assignment.target in instruction.references:
            buffer = instruction.references[assignment.target].buffer
            counts[buffer] = counts.get(buffer, 0) + 1
    candidates = sorted(counts, key=lambda buffer: (-counts[buffer], buffer))
    result = []
    for buffer in candidates:
        try:
            split_for_gather(program, instruction.name, buffer)
        except ScheduleError:
            continue
        result.append(buffer)
    return result


def split_for_gather(program: Program, name: str, buffer: str) -> GatherSplit:
    """Split instruction ``name`` into one part per increment of ``buffer``
    and the rest; refused (ScheduleError) unless the increments' subscripts
    are one affine function shifted by constants, the buffer is touched by
    nothing else in the instruction, the increments' values are computed
    before the instruction writes anything, and no value comes from a tape
    (whose order is fixed)."""
    instruction = program.instruction(name)
    references = instruction.references
    for reference in references.values():
        stored = program.buffer(reference.buffer)
        if reference.relation is None or stored.tape or stored.sequence:
            raise ScheduleError(f"gather: {name} reads a tape, whose order is fixed")
    increments = [k for k, a in enumerate(instruction.body)
                  if a.op == "+=" and a.target in references
                  and references[a.target].buffer == buffer]
    if len(increments) < 2:
        raise ScheduleError(f"gather: {name} does not increment {buffer} through two or "
                            "more references")
    for k, assignment in enumerate(instruction.body):
        touches = {s for s in assignment.value.free_symbols if s in references} | (
            {assignment.target} if k not in increments and assignment.target in references
            else set())
        if any(references[s].buffer == buffer for s in touches):
            raise ScheduleError(f"gather: {name} uses {buffer} other than by incrementing it")
    first_write = min((k for k, a in enumerate(instruction.body) if a.target in references),
                      default=len(instruction.body))
    offsets = _offsets([references[instruction.body[k].target].relation for k in increments],
                       name, buffer)
    parts, names = [], []
    for index, k in enumerate(increments):
        locals_ = _needed_locals(instruction, k)
        if any(j > first_write for j in locals_):
            raise ScheduleError(f"gather: a value {name} increments {buffer} with is computed "
                                "after the instruction writes")
        part = f"{name}{PART}{index}"
        body = tuple(instruction.body[j] for j in locals_) + (instruction.body[k],)
        parts.append(_restricted(instruction, part, body))
        names.append(part)
    rest_body = tuple(a for k, a in enumerate(instruction.body) if k not in increments)
    rest_body = _pruned(instruction, rest_body)
    rest = _restricted(instruction, f"{name}_rest", rest_body) if rest_body else None
    instructions = []
    for other in program.instructions:
        if other.name == name:
            instructions += parts + ([rest] if rest else [])
        else:
            instructions.append(other)
    flat = None
    if program.flat is not None:
        flat = _split_flat(program.flat, name, names, rest.name if rest else "")
    return GatherSplit(replace(program, instructions=tuple(instructions), flat=flat),
                       tuple(names), offsets, rest.name if rest else "")


def rewritten(program: Program, rewrites) -> Program:
    """The program with a schedule's instruction rewrites applied (the
    program a layout produced, say, for a schedule made on another)."""
    for kind, name, detail in rewrites:
        if kind == "gather":
            program = split_for_gather(program, name, detail).program
        elif kind == "peel":
            program = split_instances(program, name, detail)
        elif kind == "split":
            program = split_assignments(program, name)[0]
        elif kind == "expand":
            program = expanded(program, name, int(detail))
        else:
            raise ValueError(f"unknown rewrite {kind}")
    return program


#: The instances split off instruction S5_b by :func:`split_instances`.
PEEL = "_peel"


def split_instances(program: Program, name: str, instances: isl.Set) -> Program:
    """The program with instruction ``name``'s ``instances`` (a subset of
    its domain, named after it) made an instruction of their own,
    ``name + PEEL``, that means the same at the same points (see
    :meth:`polyad.schedule.schedule.Schedule.peel`)."""
    instruction = program.instruction(name)
    peeled_name = f"{name}{PEEL}"
    instances = instances.set_tuple_name(name)
    rest = replace(instruction, domain=instruction.domain.subtract(instances).coalesce())
    peeled = replace(_restricted(instruction, peeled_name, instruction.body),
                     domain=instruction.domain.intersect(instances).coalesce()
                     .set_tuple_name(peeled_name), family=peeled_name)
    instructions = []
    for other in program.instructions:
        instructions += [peeled, rest] if other.name == name else [other]
    flat = program.flat
    if flat is not None:
        maps = []
        for m in maps_of(flat):
            if m.get_tuple_name(isl.dim_type.in_) == name:
                maps.append(m.intersect_domain(peeled.domain.set_tuple_name(name))
                            .set_tuple_name(isl.dim_type.in_, peeled_name))
                maps.append(m.intersect_domain(rest.domain))
            else:
                maps.append(m)
        flat = union_of_maps(maps)
    return replace(program, instructions=tuple(instructions), flat=flat)


#: The parts of instruction S1_b split by :func:`split_assignments` are
#: S1_b_split0, S1_b_split1, ...
SPLIT = "_split"


def split_assignments(program: Program, name: str) -> tuple[Program, tuple[str, ...]]:
    """The program with instruction ``name`` split into one instruction per
    assignment to memory, in body order, each with the locals its value
    needs, and the names of the parts. Each part is its own handle in
    schedules. The split program means what the original did when the parts
    run at the original instance, in order (its ``flat`` says so); refused
    (ScheduleError) when the body writes memory fewer than twice, a part
    reads what an earlier part writes (its locals, recomputed after that
    write, would see the new value), or a reference pushes or pops a
    sequence.

    >>> import polyad
    >>> from polyad.program.lowering import adjoint_program
    >>> program = adjoint_program(polyad.grad(polyad.parse("examples/gemm.c")))
    >>> split_assignments(program, "S1_b")[1]
    ('S1_b_split0', 'S1_b_split1', 'S1_b_split2')
    """
    instruction = program.instruction(name)
    references = instruction.references
    if any(reference.relation is None for reference in references.values()):
        raise ScheduleError(f"split: {name} reads or writes a sequential tape, "
                            "once per instance")
    writes = [k for k, a in enumerate(instruction.body) if a.target in references]
    if len(writes) < 2:
        raise ScheduleError(f"split: {name} writes memory once only")
    parts, read, written = [], [], []
    for index, k in enumerate(writes):
        body = tuple(instruction.body[j] for j in _needed_locals(instruction, k)) + (
            instruction.body[k],)
        symbols = {s for a in body for s in a.value.free_symbols if s in references}
        read.append({references[s].buffer for s in symbols - {instruction.body[k].target}})
        written.append(references[instruction.body[k].target].buffer)
        part = _restricted(instruction, f"{name}{SPLIT}{index}", body)
        parts.append(replace(part, family=""))
    for index, buffer in enumerate(written):
        # A later part recomputes its locals after an earlier one wrote: refused.
        # An earlier part reading what a later one writes reads, at each
        # instance, what the original read; across instances the schedule's
        # dependence check decides.
        readers = [k for k, buffers in enumerate(read) if buffer in buffers and k > index]
        if readers:
            raise ScheduleError(f"split: a part of {name} reads {buffer}, which an "
                                "earlier part writes")
    instructions = []
    for other in program.instructions:
        instructions += parts if other.name == name else [other]
    flat = None
    if program.flat is not None:
        flat = _split_flat(program.flat, name, [p.name for p in parts], "")
    return (replace(program, instructions=tuple(instructions), flat=flat),
            tuple(p.name for p in parts))


def _offsets(relations: list[isl.Map], name: str, buffer: str) -> tuple[tuple[int, ...], ...]:
    """Per relation, the shift of the instance (per iterator) that makes it
    touch what the first relation touches at the unshifted instance:
    f_k(s + d_k) = f_0(s)."""
    functions = []
    for relation in relations:
        function = single_multi_aff(relation)
        if function is None:
            raise ScheduleError(f"gather: a subscript of {buffer} in {name} is not affine")
        functions.append(function)
    first = functions[0]
    n_in = first.dim(isl.dim_type.in_)
    result = []
    for function in functions:
        shift = [0] * n_in
        for row in range(function.dim(isl.dim_type.out)):
            aff, base = function.get_aff(row), first.get_aff(row)
            coefficients = [aff.get_coefficient_val(isl.dim_type.in_, d).to_python()
                            for d in range(n_in)]
            same = all(coefficients[d] == base.get_coefficient_val(isl.dim_type.in_, d)
                       .to_python() for d in range(n_in)) and all(
                aff.get_coefficient_val(isl.dim_type.param, p).to_python()
                == base.get_coefficient_val(isl.dim_type.param, p).to_python()
                for p in range(aff.dim(isl.dim_type.param)))
            if not same or aff.dim(isl.dim_type.div) or base.dim(isl.dim_type.div):
                raise ScheduleError(f"gather: the subscripts of {buffer} in {name} are not "
                                    "one affine function shifted by constants")
            difference = (base.get_constant_val().to_python()
                          - aff.get_constant_val().to_python())
            used = [d for d in range(n_in) if coefficients[d] != 0]
            if not used:
                if difference:
                    raise ScheduleError(f"gather: the subscripts of {buffer} in {name} differ "
                                        "in a dimension no iterator moves")
                continue
            if len(used) != 1 or abs(coefficients[used[0]]) != 1 or \
                    (shift[used[0]] and shift[used[0]] != difference * coefficients[used[0]]):
                raise ScheduleError(f"gather: the subscripts of {buffer} in {name} are not a "
                                    "translation of the iterators")
            shift[used[0]] = difference * coefficients[used[0]]
        result.append(tuple(shift))
    if len(set(result)) != len(result):
        raise ScheduleError(f"gather: two increments of {buffer} in {name} touch the same "
                            "element")
    return tuple(result)


def single_multi_aff(m: isl.Map) -> isl.MultiAff | None:
    """The affine function a map is on its domain, or None when it takes
    several pieces."""
    pieces: list[isl.MultiAff] = []
    isl.PwMultiAff.from_map(m).foreach_piece(lambda _, function: pieces.append(function))
    return pieces[0] if len(pieces) == 1 else None


def _needed_locals(instruction: Instruction, index: int) -> list[int]:
    """Indices of the local assignments the ``index``-th assignment needs,
    in body order."""
    needed = set(instruction.body[index].value.free_symbols)
    chosen = []
    for k in range(index - 1, -1, -1):
        assignment = instruction.body[k]
        if assignment.target not in instruction.references and assignment.target in needed:
            chosen.append(k)
            needed |= assignment.value.free_symbols
    return sorted(chosen)


def _pruned(instruction: Instruction, body: tuple[Assignment, ...]) -> tuple[Assignment, ...]:
    """The body without local assignments nothing after them uses."""
    kept: list[Assignment] = []
    used: set[sympy.Symbol] = set()
    for assignment in reversed(body):
        if assignment.target in instruction.references or assignment.target in used:
            kept.append(assignment)
            used |= assignment.value.free_symbols
    return tuple(reversed(kept))


def _restricted(instruction: Instruction, name: str,
                body: tuple[Assignment, ...]) -> Instruction:
    """A new instruction over the same instances with part of the body."""
    symbols = set()
    for assignment in body:
        symbols |= assignment.value.free_symbols | {assignment.target}
    references = {symbol: reference if reference.relation is None else replace(
        reference, relation=reference.relation.set_tuple_name(isl.dim_type.in_, name))
        for symbol, reference in instruction.references.items() if symbol in symbols}
    return replace(instruction, name=name, domain=instruction.domain.set_tuple_name(name),
                   references=references, body=body, family=instruction.handle)


def _split_flat(flat: isl.UnionMap, name: str, parts: list[str], rest: str) -> isl.UnionMap:
    """The order in which the split program means what the original did:
    the parts, then the rest, at each instance of the original."""
    maps = []
    for m in maps_of(flat):
        if m.get_tuple_name(isl.dim_type.in_) != name:
            maps.append(with_suffix(m, 0))
            continue
        for k, part in enumerate(parts):
            maps.append(with_suffix(m, k).set_tuple_name(isl.dim_type.in_, part))
        if rest:
            maps.append(with_suffix(m, len(parts)).set_tuple_name(isl.dim_type.in_, rest))
    return union_of_maps(maps)
