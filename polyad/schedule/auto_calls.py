"""auto's library-call step: the matrix products of either sweep made BLAS
calls, through the public primitives (expand, split, distribute, blas).

>>> import polyad
>>> schedule = polyad.grad(polyad.parse("examples/gesummv.c")).schedule()
>>> len(with_library_calls(schedule).library_calls())
6
"""

from __future__ import annotations

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.program.blascalls import Gemm, GemmDot, Gemv, Ger, same_product
from polyad.program.expansion import expandable_scalars, users
from polyad.program.library import library_call, may_have_products
from polyad.schedule.calls import instruction_order, shared_loops
from polyad.schedule.loops import group_of, instruction_name, names_of


def with_library_calls(schedule):
    """The schedule with every matrix product that may be a BLAS call made
    one (:func:`_with_expanded_calls`), and each gemm+dot and gemm of one
    product, adjacent, sharing it (``share``)."""
    result = _with_expanded_calls(schedule)
    calls = [(loop.instruction, call) for loop, call, _ in result.library_calls()]
    for first, dot in calls:
        for second, gemm in calls:
            if isinstance(dot, GemmDot) and isinstance(gemm, Gemm) and same_product(dot, gemm):
                try:
                    result = result.share(first, second)
                except ScheduleError:
                    continue
    return result


def _with_expanded_calls(schedule):
    """:func:`_with_library_calls`, also tried after expanding every scalar
    local that expands (as deep as it does): a reset accumulator (gesummv's
    ``ax``, symm's ``acc``) ties its loops together and keeps its
    accumulation from being a product. The expansions are kept only when
    more instructions then run as calls."""
    plain = _with_library_calls(schedule)
    expanded = schedule
    for buffer in expandable_scalars(schedule.program):
        deepest = min(len(i.iterators) for i in users(schedule.program, buffer))
        for depth in range(deepest, 0, -1):
            try:
                expanded = expanded.expand(buffer, depth)
                break
            except ScheduleError:
                continue
    if expanded is schedule:
        return plain
    called = _with_library_calls(expanded)
    return called if len(called.library_calls()) > len(plain.library_calls()) else plain


def _with_library_calls(schedule):
    """Every instruction that is a matrix product, or whose parts are once
    split, runs as a BLAS call: split, the loops it shares distributed
    (innermost first) until its nest is its own, then ``blas``. Where a step
    is refused the instruction stays as it was, and a split whose parts are
    no products is not kept. An instruction refused once is tried again
    after the others: their nests, moved out, may have been in its way."""
    result = schedule
    pending = [instruction_name(m) for m in maps_of(schedule.flat)]
    for _ in range(2):
        result, pending = _calls_for(result, pending)
        if not pending:
            break
    return result


def _calls_for(schedule, names: list[str]):
    """(the schedule with those of ``names`` that may run as calls made
    calls, the names left as they were)."""
    result, left = schedule, []
    for name in names:
        instruction = result.program.instruction(name)
        if instruction.handle != name or not _may_be_product(instruction) \
                or not may_have_products(instruction, result.program):
            continue
        writes = sum(1 for a in instruction.body if a.target in instruction.references)
        before = result
        parts = [name]
        if writes > 1:
            try:
                result = result.split(name)
            except ScheduleError:
                # Its loops shared (gesummv's adjoint updates A_b and B_b
                # in one j loop): a loop of its own first.
                try:
                    result = _isolated(result, name).split(name)
                except ScheduleError:
                    result = before
                    left.append(name)
                    continue
            known = {i.name for i in before.program.instructions}
            parts = [i.name for i in result.program.instructions if i.name not in known]
        called = False
        neighbours = None  # found once, for the first matrix-vector part
        for part in parts:
            try:
                call = library_call(result.program.instruction(part), result.program,
                                    instruction_order(result.flat, part))
            except ScheduleError:
                continue
            if isinstance(call, (Gemv, Ger)):
                if neighbours is None:
                    neighbours = _neighbours(before, name)
                if any(reference.buffer == call.a.buffer for other in neighbours
                       for reference in before.program.instruction(other).references.values()):
                    continue
            try:
                result = _isolated(result, part).blas(part)
                called = True
            except ScheduleError:
                continue
        if not called:
            result = before
            left.append(name)
    return result, left


def _neighbours(schedule, name: str) -> set[str]:
    """The other instructions in the innermost loop instruction ``name``
    shares. A matrix-vector call on a matrix one of them touches too would
    cost a pass over the matrix of its own, where the shared loop reads it
    once for both (bicg's two products of A: 0.84x the primal as dgemv
    calls, 0.54x as the loop, make bench 2026-12-03); matrix-matrix calls
    do enough work per element to pay anyway."""
    shared = shared_loops(schedule.flat, name)
    if not shared:
        return set()
    members, _ = group_of(schedule.program, schedule.flat, shared[0])
    return names_of(members) - {name}


def _may_be_product(instruction) -> bool:
    """Whether an instruction has a loop nest a matrix product could fill
    (two or three iterators; the rest :func:`library_call` decides)."""
    return len(instruction.iterators) in (2, 3)


def _isolated(schedule, name: str):
    """The schedule with the loops instruction ``name`` shares distributed,
    innermost first, until its nest is its own; where its part cannot stay
    in place, it runs first or last (symm's update of the rows above i
    waits for every row's scaling), or the loop is separated by its
    dependences (an rnn's input product leaves the time loop that carries
    the recurrence)."""
    for _ in range(2 * len(schedule.program.instruction(name).iterators) + 2):
        shared = shared_loops(schedule.flat, name)
        if not shared:
            return schedule
        handle = schedule.program.instruction(name).handle
        for placement in ({}, {"last": handle}, {"first": handle}):
            try:
                schedule = schedule.distribute(shared[0], **placement)
                break
            except ScheduleError as error:
                refused = error
        else:
            try:
                schedule = schedule.separate(shared[0])
            except ScheduleError:
                raise refused from None
    raise ScheduleError(f"{name}: its loops stay shared after distributing")
