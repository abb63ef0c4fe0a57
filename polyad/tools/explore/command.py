"""``polyad explore`` on the command line: the search with a progress bar, the
report, the trace of the best schedule.

Exit codes: 0 when a configuration was timed, 1 when none was feasible, 130
after Ctrl-C (every finished trial is kept in the storage, the output is
written from them).
"""

from __future__ import annotations

import shlex
import sys
from typing import Mapping

from tqdm import tqdm

from polyad.files import write_atomically
from polyad.model.kernel import Kernel
from polyad.tools.explore.report import (best_seconds, format_report, plot_convergence,
                                         trial_line)
from polyad.tools.explore.study import Exploration, explore, stored_exploration

EXIT_OK, EXIT_NOTHING_FEASIBLE, EXIT_INTERRUPTED = 0, 1, 130
#: Where ``--report`` writes the convergence plot unless told.
DEFAULT_PLOT = "explore.png"


def run(kernel: Kernel, sizes: Mapping[str, int], *, trials: int, timeout: float | None,
        storage: str, layouts, wrt, of, repeat: int, threads: int, seed: int,
        workers: int, output: str | None, report: bool, plot: str | None, progress: bool,
        sampler: str = "tpe") -> int:
    """Run (or, with ``report``, read) an exploration and say what it found;
    the exit code. Precondition: ``sizes`` are valid sizes of ``kernel``."""
    if report:
        found = stored_exploration(kernel, sizes, storage=storage, layouts=layouts, wrt=wrt,
                                   of=of, threads=threads)
    else:
        # This process runs the first share of the trials (study.explore).
        bar = tqdm(total=-(-trials // max(workers, 1)), file=sys.stderr, unit="trial", dynamic_ncols=True,
                   disable=not progress, leave=False)

        def advance(study, trial) -> None:
            best = best_seconds(study)
            if best is not None:
                bar.set_postfix_str(f"best {best * 1e3:.3f} ms", refresh=False)
            bar.update(1)
            if progress:
                bar.write(f"polyad: {trial_line(study, trial)}", file=sys.stderr)
        try:
            found = explore(kernel, sizes, trials=trials, timeout=timeout, storage=storage,
                            layouts=layouts, wrt=wrt, of=of, repeat=repeat, threads=threads,
                            seed=seed, workers=workers, callbacks=(advance,),
                            sampler=sampler)
        finally:
            bar.close()
    print(format_report(found.study))
    if found.confirmed:
        best, auto = found.confirmed["best_s"], found.confirmed["auto_s"]
        print(f"timed again in interleaved rounds: best {best * 1e3:.3f} ms, auto "
              f"{auto * 1e3:.3f} ms ({auto / best:.2f}x)")
    if plot or report:
        path = plot or DEFAULT_PLOT
        if plot_convergence(found.study, path):
            print(f"convergence plot: {path}")
        else:
            print("no convergence plot: matplotlib is not installed")
    if found.best is None:
        print("no feasible configuration: nothing to write", file=sys.stderr)
        return EXIT_INTERRUPTED if found.interrupted else EXIT_NOTHING_FEASIBLE
    if output:
        write_atomically(output, found.trace + "\n")
        print(f"best schedule: {output}; check it with:\n  {reproduction(kernel, sizes, found, output)}")
    if found.interrupted:
        print(f"interrupted: {len(found.study.trials)} trials kept in {storage}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def reproduction(kernel: Kernel, sizes: Mapping[str, int], found: Exploration,
                 output: str) -> str:
    """The ``polyad check`` command that checks the best schedule in its layout."""
    words = ["polyad", "check", kernel.source.path, "--layout", found.layout]
    if found.scratchpad:
        words += ["--scratchpad", str(found.scratchpad)]
    origin = found.best.origin
    words += [f"--wrt={','.join(origin['wrt'])}", f"--of={','.join(origin['of'])}"]
    words += [f"-D{name}={value}" for name, value in sizes.items()]
    return " ".join(shlex.quote(word) for word in words + ["--schedule", output])
