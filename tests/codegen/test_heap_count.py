"""The benchmark driver's count of the heap bytes one call allocates
(codegen.driver.HEAP_COUNTER): its peak against sizes known in advance."""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad.codegen.binding import ArgumentSpec
from polyad.codegen.build import shared_library
from polyad.codegen.driver import time_function
from polyad.ad.adjoint import grad
from polyad.program.budget import allocated_tape_bytes, smallest_budget
from polyad.program.targets import program_of
from polyad.tape.registry import layout_named
from polyad.tools.bench import bench

#: glibc rounds a block up to 16 bytes, an mmap'd one (128 KiB and more) to
#: a page: at most this much counted beyond the request, per block.
PER_BLOCK = 4096

_ALLOCATING = r"""
#include <stdlib.h>
/* Allocates 1 MB, then 3 MB (calloc), frees the first, takes 2 MB aligned,
   grows a small block to 0.5 MB by realloc, and frees everything: the peak
   is 3 + 2 + 0.5 MB = 5.5 MB beyond what the caller held. */
int allocating(int n, double *x) {
  volatile char *a = malloc(1000000), *b = calloc(1, 3000000), *d = malloc(64);
  void *c = 0;
  a[n] = 1; b[n] = 2;
  free((void *)a);
  if (posix_memalign(&c, 64, 2000000)) return 1;
  ((volatile char *)c)[n] = 3;
  d = realloc((void *)d, 500000);
  d[n] = 4;
  x[0] = b[n] + ((char *)c)[n] + d[n];
  free((void *)b); free(c); free((void *)d);
  return 0;
}
int allocating_nothing(int n, double *x) { x[0] = n; return 0; }
"""


def _run(symbol: str) -> dict:
    library = shared_library(_ALLOCATING, what="a heap-count test", extra_flags=("-fno-builtin",))
    specs = (ArgumentSpec("n", "size"), ArgumentSpec("x", "array"))
    return time_function(library, symbol, specs, {"n": 5, "x": np.zeros(1)}, repeat=1)


def test_the_driver_counts_the_peak_of_a_call_that_frees_what_it_took():
    """Oracle: the bytes the C function asks for, known from its text."""
    measured = _run("allocating")["peak_extra_bytes"]
    assert 5_500_000 <= measured <= 5_500_000 + 3 * PER_BLOCK, measured
    assert _run("allocating_nothing")["peak_extra_bytes"] == 0


@pytest.mark.parametrize("path, sizes, layout", [
    ("examples/gemm.c", None, "exact"),
    ("tests/kernels/heat2d.c", {"tsteps": 20, "n": 40}, "exact"),
    ("tests/kernels/heat2d.c", {"tsteps": 20, "n": 40}, "stack"),
    ("tests/kernels/heat2d.c", {"tsteps": 20, "n": 40}, "checkpoint"),
])
def test_a_gradient_allocates_its_planned_tape_and_little_more(path, sizes, layout):
    """Oracle: the planned bytes, from the buffers' extents
    (polyad.program.budget.allocated_tape_bytes), against the blocks glibc
    handed out during one call: at least the plan, at most a page per
    buffer more (these kernels have no local arrays beside their tapes)."""
    kernel = polyad.parse(path)
    sizes = sizes or kernel.sizes("small")
    result = bench(kernel, sizes, variants=(layout,), repeat=1)
    record = next(v for v in result["variants"] if v["name"] == layout)
    adjoint = grad(kernel, strategy=layout_named(layout).strategy)
    program = program_of(adjoint.with_layout(layout, sizes=sizes))
    planned = allocated_tape_bytes(program, sizes)
    assert planned == record["extra_bytes"] > 0
    locals_ = [b for b in program.buffers if b.kind == "local" and b.extents]
    assert planned <= record["peak_extra_bytes"] <= planned + PER_BLOCK * len(locals_)


def test_a_tapeless_gradient_allocates_nothing():
    """Oracle: jacobi-1d overwrites nothing its reverse sweep reads, so its
    exact gradient has no tape (0 planned) and no local arrays."""
    kernel = polyad.parse("examples/jacobi_1d.c")
    result = bench(kernel, kernel.sizes("small"), variants=("primal", "exact"), repeat=1)
    assert [v["peak_extra_bytes"] for v in result["variants"]] == [0, 0]


def test_a_budgeted_gradient_stays_within_its_budget_measured():
    """Oracle: the budget itself, and plan_memory's refusal below the
    smallest budget smallest_budget names; the measured peak of the plan
    at that smallest budget is within it (plus a page per buffer)."""
    kernel = polyad.parse("tests/kernels/heat2d.c")
    sizes = {"tsteps": 20, "n": 40}
    smallest = smallest_budget(polyad.grad(kernel), sizes)
    with pytest.raises(polyad.UsageError, match=f"the smallest that works is {smallest} "):
        polyad.grad(kernel).with_memory_budget(smallest - 1, sizes)
    result = bench(kernel, sizes, variants=(), repeat=1, memory_budget=smallest)
    record = next(v for v in result["variants"] if v["name"] == "budget")
    assert record["extra_bytes"] <= smallest
    assert record["extra_bytes"] <= record["peak_extra_bytes"] <= smallest + 8 * PER_BLOCK
