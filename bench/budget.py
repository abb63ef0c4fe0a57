"""`make bench`'s memory-budget part: gradient time against the memory
budget on the time-stepping examples, written to bench/out/budget.{md,png,json}.

    python bench/budget.py [--dataset medium] [--threads 1] [--repeat 5] [--points 6]
                           [--only burgers_1d ...] [--out bench/out] [--from-json FILE]

Per example, the exact tape at the sizes (what the gradient allocates
without a budget) and the smallest budget any plan fits
(polyad.program.budget.smallest_budget, the figure polyad's refusal names)
bound a geometric series of budgets; 1/100 of the exact tape is added where
a plan fits it. Each budget is one run of `polyad bench`'s machinery
(polyad.tools.bench.bench) with the primal, the exact gradient and the
budget's plan timed in the same interleaved rounds, so a budgeted time is
set against the unbudgeted one of the same run; its driver measures the
peak extra heap bytes of one call of each.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import polyad  # noqa: E402
from polyad.files import write_atomically  # noqa: E402
from polyad.program.budget import plan_memory, smallest_budget  # noqa: E402
from polyad.program.budget import allocated_tape_bytes  # noqa: E402
from polyad.program.targets import program_of  # noqa: E402
from polyad.tools.bench import BUDGET, bench  # noqa: E402

try:  # matplotlib, from the bench extra
    import matplotlib  # noqa: E402
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: E402
except ImportError:  # pragma: no cover
    plt = None

#: The examples whose exact tape is steps times state (issue 13's).
TIME_STEPPING = ("burgers_1d", "reaction_diffusion_2d", "neural_ode")
#: The goal: under 1/GOAL_FRACTION of the unbudgeted tape, at most
#: GOAL_SLOWDOWN times the unbudgeted gradient's time.
GOAL_FRACTION, GOAL_SLOWDOWN = 100, 3.0


def budget_series(smallest: int, exact: int, points: int) -> list[int]:
    """``points`` budgets from ``smallest`` up to below ``exact`` (the
    unbudgeted plan, measured apart), evenly spaced on a log scale, with
    exact / GOAL_FRACTION among them where it is at least ``smallest``.

    >>> budget_series(100, 100_000, 3)
    [100, 1000, 10000]
    >>> budget_series(100, 1000, 2)
    [100, 316]
    """
    if smallest >= exact:
        return []
    ratio = (exact / smallest) ** (1 / points)
    series = {round(smallest * ratio ** k) for k in range(points)}
    if exact // GOAL_FRACTION >= smallest:
        series.add(exact // GOAL_FRACTION)
    return sorted(b for b in series if b < exact)


def _variant(result: dict, name: str) -> dict:
    return next((v for v in result["variants"] if v["name"] == name), {})


def measure(name: str, dataset: str, threads: int, repeat: int, points: int) -> dict:
    """One example's budgets, each timed against the primal and the
    unbudgeted (exact) gradient of the same run."""
    kernel = polyad.parse(ROOT / "examples" / f"{name}.c")
    sizes = kernel.sizes(dataset)
    adjoint = polyad.grad(kernel)
    exact = allocated_tape_bytes(program_of(adjoint), sizes)
    smallest = smallest_budget(adjoint, sizes)
    rows = []
    for budget in budget_series(smallest, exact, points):
        result = bench(kernel, sizes, variants=("primal", "exact"), repeat=repeat,
                       threads=threads, memory_budget=budget)
        primal, unbudgeted = _variant(result, "primal"), _variant(result, "exact")
        budgeted = _variant(result, BUDGET)
        plan = plan_memory(adjoint, budget, sizes).as_data()
        rows.append({"budget": budget, "layout": plan["layout"], "every": plan["every"],
                     "slots": plan["slots"], "planned_bytes": plan["bytes"],
                     "reruns": plan["reruns"], "verified": budgeted.get("verified"),
                     "peak_extra_bytes": budgeted.get("peak_extra_bytes"),
                     "median_s": budgeted.get("median_s"), "min_s": budgeted.get("min_s"),
                     "primal_s": primal.get("median_s"),
                     "unbudgeted_s": unbudgeted.get("median_s"),
                     "unbudgeted_peak_extra_bytes": unbudgeted.get("peak_extra_bytes")})
        print(f"  {name:<22} budget {budget:>11,} B: {plan['layout']:<10} "
              + (f"{budget_ratio(rows[-1]):.2f}x the unbudgeted time, "
                 if budget_ratio(rows[-1]) else "not timed, ")
              + f"peak extra {rows[-1]['peak_extra_bytes'] or 0:,} B", flush=True)
    return {"kernel": name, "sizes": sizes, "exact_bytes": exact, "smallest_budget": smallest,
            "goal_budget": exact // GOAL_FRACTION, "budgets": rows}


def budget_ratio(row: dict) -> float | None:
    """A budgeted gradient's median over the unbudgeted one's, same run."""
    if row.get("median_s") and row.get("unbudgeted_s"):
        return row["median_s"] / row["unbudgeted_s"]
    return None


def goal_verdict(result: dict) -> tuple[bool, str]:
    """Whether the example meets the goal (under a budget of 1/100 of the
    unbudgeted tape, at most 3x the unbudgeted gradient time), and why."""
    goal = result["goal_budget"]
    if goal < result["smallest_budget"]:
        return False, (f"no plan fits 1/{GOAL_FRACTION} of the tape ({goal:,} B): the "
                       f"smallest budget that works is {result['smallest_budget']:,} B, "
                       f"{fraction_text(result['smallest_budget'], result['exact_bytes'])} "
                       "of it")
    row = next((r for r in result["budgets"] if r["budget"] == goal), None)
    ratio = budget_ratio(row) if row else None
    if ratio is None:
        return False, f"the plan at {goal:,} B was not timed (wrong gradient or not run)"
    met = ratio <= GOAL_SLOWDOWN
    return met, (f"{ratio:.2f}x the unbudgeted time at {goal:,} B ({row['layout']}"
                 + (f", {plan_text(row)}" if row["layout"] != "exact" else "")
                 + f"; measured peak extra {row['peak_extra_bytes'] or 0:,} B)")


def fraction_text(part: int, whole: int) -> str:
    """``part`` as a fraction of ``whole``: ``1/187``, ``1/2.4``.

    >>> fraction_text(10, 1870), fraction_text(10, 24), fraction_text(10, 10)
    ('1/187', '1/2.4', '1')
    """
    if part >= whole:
        return f"{part / whole:.3g}"
    inverse = whole / part
    return f"1/{inverse:.0f}" if inverse >= 10 else f"1/{inverse:.1f}"


def plan_text(row: dict) -> str:
    if row["layout"] == "exact":
        return "exact"
    if row.get("slots"):
        return f"binomial, {row['slots']} slot{'s' if row['slots'] != 1 else ''}"
    return f"every {row['every']} steps"


def table(results: list[dict], meta: dict) -> str:
    """budget.md: per example and budget the plan, planned and measured
    bytes, times, and the goal."""
    lines = [f"Dataset {meta['dataset']}, {meta['threads']} thread(s), {meta['machine']}, "
             f"{meta['date']}. Gradient time under a memory budget on the time-stepping "
             "examples: per budget the plan polyad chose, its planned extra bytes, the peak "
             "extra heap bytes one call allocated (measured by the driver), the median time "
             "over the primal, and over the unbudgeted gradient (the exact tape, same "
             "schedule, timed in the same run).", "",
             "| kernel | sizes | budget B | budget / tape | plan | planned B | measured B "
             "| ms | ×primal | ×unbudgeted |", "|" + "---|" * 10]
    for result in results:
        sizes = " ".join(f"{k}={v}" for k, v in result["sizes"].items())
        for row in result["budgets"]:
            ratio = budget_ratio(row)
            timed = row.get("median_s") and row.get("primal_s")
            lines.append("| " + " | ".join([
                result["kernel"], sizes, f"{row['budget']:,}",
                fraction_text(row["budget"], result["exact_bytes"]), plan_text(row),
                f"{row['planned_bytes']:,}",
                f"{row['peak_extra_bytes']:,}" if row.get("peak_extra_bytes") is not None
                else "n/a",
                f"{row['median_s'] * 1e3:.3g}" if row.get("median_s") else "n/a",
                f"{row['median_s'] / row['primal_s']:.2f}" if timed else "n/a",
                f"{ratio:.2f}" if ratio else
                ("WRONG" if row.get("verified") is False else "n/a")]) + " |")
        timed = [r for r in result["budgets"] if r.get("unbudgeted_s") and r.get("primal_s")]
        measured = next((r["unbudgeted_peak_extra_bytes"] for r in result["budgets"]), None)
        lines.append("| " + " | ".join([
            result["kernel"], sizes, "unlimited", "1", "exact", f"{result['exact_bytes']:,}",
            f"{measured:,}" if measured is not None else "n/a",
            f"{statistics.median(r['unbudgeted_s'] for r in timed) * 1e3:.3g}" if timed
            else "n/a",
            f"{statistics.median(r['unbudgeted_s'] / r['primal_s'] for r in timed):.2f}"
            if timed else "n/a", "1"]) + " |")
    lines += ["", f"Goal: under a budget of 1/{GOAL_FRACTION} of the unbudgeted tape, at most "
              f"{GOAL_SLOWDOWN:g}x the unbudgeted gradient time.", ""]
    for result in results:
        met, why = goal_verdict(result)
        lines.append(f"- {result['kernel']}: {'met' if met else 'not met'}: {why}")
    verdicts = [goal_verdict(r)[0] for r in results]
    lines += ["", f"Met on {sum(verdicts)} of {len(verdicts)} examples."]
    return "\n".join(lines) + "\n"


def plot(results: list[dict], path: Path, meta: dict) -> None:
    """budget.png: per example, gradient time over the primal against the
    budget (log x), the unbudgeted gradient and 3x it as lines, the goal's
    budget (1/100 of the tape) as a dotted line."""
    if plt is None:
        print("matplotlib not installed: no plot (pip install .[bench])")
        return
    figure, axes = plt.subplots(1, max(len(results), 1), figsize=(5 * max(len(results), 1), 4),
                                squeeze=False)
    for axis, result in zip(axes[0], results):
        timed = [r for r in result["budgets"] if r.get("median_s") and r.get("primal_s")]
        axis.plot([r["budget"] for r in timed], [r["median_s"] / r["primal_s"] for r in timed],
                  "o-", label="budgeted")
        unbudgeted = [r["unbudgeted_s"] / r["primal_s"] for r in timed if r.get("unbudgeted_s")]
        if unbudgeted:
            level = statistics.median(unbudgeted)
            axis.plot([result["exact_bytes"]], [level], "s", color="black",
                      label="unbudgeted (exact tape)")
            axis.axhline(level, color="black", linewidth=0.5)
            axis.axhline(GOAL_SLOWDOWN * level, color="red", linewidth=0.5, linestyle="--",
                         label=f"{GOAL_SLOWDOWN:g}x unbudgeted")
        axis.axvline(result["goal_budget"], color="gray", linestyle=":",
                     label=f"1/{GOAL_FRACTION} of the tape")
        axis.set_xscale("log")
        axis.set_xlabel("memory budget (bytes, log)")
        axis.set_ylabel("gradient time / primal time (log)")
        axis.set_title(f"{result['kernel']} " + " ".join(
            f"{k}={v}" for k, v in result["sizes"].items()), fontsize=9)
        axis.set_yscale("log")
        axis.legend(fontsize=7)
    figure.suptitle(f"gradient time against memory budget, {meta['dataset']}, "
                    f"{meta['threads']} thread(s)")
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=110)
    plt.close(figure)
    write_atomically(path, image.getvalue())


def write_outputs(results: list[dict], meta: dict, out: Path) -> None:
    """budget.json, budget.md and budget.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / "budget.json", json.dumps({**meta, "kernels": results}, indent=2))
    write_atomically(out / "budget.md", table(results, meta))
    plot(results, out / "budget.png", meta)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--points", type=int, default=6,
                        help="budgets per example on the log scale (plus 1/100 of the tape)")
    parser.add_argument("--only", nargs="*", help="example names (default: the time-stepping ones)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--from-json", metavar="BUDGET_JSON",
                        help="measure nothing: write the table and plot again from a budget.json")
    args = parser.parse_args()
    out = Path(args.out)
    if args.from_json:
        earlier = json.loads(Path(args.from_json).read_text())
        results = earlier.pop("kernels")
        write_outputs(results, earlier, out)
        print(table(results, earlier))
        return 0
    from run import machine  # the machine's name as results.md gives it
    started = time.time()
    meta = {"dataset": args.dataset, "threads": args.threads, "machine": machine(),
            "date": time.strftime("%Y-%m-%d")}
    print(f"gradient time against memory budget ({', '.join(args.only or TIME_STEPPING)}):")
    results = [measure(name, args.dataset, args.threads, args.repeat, args.points)
               for name in (args.only or TIME_STEPPING)]
    write_outputs(results, meta, out)
    print(f"\nwrote {out}/budget.md, budget.png, budget.json in {time.time() - started:.0f} s")
    print("\n".join(line for line in table(results, meta).splitlines()
                    if line.startswith(("- ", "Met on"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
