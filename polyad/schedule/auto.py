"""The ``auto`` strategy: a good schedule from the public primitives only.

:func:`auto_schedule` turns the scattered increments of stencil adjoints into
gathers, matrix products into BLAS calls (in both sweeps), reschedules the
reverse sweep with isl's scheduler on the exact
dependences (proximity for locality, coincidence avoiding loops whose
iterations' increments meet on large arrays), tiles its permutable bands,
runs the outermost loop of each nest that may run in parallel in parallel
and vectorises innermost loops. Every step it takes is a primitive of the
schedule, recorded in its trace with concrete arguments (isl's answer as the
flat maps it chose, through :meth:`~polyad.schedule.schedule.Schedule.reorder`),
so a saved ``auto`` schedule replays to the same program on a later version.
"""

from __future__ import annotations

import json

import islpy as isl

from polyad.bounds import in_child, scheduler_seconds
from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of, union_of_maps, union_of_sets
from polyad.program.gather import gathered_buffers
from polyad.schedule.auto_calls import with_library_calls
from polyad.schedule.calls import library_instructions
from polyad.schedule.legality import SMALL_RANK, between, rank
from polyad.schedule.loops import (LoopReport, classify, instruction_name,
                                   names_of, sweep_of)
from polyad.schedule.marks import Parallel
from polyad.schedule.trace import map_from_record, map_record
from polyad.schedule.vectorizing import staged_in_layers, strides, vectorize_innermost
from polyad.schedule.tree import flat_schedule, padded, with_prefix
from polyad.program.sweeps import REVERSE

DEFAULT_TILE = 128
#: isl operations the scheduler may spend in auto() before giving up.
SCHEDULER_BUDGET = 1_000_000


def auto_schedule(schedule, tile: int = DEFAULT_TILE, *, blas: bool = True):
    """``schedule`` (a :class:`~polyad.schedule.schedule.Schedule`) with the
    auto strategy applied; see the module documentation.

    isl's answer is taken only when it keeps loops unskewed (a skewed
    wavefront over a time loop runs slower on one thread than the plain
    reversal), is found within a bounded amount of isl work, and gives
    innermost loops better strides than the exact reverse order (which
    inherits the forward sweep's); otherwise the reverse sweep keeps the
    exact reverse order. Either way, the outermost loop of each nest that
    may run in parallel does, and innermost loops are vectorised with their
    increments of unmoved elements accumulated in registers. The forward
    sweep keeps its order of loops, with vectorised innermost loops but
    for sums over short windows (a tape record that keeps a loop sequential is
    distributed into a loop of its own first), so its results equal the
    primal's up to the rounding of vector math and of sums kept in
    registers (:func:`polyad.schedule.rounding.forward_roundings`). (On a
    kernel or tangent program, auto reschedules the whole program;
    dependences are exact, so each value is still computed by the same
    operations, but sums may run in another order, as
    :func:`~polyad.schedule.rounding.reordered_sums` tells.) ``tile``: the tile size of permutable bands, 0 for none.

    With ``blas``, each matrix product (an instruction, or a part of one
    split into one instruction per assignment) of either sweep first becomes
    a BLAS call where legal (:func:`_with_library_calls`); a sweep that has
    some keeps the rest in its order (isl's would move the calls' nests),
    with parallel and vectorised loops. The forward sweep's results are then
    reassociated sums: equal to the primal's up to rounding, not bitwise.
    """
    gathered = _with_gathers(schedule)
    if blas and not staged_in_layers(schedule):
        gathered = with_library_calls(gathered)
    result = _rescheduled(gathered, int(tile))
    if rescheduled_sweep(schedule) == "reverse":
        # The forward sweep keeps its order; its innermost loops are
        # vectorised where they may be, sums in registers (reassociated).
        # No parallel regions: on one thread, gcc optimised conv2d's forward
        # nest outlined into a region's function 15% slower than inline.
        result = vectorize_innermost(result, "forward")
    return result


