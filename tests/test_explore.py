"""``polyad explore``: the search space, the search, its storage and results.

Tiny sizes and a few trials each; no assertion is on a time. Oracles are
named per test: the loop nests as written in the kernel files, auto's own C
text, the schedule's dependence checks, the exact gradient of the plain
reversal, optuna's storage, and ``polyad check``'s oracles.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import optuna
import pytest

import polyad
from polyad import cli, codegen
from polyad.codegen.binding import CompiledFunction
from polyad.codegen.build import shared_library
from polyad.codegen.compile import argument_specs
from polyad.codegen.emit import uses_openmp
from polyad.program.targets import load_schedule, program_of
from polyad.tools.explore import report, space, study, trial
from polyad.tools.explore.trial import Evaluator

ROOT = Path(__file__).resolve().parent.parent
GEMM = ROOT / "examples" / "gemm.c"
WAVEFRONT = ROOT / "tests" / "kernels" / "wavefront.c"
TINY = {"ni": 6, "nj": 7, "nk": 5}
COMPLETE, PRUNED = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def timed(monkeypatch):
    """Every call of the bench driver, by library: a trial that never
    reaches it is never timed."""
    calls = []
    real = trial.time_function

    def recording(library, *args, **kwargs):
        calls.append(library)
        return real(library, *args, **kwargs)
    monkeypatch.setattr(trial, "time_function", recording)
    return calls


def suggesting(values: dict):
    """A ``suggest`` callback from fixed values (what enqueue_trial does)."""
    asked = []

    def suggest(parameter):
        asked.append(parameter.name)
        return values[parameter.name]
    return suggest, asked


def as_they_are(base, values: dict) -> dict:
    """``values`` with every band parameter of ``base`` at its first value
    (the order as it is, untiled, no parallel loop, no simd, no unrolling)."""
    values = dict(values)
    for band in space.bands_of(base):
        for parameter in space.band_parameters(values["start"], band).values():
            values[parameter.name] = (parameter.choices[0] if parameter.kind == "categorical"
                                      else parameter.low)
    return values


def test_the_space_of_gemm_has_its_three_reverse_nests():
    """Oracle: gemm.c's nests, reversed: the loop over i around C *= beta's
    loop over j and the k, j nest of the update; only the k, j nest may be
    permuted, every plain loop tiled, the innermost ones vectorised."""
    schedule = polyad.grad(polyad.parse(GEMM)).schedule()
    bands = space.bands_of(schedule)
    assert [band.key for band in bands] == ["S0_b.i", "S1_b.k+S1_b.j", "S0_b.j"]
    update = space.band_parameters("reverse", bands[1])
    assert set(update) == {"lehmer0", "tile:S1_b.k", "tile:S1_b.j", "parallel", "vectorize",
                           "unroll"}
    assert update["lehmer0"].high == 1
    # the k loop runs in parallel (a reduction on alpha_b); j races on A_b
    assert update["parallel"].choices == ("none", "S1_b.k")
    assert not bands[0].innermost and "vectorize" not in space.band_parameters(
        "reverse", bands[0])


def test_a_single_loop_carrying_a_dependence_is_not_offered_simd():
    """Oracle: the kernels as written: the recurrence's reverse loop carries
    x_b[i] to x_b[i - 1] (vectorize would be refused in every trial), the
    square's does not."""
    recurrence = polyad.parse("void f(int n, double x[n]) "
                              "{ for (int i = 1; i < n; i++) x[i] = x[i - 1] * x[i]; }")
    square = polyad.parse("void g(int n, double x[n], double y[n]) "
                          "{ for (int i = 0; i < n; i++) y[i] = x[i] * x[i]; }")
    (carried,) = space.bands_of(polyad.grad(recurrence).schedule())
    (independent,) = space.bands_of(polyad.grad(square).schedule())
    assert carried.innermost and not carried.vectorizable
    assert "vectorize" not in space.band_parameters("reverse", carried)
    assert "unroll" in space.band_parameters("reverse", carried)
    assert independent.vectorizable
    assert "vectorize" in space.band_parameters("reverse", independent)


def test_a_lehmer_digit_orders_the_nest_and_tile_exponents_are_sizes():
    """Oracle: the Lehmer code's definition (digit 1 of two loops swaps
    them) and the tile encoding (e = 2 is 2**(2 + 3 - 1) = 16)."""
    schedule = polyad.grad(polyad.parse(GEMM)).schedule()
    values = as_they_are(schedule, {"layout": "exact", "start": "reverse"})
    prefix = f"reverse#{space.schedule_id(schedule)}:S1_b.k+S1_b.j:"
    values[prefix + "lehmer0"] = 1
    values[prefix + "S1_b.k.tile"] = 2
    suggest, _ = suggesting(values)
    configuration = space.choose(suggest, lambda start, layout: schedule)
    update = configuration.bands[1]
    assert [str(loop) for loop in update.order] == ["S1_b.j", "S1_b.k"]
    assert [(str(loop), size) for loop, size in update.tiles] == [("S1_b.k", 16)]
    result = space.scheduled(schedule, configuration)
    assert [step.primitive for step in result.trace] == ["interchange", "tile"]


