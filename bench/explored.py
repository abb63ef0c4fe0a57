"""`make bench-explored`: `polyad explore` (TPE) against `auto` and against
random search with the same budget of trials, on a subset of the examples.

    python bench/explored.py [--dataset medium] [--trials 40] [--kernels gemm,adi]
                             [--threads 1] [--seed 0] [--out bench/out]

Per kernel: a TPE study and a random-search study of ``--trials`` trials
each (both start from auto's configuration, as every study does, so either
is at least as fast as auto), then the best of each and auto's
configuration timed again in the same interleaved rounds (the ratios come
from one run, not from the studies' own measurements). Writes
``explored.json`` and ``explored.md`` in ``--out``.

Goals (issue 14): explored at least 1.2x faster than auto on the median of
the subset, and faster than random search on most of its kernels.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import optuna  # noqa: E402

import polyad  # noqa: E402
from polyad.files import write_atomically  # noqa: E402
from polyad.tools.explore.study import (AUTO_ATTRIBUTE, evaluator_for, explore,  # noqa: E402
                                        scratchpad_of)

#: The subset issue 14 names (jacobi-2d is examples/jacobi_2d.c).
SUBSET = ("gemm", "syr2k", "lu", "jacobi_2d", "conv2d", "softmax", "adi")
#: The goals: explored over auto on the median, and wins over random search.
MEDIAN_GOAL = 1.2


def candidate(trial: optuna.trial.FrozenTrial) -> tuple:
    """What Evaluator.retime takes for one trial: layout, scratchpad, trace."""
    return (trial.params["layout"], scratchpad_of(trial.params), trial.user_attrs["trace"])


def auto_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The trial of auto's configuration (a study's first), if it was feasible."""
    return next((t for t in study.trials if t.user_attrs.get(AUTO_ATTRIBUTE)
                 and t.state == optuna.trial.TrialState.COMPLETE), None)


def feasible(study: optuna.Study) -> int:
    return sum(1 for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)


def explore_one(path: Path, dataset: str, trials: int, threads: int, seed: int) -> dict:
    """One kernel's row: both searches, then the interleaved retiming."""
    kernel = polyad.parse(str(path))
    sizes = kernel.sizes(dataset)
    started = time.monotonic()
    searches = {sampler: explore(kernel, sizes, trials=trials, threads=threads, seed=seed,
                                 confirm=False, sampler=sampler)
                for sampler in ("tpe", "random")}
    row = {"kernel": kernel.name, "sizes": sizes, "trials": trials,
           "search_s": time.monotonic() - started,
           "feasible": {s: feasible(found.study) for s, found in searches.items()}}
    auto = auto_trial(searches["tpe"].study)
    if auto is None or any(found.best is None for found in searches.values()):
        return {**row, "reason": "auto's configuration or a search found nothing feasible"}
    evaluator = evaluator_for(kernel, sizes, threads=threads, seed=seed)
    auto_s, tpe_s, random_s = evaluator.retime([
        candidate(auto),
        candidate(searches["tpe"].study.best_trial),
        candidate(searches["random"].study.best_trial)])
    best = searches["tpe"].study.best_trial
    return {**row, "auto_s": auto_s, "explored_s": tpe_s, "random_s": random_s,
            "explored_over_auto": auto_s / tpe_s, "explored_over_random": random_s / tpe_s,
            "best_trial": best.number, "best": best.user_attrs.get("configuration", "")}


def summary(rows: list[dict]) -> dict:
    """The goals over the rows that have times: met or not, with the figures."""
    timed = [r for r in rows if "explored_s" in r]
    over_auto = [r["explored_over_auto"] for r in timed]
    wins = sum(1 for r in timed if r["explored_s"] < r["random_s"])
    median = statistics.median(over_auto) if over_auto else None
    return {"kernels": len(rows), "timed": len(timed), "median_explored_over_auto": median,
            "median_goal_met": median is not None and median >= MEDIAN_GOAL,
            "wins_over_random": wins,
            "random_goal_met": bool(timed) and wins > len(timed) / 2}


def markdown(rows: list[dict], totals: dict, args) -> str:
    """The table of explored.md."""
    lines = [f"# explore (TPE) against auto and random search, {args.dataset}, "
             f"{args.trials} trials each, {args.threads} thread(s), seed {args.seed}", "",
             "| kernel | auto ms | explored ms | random ms | explored/auto | "
             "explored/random | feasible (TPE, random) | best configuration |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "explored_s" not in r:
            lines.append(f"| {r['kernel']} | | | | | | {r['feasible']['tpe']}, "
                         f"{r['feasible']['random']} | {r['reason']} |")
            continue
        lines.append(
            f"| {r['kernel']} | {r['auto_s'] * 1e3:.4g} | {r['explored_s'] * 1e3:.4g} | "
            f"{r['random_s'] * 1e3:.4g} | {r['explored_over_auto']:.2f}x | "
            f"{r['explored_over_random']:.2f}x | {r['feasible']['tpe']}, "
            f"{r['feasible']['random']} | {r['best'] or 'auto'} |")
    median = totals["median_explored_over_auto"]
    lines += ["", f"- median explored over auto: "
              f"{'n/a' if median is None else f'{median:.2f}x'} (goal {MEDIAN_GOAL}x: "
              f"{'met' if totals['median_goal_met'] else 'not met'})",
              f"- explored faster than random search on {totals['wins_over_random']} of "
              f"{totals['timed']} (goal: most: "
              f"{'met' if totals['random_goal_met'] else 'not met'})"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="medium")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--kernels", default=",".join(SUBSET))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in [k for k in args.kernels.split(",") if k]:
        path = ROOT / "examples" / f"{name}.c"
        if not path.exists():
            print(f"explored: no example {path}", file=sys.stderr)
            return 2
        rows.append(explore_one(path, args.dataset, args.trials, args.threads, args.seed))
        print(f"explored: {name}: {rows[-1].get('explored_over_auto', 'n/a')}", flush=True)
    totals = summary(rows)
    write_atomically(out / "explored.json", json.dumps({"rows": rows, "summary": totals,
                                                        "dataset": args.dataset}, indent=2))
    write_atomically(out / "explored.md", markdown(rows, totals, args))
    print(markdown(rows, totals, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
