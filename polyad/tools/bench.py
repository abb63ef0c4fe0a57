"""``polyad bench``: time the original kernel and gradient variants, in one run.

Each variant is compiled to a shared library and timed by a generated C
driver (codegen.driver): arrays allocated and initialised once, one warm-up
call, then ``repeat`` calls timed with the monotonic clock, the arrays
restored before each call outside the timed region. Every gradient variant is
first checked against the ``exact`` one on the same data: a fast gradient
that is wrong is a failure, not a result.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import sympy

from polyad import codegen
from polyad.codegen.binding import NUMPY_TYPES
from polyad.codegen.driver import time_function
from polyad.ad.adjoint import Adjoint, grad
from polyad.errors import UsageError
from polyad.check.inputs import InitKind, check_init, parse_init
from polyad.program.derived import derivative_names
from polyad.model.kernel import Kernel
from polyad.program.ir import ADJOINT_SUFFIX, primal_program
from polyad.schedule.schedule import Schedule
from polyad.program.budget import allocated_tape_bytes
from polyad.program.targets import program_of
from polyad.check.verify import kernel_inputs, relative_error
from polyad.tape.plan import count_points
from polyad.tape.registry import LAYOUT_NAMES, layout_named

#: Variants every run can name; schedule files add theirs (by file stem).
#: One per tape layout (polyad.tape.registry), plain reversal with the
#: layout's strategy: the baselines stack (the Enzyme/Tapenade-like one) and
#: exact first, then auto (exact tape, auto schedule, matrix products as
#: BLAS calls) and auto-no-blas (the same with loops only), then the other
#: layouts.
_BASELINES = ("stack", "exact")
AUTO_WITHOUT_BLAS = "auto-no-blas"
VARIANTS = ("primal", *_BASELINES, "auto", AUTO_WITHOUT_BLAS,
            *(name for name in LAYOUT_NAMES if name not in _BASELINES))
DEFAULT_VARIANTS = VARIANTS
#: The variant ``memory_budget`` adds: the layout the budget chooses.
BUDGET = "budget"
#: Gradients of a variant may differ from exact's by reassociated sums only
#: (summed in float, by far more: FLOAT_AGREEMENT for a float kernel).
AGREEMENT = 1e-9
FLOAT_AGREEMENT = 1e-3
#: Timing rounds over all variants (see _time_in_rounds).
ROUNDS = 3


@dataclass(frozen=True)
class Variant:
    """How to build one gradient variant: a strategy and a schedule."""

    name: str
    strategy: str
    schedule: Callable[[Adjoint], Schedule | None]
    layout: str | None = None


def _builtin(name: str, blas: bool = True) -> Variant:
    if name == "auto":
        return Variant(name, "exact", lambda adjoint: adjoint.schedule().auto(blas=blas))
    if name == AUTO_WITHOUT_BLAS:
        return Variant(name, "exact", lambda adjoint: adjoint.schedule().auto(blas=False))
    if name in LAYOUT_NAMES:
        return Variant(name, layout_named(name).strategy, lambda adjoint: None, layout=name)
    raise UsageError(f"unknown benchmark variant {name!r} (choose among "
                     f"{', '.join(VARIANTS)}, or give --schedule FILE)")


def _from_file(path: str) -> Variant:
    text = Path(path).read_text()
    return Variant(Path(path).stem, "exact",
                   lambda adjoint: Schedule.replay(adjoint.schedule(), text))


def bench(kernel: Kernel, sizes: Mapping[str, int], *, variants=DEFAULT_VARIANTS,
          schedules: tuple[str, ...] = (), repeat: int = 10, threads: int = 1,
          seed: int = 0, wrt=None, of=None,
          init: Mapping[str, InitKind | str] | None = None, blas: bool = True,
          memory_budget: int | None = None) -> dict:
    """Time the variants; the JSON of ``polyad bench --json``. ``init``
    chooses how input arrays are filled (``--init``; see polyad.check.inputs);
    ``blas=False`` (``--no-blas``) keeps the auto variant's matrix products
    as loops; ``memory_budget`` (bytes) adds the variant ``budget``, the
    layout that budget chooses (Adjoint.with_memory_budget). Each variant
    says its ``extra_bytes``: what its program allocates for tapes and
    snapshots, planned, and once timed its ``peak_extra_bytes``: the heap
    bytes one call allocated at its peak, measured by the driver
    (codegen.driver.HEAP_COUNTER)."""
    sizes = dict(sizes)
    agreement = FLOAT_AGREEMENT if any(a.dtype == "float" for a in kernel.arrays) \
        else AGREEMENT
    reference_adjoint = grad(kernel, wrt, of, "exact")
    values, seeds = bench_inputs(kernel, sizes, seed, reference_adjoint.of, init)
    variants = tuple(variants) + tuple(s for s in schedules if s == "auto"
                                        and "auto" not in variants)
    plans = [_builtin(v, blas) for v in variants if v != "primal"]
    plans += [_from_file(path) for path in schedules if path not in ("auto", "none")]
    if memory_budget is not None:  # refused before any variant is built, if it must be
        budgeted = grad(kernel, wrt, of, "exact").with_memory_budget(memory_budget, sizes)
        plans.append(Variant(BUDGET, "exact", lambda adjoint: None))
    results, timed = [], []
    # Every gradient variant does the work of the plain exact gradient, and
    # GFLOP/s are that work per second (the primal's own for the primal).
    gradient_flops = flop_count(program_of(reference_adjoint).instructions, sizes)
    if "primal" in variants:
        original, _ = codegen.compile_original(kernel)
        results.append({"name": "primal", "tape_bytes": 0, "verified": True,
                        "flops": flop_count(primal_program(kernel).instructions, sizes)})
        timed.append((results[-1], original, values))
    reference = None
    for plan in [p for p in plans if p.name == "exact"] + [p for p in plans
                                                           if p.name != "exact"]:
        adjoint = grad(kernel, wrt, of, plan.strategy)
        if plan.layout:
            adjoint = adjoint.with_layout(plan.layout, sizes=sizes)
        if plan.name == BUDGET:
            adjoint = budgeted
        try:
            chosen = plan.schedule(adjoint)
            program = program_of(adjoint, chosen)
            function = codegen.compile_program(program)
        except UsageError as error:  # no layer fits the scratchpad, an isl bound, ...
            results.append({"name": plan.name, "tape_bytes": adjoint.tape.bytes(sizes),
                            "verified": None, "not_applicable": str(error)})
            continue
        gradient = _gradient(function, values, seeds, adjoint)
        if reference is None:
            reference = gradient if plan.name == "exact" else _gradient(
                codegen.compile_program(program_of(reference_adjoint)), values, seeds,
                reference_adjoint)
        error = max((relative_error(gradient[n], reference[n]) for n in reference),
                    default=0.0)
        record = {"name": plan.name, "tape_bytes": adjoint.tape.bytes(sizes),
                  "extra_bytes": allocated_tape_bytes(program, sizes), "layout": adjoint.layout,
                  "verified": bool(error <= agreement), "max_rel_err_vs_exact": error,
                  "blas_calls": len(chosen.library_calls()) if chosen is not None else 0,
                  "flops": gradient_flops}
        results.append(record)
        if record["verified"]:
            timed.append((record, function, {**values, **seeds}))
    _time_in_rounds(timed, repeat, threads)
    _add_ratios(results)
    order = {name: k for k, name in enumerate(["primal", *variants,
                                               *[p.name for p in plans]])}
    results.sort(key=lambda r: order.get(r["name"], len(order)))
    return {"kernel": kernel.name, "sizes": sizes, "threads": threads,
            "wrt": list(reference_adjoint.wrt), "of": list(reference_adjoint.of),
            "variants": results}


def flop_count(instructions, sizes: Mapping[str, int]) -> int:
    """Floating-point operations of some instructions at the sizes: per
    instance, each binary + - * / of their bodies once (an increment's add
    too), a square once; math functions count nothing.

    >>> import polyad
    >>> from polyad.program.ir import primal_program
    >>> k = polyad.parse("examples/gemm.c")
    >>> flop_count(primal_program(k).instructions, {"ni": 2, "nj": 3, "nk": 4})
    78
    """
    total = 0
    for instruction in instructions:
        operations = sum(_operations(a.value) + (a.op == "+=") for a in instruction.body)
        if operations:
            total += operations * count_points(instruction.domain, sizes)
    return total


def _operations(expr: sympy.Expr) -> int:
    count = sum(_operations(arg) for arg in expr.args)
    if expr.is_Add or expr.is_Mul:
        return count + len(expr.args) - 1
    if expr.is_Pow and expr.exp == 2:
        return count + 1
    return count


def bench_inputs(kernel: Kernel, sizes: Mapping[str, int], seed: int,
                 of: tuple[str, ...],
                 init: Mapping[str, InitKind] | None = None) -> tuple[dict, dict]:
    """The inputs a benchmark run uses, and the seeds ``{"Y_b": ...}`` of the
    outputs ``of``, by adjoint name (:func:`polyad.program.derived.derivative_names`;
    so that peers measured elsewhere get the same data)."""
    init = parse_init(init)
    check_init(kernel, init)
    values = kernel_inputs(kernel, sizes, seed, init=init)
    rng = np.random.default_rng(seed + 1)
    adjoint = derivative_names(kernel, ADJOINT_SUFFIX)
    seeds = {adjoint[name]: rng.standard_normal(kernel.array(name).shape(sizes)).astype(
        NUMPY_TYPES[kernel.array(name).dtype]) for name in of}
    return values, seeds


def reference_gradient(kernel: Kernel, sizes: Mapping[str, int], seed: int = 0) -> dict:
    """The exact gradient (default wrt and of) on the benchmark's inputs."""
    adjoint = grad(kernel)
    values, seeds = bench_inputs(kernel, sizes, seed, adjoint.of)
    return _gradient(codegen.compile_program(program_of(adjoint)), values, seeds, adjoint)


