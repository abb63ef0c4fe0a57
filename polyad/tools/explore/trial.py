"""One trial of ``polyad explore``: a configuration built, compiled, checked, timed.

:class:`Evaluator` holds what every trial of one study shares (the kernel,
the sizes, the inputs, the exact gradient at the check sizes) and turns a
:class:`~polyad.tools.explore.space.Configuration` into an :class:`Outcome`:

1. the schedule, by the configuration's primitives on the start's schedule
   (a step the schedule refuses is *illegal*: stage ``schedule``);
2. the program in the layout (a layer that fits no scratchpad, an isl bound:
   stage ``layout``), compiled (stage ``compile``);
3. its gradient at the check sizes against the exact gradient of the plain
   reversal, the bench's agreement (a wrong gradient: stage ``gradient``);
4. only then timed by the bench driver at the requested sizes.

Stages 1 and 2 run before any compiler; an infeasible outcome is never timed.
"""

from __future__ import annotations

import hashlib
import statistics
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from polyad.ad.adjoint import Adjoint, grad
from polyad.bounds import bounded
from polyad.check.oracles import relative_error
from polyad.codegen import compile_program, generate
from polyad.codegen.driver import time_function
from polyad.errors import CompileError, ScheduleError, UsageError
from polyad.model.kernel import Kernel
from polyad.program.derived import derivative_names
from polyad.program.ir import ADJOINT_SUFFIX
from polyad.program.targets import program_of
from polyad.schedule.schedule import Schedule
from polyad.tape.registry import layout_named
from polyad.tools.bench import AGREEMENT, ROUNDS, bench_inputs
from polyad.tools.explore.space import (Band, Configuration, auto_order, bands_of,
                                        schedule_id, scheduled)

#: Infeasible stages, in the order a trial meets them.
STAGES = ("schedule", "layout", "compile", "gradient")


@dataclass(frozen=True)
class Outcome:
    """What one trial gave: ``seconds`` (median of the timed calls) when
    feasible, else the ``stage`` that refused it and why. ``trace`` is the
    schedule's JSON trace, ``c_sha256`` the hash of the timed C text."""

    seconds: float | None
    stage: str | None = None
    reason: str = ""
    trace: str = ""
    c_sha256: str = ""
    max_rel_err: float | None = None

    @property
    def feasible(self) -> bool:
        """Whether the trial was timed."""
        return self.seconds is not None


