"""The search of ``polyad explore``: an optuna study over the space of a gradient.

A study is named by what its times mean (kernel, mode, wrt, of, sizes,
threads, the layouts searched and the program's fingerprint), so the same
command resumes it from its storage (SQLite by default on the command line,
any optuna RDB URL) and a changed kernel starts afresh. The sampler is TPE,
seeded (offset by the trials already stored, so a resumed study does not
draw its first random configurations again), multivariate with groups, as
the space is conditional: a band's parameters exist only for the start and
layout that have it. A fresh study's first trial is ``auto``'s
configuration, so the best can only be as fast or faster.

An infeasible trial (a step the schedule refuses, a layout that does not
fit, a compiler error, a wrong gradient) is *pruned*, with the stage and
the reason in its user attributes; it is never timed and never the best.
"""

from __future__ import annotations

import multiprocessing
import warnings
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import optuna

from polyad.check.verify import reduced_sizes
from polyad.errors import UsageError
from polyad.frontend.parse import parse_kernel
from polyad.model.kernel import Kernel
from polyad.schedule.schedule import Schedule
from polyad.tape.registry import LAYOUT_NAMES, layout_named
from polyad.tools.explore.space import SCRATCHPAD, Parameter, auto_configuration, choose
from polyad.tools.explore.trial import Evaluator, Outcome

#: Trials of ``polyad explore`` unless told.
DEFAULT_TRIALS = 20
#: The user attribute that marks the trial of auto's configuration.
AUTO_ATTRIBUTE = "auto"
#: Statement instances of the kernel at the sizes where gradients are checked.
CHECK_BUDGET = 20_000


@dataclass(frozen=True)
class Exploration:
    """What :func:`explore` found: the ``study`` (every trial, in its
    storage), and the best trial's schedule and layout (None when no trial
    was feasible). ``interrupted``: the search was stopped by Ctrl-C."""

    study: optuna.Study
    best: Schedule | None
    layout: str | None
    scratchpad: int | None = None
    interrupted: bool = False
    #: The best and auto's configurations timed again, interleaved:
    #: ``{"best_s", "auto_s"}`` (None when not asked, or the best is auto).
    confirmed: dict | None = None

    @property
    def trace(self) -> str | None:
        """The best schedule's replayable JSON trace."""
        return self.best.to_json() if self.best is not None else None


def study_name(evaluator: Evaluator, layouts: tuple[str, ...]) -> str:
    """The name of the study of one kernel's gradient at some sizes.

    Precondition: ``layouts`` are registry names."""
    schedule = evaluator.adjoint("exact", None, evaluator.sizes).schedule()
    origin = schedule.origin
    sizes = ",".join(f"{name}={value}" for name, value in evaluator.sizes.items())
    return (f"{origin['kernel']} reverse wrt={','.join(origin['wrt'])} "
            f"of={','.join(origin['of'])} {sizes} threads={evaluator.threads} "
            f"layouts={'+'.join(layouts)} program={origin['fingerprint']}")


def open_storage(url: str | None):
    """The optuna storage of ``url`` (None: in memory); a UsageError naming
    the URL when optuna cannot open it."""
    if url is None:
        return optuna.storages.InMemoryStorage()
    # Workers share an SQLite file: wait for its lock instead of failing.
    options = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=options)
    except Exception as error:  # noqa: BLE001  (sqlalchemy's and optuna's errors alike)
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"cannot open the study storage {url!r}: {text} (give an optuna "
                         "database URL such as sqlite:///explore.db)") from None


def checked_layouts(layouts) -> tuple[str, ...]:
    """The layouts to search, in registry order; a UsageError for an unknown one."""
    names = tuple(layouts) if layouts else LAYOUT_NAMES
    for name in names:
        layout_named(name)
    if not names:
        raise UsageError("no layout to explore")
    return tuple(name for name in LAYOUT_NAMES if name in names)


def suggest_with(trial: optuna.Trial) -> Callable[[Parameter], object]:
    """The space's ``suggest`` callback for an optuna trial."""
    def suggest(parameter: Parameter) -> object:
        if parameter.kind == "int":
            return trial.suggest_int(parameter.name, parameter.low, parameter.high)
        return trial.suggest_categorical(parameter.name, list(parameter.choices))
    return suggest


def objective(evaluator: Evaluator, layouts: tuple[str, ...], worker: int = 0):
    """The optuna objective: seconds of a feasible trial; an infeasible one
    raises TrialPruned after recording its stage and reason. ``worker``:
    the process's number among those sharing the study, recorded."""
    def run(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker)
        try:
            configuration = choose(suggest_with(trial), evaluator.base, layouts,
                                   evaluator.bands)
        except UsageError as error:  # auto's order past an isl bound
            outcome = Outcome(None, "schedule", str(error).splitlines()[0])
        else:
            trial.set_user_attr("configuration", configuration.describe())
            outcome = evaluator.evaluate(configuration)
        record(trial, outcome)
        if not outcome.feasible:
            raise optuna.TrialPruned(f"{outcome.stage}: {outcome.reason}")
        return outcome.seconds
    return run