def rescheduled_sweep(schedule) -> str:
    """The sweep auto reschedules: the reverse sweep of an adjoint, else the
    whole (forward) program."""
    return "reverse" if schedule.origin.get("mode") == "reverse" else "forward"


def _with_gathers(schedule):
    """``gather`` on every instruction of the rescheduled sweep that
    increments one array through shifted references, where legal."""
    target = rescheduled_sweep(schedule)
    mode = schedule.origin.get("mode")
    result = schedule
    for m in maps_of(schedule.flat):
        name = instruction_name(m)
        instruction = schedule.program.instruction(name)
        if sweep_of(mode, m) != target or instruction.handle != name:
            continue
        for buffer in gathered_buffers(instruction, schedule.program)[:1]:
            try:
                result = result.gather(name, buffer)
            except ScheduleError:
                continue
    return result


def _rescheduled(schedule, tile: int):
    target = rescheduled_sweep(schedule)
    mode = schedule.origin.get("mode")
    reverse = [m for m in maps_of(schedule.flat) if sweep_of(mode, m) == target]
    if not reverse:
        return schedule
    called = library_instructions(schedule.annotations)
    if names_of(reverse) & called:
        # The rest keeps its order (as the plain reversal below records it).
        return _parallelize(schedule.reorder([m for m in reverse
                                              if instruction_name(m) not in called]))
    names = names_of(reverse)
    program, dependences = schedule.program, schedule.dependences
    domain = union_of_sets([program.instruction(n).domain for n in sorted(names)])
    inside = [d for d in dependences.ordered if between(d, names)]
    increments = [(b, d) for b, d in dependences.increments if between(d, names)]
    validity = union_of_maps(inside + ([] if schedule.reassociate
                                       else [d for _, d in increments]))
    large = [d for b, d in increments if rank(program, b) > SMALL_RANK]
    constraints = (isl.ScheduleConstraints.on_domain(domain)
                   .set_validity(_nonempty(validity, domain))
                   .set_coincidence(_nonempty(union_of_maps(inside + large), domain))
                   .set_proximity(_nonempty(union_of_maps(
                       inside + [d for _, d in increments]), domain)))
    scheduled = None if _too_costly(inside) else _bounded_isl_order(
        constraints, tile, lambda name, dim: _innermost_score(program, name, dim))
    plain = _parallelize(schedule.reorder(reverse))
    if scheduled is None or any(skewed(m) for m in scheduled):
        return plain
    candidate = [with_prefix(m, REVERSE) if target == "reverse" else m for m in scheduled]
    rescheduled = _parallelize(schedule.reorder(candidate))
    # isl's order wins on better strides of the innermost loops, or on
    # equal strides with parallel loops where the exact reverse has none.
    better = _stride_score(program, candidate) - _stride_score(program, reverse)
    if better > 0 or (better == 0 and _parallel_count(rescheduled) >
                      _parallel_count(plain) == 0):
        return rescheduled
    return plain


def _parallel_count(schedule) -> int:
    return sum(1 for _, mark in schedule.annotations if isinstance(mark, Parallel))


def _parallelize(schedule):
    """Mark the outermost loop of each nest of the rescheduled sweep that
    may run in parallel (without atomics, coloring where that makes it
    so), then vectorise innermost loops."""
    result = schedule
    covered: set[str] = set()
    target = rescheduled_sweep(schedule)
    called = library_instructions(schedule.annotations)
    reports = [r for r in schedule.loops() if r.sweep == target
               and not called & set(r.instructions)]
    for report in reports:
        if covered & set(report.instructions):
            continue
        # A mark applies to every piece of its loop: each must be worth it.
        if not all(_worth_a_parallel_region(other, reports)
                   for other in reports if other.loop == report.loop):
            continue
        if report.parallel:
            # A loop in pieces is named by its first piece: another piece
            # may be parallel where the one the name reaches is not.
            try:
                result = result.parallel(report.loop)
            except ScheduleError:
                continue
            covered |= set(report.instructions)
        elif report.reason.startswith("increments of"):
            try:
                result = result.color(report.loop).parallel(report.loop)
                covered |= set(report.instructions)
            except ScheduleError:
                continue
    return vectorize_innermost(result, target)