@dataclass
class Evaluator:
    """Evaluates configurations for one kernel, derivative and sizes.

    ``check_sizes``: where gradients are compared (small, so the check is
    cheap); ``sizes``: where they are timed. Precondition: both are valid
    sizes of the kernel."""

    kernel: Kernel
    sizes: Mapping[str, int]
    check_sizes: Mapping[str, int]
    wrt: tuple[str, ...] | None = None
    of: tuple[str, ...] | None = None
    repeat: int = 5
    threads: int = 1
    seed: int = 0
    _bases: dict = field(default_factory=dict, repr=False)
    _autos: dict = field(default_factory=dict, repr=False)
    _reference: dict | None = field(default=None, repr=False)
    _inputs: dict = field(default_factory=dict, repr=False)
    _adjoints: dict = field(default_factory=dict, repr=False)
    _bands: dict = field(default_factory=dict, repr=False)

    def adjoint(self, layout: str, scratchpad: int | None, sizes: Mapping[str, int]) -> Adjoint:
        """The adjoint in ``layout``, planned at ``sizes`` where it is
        specialised (made once per strategy, cheap to place)."""
        placement = layout_named(layout)
        if placement.strategy not in self._adjoints:
            self._adjoints[placement.strategy] = grad(self.kernel, self.wrt, self.of,
                                                      placement.strategy)
        return self._adjoints[placement.strategy].with_layout(
            layout, scratchpad if placement.scratchpad else None, sizes=dict(sizes))

    def base(self, start: str, layout: str) -> Schedule:
        """The schedule a start names, for an adjoint in ``layout`` (cached):
        the exact reverse order, or auto's order without its marks."""
        if (start, layout) not in self._bases:
            plain = self.adjoint(layout, None, self.sizes).schedule()
            self._bases[start, layout] = (auto_order(self.auto(layout), plain)
                                          if start == "auto" else plain)
        return self._bases[start, layout]

    def bands(self, base: Schedule) -> tuple[Band, ...]:
        """The bands of a base schedule (:func:`bands_of`, once per order)."""
        key = schedule_id(base)
        if key not in self._bands:
            self._bands[key] = bands_of(base)
        return self._bands[key]

    def auto(self, layout: str = "exact") -> Schedule:
        """``auto``'s own schedule for an adjoint in ``layout`` (cached)."""
        if layout not in self._autos:
            with bounded("polyad explore (auto)", "explore with --layouts exact"):
                self._autos[layout] = self.adjoint(layout, None, self.sizes).schedule().auto()
        return self._autos[layout]

    def evaluate(self, configuration: Configuration) -> Outcome:
        """Build, compile, check and time one configuration."""
        try:
            with bounded("polyad explore", "a configuration with fewer transformations"):
                schedule = scheduled(self.base(configuration.start, configuration.layout),
                                     configuration)
        except (ScheduleError, UsageError) as error:
            return Outcome(None, "schedule", _one_line(error))
        trace = schedule.to_json()
        adjoint = self.adjoint(configuration.layout, configuration.scratchpad, self.sizes)
        try:
            program = program_of(adjoint, schedule)
            text = generate(program)
        except UsageError as error:
            return Outcome(None, "layout", _one_line(error), trace)
        digest = hashlib.sha256(text.encode()).hexdigest()
        try:
            function = compile_program(program)
            checked = function
            if layout_named(configuration.layout).specialised:
                small = self.adjoint(configuration.layout, configuration.scratchpad,
                                     self.check_sizes)
                checked = compile_program(program_of(small, schedule))
        except UsageError as error:
            return Outcome(None, "layout", _one_line(error), trace, digest)
        except CompileError as error:
            return Outcome(None, "compile", _one_line(error), trace, digest)
        error = self.gradient_error(checked)
        if not error <= AGREEMENT:
            return Outcome(None, "gradient", f"the gradient differs from the exact one by "
                           f"{error:.3g} (relative; at most {AGREEMENT:g} allowed)", trace,
                           digest, error)
        values, seeds = self.inputs(self.sizes)
        run = time_function(function.library_path, function.symbol, function.arguments,
                            function.prepare({**values, **seeds}), repeat=self.repeat,
                            threads=self.threads)
        return Outcome(statistics.median(run["seconds"]), trace=trace, c_sha256=digest,
                       max_rel_err=error)

    def retime(self, candidates: list[tuple[str, int | None, str]],
               rounds: int = ROUNDS) -> list[float]:
        """Median seconds of each ``(layout, scratchpad, trace)``, timed in
        ``rounds`` that visit every candidate in turn (as the bench does), so
        that a slow spell of a shared machine is spread over all of them
        instead of landing on one trial's measurement.

        Precondition: each trace was recorded by a feasible trial."""
        functions = []
        for layout, scratchpad, trace in candidates:
            adjoint = self.adjoint(layout, scratchpad, self.sizes)
            schedule = Schedule.replay(adjoint.schedule(), trace)
            functions.append(compile_program(program_of(adjoint, schedule)))
        values, seeds = self.inputs(self.sizes)
        seconds: list[list[float]] = [[] for _ in functions]
        for _ in range(rounds):
            for k, function in enumerate(functions):
                seconds[k] += time_function(
                    function.library_path, function.symbol, function.arguments,
                    function.prepare({**values, **seeds}), repeat=self.repeat,
                    threads=self.threads)["seconds"]
        return [statistics.median(times) for times in seconds]

    def inputs(self, sizes: Mapping[str, int]) -> tuple[dict, dict]:
        """The bench's inputs and output seeds at ``sizes`` (made once)."""
        key = tuple(sorted(sizes.items()))
        if key not in self._inputs:
            of = self.adjoint("exact", None, sizes).of
            self._inputs[key] = bench_inputs(self.kernel, dict(sizes), self.seed, of)
        return self._inputs[key]

    def gradient_error(self, function) -> float:
        """The largest relative error of ``function``'s gradient at the check
        sizes against the exact gradient of the plain reversal (the oracle,
        compiled once)."""
        reference_adjoint = self.adjoint("exact", None, self.check_sizes)
        if self._reference is None:
            self._reference = self._gradient(
                compile_program(program_of(reference_adjoint)), reference_adjoint)
        got = self._gradient(function, reference_adjoint)
        return max((relative_error(got[name], self._reference[name])
                    for name in self._reference), default=0.0)

    def _gradient(self, function, adjoint: Adjoint) -> dict[str, np.ndarray]:
        values, seeds = self.inputs(self.check_sizes)
        out = function(**values, **seeds)
        names = derivative_names(self.kernel, ADJOINT_SUFFIX)
        return {name: np.asarray(out[names[name]]) for name in adjoint.wrt}


def _one_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
