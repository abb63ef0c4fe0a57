"""Why a schedule's forward sweep may round differently from the kernel.

The default schedule runs every primal statement in the kernel's order with
the kernel's operations, so its forward sweep is bitwise the original C's. A
schedule may trade that for speed in three ways, each named here so that
``polyad check`` can say which tolerance its primal oracle uses and ``polyad
grad --mode primal`` can say that its output is not bitwise:

- ``blas``: a product of the forward sweep is a library call, which sums in
  its own order;
- ``vector math``: a vectorised forward loop calls libmvec's functions,
  within 4 ulp of the scalar ones;
- ``sums``: a vectorised or parallel forward loop keeps the increments of an
  element it does not move in registers (a reduction), reassociating them,
  or the schedule runs two increments of one element in the other order
  (gemm's ``k`` loop run backwards, say: increments ``x += e`` may be
  reordered unless the schedule forbids reassociation).
"""

from __future__ import annotations

import islpy as isl

from polyad.model.kernel import maps_of
from polyad.schedule.loops import instruction_name, resolve, sweep_of
from polyad.schedule.marks import Parallel, Simd
from polyad.schedule.tree import padded

#: The reasons, in the order they are reported.
ROUNDING_REASONS = ("blas", "vector math", "sums")


def forward_roundings(schedule, sweep: str = "forward") -> tuple[str, ...]:
    """The reasons (among :data:`ROUNDING_REASONS`) why ``sweep`` of
    ``schedule`` (a :class:`~polyad.schedule.schedule.Schedule`) may round
    differently from the kernel; empty when it is bitwise the kernel's.

    >>> import polyad
    >>> adjoint = polyad.grad(polyad.parse("examples/atax.c"))
    >>> forward_roundings(adjoint.schedule())
    ()
    >>> forward_roundings(adjoint.schedule().auto(blas=False))
    ('sums',)
    """
    found = set()
    if any(where == sweep for _, _, where in schedule.library_calls()):
        found.add("blas")
    mode = schedule.origin.get("mode")
    # The marks' own loops (not schedule.loops(), whose reports decide for
    # every loop whether it may run in parallel: isl work this needs not).
    for handle, mark in schedule.annotations:
        if not isinstance(mark, (Simd, Parallel)):
            continue
        m, _ = resolve(schedule.program, schedule.flat, handle)
        if sweep_of(mode, m) != sweep:
            continue
        if isinstance(mark, Simd):
            found |= {"vector math"} if mark.vector_math else set()
            found |= {"sums"} if mark.accumulators else set()
        elif mark.reductions or mark.atomics:
            found.add("sums")
    if reordered_sums(schedule, sweep):
        found.add("sums")
    return tuple(r for r in ROUNDING_REASONS if r in found)


def reordered_sums(schedule, sweep: str = "forward") -> bool:
    """Whether ``schedule`` runs two increments of one element by
    instructions of ``sweep`` in the other order than its program's
    dependences were found in (the kernel's, for a schedule of a kernel or
    an adjoint's forward sweep).

    >>> import polyad
    >>> import islpy as isl
    >>> base = polyad.api.schedule(polyad.parse("examples/gemm.c"))
    >>> backwards = base.reorder([isl.Map("[ni, nj, nk] -> { S1[i, k, j] -> [i, 1, -k, j] }")])
    >>> reordered_sums(base), reordered_sums(backwards)
    (False, True)
    """
    mode = schedule.origin.get("mode")
    by_name = {instruction_name(m): m for m in padded(maps_of(schedule.flat))}
    for _, dependence in schedule.dependences.increments:
        source = by_name.get(dependence.get_tuple_name(isl.dim_type.in_))
        sink = by_name.get(dependence.get_tuple_name(isl.dim_type.out))
        if source is None or sink is None or sweep_of(mode, source) != sweep:
            continue
        if not dependence.is_subset(source.lex_lt_map(sink)):
            return True
    return False
