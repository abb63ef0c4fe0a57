"""What a tape layout does to memory: address traces, reuse, a cache model.

The address trace of a program is computed from the model and the schedule
alone (no C is run): every instruction instance in schedule order, and for
each the memory references of its body in the order codegen emits them
(per assignment: the references its value reads, then its target; pops of
sequential tapes first). A test compares it with the trace an instrumented
build of the generated C prints. From the trace: tape bytes and peak live
tape, the bytes the reverse sweep moves, the reuse-distance histogram of
tape reads, the misses of a set-associative LRU cache, and the on-chip
memory a fully associative LRU cache would need to keep tape reads hitting
(the software counterpart of TapeFlow's on-chip SRAM figure).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Mapping

import islpy as isl

from polyad.errors import UsageError
from polyad.memory import parse_bytes
from polyad.model.kernel import BUFFER_BYTES, evaluate_pw_aff, fix_sizes, maps_of
from polyad.program.ir import Program
from polyad.schedule.tree import flat_schedule

#: Buffers start at multiples of this many bytes in the modelled address space.
ALIGNMENT = 4096
#: Kinds of trace records.
READ, WRITE, UPDATE = "r", "w", "u"


@dataclass(frozen=True)
class Access:
    """One memory reference: which buffer, which element (linear index),
    read / write / update (``+=``), and whether in the reverse sweep."""

    buffer: str
    index: int
    kind: str
    reverse: bool


@dataclass(frozen=True)
class Cache:
    """A set-associative LRU cache: total bytes, line bytes, ways."""

    size: int
    line: int
    ways: int

    @staticmethod
    def parse(text: str) -> "Cache":
        """``32KiB,64B,8`` -> Cache(32768, 64, 8)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 3:
            raise UsageError(f"--cache takes SIZE,LINE,WAYS (e.g. 32KiB,64B,8), not {text!r}")
        size, line = parse_bytes(parts[0]), parse_bytes(parts[1])
        try:
            ways = int(parts[2])
        except ValueError:
            raise UsageError(f"cache ways must be a number, not {parts[2]!r}") from None
        if line <= 0 or ways <= 0 or size < line * ways or size % (line * ways):
            raise UsageError(f"cache {text}: size must be a multiple of line x ways")
        return Cache(size, line, ways)


def trace(program: Program, sizes: Mapping[str, int]) -> list[Access]:
    """The program's memory references in execution order (one thread)."""
    flat = program.flat if program.flat is not None else flat_schedule(program.schedule)
    instances = []
    for m in maps_of(fix_sizes(flat, sizes)):
        name = m.get_tuple_name(isl.dim_type.in_)
        depth = m.dim(isl.dim_type.in_)
        for point in _points(m.wrap()):
            instances.append((point[depth:], name, point[:depth]))
    instances.sort()
    buffers = {b.name: b for b in program.buffers}
    shapes = {b.name: tuple(evaluate_pw_aff(e, sizes) for e in b.extents)
              for b in program.buffers}
    elements = _elements(program, sizes)
    counters = {name: (_capacity(shapes[name]) if b.sequence == "stream" else 0)
                for name, b in buffers.items() if b.sequence}
    outputs = {name: 0 for name, b in buffers.items() if b.sequence == "fifo"}
    result: list[Access] = []
    for schedule_point, name, instance in instances:
        instruction = program.instruction(name)
        reverse = bool(schedule_point) and schedule_point[0] >= 1 and program.flat is not None
        locals_ = {a.target for a in instruction.body
                   if a.target not in instruction.references}
        for symbol, reference in instruction.references.items():
            if reference.relation is None and not reference.push:
                result.append(Access(reference.buffer, _pop(buffers[reference.buffer],
                                                            counters, outputs), READ, reverse))
        for assignment in instruction.body:
            for symbol, reference in instruction.references.items():
                if symbol in assignment.value.free_symbols and symbol not in locals_ \
                        and reference.relation is not None:
                    result.append(Access(reference.buffer, _linear(
                        elements[name, symbol][instance], shapes[reference.buffer]),
                        READ, reverse))
            reference = instruction.references.get(assignment.target)
            if reference is None:
                continue
            if reference.relation is None:
                result.append(Access(reference.buffer, _push(buffers[reference.buffer],
                                                             counters), WRITE, reverse))
            else:
                result.append(Access(reference.buffer, _linear(
                    elements[name, assignment.target][instance], shapes[reference.buffer]),
                    UPDATE if assignment.op == "+=" else WRITE, reverse))
    return result


