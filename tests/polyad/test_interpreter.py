"""The interpreter's enumeration of statement instances and accessed
elements with numpy agrees with isl's own point-by-point enumeration
(oracle: isl's foreach_point on the sets and the wrapped access maps)."""

from __future__ import annotations

import islpy as isl
import pytest

import polyad

from polyad.check.interpreter import affine_images, integer_points
from polyad.model.kernel import fix_sizes
from tests.conftest import EXAMPLES, example


def isl_points(points: isl.Set) -> list[tuple[int, ...]]:
    found = []
    dims = points.dim(isl.dim_type.set)
    points.foreach_point(lambda p: found.append(tuple(
        int(p.get_coordinate_val(isl.dim_type.set, d).to_python()) for d in range(dims))))
    return sorted(found)


@pytest.mark.parametrize("text", [
    "[n] -> { S[i, j] : 0 <= j < i < n and (i + j) mod 3 = 0 }",
    "[n] -> { S[i, j] : 0 <= j < i < n or (i = n + 2 and j = 0) }",
    "[n, m] -> { S[i, j, k] : 0 <= j < i < n and i <= k < m + 1 - j }",
    "[n] -> { S[i] : 2i >= n and i < n }",
    "{ S[] }",
    "[n] -> { S[i] : i > n and i < n }",
])
def test_integer_points_of_sets(text):
    sizes = {"n": 7, "m": 5}
    fixed = fix_sizes(isl.Set(text), sizes)
    assert sorted(map(tuple, integer_points(fixed, sizes).tolist())) == isl_points(fixed)


@pytest.mark.parametrize("name", EXAMPLES)
def test_instances_and_elements_of_every_example(name):
    kernel = example(name)
    sizes = {p: v + 1 for p, v in kernel.sizes("small").items()}
    for statement in kernel.statements:
        domain = fix_sizes(statement.domain, sizes)
        points = integer_points(domain, sizes)
        assert sorted(map(tuple, points.tolist())) == isl_points(domain)
        for access in [statement.write, *statement.reads]:
            relation = fix_sizes(access.relation, sizes)
            images = affine_images(relation, points, sizes)
            if images is None:
                continue
            pairs = sorted(tuple(p) + tuple(e)
                           for p, e in zip(points.tolist(), images.tolist()))
            assert pairs == isl_points(relation.intersect_domain(domain).wrap())


def test_the_interpreter_evaluates_sympys_re_of_a_float_power():
    """Found by make fuzz (seed 2): the interpreter oracle itself failed
    (NameError: re) on fabs(... + pow(x, 2.0)). Oracles of polyad check."""
    from pathlib import Path

    from polyad.api import check
    path = Path(__file__).resolve().parents[1] / "kernels" / "abs_of_float_power.c"
    result = check(polyad.parse(str(path)), {"n": 6}, layout="stream")
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_the_derivative_of_a_power_of_a_product_at_zero_is_zero():
    """Found by make fuzz (seed 5): sympy's Pow differentiated (u * v) ** 2.0
    as 2.0 * (u * v) ** 2.0 / u, so the interpreter oracle had NaN where u = 0
    and polyad check called a right gradient wrong. Oracle: the closed form
    d/dx (x * w) ** 2 = 2 x w ** 2, and the compiled gradient."""
    import numpy as np

    from polyad.check.interpreter import Interpreter
    kernel = polyad.parse("#include <math.h>\nvoid k(int n, double x[n], double w[n], "
                          "double y[n]) { for (int i = 0; i < n; i++) "
                          "y[i] = pow(x[i] * w[i], 2.0); }")
    x, w = np.array([0.0, 1.5, -2.0]), np.array([3.0, 0.0, 0.5])
    values = {"n": 3, "x": x, "w": w, "y": np.zeros(3)}
    _, gradient = Interpreter(kernel).gradient(values, {"y": np.ones(3)}, ("x", "w"))
    assert np.array_equal(gradient["x"], 2 * x * w ** 2)
    assert np.array_equal(gradient["w"], 2 * w * x ** 2)
    compiled = polyad.compile(polyad.grad(kernel, wrt=["x", "w"]))
    out = compiled(**values, y_b=np.ones(3))
    assert np.allclose(out["x_b"], gradient["x"]) and np.allclose(out["w_b"], gradient["w"])
