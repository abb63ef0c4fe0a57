"""Schedules: the execution order of a generated program, as a value.

A :class:`Schedule` is kept apart from the algorithm (the adjoint statements
and the tape plan): it orders the instances of the program's instructions and
says which loops run in parallel or vectorised. Its state is a flat schedule
map (every instance to a point of one space; lexicographic order is execution
order) plus loop annotations; :meth:`Schedule.tree` is the isl schedule tree
codegen prints. Each primitive is a verb returning a new Schedule, is checked
against the exact dependences of the program, and is recorded in a
replayable trace (:meth:`Schedule.to_json`, :meth:`Schedule.replay`).

Loops are named by an instruction and a source iterator: ``"S1_b.k"`` is the
loop over ``k`` around the adjoint of statement S1 (forward statements keep
their names, ``S1``; a tile loop made by :meth:`Schedule.tile` is ``k_tile``).

>>> import polyad
>>> k = polyad.parse("examples/gemm.c")              # doctest: +SKIP
>>> s = polyad.grad(k, wrt=["A", "B"]).schedule()    # doctest: +SKIP
>>> s = s.interchange(["S1_b.k", "S1_b.j"], ["S1_b.j", "S1_b.k"])  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import islpy as isl

from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of, union_of_maps
from polyad.program.gather import is_gather_part
from polyad.program.ir import Program, fingerprint
from polyad.program.blascalls import Computed
from polyad.program.library import LibraryCall
from polyad.schedule.auto import DEFAULT_TILE, auto_schedule
from polyad.schedule.calls import blas_marked, check_library_nests, split_placement
from polyad.schedule.legality import OrderingDependences, check_order, program_dependences
from polyad.schedule.loops import (Loop, LoopReport, group_of, instruction_name, names_of, resolve,
                                   sweep_of)
from polyad.schedule.marks import Library, LoopMark, Parallel, Simd
from polyad.schedule.marking import parallelized, unrolled, vectorized
from polyad.schedule.orders import fused, loop_reports, reordered
from polyad.schedule.reshapes import LoopReshapes
from polyad.program.expansion import expanded
from polyad.schedule.rewrites import gathered, peeled
from polyad.schedule.sharing import shared
from polyad.schedule.trace import Step, check_origin, read_trace, trace_text
from polyad.schedule.tree import (constant_piece, flat_schedule, map_from_pieces,
                                  output_pieces, padded, tree_from_flat)


@dataclass(frozen=True)
class Schedule(LoopReshapes):
    """The schedule of a program; see the module documentation."""

    program: Program
    flat: isl.UnionMap
    dependences: OrderingDependences
    annotations: tuple[tuple[Loop, LoopMark], ...] = ()
    trace: tuple[Step, ...] = ()
    reassociate: bool = True
    origin: dict = field(default_factory=dict, compare=False)
    #: Instruction rewrites the schedule needs, in order: ("gather",
    #: instruction, buffer) splits (see :meth:`gather`), ("peel", instruction,
    #: instances, an isl set), ("split", instruction, ""), ("expand", buffer,
    #: depth); a program is generated from the algorithm with
    #: :func:`polyad.program.gather.rewritten`.
    rewrites: tuple[tuple[str, str, "str | isl.Set"], ...] = ()
    #: Whether ``flat`` is known to keep every ordered dependence (then a
    #: step checks only the dependences of the instructions it moves), and
    #: whether the increments' order too; the program's own order keeps both.
    flat_kept: tuple[bool, bool] = (False, False)

    def __repr__(self) -> str:
        """A short summary: the program, the steps applied and the marks.

        (The dataclass fields hold isl maps of every instruction: printing
        them would run to tens of kilobytes.)"""
        steps = ", ".join(step.primitive for step in self.trace) or "none"
        marks = ", ".join(f"{handle} {mark}" for handle, mark in self.annotations) or "none"
        mode = self.origin.get("mode", "program")
        return (f"<Schedule of {self.program.name} ({mode}, "
                f"{len(self.program.instructions)} instructions); steps: {steps}; "
                f"marks: {marks}>")

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
                        reassociate=reassociate, origin=origin, flat_kept=(True, True))

    def to_json(self) -> str:
        """The trace, replayable with :meth:`replay`."""
        return trace_text(self.origin, self.reassociate, self.trace)

    @staticmethod
    def replay(base: "Schedule", text: str) -> "Schedule":
        """Apply the steps of a JSON trace (:meth:`to_json`) to a schedule of
        the program it was recorded for."""
        header, steps = read_trace(text)
        base.check_origin(header)
        schedule = replace(base, reassociate=bool(header.get("reassociate", True)))
        for step in steps:
            schedule = schedule.apply(step)
        return schedule

    def check_origin(self, trace: dict) -> None:
        """Raise a :class:`ScheduleError` unless a trace header was recorded
        for this schedule's program (:func:`polyad.schedule.trace.check_origin`)."""
        check_origin(self.origin, trace)

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

    def library_calls(self) -> tuple[tuple[Loop, LibraryCall, str], ...]:
        """Each library call (:meth:`blas`): the loop it replaces, the call
        and the sweep it runs in (``forward``, ``reverse``, ...); a nest
        whose work another call does (:meth:`share`) is none."""
        mode = self.origin.get("mode")
        result = []
        for handle, mark in self.annotations:
            if isinstance(mark, Library) and not isinstance(mark.call, Computed):
                m, _ = resolve(self.program, self.flat, handle)
                result.append((handle, mark.call, sweep_of(mode, m)))
        return tuple(result)

    @property
    def uses_openmp(self) -> bool:
        """Whether a loop runs in parallel or vectorised (OpenMP directives)."""
        return any(isinstance(mark, (Parallel, Simd)) for _, mark in self.annotations)

    def loop(self, instruction: str, iterator: str) -> Loop:
        """The handle of a loop, checked to exist."""
        handle = Loop(instruction, iterator)
        resolve(self.program, self.flat, handle)
        return handle

    def loops(self) -> list[LoopReport]:
        """Every loop, outermost first, with whether it may run in parallel
        and why not."""
        return loop_reports(self)

    # --- primitives -------------------------------------------------------
    def fuse(self, first: "Loop | str", second: "Loop | str") -> "Schedule":
        """Fuse two loops that follow each other in one sequence; the body
        of ``first`` runs before that of ``second`` in each iteration.

        Precondition: the two loops are at the same depth, in the same
        sequence, ``first`` directly before ``second`` (nothing runs between
        them), and no iteration of ``second`` reads what a later iteration of
        ``first`` writes (checked against the dependences).

        Before::  for (i ...) S(i);  for (i ...) T(i);
        After ``fuse("S.i", "T.i")``::  for (i ...) { S(i); T(i); }
        """
        return fused(self, first, second)

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
        return gathered(self, instruction, array)

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
        return peeled(self, loop)

    def unroll(self, loop: "Loop | str", factor: int) -> "Schedule":
        """Ask the C compiler to unroll a loop ``factor`` times
        (``#pragma GCC unroll``); always legal."""
        return unrolled(self, loop, factor)

    def vectorize(self, loop: "Loop | str", vector_math: bool = False) -> "Schedule":
        """Mark an innermost loop ``#pragma omp simd``; with ``vector_math``
        its calls of the functions in :data:`polyad.schedule.marks.VECTOR_MATH`
        go to their vector versions (glibc's libmvec: within 4 ulp of the
        scalar ones, so results change in the last bits).

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
        return vectorized(self, loop, bool(vector_math))

    def parallel(self, loop: "Loop | str", atomics: bool = False) -> "Schedule":
        """Run a loop's iterations in parallel (OpenMP).

        Precondition: no dependence is carried by the loop. Increments of
        the same element by different iterations (the race of parallel
        adjoints) become an OpenMP reduction on scalars and vectors; on
        larger arrays they are an error unless ``atomics=True``, which
        makes those increments atomic.
        """
        return parallelized(self, loop, atomics)

    def auto(self, tile: int = DEFAULT_TILE, *, blas: bool = True) -> "Schedule":
        """The auto strategy (:func:`polyad.schedule.auto.auto_schedule`):
        gathers for stencil adjoints, matrix products as BLAS calls unless
        ``blas=False``, the reverse sweep rescheduled by isl
        where that gives better strides, tiled by ``tile`` (0: no tiling),
        parallel outer loops and vectorised inner loops. The trace records
        the concrete primitives it applied, so replaying it gives the same
        program even if the strategy changes."""
        return auto_schedule(self, tile, blas=blas)

    def split(self, instruction: str) -> "Schedule":
        """Split an instruction into one instruction per assignment to
        memory (each with the local values it needs, named
        ``S1_b_split0``, ``S1_b_split1``, ...), run one after the other,
        each over all of the instruction's instances, where the
        instruction's own loops begin (inside the loops it shares).

        Precondition: the body writes memory at least twice, no part reads
        what another writes, no reference is a sequential tape, the
        instruction has a loop of its own, and running the parts one after
        the other keeps every dependence (checked).

        Before::  for (k ...) for (j ...) { A_b[i][k] += t * alpha; B_b[k][j] += a * g; }
        After ``split("S1_b")``::
                  for (k ...) for (j ...) A_b[i][k] += t * alpha;
                  for (k ...) for (j ...) B_b[k][j] += a * g;
        """
        base = self.program.flat if self.program.flat is not None \
            else flat_schedule(self.program.schedule)
        program, name, maps = split_placement(self.program, self.flat,
                                              union_of_maps(padded(maps_of(base))),
                                              instruction)
        return self.with_rewrite(program, (("split", name, ""),), maps,
                                 Step("split", (("instruction", instruction),)))

    def expand(self, buffer: str, depth: int) -> "Schedule":
        """Give the scalar local ``buffer`` one element per iteration of the
        ``depth`` outermost loops of each instruction using it
        (:func:`polyad.program.expansion.expanded`), so that those loops may
        be distributed and its accumulations become matrix products.
        Refused unless every read still reads the value it read before.

        Before::  for (i ...) { ax = 0; for (j ...) ax += A[i][j] * x[j]; y[i] = ax; }
        After ``expand("ax", 1)``::
                  for (i ...) { ax[i] = 0; for (j ...) ax[i] += A[i][j] * x[j]; y[i] = ax[i]; }
        """
        base = self.program.flat if self.program.flat is not None \
            else flat_schedule(self.program.schedule)
        program = expanded(replace(self.program, flat=union_of_maps(padded(maps_of(base)))),
                           buffer, int(depth))
        return self.with_rewrite(program, (("expand", buffer, str(int(depth))),),
                                 list(maps_of(self.flat)),
                                 Step("expand", (("buffer", buffer), ("depth", int(depth)))))

    def blas(self, instruction: str) -> "Schedule":
        """Run every instance of an instruction as one call of a tuned BLAS
        (OpenBLAS's dgemm or dgemv) at the place of its loop nest.

        Precondition: the instruction is a matrix product
        (:func:`polyad.program.library.library_call`: one increment
        ``X[a][b] += s * Y * Z`` over a box, plain subscripts), its loop nest
        holds nothing else (distribute first), and its increments may be
        reassociated. The nest may not be changed afterwards.

        Before::  for (i ...) for (k ...) for (j ...)
                    A_b[i][k] += C_b[i][j] * B[k][j] * alpha;
        After ``blas("S1_b_split1")``::
                  cblas_dgemm(RowMajor, NoTrans, Trans, ni, nk, nj, alpha, C_b, nj,
                              B, nj, 1.0, A_b, nk);
        """
        return blas_marked(self, instruction)

    def share(self, first: str, second: str) -> "Schedule":
        """Run instruction ``first``'s gemm+dot call and ``second``'s gemm
        call of the same product, adjacent, as one call
        (:mod:`polyad.schedule.sharing`): the product once.

        Before::  alpha_b += <A, C_b * B^T>;  A_b += alpha * C_b * B^T;
        After::   P = C_b * B^T;  alpha_b += <A, P>;  A_b += alpha * P;
        """
        return shared(self, first, second)

    def reorder(self, maps: Sequence) -> "Schedule":
        """Give some instructions new flat schedules: ``maps`` holds one isl
        map per instruction (or its record in a trace,
        :func:`polyad.schedule.trace.map_record`), instance -> point of the
        flat schedule space (padded as needed). The marks of their loops are
        dropped: the loops are new. This is how a strategy records an order
        isl's scheduler chose.

        Precondition: the new order keeps every dependence (checked).

        Before::  for (i ...) for (j ...) S(i, j);
        After ``reorder([isl.Map("[n] -> { S[i, j] -> [0, j, 0, i, 0] }")])``::
                  for (j ...) for (i ...) S(i, j);
        """
        return reordered(self, maps)

    # --- helpers ------------------------------------------------------------
    def marks_for(self, members: list[isl.Map], position: int) -> list[LoopMark]:
        """The marks of the loop at ``position`` holding exactly the
        instructions of ``members`` (as the schedule tree carries them)."""
        names = names_of(members)
        marks = []
        for handle, mark in self.annotations:
            try:
                marked, dim = group_of(self.program, self.flat, handle)
            except ScheduleError:
                continue
            if dim == position and names == names_of(marked):
                marks.append(mark)
        return marks

    def with_mark(self, handle: Loop, mark: LoopMark, step: Step) -> "Schedule":
        """The schedule with ``mark`` on a loop, replacing one of its family;
        ``step`` is recorded. Precondition: the mark's own checks passed."""
        kept = tuple((h, m) for h, m in self.annotations
                     if not (h == handle and m.family == mark.family))
        return replace(self, annotations=kept + ((handle, mark),), trace=self.trace + (step,))

    def with_dims(self, members: list[isl.Map], change, insert_at: int | None,
                     new_dims: int, step: Step) -> "Schedule":
        """The schedule with ``change(dims, domain)`` applied to the flat
        dimensions (isl pw_affs) of each instruction of ``members``; the
        others get ``new_dims`` zero dimensions at ``insert_at``. Checked
        like :meth:`with_order`; ``step`` is recorded. For primitives that
        rewrite one loop's dimensions (tile, skew, color, ...)."""
        names = {m.get_tuple_name(isl.dim_type.in_) for m in members}
        maps = []
        for m in maps_of(self.flat):
            dims = output_pieces(m)
            domain = m.domain()
            name = m.get_tuple_name(isl.dim_type.in_)
            if name in names:
                dims = change(dims, domain)
            elif new_dims:
                dims = dims[:insert_at] + [constant_piece(domain, 0)] * new_dims + dims[insert_at:]
            maps.append(map_from_pieces(name, domain, dims))
        return self.with_order(maps, step)

    def with_rewrite(self, program: Program, rewrites: tuple, maps: list[isl.Map],
                     step: Step) -> "Schedule":
        """The schedule of ``program``, this schedule's program with some
        instructions split (``rewrites``, as :func:`polyad.program.gather.rewritten`
        replays them), ordered by ``maps`` (one per instruction), once
        checked against the dependences of ``program``; ``step`` is recorded."""
        rebuilt = replace(self, program=program,
                          dependences=program_dependences(program, program.flat),
                          rewrites=self.rewrites + tuple(rewrites), flat_kept=(False, False))
        return rebuilt.with_order(maps, step)

    def with_order(self, maps: list[isl.Map], step: Step) -> "Schedule":
        """The schedule with these flat maps (one per instruction, padded
        here), once checked to keep every dependence; ``step`` is recorded.
        For strategies and primitives outside this class."""
        ordered_kept, increments_kept = self.flat_kept
        known = ({instruction_name(m): m for m in maps_of(self.flat)} if ordered_kept else {})
        maps = check_order(self.program, self.dependences, self.reassociate, maps,
                           step.primitive, (known, increments_kept))
        flat = union_of_maps(maps)
        check_library_nests(self.program, flat, self.annotations, step.primitive)
        # Unless reassociation is forbidden, the increments' order was not checked.
        return replace(self, flat=flat, trace=self.trace + (step,),
                       flat_kept=(True, not self.reassociate))


_PRIMITIVES = {"tile": "tile", "interchange": "interchange", "fuse": "fuse", "color": "color",
               "distribute": "distribute", "separate": "separate", "skew": "skew", "unroll": "unroll",
               "vectorize": "vectorize", "parallel": "parallel", "auto": "auto",
               "gather": "gather", "peel": "peel", "reorder": "reorder",
               "split": "split", "blas": "blas", "expand": "expand", "share": "share"}