@pytest.mark.parametrize("name", ["gemm", "softmax", "adi"])
def test_auto_configuration_gives_autos_own_code(name):
    """Oracle: the C text of ``--schedule auto``. The point of the space
    that auto_configuration names builds exactly that program."""
    adjoint = polyad.grad(polyad.parse(ROOT / "examples" / f"{name}.c"))
    base = adjoint.schedule()
    auto = base.auto()
    order = space.auto_order(auto, base)
    suggest, asked = suggesting(space.auto_configuration(auto, order))
    configuration = space.choose(suggest, lambda start, layout: order)
    assert set(asked) == set(space.auto_configuration(auto, order))
    got = codegen.generate(program_of(adjoint, space.scheduled(order, configuration)))
    assert got == codegen.generate(program_of(adjoint, auto))


def test_the_first_trial_is_auto_and_the_best_is_no_slower(timed):
    """Oracle: auto's C text (trial 0's hash) and the study's own order
    (the best trial's time is the minimum over timed trials, auto's among them)."""
    kernel = polyad.parse(GEMM)
    found = study.explore(kernel, TINY, trials=3, repeat=1, layouts=["exact", "stream"],
                          confirm=False)
    first = found.study.trials[0]
    assert first.user_attrs[study.AUTO_ATTRIBUTE] is True
    assert first.params["start"] == "auto" and first.params["layout"] == "exact"
    adjoint = polyad.grad(kernel)
    assert first.user_attrs["c_sha256"] == sha(polyad.generate_c(adjoint, adjoint.schedule().auto()))
    assert first.state == COMPLETE
    assert found.study.best_value <= first.value
    assert len(timed) == sum(t.state == COMPLETE for t in found.study.trials)


def test_an_illegal_configuration_is_pruned_before_it_is_compiled(timed):
    """Oracle: the schedule's dependence check. Interchanging the wavefront's
    loops reverses a dependence of distance (1, -1): that trial is pruned at
    the schedule stage, has no C text, and the driver never runs it."""
    kernel = polyad.parse(WAVEFRONT)
    evaluator = study.evaluator_for(kernel, {"n": 6}, repeat=1)
    opened = study.open_study(evaluator, ("exact",), None, seed=0)
    base = evaluator.base("reverse", "exact")
    prefix = f"reverse#{space.schedule_id(base)}:S0_b.i+S0_b.j:"
    opened.enqueue_trial({**as_they_are(base, {"layout": "exact", "start": "reverse"}),
                          prefix + "lehmer0": 1})
    opened.optimize(study.objective(evaluator, ("exact",)), n_trials=2)
    illegal = opened.trials[1]
    assert illegal.state == PRUNED
    assert illegal.user_attrs["stage"] == "schedule"
    assert "interchange would violate a dependence" in illegal.user_attrs["reason"]
    assert "c_sha256" not in illegal.user_attrs
    assert len(timed) == 1 and opened.trials[0].state == COMPLETE


def test_a_wrong_gradient_is_infeasible_and_never_the_best(monkeypatch, timed):
    """Oracle: the exact gradient of the plain reversal at the check sizes.
    The compile step of one configuration (the only one unrolling by 8) is
    replaced by a program whose increments subtract: a real library with a
    wrong gradient. The trial is pruned at the gradient stage, never timed,
    never the best."""
    real = trial.compile_program

    def sabotaged(program):
        source = codegen.generate(program)
        if "unroll 8" not in source:
            return real(program)
        wrong = source.replace("+=", "-=")
        library = shared_library(wrong, openmp=uses_openmp(program))
        return CompiledFunction(library, program.name, argument_specs(program),
                                program.context, wrong)
    monkeypatch.setattr(trial, "compile_program", sabotaged)
    kernel = polyad.parse(GEMM)
    evaluator = study.evaluator_for(kernel, TINY, repeat=1)
    opened = study.open_study(evaluator, ("exact",), None, seed=0)
    base = evaluator.base("reverse", "exact")
    values = as_they_are(base, {"layout": "exact", "start": "reverse"})
    values[f"reverse#{space.schedule_id(base)}:S0_b.j:unroll_log2"] = 3
    opened.enqueue_trial(values)
    opened.optimize(study.objective(evaluator, ("exact",)), n_trials=3)
    wrong = opened.trials[1]
    assert "unroll 8" in wrong.user_attrs["configuration"]
    assert wrong.state == PRUNED and wrong.user_attrs["stage"] == "gradient"
    assert wrong.user_attrs["max_rel_err"] > 1e-3
    assert opened.best_trial.number != wrong.number
    assert len(timed) == sum(t.state == COMPLETE for t in opened.trials)


