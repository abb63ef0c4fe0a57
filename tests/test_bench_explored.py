"""The explored benchmark (bench/explored.py) and explore's random-search
baseline. Oracles: figures worked out by hand from synthetic rows (nothing
timed there); optuna's own record of which sampler drew a study's trials;
and, in make test-all, one real run whose ratios must be the quotients of
the times it reports."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import optuna
import pytest

import polyad
from polyad import cli
from polyad.tools.explore import study

ROOT = Path(__file__).resolve().parent.parent
TINY = {"ni": 6, "nj": 7, "nk": 5}


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_explored",
                                                  ROOT / "bench" / "explored.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(kernel: str, auto: float, explored: float, random: float) -> dict:
    return {"kernel": kernel, "sizes": {"n": 4}, "trials": 40, "feasible": {"tpe": 30,
                                                                             "random": 25},
            "auto_s": auto, "explored_s": explored, "random_s": random,
            "explored_over_auto": auto / explored, "explored_over_random": random / explored,
            "best": "layout exact"}


def test_the_goals_are_read_off_the_rows():
    bench = _bench_module()
    rows = [_row("gemm", 2.0, 1.0, 1.5), _row("lu", 1.0, 1.0, 0.9),
            _row("adi", 3.0, 2.0, 2.5),
            {"kernel": "softmax", "feasible": {"tpe": 0, "random": 0}, "reason": "none"}]
    totals = bench.summary(rows)
    # explored over auto: 2.0, 1.0, 1.5 -> median 1.5; wins over random: gemm, adi.
    assert totals["median_explored_over_auto"] == 1.5 and totals["median_goal_met"]
    assert totals["wins_over_random"] == 2 and totals["random_goal_met"]
    assert totals["timed"] == 3 and totals["kernels"] == 4
    slower = bench.summary([_row("gemm", 1.1, 1.0, 0.9), _row("lu", 1.0, 1.0, 1.0)])
    assert not slower["median_goal_met"] and not slower["random_goal_met"]


def test_the_table_says_met_and_not_met():
    bench = _bench_module()
    rows = [_row("gemm", 2.0, 1.0, 1.5)]

    class Args:
        dataset, trials, threads, seed = "medium", 40, 1, 0
    text = bench.markdown(rows, bench.summary(rows), Args)
    assert "| gemm | 2000 | 1000 | 1500 | 2.00x | 1.50x | 30, 25 |" in text
    assert "median explored over auto: 2.00x (goal 1.2x: met)" in text
    assert "on 1 of 1 (goal: most: met)" in text


def test_random_search_draws_with_optunas_random_sampler():
    kernel = polyad.parse(str(ROOT / "examples" / "gemm.c"))
    found = study.explore(kernel, TINY, trials=2, repeat=1, layouts=["exact"],
                          confirm=False, sampler="random")
    assert isinstance(found.study.sampler, optuna.samplers.RandomSampler)
    assert found.study.trials[0].user_attrs[study.AUTO_ATTRIBUTE] is True
    assert isinstance(study.sampler_named("tpe", 0), optuna.samplers.TPESampler)


def test_an_unknown_sampler_is_refused(capsys):
    with pytest.raises(polyad.UsageError, match="unknown sampler 'grid'"):
        study.explore(polyad.parse(str(ROOT / "examples" / "gemm.c")), TINY, sampler="grid")
    assert cli.main(["explore", str(ROOT / "examples" / "gemm.c"), "--sampler", "grid"]) == 2
    assert "--sampler" in capsys.readouterr().err


@pytest.mark.slow
def test_one_real_run_writes_its_tables(tmp_path):
    bench = _bench_module()
    assert bench.main(["--dataset", "small", "--trials", "2", "--kernels", "gemm",
                       "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "explored.json").read_text())
    row = result["rows"][0]
    assert row["kernel"] == "gemm" and row["feasible"]["tpe"] >= 1
    assert row["explored_over_auto"] == pytest.approx(row["auto_s"] / row["explored_s"])
    assert row["explored_over_random"] == pytest.approx(row["random_s"] / row["explored_s"])
    assert "| gemm |" in (tmp_path / "explored.md").read_text()
