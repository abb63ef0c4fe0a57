"""The memory-budget report (bench/budget.py) from recorded results: the
budgets it picks, its table and its goal verdicts. Oracle: numbers worked
out by hand from the synthetic results below; nothing is timed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _budget_module():
    spec = importlib.util.spec_from_file_location("bench_budget", ROOT / "bench" / "budget.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(budget: int, seconds: float, layout: str = "checkpoint", **plan) -> dict:
    return {"budget": budget, "layout": layout, "every": plan.get("every"),
            "slots": plan.get("slots"), "planned_bytes": budget - 8, "reruns": 0,
            "verified": True, "peak_extra_bytes": budget + 8, "median_s": seconds,
            "min_s": seconds, "primal_s": 0.001, "unbudgeted_s": 0.004,
            "unbudgeted_peak_extra_bytes": 100_016}


#: burgers-like: 1/100 of its 100,000-byte tape fits, at 2.5x the
#: unbudgeted time; neural-ode-like: it fits, at 4x; reaction-diffusion-like:
#: the smallest budget is 4,000 of 100,000 (1/25), so 1/100 does not fit.
RESULTS = [
    {"kernel": "burgers_1d", "sizes": {"n": 10}, "exact_bytes": 100_000,
     "smallest_budget": 500, "goal_budget": 1_000,
     "budgets": [_row(500, 0.040, slots=1), _row(1_000, 0.010, slots=3),
                 _row(20_000, 0.003, every=4)]},
    {"kernel": "neural_ode", "sizes": {"n": 10}, "exact_bytes": 100_000,
     "smallest_budget": 1_000, "goal_budget": 1_000,
     "budgets": [_row(1_000, 0.016, slots=1)]},
    {"kernel": "reaction_diffusion_2d", "sizes": {"n": 10}, "exact_bytes": 100_000,
     "smallest_budget": 4_000, "goal_budget": 1_000,
     "budgets": [_row(4_000, 0.008, every=1)]},
]


def test_the_budgets_run_from_the_smallest_on_a_log_scale():
    # 100,000 / 500 = 200: steps of 200 ** (1/4) = 3.76 from 500, and 1/100
    # of the tape; 100,000 / 4,000 = 25: steps of 5.
    budget = _budget_module()
    assert budget.budget_series(500, 100_000, 4) == [500, 1_000, 1_880, 7_071, 26_591]
    assert budget.budget_series(4_000, 100_000, 2) == [4_000, 20_000]
    assert budget.budget_series(100_000, 100_000, 3) == []
    assert budget.fraction_text(4_000, 100_000) == "1/25"


def test_the_goal_is_judged_at_a_hundredth_of_the_tape():
    budget = _budget_module()
    verdicts = [budget.goal_verdict(result) for result in RESULTS]
    assert verdicts[0] == (True, "2.50x the unbudgeted time at 1,000 B (checkpoint, "
                                 "binomial, 3 slots; measured peak extra 1,008 B)")
    assert verdicts[1][0] is False and verdicts[1][1].startswith("4.00x the unbudgeted")
    assert verdicts[2] == (False, "no plan fits 1/100 of the tape (1,000 B): the smallest "
                                  "budget that works is 4,000 B, 1/25 of it")


def test_the_report_is_written_again_from_budget_json(tmp_path):
    recorded = {"dataset": "small", "threads": 1, "machine": "a test machine",
                "date": "2026-01-02", "kernels": RESULTS}
    source = tmp_path / "budget.json"
    source.write_text(json.dumps(recorded))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "budget.py"), "--from-json",
                           str(source), "--out", str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    markdown = (out / "budget.md").read_text()
    assert markdown.startswith("Dataset small, 1 thread(s), a test machine, 2026-01-02.")
    # 500 B is 1/200 of the tape; 40 ms over 1 ms and over 4 ms.
    assert ("| burgers_1d | n=10 | 500 | 1/200 | binomial, 1 slot | 492 | 508 | 40 | 40.00 "
            "| 10.00 |") in markdown
    assert ("| burgers_1d | n=10 | unlimited | 1 | exact | 100,000 | 100,016 | 4 | 4.00 | 1 |"
            in markdown)
    assert "- reaction_diffusion_2d: not met: no plan fits" in markdown
    assert markdown.rstrip().endswith("Met on 1 of 3 examples.")
    assert json.loads((out / "budget.json").read_text())["kernels"] == RESULTS
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / "budget.png").read_bytes().startswith(b"\x89PNG")
