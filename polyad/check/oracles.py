"""The oracles' comparisons: each turns what an oracle measured into a
record ``{"oracle", "verdict", "ok", "max_rel_err", "tolerance", "detail"}``
with a tolerance derived from the numerics at the inputs (a condition
estimate, Ridders' error estimate), so that a failed oracle means a wrong
gradient and numerics that cannot tell say so (see polyad.check.numerics)."""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from polyad.check import numerics
from polyad.model.kernel import Kernel
from polyad.check.numerics import EPS, FLOAT_EPS, ILL_CONDITIONED, OK, WRONG, Precision

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
#: The numbers above are a double kernel's; a float kernel's keep the same
#: margins over float's epsilon: about seven digits where double has
#: sixteen (a wrong gradient errs by far more).
DOUBLE = Precision("double", EPS, FLOOR, MEANINGFUL, FD_MEANINGFUL, PERTURBATIONS,
                   CONDITION_LIMIT)
FLOAT = Precision("float", FLOAT_EPS, 1e-5, 1e-2, 1e-2, (1e-3, 1e-4), 1e3)
#: Overall verdicts of a check (polyad.check.verify adds "bad inputs").
VERDICT_OK, VERDICT_WRONG, VERDICT_ILL = "ok", "wrong gradient", "ill-conditioned"


def precision_of(kernel: Kernel) -> Precision:
    """The precision a kernel's gradient is judged in: float's when any of
    its arrays or scalars is a float (its rounding dominates), else double's."""
    return FLOAT if any(a.dtype == "float" for a in kernel.arrays) else DOUBLE


def relative_error(got, expected, scale: float | None = None) -> float:
    """max |got - expected| / max(|expected|) over all elements (0 for
    empty); relative to ``scale`` instead when given."""
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if expected.size == 0:
        return 0.0
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(expected))):
        return float("inf")
    if scale is None:
        scale = float(np.max(np.abs(expected)))
    scale = max(scale, 1e-300)
    return float(np.max(np.abs(got - expected))) / scale


def inner(a: Mapping[str, object], b: Mapping[str, object]) -> tuple[float, float]:
    """<a, b> over the arrays of a, and its cancellation factor."""
    terms = np.concatenate([np.asarray(a[name], dtype=float).ravel()
                            * np.asarray(b[name], dtype=float).ravel() for name in a]
                           or [np.zeros(0)])
    return float(np.sum(terms)), numerics.cancellation(terms)


def ratio(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|); infinite when either is not finite."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return float("inf")
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else 0.0


def perturbed(kernel: Kernel, values: Mapping[str, object], size: float,
               rng) -> dict[str, object]:
    """Every floating argument multiplied by (1 + size * (+-1)), rounded to
    its type."""
    moved = dict(values)
    for array in kernel.arrays:
        if array.storage == "parameter" and array.is_float and array.name in values:
            data = np.asarray(values[array.name], dtype=float)
            signs = rng.choice([-1.0, 1.0], size=data.shape)
            data = data * (1 + size * signs)
            if array.dtype == "float":
                data = data.astype(np.float32)
            moved[array.name] = float(data) if array.is_scalar else data
    return moved


def condition_of(kernel: Kernel, gradient_at: Callable[[Mapping], dict],
               values: Mapping[str, object], base: dict, seed: int) -> float:
    """The gradient's condition estimate at ``values``: two random relative
    perturbations per size of PERTURBATIONS, smaller while the response
    leaves the linear range."""
    estimate = 1.0
    for size in precision_of(kernel).perturbations:
        rng = np.random.default_rng(seed + 2)
        moved = [gradient_at(perturbed(kernel, values, size, rng)) for _ in range(2)]
        estimate = numerics.condition_estimate(base, moved, size)
        if not np.isfinite(estimate) or estimate * size <= LINEAR_RANGE:
            break
    return estimate


def record(oracle: str, error: float, tolerance: float, meaningful: float,
           detail: str) -> dict:
    """An oracle's record: its verdict from the error, the tolerance and the
    largest tolerance that still says something."""
    verdict = numerics.verdict(error, tolerance, meaningful)
    return {"oracle": oracle, "verdict": verdict, "ok": verdict == OK,
            "max_rel_err": error, "tolerance": tolerance, "detail": detail}


