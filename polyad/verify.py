"""Checking generated code against oracles that share none of its code.

``check_gradient`` returns one record per oracle, ``{"oracle", "verdict",
"ok", "max_rel_err", "tolerance", "detail"}``, and an overall ``verdict``:

- ``ok``: every oracle agrees within a tolerance derived from the numerics at
  these inputs (a condition estimate, a finite-difference error estimate);
- ``wrong gradient``: an oracle disagrees by more than that tolerance;
- ``ill-conditioned``: the tolerance itself is too large to tell a right
  gradient from a wrong one at these inputs (the estimate is reported);
- ``bad inputs``: the original kernel computes a NaN or an infinity on the
  inputs, so no oracle is run; the first statement that did is named.

A kernel with nothing to differentiate is refused (UsageError).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

import codegen
from polyad import numerics
from polyad.activity import floating_inputs, floating_outputs
from polyad.adjoint import grad, jvp
from polyad.errors import UsageError
from polyad.inputs import InitKind, check_init, random_inputs
from polyad.interpreter import Interpreter
from polyad.lowering import derivative_names, tangent_program
from polyad.model import Kernel, fix_sizes
from polyad.numerics import EPS, ILL_CONDITIONED, OK, WRONG
from polyad.program import ADJOINT_SUFFIX, TANGENT_SUFFIX, primal_program
from polyad.schedule import Schedule
from polyad.targets import load_schedule, program_of
from polyad.tape import count_points

#: The oracles ``check_gradient`` can run, in the order it runs them.
ORACLES = ("primal", "interpreter", "dot", "fd")
#: Overall verdicts (see the module docstring).
VERDICT_OK, VERDICT_WRONG = "ok", "wrong gradient"
VERDICT_ILL, VERDICT_BAD_INPUTS = "ill-conditioned", "bad inputs"

#: The interpreter and the dot-product test compare the same quantity
#: computed in a different order: they differ by rounding, which is about
#: eps times the condition estimate (ROUNDING_FACTOR absorbs the number of
#: operations along a path). Agreement to FLOOR always counts.
ROUNDING_FACTOR = 1e3
FLOOR = 1e-10
#: Above this relative tolerance an agreement says nothing about the
#: gradient: the verdict is ill-conditioned.
MEANINGFUL = 1e-6
#: Finite differences: the tolerance is FD_SAFETY times Ridders' error
#: estimate, plus the adjoint's own rounding; FD_MEANINGFUL as above.
FD_SAFETY = 10.0
FD_NOISE = 10.0
FD_MEANINGFUL = 1e-4
#: The condition estimate perturbs every floating input by these relative
#: sizes in turn, going to the next while the response is not small (outside
#: the linear range, the estimate saturates near 1 / perturbation).
PERTURBATIONS = (1e-6, 1e-9, 1e-12)
LINEAR_RANGE = 1e-2
#: Above this condition estimate the gradient at these inputs carries fewer
#: than about eight correct digits: ill-conditioned, whatever the oracles say.
CONDITION_LIMIT = 1e8
#: The interpreter runs in Python (about 40 us per statement instance for
#: the gradient): beyond this many instances it runs at reduced sizes, and
#: says so.
INTERPRETER_BUDGET = 60_000
#: Searching for the first non-finite value runs the interpreter forward
#: only (about 20 us per instance); beyond this many instances polyad does
#: not search, and says so.
SEARCH_BUDGET = 500_000


def kernel_inputs(kernel: Kernel, sizes: Mapping[str, int], seed: int,
                  given: Mapping[str, object] | None = None,
                  init: Mapping[str, InitKind] | None = None) -> dict[str, object]:
    """Inputs for a run: random ones, then the file's init function, then
    the kinds of ``init`` (``--init``), then ``given`` arrays (``--inputs``):
    each later source wins. Precondition: ``check_init(kernel, init)``."""
    values = random_inputs(kernel, sizes, seed)
    _, function = codegen.compile_original(kernel)
    if function is not None:
        values.update(function(**values))
    if init:
        chosen = random_inputs(kernel, sizes, seed, init=init)
        values.update({name: chosen[name] for name in init})
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


def refuse_nothing_to_differentiate(kernel: Kernel, wrt=None, of=None) -> None:
    """Raise UsageError when the kernel has no floating-point output (or
    input) to differentiate: a check would compare zeros with zeros."""
    hint = ("write the result into an array argument (C discards what a kernel "
            "assigns to a scalar parameter such as 'double loss': declare "
            "'double loss[1]' and assign 'loss[0]')")
    if of is None and not floating_outputs(kernel) or of is not None and not list(of):
        raise UsageError(f"nothing to differentiate: no floating-point output in "
                         f"{kernel.name}; {hint}")
    if wrt is None and not floating_inputs(kernel) or wrt is not None and not list(wrt):
        raise UsageError(f"nothing to differentiate: no floating-point input in "
                         f"{kernel.name} (a double array or scalar argument it reads)")


def _inner(a: Mapping[str, object], b: Mapping[str, object]) -> tuple[float, float]:
    """<a, b> over the arrays of a, and its cancellation factor."""
    terms = np.concatenate([np.asarray(a[name], dtype=float).ravel()
                            * np.asarray(b[name], dtype=float).ravel() for name in a]
                           or [np.zeros(0)])
    return float(np.sum(terms)), numerics.cancellation(terms)


def _ratio(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|); infinite when either is not finite."""
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


