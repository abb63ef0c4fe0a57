"""What ``polyad explore`` says of a study: progress lines, the table of the
best configurations, the convergence plot."""

from __future__ import annotations

import io
from pathlib import Path

import optuna

from polyad.errors import UsageError
from polyad.files import write_atomically
from polyad.tools.explore.study import AUTO_ATTRIBUTE

_COMPLETE = optuna.trial.TrialState.COMPLETE
_PRUNED = optuna.trial.TrialState.PRUNED


def auto_seconds(study: optuna.Study) -> float | None:
    """The time of auto's configuration (the study's first trial), if it was timed."""
    for trial in study.trials:
        if trial.user_attrs.get(AUTO_ATTRIBUTE) and trial.state == _COMPLETE:
            return trial.value
    return None


def best_seconds(study: optuna.Study) -> float | None:
    """The best time so far, None before a feasible trial."""
    times = [t.value for t in study.trials if t.state == _COMPLETE]
    return min(times) if times else None


def trial_line(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> str:
    """One line on a finished trial: its time or why it was infeasible, and
    the best time so far.

    Precondition: ``trial`` belongs to ``study``."""
    best = best_seconds(study)
    tail = f"best {_ms(best)}" if best is not None else "no feasible trial yet"
    name = " (auto)" if trial.user_attrs.get(AUTO_ATTRIBUTE) else ""
    if trial.state == _COMPLETE:
        what = _ms(trial.value)
    elif trial.state == _PRUNED:
        what = (f"infeasible ({trial.user_attrs.get('stage', '?')}: "
                f"{_shortened(trial.user_attrs.get('reason', ''))})")
    else:
        what = trial.state.name.lower()
    return f"trial {trial.number}{name}: {what}; {tail}"


def format_report(study: optuna.Study, top: int = 5) -> str:
    """The best ``top`` configurations of a study as a table, with auto's
    time for comparison and the count of infeasible trials by stage."""
    complete = sorted((t for t in study.trials if t.state == _COMPLETE),
                      key=lambda t: t.value)
    auto = auto_seconds(study)
    lines = [f"study {study.study_name}", f"{len(study.trials)} trials, "
             f"{len(complete)} timed" + (f"; auto {_ms(auto)}" if auto is not None else "")]
    stages: dict[str, int] = {}
    for trial in study.trials:
        if trial.state == _PRUNED:
            stage = trial.user_attrs.get("stage", "?")
            stages[stage] = stages.get(stage, 0) + 1
    if stages:
        lines.append("infeasible: " + ", ".join(f"{count} at {stage}"
                                                for stage, count in sorted(stages.items())))
    if not complete:
        lines.append("no configuration was timed")
        return "\n".join(lines)
    lines.append(f"{'rank':>4} {'trial':>5} {'time':>10} {'vs auto':>8}  configuration")
    for rank, trial in enumerate(complete[:top], start=1):
        ratio = f"{auto / trial.value:.2f}x" if auto and trial.value else "-"
        marker = " (auto)" if trial.user_attrs.get(AUTO_ATTRIBUTE) else ""
        lines.append(f"{rank:>4} {trial.number:>5} {_ms(trial.value):>10} {ratio:>8}  "
                     f"{trial.user_attrs.get('configuration', '?')}{marker}")
    return "\n".join(lines)


def convergence(study: optuna.Study) -> tuple[list[int], list[float | None]]:
    """Trial numbers and the best time after each (None before the first
    feasible trial): what the convergence plot draws."""
    numbers, best, current = [], [], None
    for trial in sorted(study.trials, key=lambda t: t.number):
        if trial.state == _COMPLETE and (current is None or trial.value < current):
            current = trial.value
        numbers.append(trial.number)
        best.append(current)
    return numbers, best


def plot_convergence(study: optuna.Study, path: str | Path) -> bool:
    """Write the convergence plot (best time against trial number, auto's
    time as a horizontal line) to ``path`` if matplotlib is installed;
    whether it was written."""
    try:
        import matplotlib  # optional: only the plot needs it
        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return False
    numbers, best = convergence(study)
    figure, axes = pyplot.subplots(figsize=(6, 4))
    points = [(n, b * 1e3) for n, b in zip(numbers, best) if b is not None]
    if points:
        axes.step([n for n, _ in points], [b for _, b in points], where="post",
                  label="best so far")
    auto = auto_seconds(study)
    if auto is not None:
        axes.axhline(auto * 1e3, color="grey", linestyle="--", label="auto")
    axes.set_xlabel("trial")
    axes.set_ylabel("time (ms)")
    axes.set_title(study.study_name.split(" program=")[0], fontsize=8)
    axes.legend()
    image = io.BytesIO()
    try:
        figure.savefig(image, format=Path(path).suffix.lstrip(".") or "png")
    except ValueError as error:  # a format matplotlib does not write
        raise UsageError(f"cannot write the plot {path}: {error}") from None
    finally:
        pyplot.close(figure)
    write_atomically(path, image.getvalue())
    return True


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f} ms"


def _shortened(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