def overall_verdict(checks: list[dict], condition: float,
                    precision: Precision = DOUBLE) -> str:
    """wrong gradient if any oracle says wrong, else ill-conditioned if any
    says so or the condition estimate exceeds the precision's limit
    (CONDITION_LIMIT in double), else ok."""
    verdicts = {c["verdict"] for c in checks}
    if WRONG in verdicts:
        return VERDICT_WRONG
    if ILL_CONDITIONED in verdicts or not condition <= precision.condition_limit:
        return VERDICT_ILL
    return VERDICT_OK


#: The primal oracle's name: the forward sweeps are bitwise the original's,
#: or (when the adjoint's forward sweep calls BLAS, which sums in its own
#: order, or libmvec's vector math, which rounds in its own way) within
#: REASSOCIATED_TOLERANCE of them.
PRIMAL_ORACLE = "primal vs original C (bitwise)"
REASSOCIATED_PRIMAL_ORACLE = "primal vs original C (reassociated by BLAS)"
REASSOCIATED_TOLERANCE = FLOOR
#: Why an adjoint's forward sweep may round differently: the words of the
#: oracle's name and of its detail.
ROUNDINGS = {"blas": ("reassociated by BLAS", "BLAS's sums"),
             "vector math": ("vector math", "libmvec's vector math"),
             "sums": ("reassociated sums", "sums kept in registers")}


def check_forward_sweeps(expected, reverse, forward, reassociated: bool = False,
                         roundings: tuple[str, ...] = (),
                         precision: Precision = DOUBLE) -> dict:
    """The outputs of the adjoint's and the tangent's forward sweeps against
    the original C's: bitwise, except the adjoint's within the precision's
    floor (REASSOCIATED_TOLERANCE in double, relative) when it rounds
    differently: ``reassociated`` (BLAS) or ``roundings`` (keys of
    :data:`ROUNDINGS`)."""
    roundings = tuple(dict.fromkeys((("blas",) if reassociated else ()) + tuple(roundings)))
    tolerance = max(REASSOCIATED_TOLERANCE, precision.floor) if roundings else 0.0

    def agrees(value, got) -> bool:
        if roundings:
            return relative_error(got, value) <= tolerance
        return np.array_equal(value, got, equal_nan=True)

    differing = [name for name, value in expected.items()
                 if not (agrees(value, reverse[name])
                         and np.array_equal(value, forward[name], equal_nan=True))]
    error = max([relative_error(reverse[n], expected[n]) for n in
                 (expected if roundings else differing)] or [0.0])
    oracle = PRIMAL_ORACLE if not roundings else \
        f"primal vs original C ({', '.join(ROUNDINGS[r][0] for r in roundings)})"
    same = "identical" if not roundings else \
        (f"identical (tangent) and equal up to the rounding of "
         f"{' and '.join(ROUNDINGS[r][1] for r in roundings)} (adjoint)")
    return {"oracle": oracle,
            "verdict": WRONG if differing else OK, "ok": not differing,
            "max_rel_err": error, "tolerance": tolerance,
            "detail": ("forward sweeps differ on " + ", ".join(differing)) if differing
            else f"adjoint and tangent forward sweeps {same}"}