def instance_count(kernel: Kernel, sizes: Mapping[str, int]) -> int:
    """Statement instances of the kernel at the sizes."""
    return sum(count_points(s.domain, sizes) for s in kernel.statements)


def reduced_sizes(kernel: Kernel, sizes: Mapping[str, int], budget: int) -> dict[str, int]:
    """Sizes with at most ``budget`` instances: ``sizes`` themselves if they
    fit, else the file's small preset if it fits, else every size scaled
    down alike (within the kernel's context). Precondition: sizes are valid."""
    if instance_count(kernel, sizes) <= budget:
        return dict(sizes)
    candidates = []
    if "small" in kernel.source.presets:
        candidates.append(kernel.sizes("small"))
    factor = 1.0
    for _ in range(40):
        factor *= 0.8
        candidates.append({p: max(1, int(v * factor)) for p, v in sizes.items()})
    for candidate in candidates:
        if all(candidate[p] <= sizes[p] for p in sizes) and not fix_sizes(
                kernel.context, candidate).is_empty() and 0 < instance_count(kernel, candidate) <= budget:
            return candidate
    return dict(sizes)




def _checked_oracles(oracles) -> tuple[str, ...]:
    chosen = tuple(oracles)
    unknown = [o for o in chosen if o not in ORACLES]
    if unknown or not chosen:
        raise UsageError(f"unknown oracle {', '.join(unknown) or '(none given)'} (choose "
                         f"among {', '.join(ORACLES)})")
    return chosen


def _nonfinite(kernel: Kernel, values: Mapping[str, object], outputs: Mapping[str, object],
               say: Callable[[str], None]) -> dict | None:
    """Where the original kernel's run on ``values`` stops being finite:
    None if every input and output is finite, else a record naming the
    input element, or the first statement (with its source line) that
    computed a NaN or an infinity and the values it read."""
    hint = ("give inputs the kernel is meant for: --init NAME=KIND (spd, "
            "diagonally-dominant, positive, normal, uniform:LO:HI, orthogonal, int:LO:HI), "
            "a polyad-init function named in the file, or --inputs FILE.npz")
    for array in kernel.arrays:
        if array.storage != "parameter" or not array.is_float or array.name not in values:
            continue
        data = np.asarray(values[array.name], dtype=float)
        bad = np.argwhere(~np.isfinite(data))
        if bad.size:
            where = array.name + "".join(f"[{i}]" for i in bad[0])
            return {"input": array.name, "statement": None, "line": None,
                    "message": f"input {where} is {data[tuple(bad[0])]}", "hint": hint}
    broken = [name for name, value in outputs.items()
              if not np.all(np.isfinite(np.asarray(value, dtype=float)))]
    if not broken:
        return None
    record = {"input": None, "statement": None, "line": None, "outputs": broken,
              "hint": hint}
    count = instance_count(kernel, {p: int(values[p]) for p in kernel.params})
    if count > SEARCH_BUDGET:
        record["message"] = (f"the original C computes NaN or inf in {', '.join(broken)} "
                             f"(the first statement was not searched: {count} instances; "
                             "check at smaller sizes to find it)")
        return record
    say(f"finding the first non-finite value ({count} statement instances)")
    found = Interpreter(kernel).first_nonfinite(values)
    if found is None:
        record["message"] = (f"the original C computes NaN or inf in {', '.join(broken)}")
        return record
    record.update(statement=found.statement.name, line=found.statement.location.line,
                  instance=dict(zip(found.statement.iterators, found.instance)),
                  reads={text: value for text, value in found.reads},
                  message=found.describe())
    return record