def _gradient(function, values, seeds, adjoint: Adjoint) -> dict:
    out = function(**values, **seeds)
    names = derivative_names(adjoint.kernel, ADJOINT_SUFFIX)
    return {name: np.asarray(out[names[name]]) for name in adjoint.wrt}


def _time_in_rounds(timed: list, repeat: int, threads: int) -> None:
    """Time each (record, function, arguments) and fill in its record.

    The repetitions are split into rounds that visit every variant in turn
    (A B C A B C ...), so that a slow spell of a shared machine is spread over
    all variants instead of landing on one of them.
    """
    rounds = min(ROUNDS, repeat)
    seconds: dict[int, list[float]] = {k: [] for k in range(len(timed))}
    peak: dict[int, int] = {}
    extra: dict[int, list[int | None]] = {k: [] for k in range(len(timed))}
    for round_ in range(rounds):
        count = repeat // rounds + (1 if round_ < repeat % rounds else 0)
        for k, (_, function, arguments) in enumerate(timed):
            run = time_function(function.library_path, function.symbol, function.arguments,
                                function.prepare(arguments), repeat=count, threads=threads)
            seconds[k] += run["seconds"]
            peak[k] = max(peak.get(k, 0), run["peak_rss_bytes"])
            extra[k].append(run.get("peak_extra_bytes"))
    for k, (record, _, _) in enumerate(timed):
        record.update({"median_s": statistics.median(seconds[k]), "min_s": min(seconds[k]),
                       "max_s": max(seconds[k]), "peak_rss_bytes": peak[k],
                       "peak_extra_bytes": peak_extra(extra[k])})


def peak_extra(counts: list[int | None]) -> int | None:
    """The measured peak extra heap bytes of one gradient call over a
    variant's driver runs (the largest: each run counts one call), None
    where a run could not count.

    >>> peak_extra([352016, 352016, 352032]), peak_extra([352016, None])
    (352032, None)
    """
    return None if not counts or None in counts else max(counts)


def _add_ratios(results: list[dict]) -> None:
    by_name = {r["name"]: r for r in results}
    primal = by_name.get("primal", {}).get("median_s")
    stack = by_name.get("stack", {}).get("median_s")
    for record in results:
        median = record.get("median_s")
        record["ratio_to_primal"] = median / primal if median and primal else None
        record["gflop_per_s"] = record["flops"] / median / 1e9 \
            if median and record.get("flops") else None
        record["speedup_vs_stack"] = stack / median if median and stack else None
