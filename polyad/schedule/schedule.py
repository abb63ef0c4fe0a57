"""Schedules: the execution order of a generated program, as a value.

A :class:`Schedule` is kept apart from the algorithm (the adjoint statements
and the tape plan): it orders the instances of the program's instructions and
says which loops run in parallel or vectorised. Its state is a flat schedule
map (every instance to a point of one space; lexicographic order is execution
order) plus loop annotations; :meth:`Schedule.tree` is the isl schedule tree
codegen prints. Each primitive is a verb returning a new Schedule, is checked
against the exact dependences of the program, and is recorded in a
replayable trace (:meth:`Schedule.to_json`, :meth:`Schedule.from_json`).

Loops are named by an instruction and a source iterator: ``"S1_b.k"`` is the
loop over ``k`` around the adjoint of statement S1 (forward statements keep
their names, ``S1``; a tile loop made by :meth:`Schedule.tile` is ``k_tile``).

>>> import polyad
>>> k = polyad.parse("examples/gemm.c")              # doctest: +SKIP
>>> s = polyad.grad(k, wrt=["A", "B"]).schedule()    # doctest: +SKIP
>>> s = s.interchange(["S1_b.k", "S1_b.j"], ["S1_b.j", "S1_b.k"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Sequence

import islpy as isl

from polyad.errors import ScheduleError
from polyad.program.gather import (gathered_buffers, is_gather_part, single_multi_aff, split_for_gather,
                           split_instances)
from polyad.model.kernel import maps_of, union_of_maps, union_of_sets
from polyad.program.ir import Program, fingerprint
from polyad.schedule.tree import (constant_piece, fixed_value, flat_schedule, map_from_pieces,
                                  output_pieces, padded, tree_from_flat, with_prefix,
                                  with_suffix)
from polyad.program.sweeps import REVERSE, SWEEP_NAMES

#: Buffers of at most this many dimensions (scalars) get an OpenMP reduction when the
#: increments of a parallel loop's iterations meet on them; a private copy of
#: a larger array per thread costs as much as the loop itself.
SMALL_RANK = 0
DEFAULT_TILE = 128
#: At most this many classes for :meth:`Schedule.color`.
MAX_COLORS = 8


@dataclass(frozen=True)
class Loop:
    """A loop handle: an instruction (or family) and a source iterator."""

    instruction: str
    iterator: str

    @staticmethod
    def of(value: "Loop | str | Sequence[str]") -> "Loop":
        """``Loop("S1_b", "k")`` from ``"S1_b.k"``, ``("S1_b", "k")`` or a Loop."""
        if isinstance(value, Loop):
            return value
        if isinstance(value, str):
            instruction, dot, iterator = value.rpartition(".")
            if not dot or not instruction or not iterator:
                raise ScheduleError(f"a loop is named INSTRUCTION.ITERATOR, e.g. S1_b.k, "
                                    f"not {value!r}")
            return Loop(instruction, iterator)
        instruction, iterator = value
        return Loop(str(instruction), str(iterator))

    def __str__(self) -> str:
        return f"{self.instruction}.{self.iterator}"


@dataclass(frozen=True)
class Step:
    """One primitive of a trace: its name and JSON-able arguments."""

    primitive: str
    arguments: tuple[tuple[str, object], ...] = ()

    def to_dict(self) -> dict:
        return {"primitive": self.primitive, **dict(self.arguments)}


@dataclass(frozen=True)
class OrderingDependences:
    """The program's dependences, as pairs of instances in original order.

    ``ordered`` must keep their order (a write and a read or write of the
    same element); ``increments`` are two increments ``x += ...`` of the same
    element, which may be reordered (floating-point reassociation), kept per
    buffer.
    """

    ordered: tuple[isl.Map, ...]
    increments: tuple[tuple[str, isl.Map], ...]


@dataclass(frozen=True)
class LoopReport:
    """What :meth:`Schedule.loops` says of one loop."""

    loop: Loop
    sweep: str
    depth: int
    instructions: tuple[str, ...]
    annotations: tuple[str, ...]
    parallel: bool
    reason: str
    order: tuple = ()


@dataclass(frozen=True)
class Schedule:
    """The schedule of a program; see the module documentation."""

    program: Program
    flat: isl.UnionMap
    dependences: OrderingDependences
    annotations: tuple[tuple[Loop, str], ...] = ()
    trace: tuple[Step, ...] = ()
    reassociate: bool = True
    origin: dict = field(default_factory=dict, compare=False)
    #: Instruction rewrites the schedule needs, in order: ("gather",
    #: instruction, buffer) splits (see :meth:`gather`); a program is
    #: generated from the algorithm with :func:`polyad.program.gather.rewritten`.
    rewrites: tuple[tuple[str, str, str], ...] = ()

    # --- construction and replay ---------------------------------------
    @staticmethod
    def of(program: Program, *, reassociate: bool = True, origin: dict | None = None
           ) -> "Schedule":
        """The program's own schedule (for an adjoint: the forward sweep,
        then the exact reverse of it)."""
        flat = program.flat if program.flat is not None else flat_schedule(program.schedule)
        flat = union_of_maps(padded(maps_of(flat)))
        origin = {**(origin or {}), "fingerprint": fingerprint(program)}
        return Schedule(program, flat, program_dependences(program, flat),
                        reassociate=reassociate, origin=origin)

    def to_json(self) -> str:
        """The trace, replayable with :meth:`from_json`."""
        return json.dumps({"polyad_schedule": 1, **self.origin,
                           "reassociate": self.reassociate,
                           "steps": [step.to_dict() for step in self.trace]}, indent=2)

    @staticmethod
    def replay(base: "Schedule", text: str) -> "Schedule":
        """Apply the steps of a JSON trace to a schedule."""
        try:
            data = json.loads(text)
            steps = list(data["steps"])
        except (ValueError, KeyError, TypeError) as error:
            raise ScheduleError(f"not a polyad schedule trace: {error}") from None
        base.check_origin(data)
        schedule = replace(base, reassociate=bool(data.get("reassociate", True)))
        for step in steps:
            schedule = schedule.apply(dict(step))
        return schedule

    def check_origin(self, trace: dict) -> None:
        """Raise a :class:`ScheduleError` unless a trace (as read from JSON)
        was recorded for this schedule's program: the same kernel, mode,
        differentiated arrays and program fingerprint, as far as the trace
        states them (a hand-written trace may state none)."""
        wrong = [f"{key} {trace[key]!r} (this is {self.origin[key]!r})"
                 for key in ("kernel", "mode", "wrt", "of", "fingerprint")
                 if key in trace and key in self.origin and trace[key] != self.origin[key]]
        if wrong:
            what = ", ".join(f"{key}={value!r}" for key, value in self.origin.items()
                             if key in ("kernel", "mode", "wrt", "of"))
            raise ScheduleError(
                f"this schedule trace was recorded for another program: {'; '.join(wrong)}; "
                f"record one for {what} (Schedule.to_json) or use --schedule auto")

    def apply(self, step: dict) -> "Schedule":
        """Apply one step given as a dict (as in a JSON trace)."""
        arguments = dict(step)
        name = arguments.pop("primitive", None)
        method = _PRIMITIVES.get(name)
        if method is None:
            raise ScheduleError(f"unknown schedule primitive {name!r} (known: "
                                f"{', '.join(sorted(_PRIMITIVES))})")
        try:
            return getattr(self, method)(**arguments)
        except TypeError as error:
            raise ScheduleError(f"bad arguments to {name}: {error}") from None

    # --- reading ----------------------------------------------------------
    def tree(self) -> isl.Schedule:
        """The isl schedule tree, with marks for the loop annotations."""
        gathered = {i.name for i in self.program.instructions if is_gather_part(i.name)}
        return tree_from_flat(self.flat, marks=self.marks_for, separate=lambda maps: any(
            m.get_tuple_name(isl.dim_type.in_) in gathered for m in maps))

    def scheduled_program(self) -> Program:
        """The program with this schedule."""
        return replace(self.program, schedule=self.tree(), flat=self.flat)

    @property
    def uses_openmp(self) -> bool:
        return any(kind.split(":")[0] in ("parallel", "simd")
                   for _, kind in self.annotations)

    def loop(self, instruction: str, iterator: str) -> Loop:
        """The handle of a loop, checked to exist."""
        handle = Loop(instruction, iterator)
        self._resolve(handle)
        return handle

    def loops(self) -> list[LoopReport]:
        """Every loop, outermost first, with whether it may run in parallel
        and why not."""
        reports, seen = [], set()
        for m in maps_of(self.flat):
            name = m.get_tuple_name(isl.dim_type.in_)
            family = self.program.instruction(name).handle
            for position in range(m.dim(isl.dim_type.out)):
                kind, iterator = _classify(m, position)
                if kind == "const":
                    continue
                loop = Loop(family, iterator + ("" if kind == "loop" else "_" + kind))
                key = (position, self._group_key(m, position))
                if key in seen:
                    continue
                seen.add(key)
                group = self._group(m, position)
                verdict = self._parallel_verdict(group, position)
                reports.append(LoopReport(
                    loop, self._sweep(m), position,
                    tuple(sorted(g.get_tuple_name(isl.dim_type.in_) for g in group)),
                    tuple(kind for handle, kind in self.annotations if handle == loop),
                    verdict.parallel, verdict.reason,
                    order=tuple(fixed_value(m, d) or 0 for d in range(position + 1))))
        reports.sort(key=lambda r: r.order)
        return reports

    # --- primitives -------------------------------------------------------
    def tile(self, loops: Sequence, sizes: Sequence[int]) -> "Schedule":
        """Tile perfectly nested loops (outermost first) by ``sizes``.

        Precondition: the loops are consecutive in one nest and tiling
        keeps every dependence (the nest is permutable).

        Before::

            for (i ...) for (j ...) S(i, j);

        After ``tile(["S.i", "S.j"], [32, 32])``::

            for (it ...) for (jt ...) for (i = 32*it ...) for (j = 32*jt ...) S(i, j);
        """
        handles = [Loop.of(x) for x in loops]
        sizes = [int(x) for x in sizes]
        if len(sizes) != len(handles) or any(x <= 0 for x in sizes):
            raise ScheduleError("tile takes one positive size per loop")
        group, first = self._nest(handles)

        def change(dims, domain):
            tiles = [dims[first + k].scale_down_val(isl.Val(size)).floor()
                     for k, size in enumerate(sizes)]
            return dims[:first] + tiles + dims[first:]
        step = Step("tile", (("loops", [str(h) for h in handles]), ("sizes", sizes)))
        return self._transformed(group, change, first, len(sizes), step)

    def interchange(self, loops: Sequence, order: Sequence) -> "Schedule":
        """Reorder perfectly nested loops: ``order`` lists the same loops,
        outermost first.

        Before::  for (k ...) for (j ...) S(k, j);
        After ``interchange(["S.k", "S.j"], ["S.j", "S.k"])``::
                  for (j ...) for (k ...) S(k, j);
        """
        handles = [Loop.of(x) for x in loops]
        wanted = [Loop.of(x) for x in order]
        if sorted(map(str, handles)) != sorted(map(str, wanted)):
            raise ScheduleError("interchange: the new order must list the same loops")
        group, first = self._nest(handles)
        permutation = [handles.index(h) for h in wanted]

        def change(dims, domain):
            nest = dims[first:first + len(handles)]
            return dims[:first] + [nest[p] for p in permutation] + \
                dims[first + len(handles):]
        step = Step("interchange", (("loops", [str(h) for h in handles]),
                                    ("order", [str(h) for h in wanted])))
        return self._transformed(group, change, None, 0, step)

    def fuse(self, first: "Loop | str", second: "Loop | str") -> "Schedule":
        """Fuse two loops that follow each other in one sequence; the body
        of ``first`` runs before that of ``second`` in each iteration.

        Before::  for (i ...) S(i);  for (i ...) T(i);
        After ``fuse("S.i", "T.i")``::  for (i ...) { S(i); T(i); }
        """
        a, b = Loop.of(first), Loop.of(second)
        group_a, dim_a = self._group_of(a)
        group_b, dim_b = self._group_of(b)
        if dim_a != dim_b or dim_a == 0:
            raise ScheduleError(f"fuse: {a} and {b} are not loops of one sequence")
        sequence = dim_a - 1
        value_a = fixed_value(group_a[0], sequence)
        value_b = fixed_value(group_b[0], sequence)
        prefix_a = [fixed_value(group_a[0], d) for d in range(sequence)]
        prefix_b = [fixed_value(group_b[0], d) for d in range(sequence)]
        if value_a is None or value_b is None or prefix_a != prefix_b or value_a >= value_b:
            raise ScheduleError(f"fuse: {a} must come before {b} in one sequence")
        names_b = {m.get_tuple_name(isl.dim_type.in_) for m in group_b}
        between = [m for m in maps_of(self.flat)
                   if [fixed_value(m, d) for d in range(sequence)] == prefix_a
                   and fixed_value(m, sequence) is not None
                   and value_a < fixed_value(m, sequence) < value_b]
        if between:
            raise ScheduleError(f"fuse: {a} and {b} are not adjacent "
                                f"({between[0].get_tuple_name(isl.dim_type.in_)} runs "
                                "between them)")
        maps = []
        for m in maps_of(self.flat):
            dims = output_pieces(m)
            domain = m.domain()
            name = m.get_tuple_name(isl.dim_type.in_)
            inner = 1 if name in names_b else 0
            if name in names_b:
                dims[sequence] = constant_piece(domain, value_a)
            dims = dims[:dim_a + 1] + [constant_piece(domain, inner)] + dims[dim_a + 1:]
            maps.append(map_from_pieces(name, domain, dims))
        return self._checked(maps, Step("fuse", (("first", str(a)), ("second", str(b)))))

    def distribute(self, loop: "Loop | str") -> "Schedule":
        """Split a loop whose body is a sequence into one loop per part.

        Before::  for (i ...) { S(i); T(i); }
        After ``distribute("S.i")``::  for (i ...) S(i);  for (i ...) T(i);
        """
        handle = Loop.of(loop)
        group, dim = self._group_of(handle)
        inner = dim + 1
        values = {fixed_value(m, inner) for m in group} if inner < _depth(group[0]) else {None}
        if None in values or len(values) < 2:
            raise ScheduleError(f"distribute: the body of {handle} is not a sequence")

        def change(dims, domain):
            return dims[:dim] + [dims[inner], dims[dim]] + dims[inner + 1:]
        return self._transformed(group, change, None, 0,
                                 Step("distribute", (("loop", str(handle)),)))

    def skew(self, loop: "Loop | str", outer: "Loop | str", factor: int = 1) -> "Schedule":
        """Add ``factor`` times an outer loop's iterator to a loop's.

        Before::  for (t ...) for (i ...) S(t, i);
        After ``skew("S.i", "S.t", 1)``::  for (t ...) for (i' = i + t ...) S(t, i' - t);
        """
        inner_handle, outer_handle = Loop.of(loop), Loop.of(outer)
        group, dim = self._group_of(inner_handle)
        _, outer_dim = self._group_of(outer_handle)
        if outer_dim >= dim:
            raise ScheduleError(f"skew: {outer_handle} is not outside {inner_handle}")
        factor = int(factor)

        def change(dims, domain):
            dims = list(dims)
            dims[dim] = dims[dim].add(dims[outer_dim].scale_val(isl.Val(factor)))
            return dims
        return self._transformed(group, change, None, 0, Step(
            "skew", (("loop", str(inner_handle)), ("outer", str(outer_handle)),
                     ("factor", factor))))

    def gather(self, instruction: str, array: str) -> "Schedule":
        """Turn the scattered increments of ``array`` by one instruction
        into a gather: one part per increment, each shifted so that the
        increments of one element meet in one iteration, and the rest of the
        instruction (the reset of its own adjoint) after all of them, in the
        loops outside the shifted ones. The adjoint of a stencil
        ``A_b[i - 1] += t; A_b[i] += t; A_b[i + 1] += t`` becomes
        ``A_b[e] += t(e + 1) + t(e) + t(e - 1)``, which vectorises.

        ``array`` is the adjoint buffer (``"A_b"``) or its primal's name.
        Checked against the dependences like every primitive.
        """
        # A primal's adjoint is named by polyad.program.lowering.derivative_names
        # (x_b_b when the kernel has its own x_b): find it by what it holds.
        adjoint_of = {b.purpose[len("adjoint of "):]: b.name for b in self.program.buffers
                      if b.purpose.startswith("adjoint of ")}
        buffer = adjoint_of.get(array, array)
        maps = self._instructions_of(instruction)
        if len(maps) != 1:
            raise ScheduleError(f"gather: {instruction} is split in parts "
                                f"({', '.join(m.get_tuple_name(isl.dim_type.in_) for m in maps)})"
                                "; gather one of them")
        current = maps[0]
        name = current.get_tuple_name(isl.dim_type.in_)
        base = self.program.flat if self.program.flat is not None \
            else flat_schedule(self.program.schedule)
        split = split_for_gather(replace(self.program, flat=union_of_maps(padded(maps_of(base)))),
                                 name, buffer)
        timing = single_multi_aff(current)
        if timing is None:
            raise ScheduleError(f"gather: the schedule of {name} is piecewise")
        moved = {d for offset in split.offsets for d, value in enumerate(offset) if value}
        position = next((p for p in range(timing.dim(isl.dim_type.out))
                         if any(not timing.get_aff(p).get_coefficient_val(
                             isl.dim_type.in_, d).is_zero() for d in moved)), None)
        if position is None:
            raise ScheduleError(f"gather: no loop of {name} runs along the iterators its "
                                f"increments of {buffer} are shifted in")
        domain = self.program.instruction(name).domain
        placed = []
        for k, part in enumerate(split.parts):
            shift = isl.MultiAff.identity(isl.Space.map_from_set(domain.get_space()))
            for d, value in enumerate(split.offsets[k]):
                shift = shift.set_aff(d, shift.get_aff(d).add_constant_val(isl.Val(-value)))
            at = isl.Map.from_multi_aff(timing.pullback_multi_aff(shift))
            placed.append((part, _inserted(at.intersect_domain(domain), position, 0), k))
        if split.rest:
            placed.append((split.rest, _inserted(current, position, 1), len(split.parts)))
        others = [_inserted(m, position, 0) for m in maps_of(self.flat)
                  if m.get_tuple_name(isl.dim_type.in_) != name]
        new = [with_suffix(m.set_tuple_name(isl.dim_type.in_, part), k)
               for part, m, k in placed]
        new = [m.intersect_domain(split.program.instruction(
            m.get_tuple_name(isl.dim_type.in_)).domain) for m in new]
        program = split.program
        rebuilt = replace(self, program=program,
                          dependences=program_dependences(program, program.flat),
                          rewrites=self.rewrites + (("gather", name, buffer),))
        step = Step("gather", (("instruction", instruction), ("array", buffer)))
        return rebuilt._checked(others + new, step)

    def peel(self, loop: "Loop | str") -> "Schedule":
        """Split off, and run before the loop, the iterations where an
        instruction's increment of an element the loop does not move meets
        another reference of the same array, so that the rest of the loop
        may accumulate that element in a register (:meth:`vectorize`).

        Precondition: an innermost loop with such a meeting in one
        instruction, on fewer instances than the instruction has; the new
        order is checked against the dependences.

        Before::  for (j = i; j < m; j++) { d_b[k][i] += g * d[k][j];
                                            d_b[k][j] += g * d[k][i]; }
        After ``peel("S_b.j")``::
                  { j = i: the same two increments }
                  for (j = i + 1; j < m; j++) { ...the same... }
        """
        handle = Loop.of(loop)
        group, position = self._group_of(handle)
        if any(_classify(m, d)[0] != "const" for m in group
               for d in range(position + 1, _depth(m))):
            raise ScheduleError(f"peel: {handle} is not an innermost loop")
        program = self.program
        peeled: list[tuple[str, isl.Set]] = []
        for m in group:
            name = m.get_tuple_name(isl.dim_type.in_)
            instruction = program.instruction(name)
            meeting = _meeting_instances(instruction, m, position, program)
            if meeting is None or meeting.is_empty():
                continue
            if any(r.relation is None or program.buffer(r.buffer).sequence
                   for r in instruction.references.values()):
                raise ScheduleError(f"peel: {name} reads a sequential tape, whose order "
                                    "is fixed")
            if instruction.domain.is_subset(meeting):
                raise ScheduleError(f"peel: in {name} the references meet on every instance")
            peeled.append((name, meeting))
        if not peeled:
            raise ScheduleError(f"peel: no increment of an element {handle} does not move "
                                "meets another reference of its array")
        flat = self.program.flat if self.program.flat is not None \
            else flat_schedule(self.program.schedule)
        program = replace(program, flat=union_of_maps(padded(maps_of(flat))))
        rewrites = self.rewrites
        maps = list(maps_of(self.flat))
        for name, meeting in peeled:
            program = split_instances(program, name, meeting)
            rewrites += (("peel", name, meeting.to_str()),)
            split = []
            for m in maps:
                if m.get_tuple_name(isl.dim_type.in_) != name:
                    split.append(m)
                    continue
                split.append(_inserted(m.intersect_domain(meeting), position, 0)
                             .set_tuple_name(isl.dim_type.in_, name + "_peel"))
                split.append(_inserted(m.subtract_domain(meeting), position, 1))
            maps = split
        ordered_names = {m.get_tuple_name(isl.dim_type.in_) for m in maps_of(program.flat)}
        unordered = [i.name for i in program.instructions if i.name not in ordered_names]
        if unordered:
            # The original order covers fewer instances than a split piece
            # has (make fuzz, seed 2: a KeyError on S1_b4_peel).
            raise ScheduleError(f"peel: {handle}: the original order has no place for "
                                f"{', '.join(unordered)}")
        names = {n for n, _ in peeled} | {n + "_peel" for n, _ in peeled}
        maps = [m if m.get_tuple_name(isl.dim_type.in_) in names
                else _inserted(m, position, 1) for m in maps]
        rebuilt = replace(self, program=program,
                          dependences=program_dependences(program, program.flat),
                          rewrites=rewrites)
        return rebuilt._checked(maps, Step("peel", (("loop", str(handle)),)))

    def color(self, loop: "Loop | str") -> "Schedule":
        """Run a loop's iterations in classes ``x mod C``, one class after
        the other, where C is one more than the largest distance at which
        the increments of two iterations meet; within a class no two
        iterations' increments meet, so the loop over a class may run in
        parallel without atomics (the reverse sweep of a stencil scatters
        into neighbours: C = 3 for a three-point stencil).

        Precondition: the loop carries no dependence other than increments,
        and those meet at a bounded distance.

        Before::  for (i ...) { A_b[i - 1] += g; A_b[i + 1] += g; }
        After ``color("S_b.i")``::
                  for (r = 0; r < 3; r++) for (i ... with i % 3 == r ...) { ... }
        """
        handle = Loop.of(loop)
        group, dim = self._group_of(handle)
        verdict = self._parallel_verdict(group, dim)
        if verdict.parallel:
            raise ScheduleError(f"color: {handle} is already free of conflicts")
        if not verdict.atomics_would_do:
            raise ScheduleError(f"color: {handle}: {verdict.reason}")
        classes = self._classes(group, dim)
        if classes is None:
            raise ScheduleError(f"color: increments of {handle}'s iterations meet "
                                f"{MAX_COLORS} or more iterations apart")

        def change(dims, domain):
            residue = dims[dim].mod_val(isl.Val(classes))
            return dims[:dim] + [residue] + dims[dim:]
        return self._transformed(group, change, dim, 1,
                                 Step("color", (("loop", str(handle)),)))

    def _classes(self, group: list[isl.Map], position: int) -> int | None:
        """The fewest classes C such that the increments of two iterations of
        the loop at ``position`` meet only less than C apart (None: not
        below MAX_COLORS)."""
        names = {m.get_tuple_name(isl.dim_type.in_) for m in group}
        by_name = {m.get_tuple_name(isl.dim_type.in_): m for m in group}
        distances = []
        for _, dependence in self.dependences.increments:
            if not _between(dependence, names):
                continue
            source = by_name[dependence.get_tuple_name(isl.dim_type.in_)]
            sink = by_name[dependence.get_tuple_name(isl.dim_type.out)]
            pairs = dependence.apply_domain(source).apply_range(sink)
            pairs = pairs.intersect(_carried_at(pairs.get_space(), position))
            if not pairs.is_empty():
                depth = pairs.dim(isl.dim_type.out)
                distances.append(pairs.deltas()
                                 .project_out(isl.dim_type.set, position + 1,
                                              depth - position - 1)
                                 .project_out(isl.dim_type.set, 0, position))
        for classes in range(2, MAX_COLORS + 1):
            if all(d.is_subset(_within(d.get_space(), classes)) for d in distances):
                return classes
        return None

    def unroll(self, loop: "Loop | str", factor: int) -> "Schedule":
        """Ask the C compiler to unroll a loop ``factor`` times
        (``#pragma GCC unroll``); always legal."""
        handle = Loop.of(loop)
        self._refuse_two_pragmas(handle, "unroll")
        if int(factor) < 1:
            raise ScheduleError("unroll factor must be at least 1")
        return self._annotated(handle, f"unroll:{int(factor)}",
                               Step("unroll", (("loop", str(handle)), ("factor", int(factor)))))

    def vectorize(self, loop: "Loop | str") -> "Schedule":
        """Mark an innermost loop ``#pragma omp simd``.

        Precondition: no dependence is carried by the loop, but for
        increments of an element that stays the same along the loop (a
        scalar such as ``alpha_b``, or ``A_b[i][k]`` in a loop over ``j``)
        and is not otherwise touched in it: those are accumulated in a local
        register variable that is a simd reduction (reassociating the sum),
        then added to the element after the loop.

        Before::  for (j ...) { A_b[i][k] += B[k][j] * g[i][j]; B_b[k][j] += ...; }
        After ``vectorize("S_b.j")``::
                  double acc = 0;
                  #pragma omp simd reduction(+: acc)
                  for (j ...) { acc += B[k][j] * g[i][j]; B_b[k][j] += ...; }
                  A_b[i][k] += acc;
        """
        handle = Loop.of(loop)
        group, dim = self._group_of(handle)
        if any(_classify(m, d)[0] != "const" for m in group
               for d in range(dim + 1, _depth(m))):
            raise ScheduleError(f"vectorize: {handle} is not an innermost loop")
        self._refuse_two_pragmas(handle, "vectorize")
        verdict = self._parallel_verdict(group, dim, invariant_ok=True)
        if not verdict.parallel:
            raise ScheduleError(f"vectorize: {handle}: {verdict.reason}")
        kind = "simd" + (":accumulate=" + ",".join(verdict.reductions)
                         if verdict.reductions else "")
        return self._annotated(handle, kind, Step("vectorize", (("loop", str(handle)),)))

    def parallel(self, loop: "Loop | str", atomics: bool = False) -> "Schedule":
        """Run a loop's iterations in parallel (OpenMP).

        Precondition: no dependence is carried by the loop. Increments of
        the same element by different iterations (the race of parallel
        adjoints) become an OpenMP reduction on scalars and vectors; on
        larger arrays they are an error unless ``atomics=True``, which
        makes those increments atomic.
        """
        handle = Loop.of(loop)
        group, dim = self._group_of(handle)
        self._refuse_two_pragmas(handle, "parallel")
        verdict = self._parallel_verdict(group, dim)
        if not verdict.parallel and not (atomics and verdict.atomics_would_do):
            raise ScheduleError(f"parallel: {handle}: {verdict.reason}")
        kind = "parallel"
        if verdict.reductions:
            kind += ":reduce=" + ",".join(verdict.reductions)
        if verdict.conflicts and atomics:
            kind += (";" if ":" in kind else ":") + "atomic=" + ",".join(verdict.conflicts)
        return self._annotated(handle, kind, Step(
            "parallel", (("loop", str(handle)),) + ((("atomics", True),) if atomics else ())))

    def auto(self, tile: int = DEFAULT_TILE) -> "Schedule":
        """Reschedule the reverse sweep with isl's scheduler on the exact
        dependences (proximity for locality, coincidence avoiding loops whose
        iterations' increments meet on large arrays), tile its permutable
        bands by ``tile`` (0: no tiling) and run the outermost loop of each
        nest that may run in parallel in parallel.

        isl's answer is taken only when it keeps loops unskewed (a skewed
        wavefront over a time loop runs slower on one thread than the plain
        reversal), is found within a bounded amount of isl work, and gives
        innermost loops better strides than the exact reverse order (which
        inherits the forward sweep's); otherwise the reverse sweep keeps the
        exact reverse order. Either way, the outermost loop of each nest
        that may run in parallel does, and innermost loops are vectorised
        with their increments of unmoved elements accumulated in registers. The forward sweep keeps its order, so primal results
        stay bitwise identical. (On a kernel or tangent program, auto
        reschedules the whole program; dependences are exact, so each value
        is still computed by the same operations.)

        First, the scattered increments of stencil adjoints become gathers
        (:meth:`gather`) wherever that is legal."""
        return self._with_gathers()._auto(tile)

    def _with_gathers(self) -> "Schedule":
        """:meth:`gather` on every instruction of the rescheduled sweep that
        increments one array through shifted references, where legal; the
        trace stays as it was (``auto`` replays them)."""
        target = self._rescheduled_sweep()
        result = self
        for m in maps_of(self.flat):
            name = m.get_tuple_name(isl.dim_type.in_)
            instruction = self.program.instruction(name)
            if self._sweep(m) != target or instruction.handle != name:
                continue
            for buffer in gathered_buffers(instruction, self.program)[:1]:
                try:
                    result = result.gather(name, buffer)
                except ScheduleError:
                    continue
        return replace(result, trace=self.trace)

    def _auto(self, tile: int) -> "Schedule":
        target = self._rescheduled_sweep()
        reverse = [m for m in maps_of(self.flat) if self._sweep(m) == target]
        if not reverse:
            return replace(self, trace=self.trace + (Step("auto", (("tile", tile),)),))
        names = {m.get_tuple_name(isl.dim_type.in_) for m in reverse}
        domain = union_of_sets([self.program.instruction(n).domain for n in sorted(names)])
        inside = [d for d in self.dependences.ordered if _between(d, names)]
        increments = [(b, d) for b, d in self.dependences.increments if _between(d, names)]
        validity = union_of_maps(inside + ([] if self.reassociate
                                           else [d for _, d in increments]))
        large = [d for b, d in increments if self._rank(b) > SMALL_RANK]
        constraints = (isl.ScheduleConstraints.on_domain(domain)
                       .set_validity(_nonempty(validity, domain))
                       .set_coincidence(_nonempty(union_of_maps(inside + large), domain))
                       .set_proximity(_nonempty(union_of_maps(
                           inside + [d for _, d in increments]), domain)))
        tree = None if _too_costly(inside) else _bounded_schedule(constraints)
        maps = [m for m in maps_of(self.flat) if self._sweep(m) != target]
        if tree is not None:
            tree = _tile_permutable_bands(tree, int(tile), self._innermost_score)
            scheduled = padded(maps_of(flat_schedule(tree)))
        step = Step("auto", (("tile", int(tile)),))
        kept = tuple((h, k) for h, k in self.annotations if not self._in_reverse(h))
        plain = replace(self._checked(padded(maps + reverse), step),
                        annotations=kept)._parallelize_reverse()
        if tree is None or any(_skewed(m) for m in scheduled):
            return plain
        candidate = [with_prefix(m, REVERSE) if target == "reverse" else m for m in scheduled]
        rescheduled = replace(self._checked(padded(maps + candidate), step),
                              annotations=kept)._parallelize_reverse()
        # isl's order wins on better strides of the innermost loops, or on
        # equal strides with parallel loops where the exact reverse has none.
        better = self._stride_score(candidate) - self._stride_score(reverse)
        if better > 0 or (better == 0 and rescheduled._parallel_count() >
                          plain._parallel_count() == 0):
            return rescheduled
        return plain

    def _parallel_count(self) -> int:
        return sum(1 for _, kind in self.annotations if kind.startswith("parallel"))

    # --- helpers ------------------------------------------------------------
    def _in_reverse(self, handle: Loop) -> bool:
        try:
            group, _ = self._group_of(handle)
        except ScheduleError:
            return True
        return self._sweep(group[0]) == self._rescheduled_sweep()

    def _parallelize_reverse(self) -> "Schedule":
        """Mark the outermost loop of each reverse nest that may run in
        parallel (without atomics)."""
        result = self
        covered: set[str] = set()
        reports = [r for r in self.loops() if r.sweep == self._rescheduled_sweep()]
        for report in reports:
            if covered & set(report.instructions):
                continue
            # A mark applies to every piece of its loop: each must be worth it.
            if not all(self._worth_a_parallel_region(other, reports)
                       for other in reports if other.loop == report.loop):
                continue
            # auto's own step records what it does: replaying auto does it again.
            if report.parallel:
                # A loop in pieces is named by its first piece: another piece
                # may be parallel where the one the name reaches is not.
                try:
                    result = replace(result.parallel(report.loop), trace=result.trace)
                except ScheduleError:
                    continue
                covered |= set(report.instructions)
            elif report.reason.startswith("increments of"):
                try:
                    colored = result.color(report.loop)
                    result = replace(colored.parallel(report.loop), trace=result.trace)
                    covered |= set(report.instructions)
                except ScheduleError:
                    continue
        return result._vectorize_innermost()

    @staticmethod
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

    def _vectorize_innermost(self) -> "Schedule":
        """Vectorise each innermost loop of the rescheduled sweep that may
        be (reassociating increments of elements it does not move)."""
        result = self
        reports = [r for r in self.loops() if r.sweep == self._rescheduled_sweep()]
        for report in reports:
            deeper = any(other.depth > report.depth
                         and set(other.instructions) & set(report.instructions)
                         for other in reports)
            if deeper or any(a.startswith("parallel") for a in report.annotations):
                continue
            group, position = result._group_of(report.loop)
            if result._mostly_strided(group, position):
                continue
            try:
                result = replace(result.vectorize(report.loop), trace=result.trace)
            except ScheduleError as error:
                # Layers stage the boxes of every piece a peel makes, whose
                # parametric bounds isl takes minutes and gigabytes to find.
                if "meet" not in str(error) or self.origin.get("layout") == "layers":
                    continue
                try:  # the iterations where the increments meet go first
                    peeled = result.peel(report.loop).vectorize(report.loop)
                    result = replace(peeled, trace=result.trace)
                except ScheduleError:
                    continue
        return result

    def _rescheduled_sweep(self) -> str:
        return "reverse" if self.origin.get("mode") == "reverse" else "forward"

    def _sweep(self, m: isl.Map) -> str:
        if self.origin.get("mode") != "reverse":
            return "forward"
        return SWEEP_NAMES.get(fixed_value(m, 0), "?")

    def _stride_score(self, maps: list[isl.Map]) -> int:
        """The sum over instructions of how well their innermost loop suits
        the innermost position (see :meth:`_innermost_score`)."""
        total = 0
        for m in maps:
            name = m.get_tuple_name(isl.dim_type.in_)
            loops = [_classify(m, d) for d in range(m.dim(isl.dim_type.out))]
            loops = [iterator for kind, iterator in loops if kind == "loop"]
            if loops:
                instruction = self.program.instruction(name)
                total += self._innermost_score(name, instruction.iterators.index(loops[-1]))
        return total

    def _innermost_score(self, instruction: str, iterator: int) -> int:
        """How well a loop over domain dimension ``iterator`` suits the
        innermost position for an instruction: references invariant in it
        (+1) or walking the last dimension with stride one (+2) are good,
        others (a stride of a whole row) bad (-2)."""
        points = {"invariant": 1, "unit": 2, "strided": -2}
        return sum(points[kind] for kind in self._strides(instruction, iterator))

    def _strides(self, instruction: str, iterator: int) -> list[str]:
        """Per memory reference of an instruction, how a loop over domain
        dimension ``iterator`` walks it: "invariant", "unit" (stride one in
        the last dimension) or "strided"."""
        kinds = []
        for reference in self.program.instruction(instruction).references.values():
            if reference.relation is None or reference.relation.dim(isl.dim_type.out) == 0:
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

    def _mostly_strided(self, group: list[isl.Map], position: int) -> bool:
        """Whether the loop at ``position`` walks more references across
        rows than along them (simd code would gather and scatter)."""
        kinds = []
        for m in group:
            name = m.get_tuple_name(isl.dim_type.in_)
            kind, iterator = _classify(m, position)
            if kind == "loop":
                kinds += self._strides(name, self.program.instruction(name).iterators
                                       .index(iterator))
        return kinds.count("strided") > kinds.count("unit")

    def _accumulable(self, buffer: str, group: list[isl.Map], position: int) -> bool:
        """Whether, in the loop at ``position``, the increments of ``buffer``
        that meet across iterations may be accumulated in registers: they
        are increments of elements the loop does not move, and no other
        reference to ``buffer`` in the loop (a read, a write, an increment of
        a moving element) touches those elements, nor do two of them touch
        one element from different iterations (checked on the instances)."""
        invariant: list[isl.Map] = []
        others: list[isl.Map] = []
        for m in group:
            instruction = self.program.instruction(m.get_tuple_name(isl.dim_type.in_))
            kind, iterator = _classify(m, position)
            if kind != "loop":
                return False
            dim = instruction.iterators.index(iterator)
            incremented = _only_incremented(instruction)
            for symbol, reference in instruction.references.items():
                if reference.buffer != buffer:
                    continue
                if reference.relation is None:
                    return False
                at_points = _on_buffer(reference).apply_domain(m)  # point -> element
                unmoved = symbol in incremented and not _moves(reference, dim)
                (invariant if unmoved else others).append(at_points)
        if not invariant:
            return False
        if others:
            kept = union_of_maps(invariant).apply_range(union_of_maps(others).reverse())
            for pairs in maps_of(kept):  # in one run of the loop: agree outside it
                agree = isl.Map.universe(pairs.get_space())
                for d in range(position):
                    agree = agree.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
                if not pairs.intersect(agree).is_empty():
                    return False
            moving = union_of_maps(others)
            for pairs in maps_of(moving.apply_range(moving.reverse())):
                if not pairs.intersect(_carried_at(pairs.get_space(), position)).is_empty():
                    return False
        return True

    def _rank(self, buffer: str) -> int:
        return len(self.program.buffer(buffer).extents)

    def marks_for(self, group: list[isl.Map], position: int) -> list[str]:
        """The annotations of the loop at ``position`` holding exactly the
        instructions of ``group`` (as tree marks)."""
        names = {m.get_tuple_name(isl.dim_type.in_) for m in group}
        marks = []
        for handle, kind in self.annotations:
            try:
                members, dim = self._group_of(handle)
            except ScheduleError:
                continue
            if dim == position and names == {m.get_tuple_name(isl.dim_type.in_)
                                             for m in members}:
                marks.append(kind)
        return marks

    def _refuse_two_pragmas(self, handle: Loop, primitive: str) -> None:
        """A loop is parallel, vectorised or unrolled, one at most: a
        parallel loop's body runs as a function of its own, and GCC takes
        neither ``omp simd`` nor ``GCC unroll`` unless a loop follows."""
        group, dim = self._group_of(handle)
        mine = {"parallel": "parallel", "vectorize": "simd", "unroll": "unroll"}[primitive]
        for kind in self.marks_for(group, dim):
            other = kind.split(":")[0]
            if other in ("parallel", "simd", "unroll") and other != mine:
                raise ScheduleError(f"{primitive}: {handle} is already marked {other}: a loop "
                                    "runs in parallel, is vectorised or is unrolled, one "
                                    "at most")

    def _annotated(self, handle: Loop, kind: str, step: Step) -> "Schedule":
        family = kind.split(":")[0]
        kept = tuple((h, k) for h, k in self.annotations
                     if not (h == handle and k.split(":")[0] == family))
        return replace(self, annotations=kept + ((handle, kind),), trace=self.trace + (step,))

    def _instructions_of(self, name: str) -> list[isl.Map]:
        maps = [m for m in maps_of(self.flat)
                if self.program.instruction(m.get_tuple_name(isl.dim_type.in_)).handle == name
                or m.get_tuple_name(isl.dim_type.in_) == name]
        if not maps:
            known = sorted({self.program.instruction(m.get_tuple_name(isl.dim_type.in_)).handle
                            for m in maps_of(self.flat)})
            raise ScheduleError(f"no instruction {name!r} (there are {', '.join(known)})")
        return maps

    def _resolve(self, handle: Loop) -> tuple[isl.Map, int]:
        """One instruction map of the loop and the loop's dimension."""
        maps = self._instructions_of(handle.instruction)
        kind_wanted, iterator = "loop", handle.iterator
        for kind in ("tile", "color"):
            if handle.iterator.endswith("_" + kind):
                kind_wanted, iterator = kind, handle.iterator[:-len(kind) - 1]
        for m in maps:
            for position in range(m.dim(isl.dim_type.out)):
                if _classify(m, position) == (kind_wanted, iterator):
                    return m, position
        available = sorted({f"{handle.instruction}.{name}"
                            + ("" if kind == "loop" else "_" + kind)
                            for m in maps for position in range(m.dim(isl.dim_type.out))
                            for kind, name in [_classify(m, position)] if kind != "const"})
        raise ScheduleError(f"no loop {handle} (loops of {handle.instruction}: "
                            f"{', '.join(available) or 'none'})")

    def _group_key(self, m: isl.Map, position: int) -> tuple:
        return tuple(fixed_value(m, d) for d in range(position))

    def _group(self, m: isl.Map, position: int) -> list[isl.Map]:
        key = self._group_key(m, position)
        return [other for other in maps_of(self.flat)
                if other.dim(isl.dim_type.out) > position
                and self._group_key(other, position) == key
                and fixed_value(other, position) is None]

    def _group_of(self, handle: Loop) -> tuple[list[isl.Map], int]:
        m, position = self._resolve(handle)
        return self._group(m, position), position

    def _nest(self, handles: list[Loop]) -> tuple[list[isl.Map], int]:
        """The instructions of a perfect nest of the given loops, and the
        dimension of its outermost loop."""
        if not handles:
            raise ScheduleError("no loops given")
        group, first = self._group_of(handles[0])
        names = {m.get_tuple_name(isl.dim_type.in_) for m in group}
        for offset, handle in enumerate(handles[1:], start=1):
            inner, dim = self._group_of(handle)
            if dim != first + offset:
                raise ScheduleError(f"{handle} is not directly inside {handles[offset - 1]}: "
                                    "loops must be perfectly nested (distribute first)")
            if {m.get_tuple_name(isl.dim_type.in_) for m in inner} != names:
                raise ScheduleError(f"{handles[0]} and {handle} do not hold the same "
                                    "statements: the nest is not perfect (distribute first)")
        return group, first

    def _transformed(self, group: list[isl.Map], change, insert_at: int | None,
                     inserted: int, step: Step) -> "Schedule":
        """Apply ``change`` to the dimensions of the group's instructions;
        the others get ``inserted`` zero dimensions at ``insert_at``."""
        names = {m.get_tuple_name(isl.dim_type.in_) for m in group}
        maps = []
        for m in maps_of(self.flat):
            dims = output_pieces(m)
            domain = m.domain()
            name = m.get_tuple_name(isl.dim_type.in_)
            if name in names:
                dims = change(dims, domain)
            elif inserted:
                dims = dims[:insert_at] + [constant_piece(domain, 0)] * inserted + dims[insert_at:]
            maps.append(map_from_pieces(name, domain, dims))
        return self._checked(maps, step)

    def _checked(self, maps: list[isl.Map], step: Step) -> "Schedule":
        maps = padded(maps)
        by_name = {m.get_tuple_name(isl.dim_type.in_): m for m in maps}
        required = list(self.dependences.ordered)
        if not self.reassociate:
            required += [d for _, d in self.dependences.increments]
        for dependence in required:
            source = by_name[dependence.get_tuple_name(isl.dim_type.in_)]
            sink = by_name[dependence.get_tuple_name(isl.dim_type.out)]
            kept = source.lex_lt_map(sink)
            if not dependence.is_subset(kept):
                raise ScheduleError(f"{step.primitive} would violate a dependence: "
                                    + self._describe(dependence.subtract(kept)))
        return replace(self, flat=union_of_maps(maps), trace=self.trace + (step,))

    def _describe(self, pairs: isl.Map) -> str:
        point = pairs.wrap().sample_point()
        source = pairs.get_tuple_name(isl.dim_type.in_)
        sink = pairs.get_tuple_name(isl.dim_type.out)
        n_in = pairs.dim(isl.dim_type.in_)
        values = [int(point.get_coordinate_val(isl.dim_type.set, d).to_python())
                  for d in range(n_in + pairs.dim(isl.dim_type.out))]
        params = {pairs.get_dim_name(isl.dim_type.param, d):
                  int(point.get_coordinate_val(isl.dim_type.param, d).to_python())
                  for d in range(pairs.dim(isl.dim_type.param))}
        where = lambda name: self.program.instruction(name).comment  # noqa: E731
        sizes = ", ".join(f"{k} = {v}" for k, v in params.items())
        return (f"{source}{tuple(values[:n_in])} ({where(source)}) must run before "
                f"{sink}{tuple(values[n_in:])} ({where(sink)})"
                + (f" at {sizes}" if sizes else ""))

    def _parallel_verdict(self, group: list[isl.Map], position: int,
                          invariant_ok: bool = False) -> "_Verdict":
        """Whether the loop at ``position`` over ``group`` may run its
        iterations at once. Conflicting increments of scalars are
        reductions; with ``invariant_ok`` (vectorisation), so are those of
        any element the loop does not move and only increments."""
        names = {m.get_tuple_name(isl.dim_type.in_) for m in group}
        by_name = {m.get_tuple_name(isl.dim_type.in_): m for m in group}

        def carried(dependence: isl.Map) -> bool:
            source = by_name[dependence.get_tuple_name(isl.dim_type.in_)]
            sink = by_name[dependence.get_tuple_name(isl.dim_type.out)]
            pairs = dependence.apply_domain(source).apply_range(sink)
            return not pairs.intersect(_carried_at(pairs.get_space(), position)).is_empty()

        for dependence in self.dependences.ordered:
            if _between(dependence, names) and carried(dependence):
                return _Verdict(False, "carries a dependence: "
                                + self._describe(dependence), (), (), False)
        reductions, conflicts = [], []
        for buffer, dependence in self.dependences.increments:
            if not self.reassociate and _between(dependence, names) and carried(dependence):
                return _Verdict(False, f"increments of {buffer} would be reordered "
                                "(reassociation is forbidden)", (), (), False)
            if _between(dependence, names) and carried(dependence):
                small = self._rank(buffer) <= SMALL_RANK
                if invariant_ok:
                    small = self._accumulable(buffer, group, position)
                target = reductions if small else conflicts
                if buffer not in target:
                    target.append(buffer)
        if conflicts:
            return _Verdict(False, "increments of " + ", ".join(conflicts) + " from "
                            "different iterations meet (a race); interchange to a loop "
                            "whose iterations touch disjoint elements, or use atomics",
                            tuple(reductions), tuple(conflicts), True)
        reason = ("iterations independent" if not reductions else
                  "iterations independent but for increments of "
                  + ", ".join(reductions) + " (an OpenMP reduction)")
        return _Verdict(True, reason, tuple(reductions), (), False)


@dataclass(frozen=True)
class _Verdict:
    parallel: bool
    reason: str
    reductions: tuple[str, ...]
    conflicts: tuple[str, ...]
    atomics_would_do: bool


_PRIMITIVES = {"tile": "tile", "interchange": "interchange", "fuse": "fuse", "color": "color",
               "distribute": "distribute", "skew": "skew", "unroll": "unroll",
               "vectorize": "vectorize", "parallel": "parallel", "auto": "auto",
               "gather": "gather", "peel": "peel"}


def program_dependences(program: Program, flat: isl.UnionMap) -> OrderingDependences:
    """Memory-based dependences of a program in the order of ``flat``:
    every pair of accesses to one element, at least one a write (or an
    increment against a plain access), oriented by execution order."""
    writes, increments, reads = [], [], []
    for instruction in program.instructions:
        locals_ = {a.target for a in instruction.body
                   if a.target not in instruction.references}
        for assignment in instruction.body:
            reference = instruction.references.get(assignment.target)
            if reference is not None and reference.relation is not None:
                relation = _on_buffer(reference)
                (increments if assignment.op == "+=" else writes).append(relation)
            for symbol in assignment.value.free_symbols:
                reference = instruction.references.get(symbol)
                if symbol not in locals_ and reference is not None \
                        and reference.relation is not None:
                    reads.append(_on_buffer(reference))
    w, i, r = union_of_maps(writes), union_of_maps(increments), union_of_maps(reads)
    schedule = {m.get_tuple_name(isl.dim_type.in_): m for m in maps_of(flat)}

    def ordered(first: isl.UnionMap, second: isl.UnionMap) -> list[isl.Map]:
        result = []
        for pair in maps_of(first.apply_range(second.reverse())):
            source = schedule[pair.get_tuple_name(isl.dim_type.in_)]
            sink = schedule[pair.get_tuple_name(isl.dim_type.out)]
            pair = pair.intersect(source.lex_lt_map(sink))
            if not pair.is_empty():
                result.append(pair.coalesce())
        return result

    kept = []
    for first, second in [(w, r), (w, w), (w, i), (i, w), (r, w), (r, i), (i, r)]:
        kept += ordered(first, second)
    by_buffer = []
    for increment in maps_of(i):
        buffer = increment.get_tuple_name(isl.dim_type.out)
        for pair in ordered(isl.UnionMap.from_map(increment), i):
            by_buffer.append((buffer, pair))
    return OrderingDependences(tuple(_merged(kept)), tuple(by_buffer))


def _merged(maps: list[isl.Map]) -> list[isl.Map]:
    """One map per (source, sink) instruction pair."""
    union = union_of_maps(maps)
    return [m.coalesce() for m in maps_of(union.coalesce())] if maps else []


def _on_buffer(reference) -> isl.Map:
    return reference.relation.set_tuple_name(isl.dim_type.out, reference.buffer)


def _between(dependence: isl.Map, names: set[str]) -> bool:
    return (dependence.get_tuple_name(isl.dim_type.in_) in names
            and dependence.get_tuple_name(isl.dim_type.out) in names)


def _nonempty(union: isl.UnionMap, domain: isl.UnionSet) -> isl.UnionMap:
    if union.is_empty():
        return isl.UnionMap.empty(domain.get_space())
    return union


def _within(space: isl.Space, classes: int) -> isl.Set:
    """{ [x] : -classes < x < classes }"""
    local = isl.LocalSpace.from_space(space)
    x = isl.PwAff.var_on_domain(local, isl.dim_type.set, 0)
    bound = isl.PwAff.val_on_domain(isl.Set.universe(space), isl.Val(classes))
    return x.lt_set(bound) & x.gt_set(bound.neg())


def _carried_at(space: isl.Space, position: int) -> isl.Map:
    """{ p -> q : p and q agree before ``position`` and differ at it }."""
    universe = isl.Map.universe(space)
    agree = universe
    for d in range(position):
        agree = agree.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
    return agree.subtract(agree.equate(isl.dim_type.in_, position, isl.dim_type.out, position))


#: isl operations the scheduler may spend in auto() before giving up.
SCHEDULER_BUDGET = 1_000_000


def _bounded_schedule(constraints: isl.ScheduleConstraints) -> isl.Schedule | None:
    """isl's schedule with an outermost loop free of carried dependences
    where possible (outer coincidence), coefficients at most 1, found within
    :data:`SCHEDULER_BUDGET` operations; None when isl gives up."""
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


def _skewed(m: isl.Map) -> bool:
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


def _only_incremented(instruction) -> set:
    """The reference symbols an instruction only increments (never reads,
    never assigns with ``=``)."""
    values = set()
    for assignment in instruction.body:
        values |= assignment.value.free_symbols
    return {symbol for symbol in instruction.references if symbol not in values and all(
        a.op == "+=" for a in instruction.body if a.target == symbol)}


def _moves(reference, dim: int) -> bool:
    """Whether a reference's element changes with domain dimension ``dim``."""
    index = isl.PwMultiAff.from_map(reference.relation)
    return any(not aff.get_coefficient_val(isl.dim_type.in_, dim).is_zero()
               for d in range(index.dim(isl.dim_type.out))
               for _, aff in index.get_pw_aff(d).get_pieces())


def _meeting_instances(instruction, m: isl.Map, position: int,
                       program: Program) -> isl.Set | None:
    """The instances of an instruction where one of its increments of an
    element the loop at ``position`` does not move touches the element of
    another of its references to the same buffer; None when it has no such
    increment."""
    kind, iterator = _classify(m, position)
    if kind != "loop":
        return None
    dim = instruction.iterators.index(iterator)
    incremented = _only_incremented(instruction)
    meeting = None
    for symbol, reference in instruction.references.items():
        if reference.relation is None or symbol not in incremented \
                or _moves(reference, dim):
            continue
        for other_symbol, other in instruction.references.items():
            if other_symbol == symbol or other.buffer != reference.buffer \
                    or other.relation is None:
                continue
            both = reference.relation.intersect(other.relation).domain()
            meeting = both if meeting is None else meeting.union(both)
    return None if meeting is None else meeting.coalesce()


def _inserted(m: isl.Map, position: int, value: int) -> isl.Map:
    """A constant dimension inserted at ``position``."""
    return m.insert_dims(isl.dim_type.out, position, 1).fix_val(
        isl.dim_type.out, position, isl.Val(value))


def _depth(m: isl.Map) -> int:
    return m.dim(isl.dim_type.out)


def _classify(m: isl.Map, position: int) -> tuple[str, str | None]:
    """("const", None), ("loop", iterator) or ("tile", iterator) for one
    dimension of an instruction's schedule."""
    if fixed_value(m, position) is not None:
        return "const", None
    names = [m.get_dim_name(isl.dim_type.in_, d) for d in range(m.dim(isl.dim_type.in_))]
    piece = isl.PwMultiAff.from_map(m).get_pw_aff(position)
    loop_dims: set[int] = set()
    tile_dims: set[int] = set()
    for _, aff in piece.get_pieces():
        for d in range(len(names)):
            if not aff.get_coefficient_val(isl.dim_type.in_, d).is_zero():
                loop_dims.add(d)
        for q in range(aff.dim(isl.dim_type.div)):
            if aff.get_coefficient_val(isl.dim_type.div, q).is_zero():
                continue
            inner = aff.get_div(q)
            for d in range(len(names)):
                if not inner.get_coefficient_val(isl.dim_type.in_, d).is_zero():
                    tile_dims.add(d)
    if loop_dims & tile_dims:
        return "color", names[max(loop_dims & tile_dims)]
    if loop_dims:
        return "loop", names[max(loop_dims)]
    if tile_dims:
        return "tile", names[max(tile_dims)]
    return "const", None


