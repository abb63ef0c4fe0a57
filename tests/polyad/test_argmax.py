"""Indices found by a search on data (frontend/searches.py): an argmax's
``k`` is int data of the model, its reads through ``x[k]`` gathers.
tests/kernels/argmax.c and argmax_rows.c pass every oracle of ``polyad check`` (the primal
bitwise against the original C compiled by cc, the model's reverse-mode
interpreter following the index as it runs, the dot-product test, central
finite differences), and its gradient is the one-hot vector numpy's argmax
gives; refusals are in tests/frontend/test_errors.py. Both fail on the
code before, which refused ``k = i`` under a condition on data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import polyad
from polyad import api

KERNELS = Path(__file__).resolve().parents[1] / "kernels"
ARGMAX = KERNELS / "argmax.c"


@pytest.mark.parametrize("name, sizes", [("argmax", {"n": 9}),
                                         ("argmax_rows", {"n": 4, "m": 5})])
def test_searches_pass_every_oracle(name, sizes):
    """argmax_rows's index, declared in the loop over rows, has an element
    per row: each row's use reads its own."""
    result = api.check(polyad.parse(KERNELS / f"{name}.c"), sizes)
    oracles = {c["oracle"].split(" (")[0]: c["ok"] for c in result["checks"]}
    assert len(oracles) == 4 and all(oracles.values()), result["checks"]


def test_the_gradient_is_one_hot_at_the_argmax():
    """Oracle: numpy's argmax and argmin of the inputs, by hand: dy0/dx is
    m at k, dy0/da is x[k] at k; dy1/da is k + 1 at l; dy1/dx is 0 (l's
    choice is piecewise constant)."""
    kernel = polyad.parse(ARGMAX)
    gradient = polyad.compile(polyad.grad(kernel))
    rng = np.random.default_rng(3)
    a, x = rng.permutation(9) / 9.0 + 0.5, rng.permutation(9) / 9.0 + 0.5
    k, l = int(np.argmax(a)), int(np.argmin(x))
    for seed, da, dx in [([1.0, 0.0], {k: x[k]}, {k: a[k]}), ([0.0, 1.0], {l: k + 1.0}, {})]:
        out = gradient(n=9, a=a, x=x, y=np.zeros(2), y_b=np.array(seed))
        assert np.array_equal(out["a_b"], _one_hot(da)) and \
            np.array_equal(out["x_b"], _one_hot(dx)), (out["a_b"], out["x_b"])


def _one_hot(values: dict[int, float]) -> np.ndarray:
    result = np.zeros(9)
    for index, value in values.items():
        result[index] = value
    return result

