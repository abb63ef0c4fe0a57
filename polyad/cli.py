"""The ``polyad`` command line.

Every error caused by the input is one line on stderr and exit code 2 (a
kernel with nothing to differentiate is refused so, too); ``check`` exits
with 0 (ok), 1 (wrong gradient), 3 (ill-conditioned at the inputs) or 4 (the
kernel computes NaN or inf on the inputs: bad inputs); see docs/cli.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback

import numpy as np

from polyad import __version__, api
from polyad.budget_options import (add_memory_budget, budgeted, memory_budget as budget,
                                   snapshots_of)
from polyad.check import verify
from polyad.errors import PolyadError, UsageError
from polyad.files import write_atomically
from polyad.memory import parse_bytes
from polyad.options import (add_blas_argument, add_derivative_arguments, add_fix_argument,
                            add_init_argument, add_kernel_arguments, add_schedule_argument,
                            add_size_arguments, add_wrt_of, kernel_of, names_of, sizes_of)
from polyad.program import lowering
from polyad.program.gather import rewritten
from polyad.schedule.rounding import forward_roundings
from polyad.schedule.trace import read_trace
from polyad.tape import layouts
from polyad.tape.registry import (LAYOUT_NAMES, SCRATCHPAD_LAYOUTS, implied_strategy,
                                   layout_named)
from polyad.tools import analysis, bench, reports
from polyad.tools.analysis import Cache
from polyad.tools.bench import DEFAULT_VARIANTS, VARIANTS

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 70
EXIT_ILL_CONDITIONED, EXIT_NON_FINITE = 3, 4
#: The exit code of each overall verdict of ``polyad check``.
CHECK_EXIT_CODES = {verify.VERDICT_OK: EXIT_OK, verify.VERDICT_WRONG: EXIT_FAILED,
                    verify.VERDICT_ILL: EXIT_ILL_CONDITIONED,
                    verify.VERDICT_BAD_INPUTS: EXIT_NON_FINITE}


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit code 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _with_trace_layout(args) -> argparse.Namespace:
    """The arguments with the tape layout, strategy and scratchpad a
    ``--schedule FILE`` trace was recorded with, where the command line gives
    none of them (a schedule is made for its layout: a trace from
    ``polyad explore`` names the layout it was timed in). A layout given
    that differs from the trace's is kept, and said on stderr."""
    spec = getattr(args, "schedule", None)
    if not isinstance(spec, str) or spec in ("", "none", "auto") or not os.path.isfile(spec):
        return args
    try:
        with open(spec) as file:
            header, _ = read_trace(file.read())
    except (OSError, PolyadError):
        return args  # load_schedule reports it
    recorded = header.get("layout")
    if recorded is None:
        return args
    if args.layout is None and args.strategy is None and args.scratchpad is None:
        scratchpad = header.get("scratchpad")
        return argparse.Namespace(**{**vars(args), "layout": recorded,
                                     "strategy": header.get("strategy"),
                                     "scratchpad": str(scratchpad) if scratchpad else None})
    if args.layout is not None and args.layout != recorded:
        print(f"polyad: note: {spec} was recorded with --layout {recorded}; "
              f"using --layout {args.layout} as asked", file=sys.stderr)
    return args


def _adjoint(kernel, args, sizes=None):
    """The adjoint the derivative arguments ask for."""
    args = _with_trace_layout(args)
    strategy = args.strategy or implied_strategy(args.layout)
    adjoint = api.grad(kernel, names_of(args.wrt), names_of(args.of), strategy)
    _refuse_scratchpad(args)
    if args.layout:
        scratchpad = parse_bytes(args.scratchpad) if args.scratchpad else None
        adjoint = adjoint.with_layout(args.layout, scratchpad, sizes=sizes)
    return budgeted(adjoint, args, sizes)


