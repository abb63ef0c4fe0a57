"""Snapshots of a time loop: the state a rerun of its steps needs.

Checkpointing reruns steps s..e of an outermost sequential loop (a time
loop, a sweep over rows in place) from a snapshot taken at step s instead of
recording every step. What the snapshot must hold is decided on the model
with isl, never guessed: the elements that the steps from s on read with a
value from before step s (written by an earlier step, before the loop, or
on entry) and that something at or after step s overwrites (a step from s
on, or a statement after the loop); every other element the rerun reads
still holds its value in memory.

>>> import polyad
>>> k = polyad.parse("examples/jacobi_1d.c")
>>> state = snapshot_state(k)
>>> state.loop.iterator, [array for array, _ in state.state]
('t', ['A'])
>>> print(state.elements("A"))
[tsteps, n] -> { [t] -> A[o0] : 0 <= t < tsteps and 0 < o0 <= -2 + n }
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import islpy as isl

from polyad.model import dataflow
from polyad.model.kernel import ELEMENT_BYTES, Kernel, extent_text, maps_of, union_of_maps
from polyad.tape.boxes import tape_box
from polyad.tape.plan import count_points


@dataclass(frozen=True)
class TimeLoop:
    """An outermost sequential loop of the kernel's schedule.

    ``statements``: the kernel statements inside, in source order; the step
    of an instance is its first iterator (``iterator``). ``position``: the
    loop's dimension in the kernel's padded schedule map, ``prefix`` the
    constants before it. ``steps``: the values the iterator takes (a
    one-dimensional set named by the iterator, in the sizes). ``line``: the
    source line of its first statement.
    """

    iterator: str
    statements: tuple[str, ...]
    position: int
    prefix: tuple[int, ...]
    steps: isl.Set
    line: int

    def step_count(self, sizes: Mapping[str, int]) -> int:
        """How many steps the loop runs at these sizes."""
        return count_points(self.steps, sizes)


@dataclass(frozen=True)
class SnapshotState:
    """What a snapshot of a time loop holds, per array.

    ``state``: per array, the map from a step s to the elements a rerun from
    s needs restored (``{ [t] -> u[i, j] : ... }``). ``written``: per
    argument array, the elements the loop (or a rerun of it) writes, which a
    checkpointed gradient restores to their final values on return.
    """

    loop: TimeLoop
    state: tuple[tuple[str, isl.Map], ...]
    written: tuple[tuple[str, isl.Set], ...]

    def elements(self, array: str) -> isl.Map:
        """Step -> the elements of ``array`` a snapshot holds."""
        for name, elements in self.state:
            if name == array:
                return elements
        raise KeyError(array)

    def boxes(self, context: isl.Set) -> tuple[tuple[str, list, list], ...]:
        """Per array, the lower bounds and extents (in the sizes) of the box
        of elements any snapshot holds: a snapshot buffer's shape."""
        return tuple((name, *tape_box(elements.range(), context))
                     for name, elements in self.state)

    def bytes(self, kernel: Kernel, sizes: Mapping[str, int]) -> int:
        """Bytes of one snapshot buffer (the boxes, as allocated) at these sizes."""
        total = 0
        for name, elements in self.state:
            dtype = kernel.array(name).dtype
            total += ELEMENT_BYTES.get(dtype, 8) * count_points(
                _box_set(elements.range(), kernel.context), sizes)
        return total

    def final_bytes(self, kernel: Kernel, sizes: Mapping[str, int]) -> int:
        """Bytes of the copy of the final values the loop writes (the boxes)."""
        return sum(ELEMENT_BYTES.get(kernel.array(name).dtype, 8)
                   * count_points(_box_set(elements, kernel.context), sizes)
                   for name, elements in self.written)

    def explain(self, kernel: Kernel, sizes: Mapping[str, int]) -> str:
        """One sentence: "checkpoint state of the t loop (line 11): A[1..n-2],
        96 bytes per snapshot at tsteps=3 n=12"."""
        parts = []
        # Sizes where the loop runs: the bounds need no case for an empty loop.
        running = kernel.context & self.loop.steps.params()
        for name, elements in self.state:
            held = running & elements.range().params()
            lows, extents = tape_box(elements.range(), held)
            ranges = "".join(_range_text(low, extent, held) for low, extent in zip(lows, extents))
            parts.append(f"{name}{ranges}")
        at = " ".join(f"{k}={v}" for k, v in sizes.items())
        return (f"checkpoint state of the {self.loop.iterator} loop (line {self.loop.line}, "
                f"{self.loop.step_count(sizes)} steps): {', '.join(parts)}, "
                f"{self.bytes(kernel, sizes)} bytes per snapshot at {at}")