def _pop(buffer, counters: dict, outputs: dict) -> int:
    name = buffer.name
    if buffer.sequence == "stream":
        counters[name] += 1
        return counters[name] - 1
    if buffer.sequence == "fifo":
        outputs[name] += 1
        return outputs[name] - 1
    counters[name] -= 1
    return counters[name]


def _push(buffer, counters: dict) -> int:
    name = buffer.name
    if buffer.sequence == "stream":
        counters[name] -= 1
        return counters[name]
    counters[name] += 1
    return counters[name] - 1


def _capacity(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _linear(element: tuple[int, ...], shape: tuple[int, ...]) -> int:
    index = 0
    for value, extent in zip(element, shape):
        index = index * extent + value
    return index


def _elements(program: Program, sizes) -> dict:
    """(instruction, symbol) -> {instance: element} for every reference."""
    result = {}
    for instruction in program.instructions:
        for symbol, reference in instruction.references.items():
            if reference.relation is None:
                continue
            relation = fix_sizes(reference.relation, sizes)
            depth = relation.dim(isl.dim_type.in_)
            result[instruction.name, symbol] = {
                point[:depth]: point[depth:] for point in _points(relation.wrap())}
    return result


def _points(points: isl.Set) -> list[tuple[int, ...]]:
    if points.is_empty():
        return []
    if not points.is_bounded():
        raise UsageError(f"cannot enumerate the unbounded set {points}")
    dims = points.dim(isl.dim_type.set)
    found: list[tuple[int, ...]] = []
    points.foreach_point(lambda p: found.append(tuple(
        int(p.get_coordinate_val(isl.dim_type.set, d).to_python()) for d in range(dims))))
    return found


def addresses(program: Program, sizes: Mapping[str, int]) -> dict[str, int]:
    """Base byte address of each buffer in the modelled address space."""
    bases, next_base = {}, 0
    for buffer in program.buffers:
        bases[buffer.name] = next_base
        size = math.prod(evaluate_pw_aff(e, sizes) for e in buffer.extents) \
            * BUFFER_BYTES[buffer.dtype]
        next_base += (size // ALIGNMENT + 1) * ALIGNMENT
    return bases


def reuse_distances(lines: list[int]) -> list[int | None]:
    """LRU stack distance of each access (distinct lines touched since the
    previous access of the same line; None for a first access), by a
    Fenwick tree over access times."""
    size = len(lines)
    tree = [0] * (size + 1)

    def add(position: int, value: int) -> None:
        position += 1
        while position <= size:
            tree[position] += value
            position += position & -position

    def prefix(position: int) -> int:
        position += 1
        total = 0
        while position > 0:
            total += tree[position]
            position -= position & -position
        return total

    last: dict[int, int] = {}
    result: list[int | None] = []
    for time, line in enumerate(lines):
        previous = last.get(line)
        if previous is None:
            result.append(None)
        else:
            result.append(prefix(time - 1) - prefix(previous))
            add(previous, -1)
        add(time, 1)
        last[line] = time
    return result


def simulate(addresses_: list[int], cache: Cache) -> list[bool]:
    """Whether each access hits a set-associative LRU cache."""
    sets = cache.size // (cache.line * cache.ways)
    state = [OrderedDict() for _ in range(sets)]
    hits = []
    for address in addresses_:
        line = address // cache.line
        lru = state[line % sets]
        if line in lru:
            lru.move_to_end(line)
            hits.append(True)
        else:
            hits.append(False)
            lru[line] = None
            if len(lru) > cache.ways:
                lru.popitem(last=False)
    return hits


def analyze(program: Program, sizes: Mapping[str, int], cache: Cache,
            threshold: float = 0.01) -> dict:
    """The memory behaviour of a program's tape and reverse sweep."""
    buffers = {b.name: b for b in program.buffers}
    tape = {name for name, b in buffers.items() if b.tape or b.name.startswith("stream_")}
    bases = addresses(program, sizes)
    accesses = trace(program, sizes)
    element = {name: BUFFER_BYTES[b.dtype] for name, b in buffers.items()}
    byte_address = [bases[a.buffer] + a.index * element[a.buffer] for a in accesses]
    lines = [address // cache.line for address in byte_address]
    distances = reuse_distances(lines)
    hits = simulate(byte_address, cache)
    # Peak live tape: bytes written to the tape and not yet read for the last
    # time (doubles and outcome bytes alike).
    last_read: dict[tuple[str, int], int] = {}
    for time, access in enumerate(accesses):
        if access.buffer in tape and access.kind == READ:
            last_read[access.buffer, access.index] = time
    live, peak, written = 0, 0, set()
    for time, access in enumerate(accesses):
        key = (access.buffer, access.index)
        if access.buffer in tape and access.kind != READ and key not in written:
            written.add(key)
            live += element[access.buffer]
            peak = max(peak, live)
        if last_read.get(key) == time:
            live -= element[access.buffer]
    reverse = [k for k, a in enumerate(accesses) if a.reverse]
    tape_reads = [k for k in reverse if accesses[k].buffer in tape
                  and accesses[k].kind == READ]
    histogram: dict[str, int] = {}
    for k in tape_reads:
        distance = distances[k]
        label = "cold" if distance is None else f"<{1 << max(distance, 1).bit_length()}"
        histogram[label] = histogram.get(label, 0) + 1
    reused = sorted(distances[k] for k in tape_reads if distances[k] is not None)
    cold = sum(1 for k in tape_reads if distances[k] is None)
    allowed = math.floor(threshold * len(tape_reads)) - cold
    if not tape_reads:
        needed_lines = 0
    elif allowed < 0:
        needed_lines = None  # cold misses alone exceed the threshold
    else:
        kept = len(reused) - allowed
        needed_lines = reused[kept - 1] + 1 if kept > 0 else 0
    moved = sum(element[accesses[k].buffer] for k in reverse)
    return {
        "sizes": dict(sizes),
        "cache": {"size": cache.size, "line": cache.line, "ways": cache.ways},
        # One definition of a tape's size everywhere (the plan's, show --tape,
        # check, bench): the bytes of the values recorded. The buffers holding
        # them may be larger (boxes around triangular domains): that is
        # tape_allocated_bytes.
        "tape_bytes": sum(element[name] for name, _ in written),
        "tape_allocated_bytes": sum(element[b] * math.prod(evaluate_pw_aff(e, sizes)
                                                           for e in buffers[b].extents)
                                    for b in tape),
        "tape_values_written": len(written),
        "peak_live_tape_bytes": peak,
        "reverse_sweep_bytes_moved": moved,
        "reverse_sweep_accesses": len(reverse),
        "tape_reads": len(tape_reads),
        "tape_read_misses": sum(1 for k in tape_reads if not hits[k]),
        "reverse_sweep_misses": sum(1 for k in reverse if not hits[k]),
        "reuse_histogram": dict(sorted(histogram.items(), key=_histogram_order)),
        "on_chip_bytes_for_tape": (None if needed_lines is None
                                   else needed_lines * cache.line),
        "miss_threshold": threshold,
    }


def _histogram_order(item) -> tuple[int, int]:
    label = item[0]
    return (0, 0) if label == "cold" else (1, int(label[1:]))