def _worth_a_parallel_region(report: LoopReport, reports: list[LoopReport]) -> bool:
    """Whether a parallel region around this loop pays for itself: it
    is the outermost loop of its nest, or it holds a loop of its own and
    runs inside at most one loop (tile and color loops aside), so that
    regions are few and each does a good share of work."""
    enclosing = [other for other in reports if other.depth < report.depth
                 and set(report.instructions) <= set(other.instructions)
                 and not other.loop.iterator.endswith(("_tile", "_color"))]
    if not enclosing:
        return True
    holds_a_loop = any(other.depth > report.depth
                       and set(other.instructions) & set(report.instructions)
                       for other in reports)
    return holds_a_loop and len(enclosing) <= 1


def _stride_score(program, maps: list[isl.Map]) -> int:
    """The sum over instructions of how well their innermost loop suits
    the innermost position (see :func:`_innermost_score`)."""
    total = 0
    for m in maps:
        name = instruction_name(m)
        loops = [classify(m, d) for d in range(m.dim(isl.dim_type.out))]
        loops = [iterator for kind, iterator in loops if kind == "loop"]
        if loops:
            instruction = program.instruction(name)
            total += _innermost_score(program, name, instruction.iterators.index(loops[-1]))
    return total


def _innermost_score(program, instruction: str, iterator: int) -> int:
    """How well a loop over domain dimension ``iterator`` suits the
    innermost position for an instruction: references invariant in it
    (+1) or walking the last dimension with stride one (+2) are good,
    others (a stride of a whole row) bad (-2)."""
    points = {"invariant": 1, "unit": 2, "strided": -2}
    return sum(points[kind] for kind in strides(program, instruction, iterator))


def _nonempty(union: isl.UnionMap, domain: isl.UnionSet) -> isl.UnionMap:
    if union.is_empty():
        return isl.UnionMap.empty(domain.get_space())
    return union


def _bounded_isl_order(constraints: isl.ScheduleConstraints, tile: int,
                       score) -> list[isl.Map] | None:
    """The flat maps of isl's schedule (:func:`_scheduled`) with its
    permutable bands tiled (:func:`_tile_permutable_bands`), found within
    :func:`~polyad.bounds.scheduler_seconds`; None when isl gives up or runs
    out of time.

    The scheduler runs in a child process (:func:`~polyad.bounds.in_child`):
    some of its linear programs ignore isl's operation bound and the time
    guard's abort, and a kernel whose scheduling never ends must still get
    auto's plain reversal. The maps come back as trace records, whose text
    survives iterators isl's parser takes for its own words (``floord``)."""
    def order() -> list[isl.Map]:
        tree = _scheduled(constraints)
        if tree is None:
            raise ScheduleError("isl found no schedule within its budget")
        return padded(maps_of(flat_schedule(_tile_permutable_bands(tree, tile, score))))

    seconds = scheduler_seconds()
    if not seconds:
        try:
            return order()
        except ScheduleError:
            return None
    text = in_child(lambda: json.dumps([map_record(m) for m in order()]), seconds)
    return None if text is None else [map_from_record(r) for r in json.loads(text)]


def _scheduled(constraints: isl.ScheduleConstraints) -> isl.Schedule | None:
    """isl's schedule with an outermost loop free of carried dependences
    where possible (outer coincidence), coefficients at most 1, found within
    :data:`SCHEDULER_BUDGET` isl operations; None when isl gives up."""
    context = isl.DEFAULT_CONTEXT
    saved = (context.get_schedule_outer_coincidence(), context.get_schedule_max_coefficient(),
             context.get_max_operations(), )
    context.set_schedule_outer_coincidence(1)
    context.set_schedule_max_coefficient(1)
    context.set_max_operations(SCHEDULER_BUDGET)
    context.reset_operations()
    try:
        return constraints.compute_schedule()
    except isl.Error:
        return None
    finally:
        context.set_schedule_outer_coincidence(saved[0])
        context.set_schedule_max_coefficient(saved[1])
        context.set_max_operations(saved[2])
        context.reset_operations()