def _perturbed(kernel: Kernel, values: Mapping[str, object], size: float,
               rng) -> dict[str, object]:
    """Every floating argument multiplied by (1 + size * (+-1))."""
    moved = dict(values)
    for array in kernel.arrays:
        if array.storage == "parameter" and array.is_float and array.name in values:
            data = np.asarray(values[array.name], dtype=float)
            signs = rng.choice([-1.0, 1.0], size=data.shape)
            moved[array.name] = (float(data * (1 + size * signs)) if array.is_scalar
                                 else data * (1 + size * signs))
    return moved


def _condition(kernel: Kernel, gradient_at: Callable[[Mapping], dict],
               values: Mapping[str, object], base: dict, seed: int) -> float:
    """The gradient's condition estimate at ``values``: two random relative
    perturbations per size of PERTURBATIONS, smaller while the response
    leaves the linear range."""
    estimate = 1.0
    for size in PERTURBATIONS:
        rng = np.random.default_rng(seed + 2)
        moved = [gradient_at(_perturbed(kernel, values, size, rng)) for _ in range(2)]
        estimate = numerics.condition_estimate(base, moved, size)
        if not np.isfinite(estimate) or estimate * size <= LINEAR_RANGE:
            break
    return estimate


def _record(oracle: str, error: float, tolerance: float, meaningful: float,
            detail: str) -> dict:
    verdict = numerics.verdict(error, tolerance, meaningful)
    return {"oracle": oracle, "verdict": verdict, "ok": verdict == OK,
            "max_rel_err": error, "tolerance": tolerance, "detail": detail}


def overall_verdict(checks: list[dict], condition: float) -> str:
    """wrong gradient if any oracle says wrong, else ill-conditioned if any
    says so or the condition estimate exceeds CONDITION_LIMIT, else ok."""
    verdicts = {c["verdict"] for c in checks}
    if WRONG in verdicts:
        return VERDICT_WRONG
    if ILL_CONDITIONED in verdicts or not condition <= CONDITION_LIMIT:
        return VERDICT_ILL
    return VERDICT_OK


