"""The numerics of the oracles: finite differences with an error estimate,
condition estimates, and how a measured error becomes a verdict.

Nothing here knows kernels: functions take numbers, arrays and callables.
The point is that a failed oracle means a wrong gradient, not a tolerance
that the oracle's own numerics exceeded; where the numerics cannot tell, the
verdict says so ("ill-conditioned") instead of guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

EPS = float(np.finfo(float).eps)
#: float's machine epsilon (2**-23).
FLOAT_EPS = float(np.finfo(np.float32).eps)

#: Verdicts of one oracle.
OK, WRONG, ILL_CONDITIONED = "ok", "wrong", "ill-conditioned"

#: Ridders' method: each step divides h by SHRINK; the tableau stops when a
#: new extrapolant is worse than SAFE times the best error so far.
SHRINK = 1.4
SAFE = 2.0
TABLEAU = 12
#: The step search halves h0 until two central differences agree this well
#: (the start of the asymptotic range), at most STEP_SEARCH times.
STEP_AGREEMENT = 0.05
STEP_SEARCH = 40


@dataclass(frozen=True)
class Precision:
    """How much the oracles allow a gradient computed in one floating type:
    ``eps`` its machine epsilon; agreement to ``floor`` (relative) always
    counts; above ``meaningful`` (``fd_meaningful`` for finite differences)
    a tolerance says nothing about the gradient; ``perturbations``: the
    relative sizes a condition estimate perturbs inputs by (each above the
    type's rounding); above ``condition_limit`` the gradient carries too few
    correct digits to judge."""

    name: str
    eps: float
    floor: float
    meaningful: float
    fd_meaningful: float
    perturbations: tuple[float, ...]
    condition_limit: float


@dataclass(frozen=True)
class Extrapolation:
    """A derivative from Richardson extrapolation: its value, an estimate of
    its absolute error (truncation and rounding both show in it: the
    difference of successive extrapolants) and the last step used."""

    value: float
    error: float
    step: float


def central_difference(phi: Callable[[float], float], step: float) -> float:
    """(phi(h) - phi(-h)) / 2h. Precondition: step > 0."""
    return (phi(step) - phi(-step)) / (2.0 * step)


def choose_step(phi: Callable[[float], float], start: float) -> float:
    """The largest step, from ``start`` down by halves, whose central
    difference is finite and agrees with the one at half the step to
    STEP_AGREEMENT: steps beyond it are outside the range where the Taylor
    expansion, hence Richardson extrapolation, applies (an overflow, a kink,
    a fast-growing power). Precondition: start > 0."""
    step = start
    for _ in range(STEP_SEARCH):
        big, half = central_difference(phi, step), central_difference(phi, step / 2)
        if math.isfinite(big) and math.isfinite(half):
            scale = max(abs(big), abs(half))
            if scale == 0.0 or abs(big - half) <= STEP_AGREEMENT * scale:
                return step
        step /= 2.0
    return step


def ridders(phi: Callable[[float], float], start: float) -> Extrapolation:
    """d phi / dh at 0 by Ridders' extrapolation of central differences from
    step ``start`` (Numerical Recipes' dfridr). Precondition: start > 0 and
    phi is finite near 0; non-finite differences give an infinite error."""
    step = start
    table = [[central_difference(phi, step)]]
    best, error = table[0][0], math.inf
    for i in range(1, TABLEAU):
        step /= SHRINK
        row = [central_difference(phi, step)]
        factor = SHRINK ** 2
        for j in range(1, i + 1):
            row.append((row[j - 1] * factor - table[i - 1][j - 1]) / (factor - 1.0))
            factor *= SHRINK ** 2
            estimate = max(abs(row[j] - row[j - 1]), abs(row[j] - table[i - 1][j - 1]))
            if math.isfinite(estimate) and estimate <= error:
                best, error = row[j], estimate
        table.append(row)
        if abs(row[i] - table[i - 1][i - 1]) >= SAFE * error:
            break
    return Extrapolation(best, error, step)


def relative_change(base: Mapping[str, object], moved: Mapping[str, object]) -> float:
    """max |moved - base| / max |base| over every array of ``base``; 0 when
    base is all zero and nothing moved, infinite when anything is not finite."""
    top, change = 0.0, 0.0
    for name, value in base.items():
        a = np.asarray(value, dtype=float)
        b = np.asarray(moved[name], dtype=float)
        if a.size == 0:
            continue
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return math.inf
        top = max(top, float(np.max(np.abs(a))))
        change = max(change, float(np.max(np.abs(b - a))))
    if top == 0.0:
        return 0.0 if change == 0.0 else math.inf
    return change / top


def condition_estimate(base: Mapping[str, object],
                       perturbed: Sequence[Mapping[str, object]], delta: float) -> float:
    """How much a relative input perturbation ``delta`` moves a result,
    relative to delta: max over the perturbed results of
    relative_change / delta, and at least 1. Rounding errors of the
    computation act like such perturbations, so eps times this estimate is
    the size of rounding differences to expect. Precondition: delta > 0."""
    worst = max((relative_change(base, moved) for moved in perturbed), default=0.0)
    return max(1.0, worst / delta)


def cancellation(terms: np.ndarray) -> float:
    """sum |t| / |sum t|: how much a sum loses to cancellation (1 for terms
    of one sign; 1 for no terms or all zero, infinite for an exact zero sum
    of non-zero terms)."""
    terms = np.asarray(terms, dtype=float).ravel()
    size = float(np.sum(np.abs(terms)))
    if size == 0.0:
        return 1.0
    total = abs(float(np.sum(terms)))
    return size / total if total > 0 else math.inf


def verdict(error: float, tolerance: float, meaningful: float) -> str:
    """OK if ``error`` is within ``tolerance`` and within ``meaningful``
    (an agreement that says something about the gradient); ILL_CONDITIONED
    if the tolerance itself is above ``meaningful`` (the numerics at these
    inputs cannot tell a right gradient from a wrong one); else WRONG.
    A NaN or infinite error is WRONG unless the tolerance is too."""
    if math.isfinite(error) and error <= tolerance and error <= meaningful:
        return OK
    if not math.isfinite(tolerance) or tolerance > meaningful:
        return ILL_CONDITIONED
    return WRONG