def _range_text(low: isl.PwAff, extent: isl.PwAff, context: isl.Set) -> str:
    high = low.add(extent).sub(isl.PwAff.val_on_domain(low.domain(), isl.Val(1)))
    return f"[{extent_text(low.gist_params(context).coalesce())}.." \
           f"{extent_text(high.gist_params(context).coalesce())}]"


def _box_set(elements: isl.Set, context: isl.Set) -> isl.Set:
    """The bounding box of a set of elements, as a set (to count)."""
    if elements.dim(isl.dim_type.set) == 0:
        return elements
    box = isl.Set.universe(elements.get_space())
    for d in range(elements.dim(isl.dim_type.set)):
        var = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(elements.get_space()),
                                      isl.dim_type.set, d)
        low = elements.dim_min(d).insert_domain(elements.get_space())
        high = elements.dim_max(d).insert_domain(elements.get_space())
        box = box & var.ge_set(low) & var.le_set(high)
    return box.intersect_params(context)


def time_loops(kernel: Kernel) -> tuple[TimeLoop, ...]:
    """The outermost loops of the kernel's schedule, in execution order: one
    per group of statements sharing the first loop dimension (the first
    schedule dimension that is not a constant, which is each member's first
    iterator)."""
    smap = dataflow.schedule_map(kernel.schedule)
    groups: dict[tuple[int, tuple[int, ...]], list[str]] = {}
    for statement in kernel.statements:
        if statement.domain.dim(isl.dim_type.set) == 0:
            continue
        placed = smap.extract_map(
            statement.domain.get_space().map_from_domain_and_range(
                _range_space(smap, statement.domain)))
        key = _loop_key(placed)
        if key is not None:
            groups.setdefault(key, []).append(statement.name)
    loops = []
    for (position, prefix), names in sorted(groups.items(), key=lambda item: item[0][1]):
        first = kernel.statement(names[0])
        steps = None
        for name in names:
            domain = kernel.statement(name).domain
            n = domain.dim(isl.dim_type.set)
            values = domain.project_out(isl.dim_type.set, 1, n - 1).reset_tuple_id()
            values = values.set_dim_name(isl.dim_type.set, 0, first.iterators[0])
            steps = values if steps is None else steps | values
        loops.append(TimeLoop(first.iterators[0], tuple(names), position, prefix,
                              steps.coalesce(), first.location.line))
    return tuple(loops)


def _range_space(smap: isl.UnionMap, domain: isl.Set) -> isl.Space:
    found = [m for m in maps_of(smap.intersect_domain(isl.UnionSet.from_set(domain)))]
    return found[0].get_space().range()


def _loop_key(placed: isl.Map) -> tuple[int, tuple[int, ...]] | None:
    """(position, constants before it) of the first non-constant schedule
    dimension of a statement's schedule map, when it is the first iterator."""
    image = placed.range()
    prefix = []
    for d in range(placed.dim(isl.dim_type.out)):
        value = image.plain_get_val_if_fixed(isl.dim_type.set, d)
        if value.is_nan():
            equal = placed.equate(isl.dim_type.in_, 0, isl.dim_type.out, d)
            return (d, tuple(prefix)) if equal.is_equal(placed) else None
        prefix.append(int(value.to_python()))
    return None


def _steps_of(kernel: Kernel, names: tuple[str, ...], iterator: str) -> isl.UnionMap:
    """Instance -> its step, ``{ S[t, i] -> [t] }``, for the loop's statements."""
    maps = []
    for name in names:
        domain = kernel.statement(name).domain
        n = domain.dim(isl.dim_type.set)
        step = isl.Map.identity(domain.get_space().map_from_set()).intersect_domain(domain)
        step = step.project_out(isl.dim_type.out, 1, n - 1).reset_tuple_id(isl.dim_type.out)
        maps.append(step.set_dim_name(isl.dim_type.out, 0, iterator))
    return union_of_maps(maps)


def snapshot_state(kernel: Kernel, loop: TimeLoop | None = None) -> SnapshotState | None:
    """The snapshot state of ``loop`` (default: the first time loop whose
    steps overwrite state a later step reads, None when there is none).

    Per array, a step s maps to the elements read at a step t >= s whose
    value comes from before step s (isl's exact dataflow: written at a step
    before s, before the loop, or never) and which are written at a step
    >= s or by a statement after the loop. A loop whose dataflow isl cannot
    compute is not checkpointed.
    """
    candidates = (loop,) if loop is not None else time_loops(kernel)
    for candidate in candidates:
        try:
            state = _state_of(kernel, candidate)
        except isl.Error:  # isl's dataflow fails on a few strided loops: no snapshot known
            continue
        if state is not None and (loop is not None or state.state):
            return state
    return None