def check_gradient(kernel: Kernel, sizes: Mapping[str, int], *, wrt=None, of=None,
                   strategy: str = "exact", seed: int = 0,
                   given: Mapping[str, object] | None = None,
                   schedule: "str | Callable[[Schedule], Schedule] | None" = None,
                   layout: str | None = None, scratchpad: int | None = None,
                   init: Mapping[str, InitKind] | None = None,
                   oracles=ORACLES, progress: Callable[[str], None] | None = None) -> dict:
    """Compile the adjoint and tangent of a kernel and check them against
    the original C (bitwise primal), the interpreter, finite differences of
    the original C, and each other (dot-product test); ``oracles`` picks
    some of ORACLES, ``progress`` receives a line before each slow step.

    Precondition: ``sizes`` are valid sizes of the kernel. Raises UsageError
    for a kernel with nothing to differentiate or a bad ``init``.
    """
    say = progress or (lambda text: None)
    oracles = _checked_oracles(oracles)
    refuse_nothing_to_differentiate(kernel, wrt, of)
    init = dict(init or {})
    check_init(kernel, init)
    sizes = dict(sizes)

    def adjoint_at(at_sizes):
        adjoint = grad(kernel, wrt, of, strategy)
        if layout is not None:
            adjoint = adjoint.with_layout(layout, scratchpad, sizes=at_sizes)
        return adjoint

    adjoint = adjoint_at(sizes)
    values = kernel_inputs(kernel, sizes, seed, given, init)
    original, _ = codegen.compile_original(kernel)
    chosen = schedule(adjoint.schedule()) if callable(schedule) else load_schedule(
        adjoint, schedule)
    result = {"kernel": kernel.name, "sizes": dict(sizes),
              "tape_bytes": adjoint.tape.bytes(sizes), "strategy": strategy,
              "layout": adjoint.layout, "schedule": _schedule_name(schedule, chosen),
              "wrt": list(adjoint.wrt), "of": list(adjoint.of),
              "init": {name: str(kind) for name, kind in init.items()}}
    with np.errstate(all="ignore"):
        say("running the original C")
        expected = original(**values)
        bad = _nonfinite(kernel, values, expected, say)
        if bad is not None:
            return {**result, "verdict": VERDICT_BAD_INPUTS, "nonfinite": bad, "checks": []}
        say("compiling the adjoint and the tangent")
        adjoint_fn = codegen.compile_program(program_of(adjoint, chosen))
        tangent_fn = codegen.compile_program(tangent_program(jvp(kernel, adjoint.wrt)))
        b = derivative_names(kernel, ADJOINT_SUFFIX)
        d = derivative_names(kernel, TANGENT_SUFFIX)
        rng = np.random.default_rng(seed + 1)
        seeds = _random_like(kernel, adjoint.of, sizes, rng)
        directions = _random_like(kernel, adjoint.wrt, sizes, rng)

        def gradient_at(at_values, function=adjoint_fn, at_seeds=seeds):
            out = function(**at_values, **{b[n]: at_seeds[n] for n in adjoint.of})
            return {name: out[b[name]] for name in adjoint.wrt}

        reverse = adjoint_fn(**values, **{b[name]: seeds[name] for name in adjoint.of})
        gradient = {name: reverse[b[name]] for name in adjoint.wrt}
        forward = tangent_fn(**values, **{d[name]: directions[name] for name in adjoint.wrt})
        say("estimating the condition of the gradient")
        condition = _condition(kernel, gradient_at, values, gradient, seed)
        result["condition_estimate"] = condition
        checks = []
        if "primal" in oracles:
            checks.append(_check_forward_sweeps(expected, reverse, forward))
        if "interpreter" in oracles:
            checks.append(_check_interpreter(
                kernel, sizes, adjoint_at, schedule,
                values, seeds, gradient, condition, seed, given, init, say, result))
        rounding = max(FLOOR, ROUNDING_FACTOR * EPS * condition)
        projected, projected_cancel = _inner(seeds, {n: forward[d[n]] for n in adjoint.of})
        pulled, pulled_cancel = _inner(gradient, directions)
        if "dot" in oracles:
            # Not finite on either side: no tolerance can judge it (the
            # interpreter tells a bug from a derivative that does not exist).
            tolerance = (max(FLOOR, rounding * max(projected_cancel, pulled_cancel))
                         if np.isfinite(projected) and np.isfinite(pulled) else float("inf"))
            checks.append(_record(
                "dot product <w, J v> = <J^T w, v>", _ratio(projected, pulled), tolerance,
                MEANINGFUL, f"tolerance {tolerance:.2g} (condition estimate "
                f"{condition:.2g}); {projected:.12g} vs {pulled:.12g}"))
        if "fd" in oracles:
            say("finite differences of the original C")
            checks.append(_check_finite_differences(
                original, values, adjoint, seeds, directions, pulled, rounding))
    return {**result, "verdict": overall_verdict(checks, condition), "checks": checks}


def _check_forward_sweeps(expected, reverse, forward) -> dict:
    differing = [name for name, value in expected.items()
                 if not (np.array_equal(value, reverse[name], equal_nan=True)
                         and np.array_equal(value, forward[name], equal_nan=True))]
    error = max([relative_error(reverse[n], expected[n]) for n in differing] or [0.0])
    return {"oracle": "primal vs original C (bitwise)",
            "verdict": WRONG if differing else OK, "ok": not differing,
            "max_rel_err": error, "tolerance": 0.0,
            "detail": ("forward sweeps differ on " + ", ".join(differing)) if differing
            else "adjoint and tangent forward sweeps identical"}