def compare_with_interpreter(gradient: Mapping[str, object], reference: Mapping[str, object],
                             condition: float, note: str = "",
                             precision: Precision = DOUBLE) -> dict:
    """The record of the interpreter oracle: the gradient against the
    interpreter's ``reference`` (computed in double) with the tolerance of a
    condition estimate in the gradient's ``precision``; ``note`` ends the
    detail. Precondition: both have the same arrays."""
    tolerance = max(precision.floor, ROUNDING_FACTOR * precision.eps * condition)
    meaningful = precision.meaningful
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
    # In float, an array whose gradient is tiny against the others' (a
    # scalar summing terms that cancel) keeps few correct digits, which the
    # condition estimate, measured over all arrays together, does not see:
    # its error is measured against the largest element of any.
    scale = None if precision.name == "double" else max(
        [float(np.max(np.abs(np.asarray(reference[name], dtype=float)[mine]), initial=0.0))
         for name, (mine, _) in finite.items()], default=None)
    errors = {name: relative_error(np.asarray(gradient[name])[mine],
                                   np.asarray(reference[name])[mine], scale)
              for name, (mine, _) in finite.items()}
    worst = max(errors.values(), default=0.0)
    if not all(np.all(mine) for mine, _ in finite.values()):
        # Both give NaN or inf in the same elements: the derivative does not
        # exist there (sqrt at 0), which no tolerance can judge.
        measured = record("reverse-mode interpreter", worst, worst, meaningful, "")
        return {**measured, "verdict": ILL_CONDITIONED, "ok": False, "tolerance": float("inf"),
                "detail": "the gradient is NaN or inf at these inputs, in the same "
                          f"elements as the interpreter's (no derivative there){note}"}
    return record("reverse-mode interpreter", worst, tolerance, meaningful,
                   f"tolerance {tolerance:.2g} (condition estimate {condition:.2g}); "
                   f"worst {max(errors, key=errors.get) if errors else '-'}{note}")


def check_dot(projected: float, projected_cancel: float, pulled: float,
              pulled_cancel: float, condition: float,
              precision: Precision = DOUBLE) -> dict:
    """The record of the dot-product test <w, J v> (tangent) against
    <J^T w, v> (adjoint), each with the cancellation factor of its sum, both
    computed in ``precision``."""
    rounding = max(precision.floor, ROUNDING_FACTOR * precision.eps * condition)
    # Not finite on either side: no tolerance can judge it (the interpreter
    # tells a bug from a derivative that does not exist).
    tolerance = (max(precision.floor, rounding * max(projected_cancel, pulled_cancel))
                 if np.isfinite(projected) and np.isfinite(pulled) else float("inf"))
    return record("dot product <w, J v> = <J^T w, v>", ratio(projected, pulled), tolerance,
                  precision.meaningful, f"tolerance {tolerance:.2g} (condition estimate "
                  f"{condition:.2g}); {projected:.12g} vs {pulled:.12g}")


def check_finite_differences(phi: Callable[[float], float], size: float, reach: float,
                             size_of_sum: float, pulled: float, condition: float,
                             precision: Precision = DOUBLE) -> dict:
    """The record of finite differences: d phi / dh at 0, where phi(h) is
    <w, F(x + h v)> of the original C computed in double (a float kernel's
    widened copy), by Ridders' extrapolation of central differences from a
    step chosen for this direction (``size`` = max |x|, ``reach`` = max
    |v|), against the adjoint's <J^T w, v> = ``pulled``, computed in
    ``precision``; ``size_of_sum`` is sum |w F(x)|, for the rounding of phi
    itself."""
    start = numerics.choose_step(phi, 1e-2 * size / reach)
    estimate = numerics.ridders(phi, start)
    scale = max(abs(estimate.value), abs(pulled))
    # The adjoint's own rounding (and, for a float kernel, the difference
    # between its derivative and its widened copy's: the same order).
    rounding = max(precision.floor, ROUNDING_FACTOR * precision.eps * condition)
    # The rounding of the two primal runs of one central difference.
    noise = FD_NOISE * EPS * size_of_sum / estimate.step
    allowed = FD_SAFETY * estimate.error + rounding * abs(pulled)
    if not (np.isfinite(estimate.value) and np.isfinite(pulled)):
        error, tolerance = float("inf"), float("inf")
    elif pulled == 0.0 and abs(estimate.value) <= max(noise, allowed):
        error, tolerance = 0.0, max(noise, allowed)  # a zero derivative, confirmed
    else:
        error = abs(estimate.value - pulled) / scale
        # Relative to the finite difference itself: an error estimate that is
        # large against it means the differences did not converge.
        tolerance = allowed / abs(estimate.value) if estimate.value else float("inf")
    return record("central finite differences", error, tolerance,
                  max(FD_MEANINGFUL, precision.fd_meaningful),
                  f"Ridders from h = {start:.2g} to {estimate.step:.2g}, error estimate "
                  f"{estimate.error:.2g}, tolerance {tolerance:.2g}; "
                  f"{estimate.value:.10g} vs {pulled:.10g}")