def _state_of(kernel: Kernel, loop: TimeLoop) -> SnapshotState:
    smap = dataflow.schedule_map(kernel.schedule)
    inside = set(loop.statements)
    steps = _steps_of(kernel, loop.statements, loop.iterator)
    later = isl.UnionMap.from_map(_order(loop.steps, "le")).apply_range(steps.reverse())
    reads = kernel.reads().intersect_domain(kernel.domain())
    writes = kernel.writes().intersect_domain(kernel.domain())
    must = kernel.writes(False).intersect_domain(kernel.domain())
    may = kernel.writes(True).intersect_domain(kernel.domain())
    loop_writes = union_of_maps([m for m in maps_of(writes)
                                 if m.get_tuple_name(isl.dim_type.in_) in inside])
    loop_domain = loop_writes.domain().union(
        union_of_maps([m for m in maps_of(reads)
                       if m.get_tuple_name(isl.dim_type.in_) in inside]).domain())
    order = dataflow.strict_order(smap)
    after = order.intersect_domain(loop_domain).range().subtract(loop_domain)
    exposed = None
    for read in maps_of(reads):
        if read.get_tuple_name(isl.dim_type.in_) not in inside:
            continue
        # A scatter's may-writes kill nothing: the reads they may source may
        # also read what was there before.
        flow = (isl.UnionAccessInfo.from_sink(isl.UnionMap.from_map(read))
                .set_must_source(must).set_may_source(may)
                .set_schedule(kernel.schedule).compute_flow())
        union = isl.UnionMap.from_map(read)
        # Reads of values from before the kernel, or from before the loop.
        sourced = flow.get_may_dependence()
        outside_sources = sourced.subtract_domain(loop_domain).range()
        pieces = later.apply_range(flow.get_may_no_source())
        pieces = pieces.union(later.apply_range(union.intersect_domain(outside_sources)))
        # Reads of values an earlier step wrote: source step < s <= reading step.
        pairs = sourced.intersect_domain(loop_domain).reverse()  # reader -> writer
        both = steps.range_product(pairs.apply_range(steps))  # reader -> [[t] -> [t']]
        window = isl.UnionMap.from_map(_window(loop.steps)).apply_range(
            _flat_pairs(both).reverse())
        pieces = pieces.union(window.apply_range(union))
        exposed = pieces if exposed is None else exposed.union(pieces)
    if exposed is None:
        return SnapshotState(loop, (), ())
    clobbered = later.apply_range(loop_writes).union(
        isl.UnionMap.from_domain_and_range(isl.UnionSet.from_set(loop.steps),
                                           writes.intersect_domain(after).range()))
    state = exposed.intersect(clobbered).intersect_domain(
        isl.UnionSet.from_set(loop.steps)).coalesce()
    by_array = sorted(((m.get_tuple_name(isl.dim_type.out), m.coalesce())
                       for m in maps_of(state) if not m.is_empty()),
                      key=lambda item: _array_order(kernel, item[0]))
    restored = {name: elements.range() for name, elements in by_array}
    written = {}
    for m in maps_of(loop_writes):
        name = m.get_tuple_name(isl.dim_type.out)
        written[name] = m.range() if name not in written else written[name] | m.range()
    for name, elements in restored.items():
        written[name] = elements if name not in written else written[name] | elements
    finals = tuple(sorted(((name, elements.coalesce()) for name, elements in written.items()
                           if kernel.array(name).storage == "parameter"),
                          key=lambda item: _array_order(kernel, item[0])))
    return SnapshotState(loop, tuple(by_array), finals)


def _array_order(kernel: Kernel, name: str) -> int:
    return [a.name for a in kernel.arrays].index(name)


def _order(steps: isl.Set, relation: str) -> isl.Map:
    """{ [s] -> [t] : s <= t } over the loop's steps."""
    universe = isl.Map.from_domain_and_range(steps, steps)
    lex = isl.Map.lex_le(steps.get_space()) if relation == "le" else \
        isl.Map.lex_lt(steps.get_space())
    return universe & lex


def _window(steps: isl.Set) -> isl.Map:
    """{ [s] -> [t, t'] : t' < s <= t }: a read at step t of a value written
    at step t' needs it restored when rerunning from any s in between."""
    pairs = isl.Map.from_domain_and_range(steps, steps.flat_product(steps))
    # s is input 0, t output 0, t' output 1.
    pairs = pairs.order_le(isl.dim_type.in_, 0, isl.dim_type.out, 0)
    return pairs.order_lt(isl.dim_type.out, 1, isl.dim_type.in_, 0)


def _flat_pairs(both: isl.UnionMap) -> isl.UnionMap:
    """reader -> [[t] -> [t']] as reader -> [t, t']."""
    return union_of_maps([m.flatten_range().reset_tuple_id(isl.dim_type.out)
                          for m in maps_of(both)])