def record(trial: optuna.Trial, outcome: Outcome) -> None:
    """Keep what a trial found in its user attributes."""
    if outcome.stage is not None:
        trial.set_user_attr("stage", outcome.stage)
        trial.set_user_attr("reason", outcome.reason)
    if outcome.trace:
        trial.set_user_attr("trace", outcome.trace)
    if outcome.c_sha256:
        trial.set_user_attr("c_sha256", outcome.c_sha256)
    if outcome.max_rel_err is not None:
        trial.set_user_attr("max_rel_err", outcome.max_rel_err)


def explore(kernel: Kernel, sizes: Mapping[str, int], *, trials: int = DEFAULT_TRIALS,
            timeout: float | None = None, storage: str | None = None,
            layouts=None, wrt=None, of=None, check_sizes: Mapping[str, int] | None = None,
            repeat: int = 5, threads: int = 1, seed: int = 0, workers: int = 1,
            confirm: bool = True, callbacks: tuple = (), sampler: str = "tpe") -> Exploration:
    """Search schedules and tape layouts of a kernel's gradient for the
    fastest at ``sizes``; see the module documentation.

    ``storage``: an optuna database URL (None: in memory). ``check_sizes``:
    where each trial's gradient is compared with the exact one (default the
    sizes reduced to a few thousand instances). ``callbacks``: optuna
    callbacks, called after each of this process's trials. ``workers``:
    processes sharing the trials through ``storage`` (each times its own
    trials: on a machine with fewer cores than ``workers * threads`` the
    times disturb each other). ``confirm``: time the best and auto's
    configurations again, interleaved (:func:`confirmed`). ``sampler``: a
    key of :data:`SAMPLERS` (``random`` is the baseline the bench compares
    TPE with). Precondition: ``sizes`` are valid.
    """
    if trials < 1 or (timeout is not None and timeout <= 0) or workers < 1:
        raise UsageError("--trials, --timeout and --workers take positive numbers")
    if workers > 1 and storage is None:
        raise UsageError("--workers share a study through its storage: give a database "
                         "URL (--storage sqlite:///explore.db)")
    if sampler not in SAMPLERS:
        raise UsageError(f"unknown sampler {sampler!r} (choose among {', '.join(SAMPLERS)})")
    layouts = checked_layouts(layouts)
    evaluator = evaluator_for(kernel, sizes, wrt=wrt, of=of, check_sizes=check_sizes,
                              repeat=repeat, threads=threads, seed=seed)
    study = open_study(evaluator, layouts, storage, seed, sampler)
    shares = [trials // workers + (1 if k < trials % workers else 0) for k in range(workers)]
    job = Job(kernel.source.text, kernel.source.path, kernel.name, dict(sizes),
              dict(evaluator.check_sizes), layouts, evaluator.wrt, evaluator.of, storage,
              timeout, repeat, threads, seed, sampler)
    context = multiprocessing.get_context("spawn")
    others = [context.Process(target=work, args=(job, share, k), daemon=True)
              for k, share in enumerate(shares[1:], start=1) if share]
    for process in others:
        process.start()
    interrupted = False
    try:
        study.optimize(objective(evaluator, layouts), n_trials=shares[0], timeout=timeout,
                       callbacks=list(callbacks), gc_after_trial=False)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for process in others:
            if interrupted:
                process.terminate()
            process.join()
    failed = [p.exitcode for p in others if p.exitcode not in (0, None) and not interrupted]
    if failed:
        raise UsageError(f"{len(failed)} of the {workers} workers stopped with an error "
                         f"(exit code {failed[0]}); their finished trials are in {storage}")
    found = best_of(optuna.load_study(study_name=study.study_name,
                                      storage=open_storage(storage))
                    if storage else study, evaluator, interrupted)
    return confirmed(found, evaluator) if confirm and not interrupted else found


def confirmed(found: Exploration, evaluator: Evaluator) -> Exploration:
    """``found`` with its best and auto's configurations timed again in
    interleaved rounds (:meth:`Evaluator.retime`): one trial's few calls
    on a shared machine can be unlucky, and the ratio is what a user reads."""
    complete = [t for t in found.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    autos = [t for t in complete if t.user_attrs.get(AUTO_ATTRIBUTE)]
    if found.best is None or not autos or found.study.best_trial.number == autos[0].number:
        return found
    auto, best = autos[0], found.study.best_trial
    best_s, auto_s = evaluator.retime([
        (found.layout, found.scratchpad, best.user_attrs["trace"]),
        (auto.params["layout"], scratchpad_of(auto.params), auto.user_attrs["trace"])])
    return replace(found, confirmed={"best_s": best_s, "auto_s": auto_s})


@dataclass(frozen=True)
class Job:
    """What a worker process needs to join a study (a Kernel holds isl
    objects, which do not pickle: the worker parses the source again)."""

    text: str
    path: str
    function: str
    sizes: dict
    check_sizes: dict
    layouts: tuple[str, ...]
    wrt: tuple[str, ...] | None
    of: tuple[str, ...] | None
    storage: str
    timeout: float | None
    repeat: int
    threads: int
    seed: int
    sampler: str = "tpe"


def work(job: Job, trials: int, worker: int) -> None:
    """Run ``trials`` trials of the job's study in this process, with a
    sampler seeded apart from the other workers'.

    Precondition: the study exists in ``job.storage`` (the first worker
    made it and enqueued auto's configuration)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kernel = parse_kernel(job.text, job.path, job.function)
    evaluator = evaluator_for(kernel, job.sizes, wrt=job.wrt, of=job.of,
                              check_sizes=job.check_sizes, repeat=job.repeat,
                              threads=job.threads, seed=job.seed)
    backend = open_storage(job.storage)
    name = study_name(evaluator, job.layouts)
    stored = len(optuna.load_study(study_name=name, storage=backend).trials)
    study = optuna.load_study(study_name=name, storage=backend,
                              sampler=sampler_named(job.sampler, job.seed + stored + 7919 * worker))
    study.optimize(objective(evaluator, job.layouts, worker), n_trials=trials,
                   timeout=job.timeout,
                   gc_after_trial=False)


def evaluator_for(kernel: Kernel, sizes: Mapping[str, int], *, wrt=None, of=None,
                  check_sizes: Mapping[str, int] | None = None, repeat: int = 5,
                  threads: int = 1, seed: int = 0) -> Evaluator:
    """The evaluator of one exploration (see :class:`Evaluator`)."""
    if repeat < 1 or threads < 1:
        raise UsageError("--repeat and --threads take positive numbers")
    return Evaluator(kernel, dict(sizes), dict(check_sizes or _check_sizes(kernel, sizes)),
                     tuple(wrt) if wrt else None, tuple(of) if of else None,
                     repeat=repeat, threads=threads, seed=seed)


def stored_exploration(kernel: Kernel, sizes: Mapping[str, int], *, storage: str,
                       layouts=None, wrt=None, of=None, threads: int = 1) -> Exploration:
    """The exploration stored for these arguments (as :func:`explore` named
    its study), without running a trial; a UsageError when there is none."""
    layouts = checked_layouts(layouts)
    evaluator = evaluator_for(kernel, sizes, wrt=wrt, of=of, threads=threads)
    backend = open_storage(storage)
    name = study_name(evaluator, layouts)
    if name not in [s.study_name for s in optuna.get_all_study_summaries(backend)]:
        raise UsageError(f"no study {name!r} in {storage} (run polyad explore with the same "
                         "kernel, sizes, --wrt, --of, --threads and --layouts first)")
    return best_of(optuna.load_study(study_name=name, storage=backend), evaluator, False)


def open_study(evaluator: Evaluator, layouts: tuple[str, ...], storage: str | None,
               seed: int, sampler: str = "tpe") -> optuna.Study:
    """The study of this exploration, created or resumed; a fresh one has
    auto's configuration enqueued as its first trial."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    backend = open_storage(storage)
    name = study_name(evaluator, layouts)
    known = [s.study_name for s in optuna.get_all_study_summaries(backend)]
    stored = (len(optuna.load_study(study_name=name, storage=backend).trials)
              if name in known else 0)
    study = optuna.create_study(storage=backend, sampler=sampler_named(sampler, seed + stored),
                                study_name=name,
                                direction="minimize", load_if_exists=True)
    if not study.trials:
        layout = "exact" if "exact" in layouts else layouts[0]
        study.enqueue_trial(auto_configuration(evaluator.auto(layout),
                                               evaluator.base("auto", layout), layout),
                            user_attrs={AUTO_ATTRIBUTE: True})
    return study


def scratchpad_of(params: Mapping[str, object]) -> int | None:
    """The scratchpad bytes a trial's parameters give (None but for layers)."""
    if params.get("layout") != "layers":
        return None
    return 1024 * 2 ** int(params[SCRATCHPAD.name])


#: The samplers ``explore`` offers: TPE (the search) and uniform random
#: draws (the baseline a search must beat).
SAMPLERS = ("tpe", "random")


def sampler_named(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """The optuna sampler ``name`` (a key of :data:`SAMPLERS`), seeded: TPE
    multivariate with groups (the space is conditional), or random."""
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)


def best_of(study: optuna.Study, evaluator: Evaluator, interrupted: bool) -> Exploration:
    """The exploration's result: the best feasible trial's schedule, replayed
    from its trace on the adjoint in its layout."""
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return Exploration(study, None, None, interrupted=interrupted)
    best = study.best_trial
    layout, scratchpad = best.params["layout"], scratchpad_of(best.params)
    base = evaluator.adjoint(layout, scratchpad, evaluator.sizes).schedule()
    schedule = Schedule.replay(base, best.user_attrs["trace"])
    return Exploration(study, schedule, layout, scratchpad, interrupted)


def _check_sizes(kernel: Kernel, sizes: Mapping[str, int]) -> dict[str, int]:
    return reduced_sizes(kernel, sizes, CHECK_BUDGET)
