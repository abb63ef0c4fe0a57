"""Vectorising innermost loops, auto's last step in each sweep.

Which innermost loops :func:`vectorize_innermost` marks ``simd``: those
that may be (reassociating increments of elements a loop does not move,
with libmvec's vector math), but not those walking more references across
rows than along them, nor, in the forward sweep, a sum over a short window
(a filter's width). A loop a tape record keeps sequential is distributed
first (:func:`vectorized_apart`); where increments meet another reference
on some iterations, those are peeled first.
"""

from __future__ import annotations

import islpy as isl

from polyad.errors import ScheduleError
from polyad.schedule.calls import library_instructions
from polyad.schedule.loops import LoopReport, classify, group_of, instruction_name
from polyad.schedule.marks import Parallel


def vectorize_innermost(schedule, target: str):
    """Vectorise each innermost loop of sweep ``target`` that may be
    (reassociating increments of elements it does not move, and calling
    libmvec's vector math); where the increments meet another reference on
    some iterations, peel those first."""
    result = schedule
    called = library_instructions(schedule.annotations)
    reports = [r for r in schedule.loops() if r.sweep == target
               and not called & set(r.instructions)]
    for report in reports:
        deeper = any(other.depth > report.depth
                     and set(other.instructions) & set(report.instructions)
                     for other in reports)
        if deeper or any(isinstance(mark, Parallel) for mark in report.annotations):
            continue
        members, position = group_of(result.program, result.flat, report.loop)
        if mostly_strided(result.program, members, position) or (
                target == "forward" and window_loop(result.program, members, position)):
            continue
        try:
            result = result.vectorize(report.loop, vector_math=True)
        except ScheduleError as error:
            if staged_in_layers(schedule):
                continue
            if "meet" not in str(error):
                result = vectorized_apart(result, report)
                continue
            try:  # the iterations where the increments meet go first
                result = result.peel(report.loop).vectorize(report.loop, vector_math=True)
            except ScheduleError:
                continue
    return result


def vectorized_apart(schedule, report: LoopReport):
    """``schedule`` with the loop of ``report`` vectorised after its tape
    records are distributed into loops of their own after it (softmax's
    record of the row sum at the last iteration keeps the sum's loop
    sequential), where that is legal; else ``schedule`` unchanged."""
    program = schedule.program
    records = [name for name in report.instructions
               if any(program.buffer(r.buffer).tape for symbol, r in
                      program.instruction(name).references.items()
                      if any(a.target == symbol for a in program.instruction(name).body))]
    if not records or len(records) == len(report.instructions):
        return schedule
    try:
        result = schedule
        for name in records:
            result = result.distribute(report.loop, last=name)
    except ScheduleError:
        return schedule
    # Distribution gives each part its own loop: vectorise those that may be.
    vectorized = False
    for name in report.instructions:
        if name in records:
            continue
        try:
            result = result.vectorize(result.loop(name, report.loop.iterator),
                                      vector_math=True)
            vectorized = True
        except ScheduleError:
            continue
    return result if vectorized else schedule


def staged_in_layers(schedule) -> bool:
    """Whether the schedule is for the layers layout, which stages the
    boxes of every piece a peel makes (whose parametric bounds isl takes
    minutes and gigabytes to find) and prints every nest as loops, library
    calls' too (a call cannot run layer by layer)."""
    return schedule.origin.get("layout") == "layers"


def strides(program, instruction: str, iterator: int) -> list[str]:
    """Per memory reference of an instruction, how a loop over domain
    dimension ``iterator`` walks it: "invariant", "unit" (stride one in
    the last dimension) or "strided"."""
    kinds = []
    for reference in program.instruction(instruction).references.values():
        if reference.relation is None or reference.relation.dim(isl.dim_type.out) == 0:
            continue
        if reference.gather is not None:  # x[col[k]]: a gather or scatter in simd code
            kinds.append("strided")
            continue
        index = isl.PwMultiAff.from_map(reference.relation)
        last = index.dim(isl.dim_type.out) - 1
        coefficients = []
        for d in range(index.dim(isl.dim_type.out)):
            values = {int(aff.get_coefficient_val(isl.dim_type.in_, iterator).to_python())
                      for _, aff in index.get_pw_aff(d).get_pieces()}
            coefficients.append(max(values, key=abs) if values else 0)
        if not any(coefficients):
            kinds.append("invariant")
        elif not any(coefficients[:last]) and abs(coefficients[last]) == 1:
            kinds.append("unit")
        else:
            kinds.append("strided")
    return kinds


def mostly_strided(program, members: list[isl.Map], position: int) -> bool:
    """Whether the loop at ``position`` walks more references across
    rows than along them (simd code would gather and scatter)."""
    kinds = []
    for m in members:
        name = instruction_name(m)
        kind, iterator = classify(m, position)
        if kind == "loop":
            kinds += strides(program, name, program.instruction(name).iterators.index(iterator))
    return kinds.count("strided") > kinds.count("unit")


def window_loop(program, members: list[isl.Map], position: int) -> bool:
    """Whether the loop at ``position`` runs over a window: its iterator is
    added to another in a subscript (conv2d's ``in[ci][y + ky][x + kx]``)
    and its bounds are those of a box, not of the loops around it. Windows
    are short (a filter's width): a vectorised sum over one costs more than
    it saves, and the forward sweep does not interchange it outwards."""
    for m in members:
        kind, iterator = classify(m, position)
        if kind != "loop":
            continue
        instruction = program.instruction(instruction_name(m))
        dim = instruction.iterators.index(iterator)
        if not (in_a_sum_of_iterators(instruction, dim)
                and box_bounded(instruction.domain, dim)):
            return False
    return True


def box_bounded(domain: isl.Set, dim: int) -> bool:
    """Whether the bounds of set dimension ``dim`` involve no other one."""
    n = domain.dim(isl.dim_type.set)
    alone = domain.project_out(isl.dim_type.set, dim + 1, n - dim - 1) \
        .project_out(isl.dim_type.set, 0, dim)
    rest = domain.project_out(isl.dim_type.set, dim, 1).insert_dims(isl.dim_type.set, dim, 1)
    box = rest.intersect(alone.insert_dims(isl.dim_type.set, 0, dim)
                         .insert_dims(isl.dim_type.set, dim + 1, n - dim - 1))
    # (projecting dimensions out drops the tuple's name)
    return box.set_tuple_name(domain.get_tuple_name()).is_subset(domain)


def in_a_sum_of_iterators(instruction, dim: int) -> bool:
    """Whether a subscript of the instruction involves iterator ``dim``
    and another iterator."""
    for reference in instruction.references.values():
        relation = reference.relation
        if relation is None or not relation.is_single_valued():
            continue
        subscripts = isl.PwMultiAff.from_map(relation)
        for out in range(relation.dim(isl.dim_type.out)):
            # The affine pieces, not their domains (which bound every iterator).
            for _, piece in subscripts.get_pw_aff(out).get_pieces():
                involved = [d for d in range(relation.dim(isl.dim_type.in_))
                            if piece.involves_dims(isl.dim_type.in_, d, 1)]
                if dim in involved and len(involved) > 1:
                    return True
    return False
