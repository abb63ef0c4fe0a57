"""The Python API: what users call (``polyad.parse``, ``polyad.compile`` ...)."""

from __future__ import annotations

import os
from pathlib import Path

from polyad import codegen
from polyad.frontend.parse import parse_kernel
from polyad.check import verify
from polyad.ad.adjoint import Adjoint, Tangent, grad, jvp
from polyad.tape.registry import implied_strategy
from polyad.errors import UsageError
from polyad.memory import parse_bytes
from polyad.check.inputs import parse_init
from polyad.model.kernel import Kernel
from polyad.program.ir import primal_program
from polyad.schedule.schedule import Schedule
from polyad.program.targets import load_schedule, program_of, schedule


def parse(path_or_text: str | os.PathLike, function: str | None = None,
          assume: str | list[str] | tuple[str, ...] = (),
          fix: dict[str, int] | None = None) -> Kernel:
    """The polyhedral model of a C kernel, from a file path or C text.
    ``assume``: one or more C conditions on the size parameters the kernel
    may rely on (``"n % 4 == 0 && n >= 8"``), as ``#pragma polyad assume``
    states them in the file; the generated code checks them at entry.
    ``fix``: values of int size parameters (``{"inc": 1}``, the CLI's ``-D
    inc=1``), each used as a constant only where the kernel would not be
    affine otherwise (``x[i * inc]``); the generated code keeps the
    argument and returns the status 1 for another value.

    >>> k = parse("void f(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] *= 2.0; }")
    >>> k.statements[0].text
    'x[i] *= 2.0;'
    """
    assumed = (assume,) if isinstance(assume, str) else tuple(assume)
    text = str(path_or_text)
    if isinstance(path_or_text, os.PathLike) or ("\n" not in text and "{" not in text):
        path = Path(path_or_text)
        try:
            content = path.read_text()
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror}") from None
        return parse_kernel(content, str(path), function, assumed, fix)
    return parse_kernel(text, None, function, assumed, fix)


def primal_c(kernel: Kernel) -> str:
    """C for the kernel regenerated from its model (original schedule)."""
    return codegen.generate(primal_program(kernel))


def generate_c(target: Kernel | Adjoint | Tangent, schedule: Schedule | None = None) -> str:
    """The C file of a kernel's primal, an adjoint or a tangent."""
    return codegen.generate(program_of(target, schedule))


def compile(target: Kernel | Adjoint | Tangent,  # noqa: A001  (the API's verb)
            schedule: Schedule | None = None) -> codegen.CompiledFunction:
    """The generated C of a kernel, an adjoint or a tangent, compiled and
    loaded: call it with sizes, scalars and arrays by name; it returns the
    arrays after the call.

    >>> k = parse("void f(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] *= 2.0; }")
    >>> compile(k)(n=3, x=[1.0, 2.0, 3.0])["x"].tolist()
    [2.0, 4.0, 6.0]
    """
    return codegen.compile_program(program_of(target, schedule))


def check(kernel: Kernel, sizes: dict | None = None, *, wrt=None, of=None,
          strategy: str | None = None, seed: int = 0, inputs: dict | None = None,
          schedule: str | None = None, layout: str | None = None,
          scratchpad: int | None = None, init: dict | None = None,
          oracles=verify.ORACLES, progress=None, blas: bool = True,
          every: int | None = None, memory_budget: int | str | None = None,
          snapshots: int | None = None) -> dict:
    """Generate, compile and check a kernel's gradient (see ``polyad check``);
    ``schedule`` is ``none``, ``auto`` or a trace file, for the adjoint
    (``blas=False``: ``auto`` without BLAS calls, ``--no-blas``);
    ``init`` maps input names to kinds (``{"A": "spd"}``, see ``--init``);
    ``oracles`` picks among ``primal``, ``interpreter``, ``dot``, ``fd``;
    ``progress`` is called with a line of text before each slow step;
    ``strategy`` defaults to the layout's (``stack`` for ``layout="stack"``,
    as ``polyad check --layout stack``), else ``exact``; ``every`` is the
    checkpoint layout's segment (steps between snapshots), ``snapshots``
    its number of snapshot slots placed by binomial checkpointing instead;
    ``memory_budget`` (bytes, or ``"4MiB"``) chooses the layout whose extra
    memory fits at ``sizes`` (``polyad check --memory-budget``).

    Returns ``{"kernel", "sizes", "tape_bytes", "strategy", "verdict",
    "checks": [...]}`` where ``verdict`` is ``ok``, ``wrong gradient``,
    ``ill-conditioned`` or ``bad inputs`` and each check is ``{"oracle",
    "verdict", "ok", "max_rel_err", "tolerance", "detail"}``. Raises
    UsageError for a kernel with nothing to differentiate.
    """
    sizes = kernel.sizes(None, sizes)
    strategy = strategy or implied_strategy(layout)
    return verify.check_gradient(kernel, sizes, wrt=wrt, of=of, strategy=strategy,
                                 seed=seed, given=inputs, schedule=schedule,
                                 layout=layout, scratchpad=scratchpad,
                                 init=parse_init(init), oracles=oracles,
                                 progress=progress, blas=blas, every=every,
                                 snapshots=snapshots,
                                 memory_budget=parse_bytes(memory_budget)
                                 if isinstance(memory_budget, str) else memory_budget)


def explore(kernel: Kernel, sizes: dict | None = None, *, trials: int = 20,
            timeout: float | None = None, storage: str | None = None, layouts=None,
            wrt=None, of=None, repeat: int = 5, threads: int = 1, seed: int = 0,
            workers: int = 1, callbacks: tuple = (), sampler: str = "tpe"):
    """Search schedules and tape layouts of a kernel's gradient for the
    fastest at ``sizes`` (see ``polyad explore``): an optuna study whose
    first trial is auto's configuration, each trial's gradient checked
    against the exact one before it is timed. ``storage``: an optuna
    database URL (``sqlite:///explore.db``; None keeps the study in memory),
    which ``workers`` processes share. ``sampler``: ``tpe`` or ``random``
    (the baseline).

    Returns an :class:`~polyad.tools.explore.study.Exploration`: ``.study``
    (every trial), ``.best`` (the best Schedule, None if no trial was
    feasible), ``.layout`` and ``.trace`` (its JSON, for ``--schedule``).

    >>> k = parse("examples/gemm.c")                       # doctest: +SKIP
    >>> found = explore(k, {"ni": 64, "nj": 64, "nk": 64}, trials=10)  # doctest: +SKIP
    >>> found.study.best_value, found.layout               # doctest: +SKIP
    """
    # optuna (0.2 s to import) loads when a search runs, not with polyad.
    from polyad.tools.explore.study import explore as search
    return search(kernel, kernel.sizes(None, sizes), trials=trials, timeout=timeout,
                  storage=storage, layouts=layouts, wrt=wrt, of=of, repeat=repeat,
                  threads=threads, seed=seed, workers=workers, callbacks=callbacks,
                  sampler=sampler)