def _check_interpreter(kernel, sizes, adjoint_at, schedule, values, seeds, gradient,
                       condition, seed, given, init, say, result) -> dict:
    """The gradient against the reverse-mode interpreter; at reduced sizes
    (recorded in ``result["interpreter_sizes"]``) when the sizes have more
    than INTERPRETER_BUDGET instances and the inputs are random."""
    count = instance_count(kernel, sizes)
    at = dict(sizes) if given else reduced_sizes(kernel, sizes, INTERPRETER_BUDGET)
    note = ""
    if at != sizes:
        adjoint = adjoint_at(at)
        chosen = schedule(adjoint.schedule()) if callable(schedule) else load_schedule(
            adjoint, schedule)
        function = codegen.compile_program(program_of(adjoint, chosen))
        values = kernel_inputs(kernel, at, seed, None, init)
        rng = np.random.default_rng(seed + 1)
        seeds = _random_like(kernel, adjoint.of, at, rng)
        b = derivative_names(kernel, ADJOINT_SUFFIX)

        def gradient_at(at_values):
            out = function(**at_values, **{b[n]: seeds[n] for n in adjoint.of})
            return {name: out[b[name]] for name in adjoint.wrt}

        gradient = gradient_at(values)
        condition = _condition(kernel, gradient_at, values, gradient, seed)
        shown = " ".join(f"{k}={v}" for k, v in at.items())
        note = f"; at reduced sizes {shown} ({count} instances are too many to interpret)"
        result["interpreter_sizes"] = at
    say(f"reverse-mode interpreter: {instance_count(kernel, at)} statement instances")
    _, reference = Interpreter(kernel).gradient(values, seeds, tuple(gradient))
    tolerance = max(FLOOR, ROUNDING_FACTOR * EPS * condition)
    finite = {name: (np.isfinite(np.asarray(gradient[name], dtype=float)),
                     np.isfinite(np.asarray(reference[name], dtype=float)))
              for name in gradient}
    if any(not np.array_equal(mine, theirs) for mine, theirs in finite.values()):
        differing = [name for name, (mine, theirs) in finite.items()
                     if not np.array_equal(mine, theirs)]
        return {"oracle": "reverse-mode interpreter", "verdict": WRONG, "ok": False,
                "max_rel_err": float("inf"), "tolerance": tolerance,
                "detail": "NaN or inf in different elements of " + ", ".join(differing)
                          + note}
    errors = {name: relative_error(np.asarray(gradient[name])[mine],
                                   np.asarray(reference[name])[mine])
              for name, (mine, _) in finite.items()}
    worst = max(errors.values(), default=0.0)
    if not all(np.all(mine) for mine, _ in finite.values()):
        # Both give NaN or inf in the same elements: the derivative does not
        # exist there (sqrt at 0), which no tolerance can judge.
        record = _record("reverse-mode interpreter", worst, worst, MEANINGFUL, "")
        return {**record, "verdict": ILL_CONDITIONED, "ok": False, "tolerance": float("inf"),
                "detail": "the gradient is NaN or inf at these inputs, in the same "
                          f"elements as the interpreter's (no derivative there){note}"}
    return _record("reverse-mode interpreter", worst, tolerance, MEANINGFUL,
                   f"tolerance {tolerance:.2g} (condition estimate {condition:.2g}); "
                   f"worst {max(errors, key=errors.get) if errors else '-'}{note}")


def _check_finite_differences(original, values, adjoint, seeds, directions, pulled,
                              rounding) -> dict:
    """<w, J v> by Ridders' extrapolation of central differences of the
    original C along v, from a step chosen for this direction, against the
    adjoint's <J^T w, v>."""
    def phi(step: float) -> float:
        shifted = dict(values)
        for name in adjoint.wrt:
            shifted[name] = np.asarray(values[name], dtype=float) + step * np.asarray(
                directions[name])
        outputs = original(**shifted)
        return _inner(seeds, {name: outputs[name] for name in adjoint.of})[0]

    size = max([float(np.max(np.abs(values[n]))) for n in adjoint.wrt
                if np.size(values[n])] + [0.0]) or 1.0
    reach = max([float(np.max(np.abs(directions[n]))) for n in adjoint.wrt
                 if np.size(directions[n])] + [0.0]) or 1.0
    start = numerics.choose_step(phi, 1e-2 * size / reach)
    estimate = numerics.ridders(phi, start)
    scale = max(abs(estimate.value), abs(pulled))
    outputs = original(**values)
    size_of_sum = sum(float(np.sum(np.abs(np.asarray(seeds[n]) * np.asarray(outputs[n]))))
                      for n in adjoint.of)
    # The rounding of the two primal runs of one central difference.
    noise = FD_NOISE * EPS * size_of_sum / estimate.step
    allowed = FD_SAFETY * estimate.error + rounding * abs(pulled)
    if not np.isfinite(estimate.value):
        error, tolerance = float("inf"), float("inf")
    elif pulled == 0.0 and abs(estimate.value) <= max(noise, allowed):
        error, tolerance = 0.0, max(noise, allowed)  # a zero derivative, confirmed
    else:
        error = abs(estimate.value - pulled) / scale
        # Relative to the finite difference itself: an error estimate that is
        # large against it means the differences did not converge.
        tolerance = allowed / abs(estimate.value) if estimate.value else float("inf")
    return _record("central finite differences", error, tolerance, FD_MEANINGFUL,
                   f"Ridders from h = {start:.2g} to {estimate.step:.2g}, error estimate "
                   f"{estimate.error:.2g}, tolerance {tolerance:.2g}; "
                   f"{estimate.value:.10g} vs {pulled:.10g}")


def _schedule_name(spec, chosen: Schedule | None) -> str:
    if chosen is None or not chosen.trace:
        return "none"
    if isinstance(spec, str):
        return spec
    return " ".join(step.primitive for step in chosen.trace)
