"""Exploring schedules of a gradient's reverse sweep from Python.

Tries several tile sizes and loop orders on the reverse sweep of a kernel's
gradient, checks each against the oracles, and prints a table of measured
times (median of a few runs, this machine, one call each, OMP_NUM_THREADS as
set). Run it as:

    python examples/explore_schedules.py [examples/gemm.c] [--size medium]

`make bench` is the place for careful measurements; this is the quick look a
user takes before choosing a schedule.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import polyad
from polyad.check import verify
from polyad.errors import ScheduleError


def measure(function, values: dict, repeat: int = 5) -> float:
    """Median seconds of one call, each on fresh copies of the inputs."""
    times = []
    for _ in range(repeat):
        prepared = function.prepare(values)
        start = time.perf_counter()
        function.call_in_place(prepared)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def candidates(schedule):
    """(name, schedule) pairs to try on a gemm-like reverse sweep: the plain
    reversal, loop orders of the deepest reverse nest, tile sizes, auto."""
    yield "plain reversal", schedule
    reverse = [r for r in schedule.loops() if r.sweep == "reverse"]
    nests = [(a, b) for a, b in zip(reverse, reverse[1:])
             if b.depth == a.depth + 1 and a.instructions == b.instructions]
    if nests:
        outer, inner = nests[-1]
        try:
            yield (f"interchange {outer.loop.iterator}<->{inner.loop.iterator}",
                   schedule.interchange([outer.loop, inner.loop], [inner.loop, outer.loop]))
        except ScheduleError as error:
            print(f"  (interchange not legal: {error})")
        for size in (8, 32, 128):
            try:
                yield f"tile {size}x{size}", schedule.tile([outer.loop, inner.loop],
                                                           [size, size])
            except ScheduleError as error:
                print(f"  (tile {size} not legal: {error})")
    yield "auto", schedule.auto()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kernel", nargs="?", default="examples/gemm.c")
    parser.add_argument("--size", default="medium", help="size preset of the kernel file")
    args = parser.parse_args()

    kernel = polyad.parse(args.kernel)
    sizes = kernel.sizes(args.size)
    adjoint = polyad.grad(kernel)
    values = verify.kernel_inputs(kernel, sizes, seed=0)
    rng = np.random.default_rng(1)
    values.update({f"{name}_b": rng.standard_normal(kernel.array(name).shape(sizes))
                   for name in adjoint.of})
    print(f"{kernel.name} at {sizes}: gradient with respect to {', '.join(adjoint.wrt)}")
    print(f"  {'schedule':<24} {'time (ms)':>10} {'vs plain':>9}  oracles")
    baseline = None
    for name, schedule in candidates(adjoint.schedule()):
        small = verify.check_gradient(kernel, kernel.sizes("small"),
                                      schedule=lambda base, s=schedule:
                                      polyad.schedule.schedule.Schedule.replay(base, s.to_json()))
        verdict = "ok" if all(c["ok"] for c in small["checks"]) else "FAILED"
        seconds = measure(polyad.compile(adjoint, schedule), values)
        baseline = baseline or seconds
        print(f"  {name:<24} {seconds * 1e3:>10.2f} {baseline / seconds:>8.2f}x  {verdict}")


if __name__ == "__main__":
    main()
