"""Checking generated code against oracles that share none of its code.

Each check returns a record ``{"oracle", "max_rel_err", "ok", "detail"}``.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

import codegen
from polyad.adjoint import grad, jvp
from polyad.inputs import random_inputs
from polyad.interpreter import Interpreter
from polyad.lowering import derivative_names, tangent_program
from polyad.model import Kernel
from polyad.program import ADJOINT_SUFFIX, TANGENT_SUFFIX, primal_program
from polyad.schedule import Schedule
from polyad.targets import load_schedule, program_of


def kernel_inputs(kernel: Kernel, sizes: Mapping[str, int], seed: int,
                  given: Mapping[str, object] | None = None) -> dict[str, object]:
    """Inputs for a run: random ones, then the file's init function, then
    ``given`` arrays (from ``--inputs``), which win."""
    values = random_inputs(kernel, sizes, seed)
    _, init = codegen.compile_original(kernel)
    if init is not None:
        values.update(init(**values))
    if given:
        values.update(given)
    return values


def check_primal(kernel: Kernel, values: Mapping[str, object]) -> dict:
    """Oracle: the user's function compiled by the system compiler. The
    regenerated primal must give bitwise identical outputs."""
    original, _ = codegen.compile_original(kernel)
    generated = codegen.compile_program(primal_program(kernel))
    expected = original(**values)
    got = generated(**values)
    worst, differing = 0.0, []
    for name, value in expected.items():
        if not np.array_equal(np.asarray(value), np.asarray(got[name]), equal_nan=True):
            differing.append(name)
            worst = max(worst, relative_error(got[name], value))
    return {"oracle": "original C (bitwise)", "max_rel_err": worst, "ok": not differing,
            "detail": f"outputs differ: {', '.join(differing)}" if differing
            else f"{len(expected)} arrays identical"}


def relative_error(got, expected) -> float:
    """max |got - expected| / max(|expected|) over all elements (0 for empty)."""
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if expected.size == 0:
        return 0.0
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(expected))):
        return float("inf")
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    return float(np.max(np.abs(got - expected))) / scale


#: Tolerances. The interpreter and the dot-product test compare the same
#: mathematical quantity computed in a different order: only rounding
#: differs, far below 1e-10 for the examples' sizes and O(1) values.
INTERPRETER_TOLERANCE = 1e-10
DOT_TOLERANCE = 1e-10
#: Central differences: truncation error O(h^2) times the third derivative,
#: and rounding error about eps |f| / h per output. With h = 1e-6 on O(1) data
#: the truncation part stays under 1e-9 relative (tolerance 1e-6 leaves room
#: for kernels that amplify, such as time loops and exp); the rounding part is
#: bounded by FD_ROUNDING * eps / h * sum |w_i f_i| (absolute), which matters
#: when the directional derivative is tiny (a saturated tanh).
FD_STEP = 1e-6
FD_TOLERANCE = 1e-6
FD_ROUNDING = 1e3


def _inner(a: Mapping[str, object], b: Mapping[str, object]) -> float:
    return float(sum(np.vdot(np.asarray(a[name], dtype=float).ravel(),
                             np.asarray(b[name], dtype=float).ravel()) for name in a))


def _ratio(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|); infinite when either is not finite, so that
    a NaN never passes a tolerance."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return float("inf")
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else 0.0


def _random_like(kernel: Kernel, names, sizes, rng) -> dict[str, object]:
    result = {}
    for name in names:
        array = kernel.array(name)
        result[name] = (float(rng.standard_normal()) if array.is_scalar
                        else rng.standard_normal(array.shape(sizes)))
    return result


def check_gradient(kernel: Kernel, sizes: Mapping[str, int], *, wrt=None, of=None,
                   strategy: str = "exact", seed: int = 0,
                   given: Mapping[str, object] | None = None,
                   schedule: "str | Callable[[Schedule], Schedule] | None" = None,
                   layout: str | None = None, scratchpad: int | None = None) -> dict:
    """Compile the adjoint and tangent of a kernel and check them against
    the original C (bitwise primal), the interpreter, finite differences of
    the original C, and each other (dot-product test)."""
    adjoint = grad(kernel, wrt, of, strategy)
    if layout is not None:
        adjoint = adjoint.with_layout(layout, scratchpad, sizes=sizes)
    tangent = jvp(kernel, adjoint.wrt)
    values = kernel_inputs(kernel, sizes, seed, given)
    original, _ = codegen.compile_original(kernel)
    if callable(schedule):
        chosen = schedule(adjoint.schedule())
    else:
        chosen = load_schedule(adjoint, schedule)
    adjoint_fn = codegen.compile_program(program_of(adjoint, chosen))
    tangent_fn = codegen.compile_program(tangent_program(tangent))
    rng = np.random.default_rng(seed + 1)
    seeds = _random_like(kernel, adjoint.of, sizes, rng)
    directions = _random_like(kernel, adjoint.wrt, sizes, rng)
    b = derivative_names(kernel, ADJOINT_SUFFIX)
    d = derivative_names(kernel, TANGENT_SUFFIX)

    expected = original(**values)
    reverse = adjoint_fn(**values, **{b[name]: seeds[name] for name in adjoint.of})
    gradient = {name: reverse[b[name]] for name in adjoint.wrt}
    forward = tangent_fn(**values, **{d[name]: directions[name] for name in adjoint.wrt})
    checks = []

    differing = [name for name, value in expected.items()
                 if not (np.array_equal(value, reverse[name], equal_nan=True)
                         and np.array_equal(value, forward[name], equal_nan=True))]
    checks.append({"oracle": "primal vs original C (bitwise)",
                   "max_rel_err": max([relative_error(reverse[n], expected[n])
                                       for n in differing] or [0.0]),
                   "ok": not differing,
                   "detail": ("forward sweeps differ on " + ", ".join(differing)) if differing
                   else "adjoint and tangent forward sweeps identical"})

    _, reference = Interpreter(kernel).gradient(values, seeds, adjoint.wrt)
    errors = {name: relative_error(gradient[name], reference[name]) for name in adjoint.wrt}
    finite = all(np.all(np.isfinite(np.asarray(g))) for g in gradient.values())
    worst = max(errors.values(), default=0.0) if finite else float("inf")
    checks.append({"oracle": "reverse-mode interpreter", "max_rel_err": worst,
                   "ok": finite and worst <= INTERPRETER_TOLERANCE,
                   "detail": f"tolerance {INTERPRETER_TOLERANCE:g}; worst "
                             f"{max(errors, key=errors.get) if errors else '-'}"})

    projected = _inner(seeds, {name: forward[d[name]] for name in adjoint.of})
    pulled = _inner(gradient, directions)
    checks.append({"oracle": "dot product <w, J v> = <J^T w, v>",
                   "max_rel_err": _ratio(projected, pulled),
                   "ok": _ratio(projected, pulled) <= DOT_TOLERANCE,
                   "detail": f"tolerance {DOT_TOLERANCE:g}; {projected:.12g} vs {pulled:.12g}"})

    def outputs_at(step: float) -> dict:
        shifted = dict(values)
        for name in adjoint.wrt:
            shifted[name] = np.asarray(values[name], dtype=float) + step * np.asarray(
                directions[name])
        result = original(**shifted)
        return {name: result[name] for name in adjoint.of}

    plus, minus = outputs_at(FD_STEP), outputs_at(-FD_STEP)
    differences = {name: (plus[name] - minus[name]) / (2 * FD_STEP) for name in adjoint.of}
    finite_difference = _inner(seeds, differences)
    rounding = FD_ROUNDING * np.finfo(float).eps / FD_STEP * sum(
        float(np.sum(np.abs(np.asarray(seeds[n]) * np.asarray(plus[n])))) for n in adjoint.of)
    scale = max(abs(finite_difference), abs(pulled), 1e-300)
    fd_error = abs(finite_difference - pulled) / scale
    # The tolerance is relative, plus the rounding of the two primal runs.
    allowed = FD_TOLERANCE + rounding / scale
    checks.append({"oracle": "central finite differences",
                   "max_rel_err": fd_error,
                   "ok": bool(np.isfinite(finite_difference) and fd_error <= allowed),
                   "detail": f"h = {FD_STEP:g}, tolerance {allowed:.2g} (rounding "
                             f"included); {finite_difference:.10g} vs {pulled:.10g}"})
    return {"kernel": kernel.name, "sizes": dict(sizes),
            "tape_bytes": adjoint.tape.bytes(sizes), "strategy": strategy,
            "layout": adjoint.layout,
            "schedule": _schedule_name(schedule, chosen),
            "wrt": list(adjoint.wrt), "of": list(adjoint.of), "checks": checks}



def _schedule_name(spec, chosen: Schedule | None) -> str:
    if chosen is None or not chosen.trace:
        return "none"
    if isinstance(spec, str):
        return spec
    return " ".join(step.primitive for step in chosen.trace)