def test_a_second_run_resumes_the_sqlite_study(tmp_path):
    """Oracle: optuna's SQLite storage read back by a fresh process's API:
    the second run adds its trials to the first's, auto runs once."""
    storage = f"sqlite:///{tmp_path / 'explore.db'}"
    kernel = polyad.parse(GEMM)
    first = study.explore(kernel, TINY, trials=2, storage=storage, repeat=1,
                          layouts=["exact"], confirm=False)
    second = study.explore(kernel, TINY, trials=2, storage=storage, repeat=1,
                           layouts=["exact"], confirm=False)
    assert second.study.study_name == first.study.study_name
    loaded = optuna.load_study(study_name=first.study.study_name, storage=storage)
    assert [t.number for t in loaded.trials] == [0, 1, 2, 3]
    assert sum(bool(t.user_attrs.get(study.AUTO_ATTRIBUTE)) for t in loaded.trials) == 1
    # the resumed sampler is seeded past the stored trials: no repeated draw
    assert loaded.trials[1].params != loaded.trials[3].params


def test_output_is_a_trace_check_accepts_and_that_rebuilds_the_best_code(tmp_path, capsys):
    """Oracles: ``polyad check``'s own (exit 0 on the best schedule) and the
    best trial's C hash against ``polyad grad --schedule best.json``."""
    output, storage = tmp_path / "best.json", f"sqlite:///{tmp_path / 'explore.db'}"
    arguments = [str(GEMM), "-Dni=6", "-Dnj=7", "-Dnk=5", "--storage", storage,
                 "--layouts", "exact"]
    code = cli.main(["explore", *arguments, "--trials", "3", "--repeat", "1",
                     "--output", str(output), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "rank trial" in printed and "(auto)" in printed
    trace = json.loads(output.read_text())
    assert trace["kernel"] == "gemm" and trace["layout"] == "exact"
    assert cli.main(["check", str(GEMM), "-Dni=6", "-Dnj=7", "-Dnk=5", "--schedule",
                     str(output)]) == 0
    capsys.readouterr()
    assert cli.main(["grad", str(GEMM), "--schedule", str(output),
                     "-o", str(tmp_path / "best.c")]) == 0
    stored = study.stored_exploration(polyad.parse(GEMM), TINY, storage=storage,
                                      layouts=["exact"])
    assert sha((tmp_path / "best.c").read_text()) == stored.study.best_trial.user_attrs[
        "c_sha256"]
    adjoint = polyad.grad(polyad.parse(GEMM))
    assert polyad.generate_c(adjoint, load_schedule(adjoint, str(output))) == (
        tmp_path / "best.c").read_text()


def test_report_reads_the_stored_study_and_plots_it(tmp_path, capsys):
    """Oracle: the study written by a run, read back by ``--report``
    (which runs no trial: the count stays) and the PNG signature."""
    pytest.importorskip("matplotlib")
    storage = f"sqlite:///{tmp_path / 'explore.db'}"
    arguments = [str(GEMM), "-Dni=6", "-Dnj=7", "-Dnk=5", "--storage", storage,
                 "--layouts", "exact"]
    assert cli.main(["explore", *arguments, "--trials", "2", "--repeat", "1",
                     "--no-progress"]) == 0
    capsys.readouterr()
    plot = tmp_path / "convergence.png"
    assert cli.main(["explore", *arguments, "--report", "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "2 trials" in printed and f"convergence plot: {plot}" in printed
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_convergence_is_the_best_time_so_far():
    """Oracle: best-so-far of a hand-made sequence (pruned trials keep it)."""
    made = optuna.create_study()
    for value in (3.0, None, 2.0, 2.5, 1.0):
        state = COMPLETE if value is not None else PRUNED
        made.add_trial(optuna.trial.create_trial(value=value, state=state,
                                                 user_attrs={"stage": "schedule"}))
    assert report.convergence(made) == ([0, 1, 2, 3, 4], [3.0, 3.0, 2.0, 2.0, 1.0])
    assert "1 at schedule" in report.format_report(made)


@pytest.mark.parametrize("url", ["nonsense://nowhere", "sqlite:////no/such/dir/x.db"])
def test_a_bad_storage_url_exits_2_with_a_message(url, capsys):
    """Oracle: the exit-code contract (2, one ``polyad: error:`` line naming
    the URL, no traceback)."""
    code = cli.main(["explore", str(GEMM), "--storage", url, "--trials", "1",
                     "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("polyad: error: cannot open the study storage") and url in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("option", [["--trials", "0"], ["--workers", "0"], ["--timeout", "-1"]])
def test_a_count_that_is_not_positive_exits_2(option, capsys):
    """Oracle: the exit-code contract (2 and one line, not an internal error)."""
    assert cli.main(["explore", str(GEMM), "--storage", "sqlite:///:memory:",
                     "--no-progress", *option]) == 2
    assert "take positive numbers" in capsys.readouterr().err


def test_an_unknown_layout_exits_2(capsys):
    """Oracle: the exit-code contract; the message lists the layouts."""
    assert cli.main(["explore", str(GEMM), "--layouts", "nope", "--storage",
                     "sqlite:///:memory:"]) == 2
    assert "unknown tape layout 'nope'" in capsys.readouterr().err


def test_evaluator_checks_layers_at_the_check_sizes(timed):
    """Oracle: the exact gradient at the check sizes, for the layout that is
    specialised to its sizes (the timed program is planned at others)."""
    kernel = polyad.parse(GEMM)
    evaluator = Evaluator(kernel, {"ni": 12, "nj": 10, "nk": 9}, TINY, repeat=1)
    base = evaluator.base("reverse", "layers")
    values = as_they_are(base, {"layout": "layers", "scratchpad_kib_log2": 3,
                                "start": "reverse"})
    suggest, _ = suggesting(values)
    outcome = evaluator.evaluate(space.choose(suggest, evaluator.base, ("layers",)))
    assert outcome.feasible, outcome.reason
    assert outcome.max_rel_err <= 1e-9 and len(timed) == 1


def test_two_workers_share_one_sqlite_study_without_losing_a_trial(tmp_path):
    """Oracle: optuna's storage read back after both processes ended: the
    trials are numbered 0..N-1 once each, every one finished, auto once."""
    storage = f"sqlite:///{tmp_path / 'explore.db'}"
    found = study.explore(polyad.parse(GEMM), TINY, trials=4, storage=storage, repeat=1,
                          layouts=["exact"], workers=2, confirm=False)
    loaded = optuna.load_study(study_name=found.study.study_name, storage=storage)
    assert sorted(t.number for t in loaded.trials) == [0, 1, 2, 3]
    assert all(t.state in (COMPLETE, PRUNED) for t in loaded.trials)
    assert sum(bool(t.user_attrs.get(study.AUTO_ATTRIBUTE)) for t in loaded.trials) == 1
    assert sorted(t.user_attrs["worker"] for t in loaded.trials) == [0, 0, 1, 1]


def test_workers_need_a_database(capsys):
    """Oracle: the exit-code contract (processes share no memory)."""
    with pytest.raises(polyad.UsageError, match="--workers share a study"):
        study.explore(polyad.parse(GEMM), TINY, trials=2, workers=2)


def test_ctrl_c_keeps_the_finished_trials():
    """Oracle: the study after the interrupt: the trial finished before
    Ctrl-C is kept and is the best; the search says it was interrupted."""
    def interrupt(made, finished):
        raise KeyboardInterrupt
    found = study.explore(polyad.parse(GEMM), TINY, trials=5, repeat=1, layouts=["exact"],
                          callbacks=(interrupt,))
    assert found.interrupted
    assert [t.state for t in found.study.trials] == [COMPLETE]
    assert found.best is not None and json.loads(found.trace)["kernel"] == "gemm"


def test_the_best_and_auto_are_timed_again_interleaved(monkeypatch):
    """Oracle: a driver that reports fixed times (auto's library, the first
    timed, takes 2 ms a call, every other 1 ms): after the search the best
    and auto are timed again, each in the bench's rounds, and the result
    holds those times."""
    calls = []

    def fixed(library, symbol, specs, prepared, *, repeat, threads=None):
        calls.append(library)
        return {"seconds": [2e-3 if library == calls[0] else 1e-3] * repeat,
                "peak_rss_bytes": 0}
    monkeypatch.setattr(trial, "time_function", fixed)
    found = study.explore(polyad.parse(GEMM), TINY, trials=3, repeat=2, layouts=["exact"])
    searched = sum(t.state == COMPLETE for t in found.study.trials)
    assert searched >= 2 and found.study.trials[0].value == 2e-3
    assert found.confirmed == {"best_s": 1e-3, "auto_s": 2e-3}
    assert len(calls) == searched + 2 * trial.ROUNDS
    assert calls[-2 * trial.ROUNDS:][1::2] == [calls[0]] * trial.ROUNDS  # interleaved