def _too_costly(dependences: list[isl.Map]) -> bool:
    """Whether isl's scheduler would take long: its linear programs grow
    with the loop depth times the dependence pieces (a 3-d stencil in a time
    loop takes over a second and gives a skewed wavefront auto rejects)."""
    pieces = sum(d.n_basic_map() for d in dependences)
    depth = max((d.dim(isl.dim_type.in_) for d in dependences), default=0)
    return depth >= 4 and pieces >= 4


def skewed(m: isl.Map) -> bool:
    """Whether some loop dimension of a schedule combines two iterators."""
    for position in range(m.dim(isl.dim_type.out)):
        piece = isl.PwMultiAff.from_map(m).get_pw_aff(position)
        for _, aff in piece.get_pieces():
            used = [d for d in range(aff.dim(isl.dim_type.in_))
                    if not aff.get_coefficient_val(isl.dim_type.in_, d).is_zero()]
            if len(used) > 1:
                return True
    return False


def _tile_permutable_bands(tree: isl.Schedule, size: int, score) -> isl.Schedule:
    """Permutable bands of several loops get the loop best for the innermost
    position (``score(instruction, domain dimension)``: unit stride, not a
    row stride) innermost, then are tiled by ``size`` (0: not tiled)."""
    failure: list[BaseException] = []

    def visit(node: isl.ScheduleNode) -> isl.ScheduleNode:
        try:
            if (node.get_type() == isl.schedule_node_type.band
                    and node.band_n_member() > 1 and node.band_get_permutable()):
                node = _innermost_first_choice(node, score)
                if not size:
                    return node
                space = node.band_get_space()
                sizes = isl.MultiVal.zero(space)
                for d in range(node.band_n_member()):
                    sizes = sizes.set_val(d, isl.Val(size))
                return node.band_tile(sizes)
        except BaseException as error:  # noqa: BLE001  (re-raised after isl returns)
            failure.append(error)
        return node

    context = isl.DEFAULT_CONTEXT
    saved = context.get_tile_shift_point_loops()
    context.set_tile_shift_point_loops(0)  # point loops keep the iterator itself
    try:
        result = tree.map_schedule_node_bottom_up(visit)
    finally:
        context.set_tile_shift_point_loops(saved)
    if failure:
        raise failure[0]
    return result


def _innermost_first_choice(node: isl.ScheduleNode, score) -> isl.ScheduleNode:
    """The band with its best innermost member moved innermost (a
    permutation of a permutable band, so always legal)."""
    partial = node.band_get_partial_schedule()
    members = [partial.get_union_pw_aff(k) for k in range(node.band_n_member())]
    totals = []
    for member in members:
        total = 0
        for piece in maps_of(isl.UnionMap.from_union_pw_aff(member)):
            name = piece.get_tuple_name(isl.dim_type.in_)
            _, aff = isl.PwMultiAff.from_map(piece).get_pw_aff(0).get_pieces()[0]
            used = [d for d in range(aff.dim(isl.dim_type.in_))
                    if not aff.get_coefficient_val(isl.dim_type.in_, d).is_zero()]
            if len(used) == 1:
                total += score(name, used[0])
        totals.append(total)
    best = max(range(len(members)), key=lambda k: (totals[k], k))
    if best == len(members) - 1:
        return node
    order = [k for k in range(len(members)) if k != best] + [best]
    reordered = isl.UnionPwAffList.alloc(isl.DEFAULT_CONTEXT, len(members))
    for k in order:
        reordered = reordered.add(members[k])
    schedule = isl.MultiUnionPwAff.from_union_pw_aff_list(partial.get_space(), reordered)
    return node.delete().insert_partial_schedule(schedule).band_set_permutable(1)