def _refuse_scratchpad(args) -> None:
    """A usage error for ``--scratchpad`` given with a layout that takes none."""
    if args.scratchpad is not None and not (args.layout and
                                            layout_named(args.layout).scratchpad):
        raise UsageError(f"--scratchpad applies to --layout {' or '.join(SCRATCHPAD_LAYOUTS)} "
                         "only")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="polyad", description="Fast, verified gradients of affine "
                     "loop kernels through the polyhedral model.")
    parser.add_argument("--version", action="version", version=f"polyad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=_Parser)

    show = commands.add_parser("show", help="the polyhedral model of a kernel (or its "
                               "tape plan)")
    add_kernel_arguments(show)
    show.add_argument("--tape", action="store_true",
                      help="show the tape plan with the reason for each decision")
    show.add_argument("--loops", "--schedule-report", dest="loops", action="store_true",
                      help="show the loops of the gradient's schedule, which may run in "
                      "parallel and why the others may not (with --schedule)")
    add_schedule_argument(show)
    add_derivative_arguments(show)
    add_size_arguments(show)
    show.add_argument("--json", action="store_true", help="print one JSON object")

    grad = commands.add_parser("grad", help="write the C of a kernel's gradient")
    add_kernel_arguments(grad)
    add_derivative_arguments(grad)
    grad.add_argument("--mode", choices=("reverse", "tangent", "primal"), default="reverse",
                      help="reverse (gradient, default), tangent (Jacobian-vector "
                      "product) or primal (the kernel regenerated from its model)")
    grad.add_argument("-o", "--output", help="write the C file here (default stdout)")
    add_fix_argument(grad)
    add_schedule_argument(grad)

    check = commands.add_parser("check", help="compile the primal, tangent and adjoint "
                                "code and check them against independent oracles")
    add_kernel_arguments(check)
    add_derivative_arguments(check)
    add_size_arguments(check)
    check.add_argument("--inputs", metavar="FILE.npz",
                       help="arrays (and sizes or scalars) to use instead of random ones")
    check.add_argument("--seed", type=int, default=0, help="seed of the random inputs "
                       "(default 0)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    add_init_argument(check)
    check.add_argument("--oracles", default=",".join(verify.ORACLES),
                       metavar=",".join(verify.ORACLES),
                       help="the oracles to run, comma separated (default all)")
    check.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="say on stderr what check is doing (default: when stderr "
                       "is a terminal)")
    add_schedule_argument(check)

    analyze = commands.add_parser("analyze", help="the memory behaviour of each tape "
                                  "layout: tape bytes, reuse, cache misses, on-chip memory")
    add_kernel_arguments(analyze)
    add_wrt_of(analyze)
    add_size_arguments(analyze)
    analyze.add_argument("--layout", action="append", choices=LAYOUT_NAMES, default=None,
                         help="a layout to analyse (repeatable; default all)")
    analyze.add_argument("--scratchpad", metavar="SIZE", default=None,
                         help=f"scratchpad of the {' or '.join(SCRATCHPAD_LAYOUTS)} layout "
                         "(default 32KiB)")
    add_schedule_argument(analyze)
    analyze.add_argument("--cache", default="32KiB,64B,8", metavar="SIZE,LINE,WAYS",
                         help="the simulated set-associative LRU cache (default "
                         "32KiB,64B,8)")
    analyze.add_argument("--threshold", type=float, default=0.01,
                         help="tape read miss ratio for the on-chip memory estimate "
                         "(default 0.01)")
    analyze.add_argument("--json", action="store_true", help="print one JSON object")

    bench = commands.add_parser("bench", help="time the original kernel and gradient "
                                "variants (each checked against exact first)")
    add_kernel_arguments(bench)
    add_wrt_of(bench)
    add_size_arguments(bench)
    bench.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                       help=f"comma separated, among {', '.join(VARIANTS)} "
                       f"(default {','.join(DEFAULT_VARIANTS)})")
    bench.add_argument("--schedule", action="append", default=[],
                       metavar="auto|none|FILE.json",
                       help="also time the exact gradient in this schedule (repeatable; "
                       "auto is the auto variant, none the exact one)")
    bench.add_argument("--repeat", type=int, default=10, help="timed calls (default 10)")
    bench.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS and "
                       "OPENBLAS_NUM_THREADS (default 1)")
    add_blas_argument(bench)
    add_memory_budget(bench)
    bench.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    add_init_argument(bench)
    bench.add_argument("--json", action="store_true", help="print one JSON object")

    explore = commands.add_parser("explore", help="search schedules and tape layouts of "
                                  "the gradient for the fastest (optuna; auto is trial 0)")
    add_kernel_arguments(explore)
    add_wrt_of(explore)
    add_size_arguments(explore)
    explore.add_argument("--trials", type=int, default=20, help="trials to run (default 20)")
    explore.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                         help="stop starting trials after this long")
    explore.add_argument("--storage", default="sqlite:///explore.db", metavar="URL",
                         help="optuna storage of the study, resumed when it exists "
                         "(default sqlite:///explore.db)")
    explore.add_argument("--layouts", default=",".join(LAYOUT_NAMES),
                         help=f"tape layouts to search, comma separated (default all: "
                         f"{','.join(LAYOUT_NAMES)})")
    explore.add_argument("--repeat", type=int, default=5, help="timed calls per trial "
                         "(default 5)")
    explore.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS (default 1)")
    explore.add_argument("--seed", type=int, default=0, help="seed of the sampler and inputs")
    explore.add_argument("--sampler", choices=("tpe", "random"), default="tpe",
                         help="tpe (default: optuna's TPE, a model of the space) or random "
                         "(uniform draws, the baseline a search must beat)")
    explore.add_argument("--workers", type=int, default=1, help="processes sharing the "
                         "trials through --storage (default 1; each times its own trials)")
    explore.add_argument("--output", metavar="FILE.json", help="write the best schedule's "
                         "trace here (for --schedule FILE.json)")
    explore.add_argument("--report", action="store_true", help="run no trial: print the "
                         "stored study's best configurations (and plot them)")
    explore.add_argument("--plot", metavar="FILE.png", help="write the convergence plot "
                         "here (needs matplotlib; default with --report: explore.png)")
    explore.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                         help="a progress bar and a line per trial on stderr (default: "
                         "when stderr is a terminal)")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except PolyadError as error:
        print(f"polyad: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in polyad: say so, without a traceback
        if os.environ.get("POLYAD_DEBUG"):
            traceback.print_exc()
        print(f"polyad: internal error: {type(error).__name__}: {_one_line(error)} "
              "(a bug in polyad; POLYAD_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    lines = text.splitlines()
    return lines[0] + (f" [{' | '.join(l.strip() for l in lines[1:4])}]"
                       if len(lines) > 1 else "")


def _json(data) -> str:
    """JSON text; a NaN or infinite number (a failed check) becomes null."""
    return json.dumps(_finite(data), indent=2, allow_nan=False)


def _finite(data):
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(value) for value in data]
    return data


def _emit(text: str, output: str | None) -> None:
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _show(args) -> int:
    kernel = kernel_of(args)
    if args.loops or args.schedule != "none":
        adjoint = _adjoint(kernel, args)
        schedule = api.load_schedule(adjoint, args.schedule, blas=args.blas) \
            or api.schedule(adjoint)
        if args.json:
            _emit(_json(reports.schedule_summary(schedule)), None)
        else:
            _emit(reports.format_schedule(schedule), None)
    elif args.tape:
        sizes = kernel.sizes(args.dataset, sizes_of(args.sizes))
        adjoint = _adjoint(kernel, args, sizes)
        stack = adjoint if adjoint.strategy == "stack" else adjoint.with_strategy("stack")
        if args.json:
            _emit(_json(reports.tape_summary(adjoint, stack, sizes)), None)
        else:
            _emit(reports.format_tape(adjoint, stack, sizes), None)
    elif args.json:
        _emit(_json(reports.kernel_summary(kernel)), None)
    else:
        _emit(reports.format_kernel(kernel), None)
    return EXIT_OK


def _refuse_overwriting_input(output: str | None, source: str) -> None:
    """Generated code never replaces the user's kernel file."""
    if output and os.path.exists(output) and os.path.exists(source) \
            and os.path.samefile(output, source):
        raise UsageError(f"-o {output} is the kernel's own source file: polyad never "
                         "writes over its input (name another file)")


def _grad(args) -> int:
    _refuse_overwriting_input(args.output, args.kernel)
    kernel = kernel_of(args)
    if args.mode == "primal":
        target = kernel
    elif args.mode == "tangent":
        if args.of:
            raise UsageError("--of does not apply to --mode tangent (it computes the "
                             "tangents of every floating-point output)")
        target = api.jvp(kernel, names_of(args.wrt))
    else:
        target = _adjoint(kernel, args)
    chosen = api.load_schedule(target, args.schedule, blas=args.blas)
    _emit(api.generate_c(target, chosen), args.output)
    _rounding_note(chosen)
    return EXIT_OK


def _rounding_note(chosen) -> None:
    """Say on stderr when the generated primal results are not bitwise the
    original C's (the schedule reassociates sums or calls BLAS or vector
    math in the forward computation)."""
    reasons = forward_roundings(chosen) if chosen is not None else ()
    if reasons:
        print(f"polyad: note: the primal results equal the original C's up to rounding "
              f"({', '.join(reasons)}); --schedule none keeps them bitwise",
              file=sys.stderr)


def _load_inputs(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read inputs {path}: {error}") from None


def _check(args) -> int:
    args = _with_trace_layout(args)
    kernel = kernel_of(args)
    given = _load_inputs(args.inputs)
    from_file = {p: int(given.pop(p)) for p in kernel.params if p in given}
    sizes = kernel.sizes(args.dataset, {**from_file, **sizes_of(args.sizes)})
    _refuse_scratchpad(args)
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    result = api.check(kernel, sizes, wrt=names_of(args.wrt), of=names_of(args.of),
                       strategy=args.strategy or implied_strategy(args.layout),
                       seed=args.seed, inputs=given, schedule=args.schedule,
                       layout=args.layout, memory_budget=budget(args),
                       snapshots=snapshots_of(args),
                       scratchpad=parse_bytes(args.scratchpad) if args.scratchpad else None,
                       init=api.parse_init(args.init), oracles=names_of([args.oracles]),
                       progress=_progress if show_progress else None, blas=args.blas)
    if args.json:
        _emit(_json(result), None)
    else:
        _emit(reports.format_check(result), None)
    return CHECK_EXIT_CODES[result["verdict"]]


def _progress(text: str) -> None:
    print(f"polyad: {text}", file=sys.stderr, flush=True)


def _bench(args) -> int:
    kernel = kernel_of(args)
    sizes = kernel.sizes(args.dataset, sizes_of(args.sizes))
    if args.repeat < 1 or args.threads < 1:
        raise UsageError("--repeat and --threads take positive numbers")
    variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    result = bench.bench(kernel, sizes, variants=variants, schedules=tuple(args.schedule),
                         repeat=args.repeat, threads=args.threads, seed=args.seed,
                         wrt=names_of(args.wrt), of=names_of(args.of), memory_budget=budget(args),
                         init=api.parse_init(args.init), blas=args.blas)
    _emit(_json(result) if args.json else reports.format_bench(result), None)
    failed = [v for v in result["variants"] if v["verified"] is False]
    return EXIT_FAILED if failed else EXIT_OK


def _analyze(args) -> int:
    kernel = kernel_of(args)
    sizes = kernel.sizes(args.dataset, sizes_of(args.sizes))
    cache = Cache.parse(args.cache)
    if not 0 <= args.threshold < 1:
        raise UsageError("--threshold is a miss ratio in [0, 1)")
    scratchpad = parse_bytes(args.scratchpad) if args.scratchpad else None
    results = []
    for name in args.layout or LAYOUT_NAMES:
        layout = layout_named(name)
        adjoint = api.grad(kernel, names_of(args.wrt), names_of(args.of),
                           layout.strategy).with_layout(
            name, scratchpad if layout.scratchpad else None, sizes=sizes)
        schedule = api.load_schedule(adjoint, args.schedule, blas=args.blas)
        program = api.program_of(adjoint, schedule)
        result = analysis.analyze(program, sizes, cache, args.threshold)
        result["layout"], result["strategy"] = name, layout.strategy
        if layout.scratchpad:
            # The layers of the program as scheduled: with the instructions
            # its schedule split (gathers, peels), as program_of stages them.
            placed = schedule or adjoint.schedule()
            result["layers"] = [
                {"instructions": list(layer.instructions), "iterations": layer.size,
                 "footprint_bytes": layer.bytes}
                for layer in layouts.plan_layers(
                    rewritten(lowering.adjoint_program(adjoint, layout="exact"),
                              placed.rewrites), placed, adjoint.scratchpad, sizes)]
        results.append(result)
    summary = {"kernel": kernel.name, "sizes": sizes, "schedule": args.schedule,
               "layouts": results}
    _emit(_json(summary) if args.json else reports.format_analysis(summary), None)
    return EXIT_OK


def _explore(args) -> int:
    # optuna (0.2 s to import) loads for this command only.
    from polyad.tools.explore import command
    kernel = kernel_of(args)
    sizes = kernel.sizes(args.dataset, sizes_of(args.sizes))
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    return command.run(kernel, sizes, trials=args.trials, timeout=args.timeout,
                       storage=args.storage, layouts=names_of([args.layouts]),
                       wrt=names_of(args.wrt), of=names_of(args.of), repeat=args.repeat,
                       threads=args.threads, seed=args.seed, workers=args.workers,
                       sampler=args.sampler, output=args.output,
                       report=args.report, plot=args.plot, progress=show_progress)


_COMMANDS = {"show": _show, "grad": _grad, "check": _check, "bench": _bench,
             "analyze": _analyze, "explore": _explore}

if __name__ == "__main__":
    sys.exit(main())
