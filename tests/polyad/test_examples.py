"""Every example: its model, its regenerated primal, and its gradient.

Oracles: the original C compiled by the system compiler (primal, bitwise),
the plain reverse-mode interpreter, central finite differences of the
original C, and the dot-product test between tangent and adjoint code.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad.check import verify
from polyad.check.oracles import precision_of
from polyad.errors import ScheduleError
from polyad.schedule.schedule import Schedule
from tests.conftest import EXAMPLES, example, sampled

# Statement counts and array roles, written down from reading each kernel.
EXPECTED = {
    "adi": (27, {"u": "inout", "v": "output", "p": "temporary", "q": "temporary"}),
    "atax": (4, {"A": "input", "x": "input", "y": "output", "tmp": "temporary"}),
    "burgers_1d": (2, {"nu": "input", "u": "inout", "v": "output"}),
    "bicg": (4, {"A": "input", "s": "output", "q": "output", "p": "input", "r": "input"}),
    "cholesky": (6, {"A": "inout", "sum": "temporary"}),
    "conv2d": (2, {"W": "input", "bias": "input", "in": "input", "out": "output"}),
    "correlation": (17, {"data": "inout", "corr": "output", "mean": "temporary",
                         "stddev": "temporary"}),
    "covariance": (8, {"data": "inout", "cov": "output", "mean": "temporary"}),
    "embedding_bag": (2, {"idx": "input", "w": "input", "E": "input", "out": "output"}),
    "durbin": (10, {"r": "input", "y": "output", "z": "temporary", "sum": "temporary"}),
    "fdtd_2d": (4, {"ex": "inout", "ey": "inout", "hz": "inout", "fict": "input"}),
    "floyd_warshall": (1, {"path": "inout"}),
    "gemm": (2, {"alpha": "input", "beta": "input", "C": "inout", "A": "input",
                 "B": "input"}),
    "gemver": (4, {"A": "inout", "x": "inout", "w": "inout", "u1": "input"}),
    "gesummv": (5, {"A": "input", "B": "input", "x": "input", "y": "output",
                    "ax": "temporary"}),
    "gramschmidt": (7, {"A": "inout", "R": "output", "Q": "output", "nrm": "temporary"}),
    "heat_3d": (2, {"A": "inout", "B": "inout"}),
    "jacobi_1d": (2, {"A": "inout", "B": "inout"}),
    "jacobi_2d": (2, {"A": "inout", "B": "inout"}),
    "k2mm": (4, {"D": "inout", "tmp": "temporary", "A": "input"}),
    "k3mm": (6, {"G": "output", "E": "temporary", "F": "temporary"}),
    "layernorm": (9, {"X": "input", "Y": "output", "mean": "temporary"}),
    "lu": (3, {"A": "inout"}),
    "maxpool": (3, {"in": "input", "out": "output", "m": "temporary"}),
    "mlp": (3, {"W": "input", "x": "input", "y": "output"}),
    "mlp_float": (3, {"W": "input", "x": "input", "y": "output"}),
    "neural_ode": (3, {"W": "input", "b": "input", "h": "inout", "s": "temporary"}),
    "mvt": (2, {"x1": "inout", "x2": "inout", "A": "input"}),
    "reaction_diffusion_2d": (2, {"D": "input", "u": "inout", "v": "output"}),
    "relu": (3, {"W": "input", "bias": "input", "x": "input", "y": "output"}),
    "rnn": (4, {"h": "inout", "Wh": "input", "s": "temporary"}),
    "seidel_2d": (1, {"A": "inout"}),
    "softmax": (6, {"X": "input", "Y": "output", "rowmax": "temporary"}),
    "spmv_ell": (2, {"col": "input", "val": "input", "x": "input", "y": "output"}),
    "symm": (4, {"C": "inout", "A": "input", "B": "input"}),
    "syr2k": (2, {"C": "inout", "A": "input", "B": "input"}),
    "syrk": (2, {"C": "inout", "A": "input"}),
    "trisolv": (3, {"L": "input", "x": "output", "b": "input"}),
    "trmm": (2, {"A": "input", "B": "inout"}),
}


def test_every_example_has_expectations():
    assert sorted(EXPECTED) == EXAMPLES
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize("name", EXAMPLES)
def test_model(name):
    kernel = example(name)
    count, roles = EXPECTED[name]
    assert len(kernel.statements) == count
    for array, role in roles.items():
        assert kernel.array(array).role == role, array
    for statement in kernel.statements:
        assert statement.domain.get_tuple_name() == statement.name
        assert statement.write.relation.is_single_valued()


def _second_size(kernel) -> dict[str, int]:
    return {name: value + 3 for name, value in kernel.sizes("small").items()}


@pytest.mark.parametrize("name", sampled(EXAMPLES))
def test_primal_matches_original_bitwise(name):
    kernel = example(name)
    for seed, sizes in enumerate([kernel.sizes("small"), _second_size(kernel)]):
        values = verify.kernel_inputs(kernel, sizes, seed)
        result = verify.check_primal(kernel, values)
        assert result["ok"], (sizes, result["detail"])


@pytest.mark.parametrize("strategy", ["exact", "stack"])
@pytest.mark.parametrize("name", sampled(EXAMPLES))
def test_gradient(name, strategy):
    kernel = example(name)
    result = verify.check_gradient(kernel, kernel.sizes("small"), strategy=strategy)
    by_oracle = {c["oracle"]: c for c in result["checks"]}
    assert len(by_oracle) == 4
    for check in result["checks"]:
        assert check["ok"], check
    # Computed in float (mlp_float), the gradient keeps float's digits.
    limit = 1e-10 if precision_of(kernel).name == "double" else 1e-5
    assert by_oracle["reverse-mode interpreter"]["max_rel_err"] <= limit
    assert by_oracle["dot product <w, J v> = <J^T w, v>"]["max_rel_err"] <= limit


def tile_reverse_nests(schedule: Schedule, size: int = 3) -> Schedule:
    """Tile, by ``size``, the two outermost loops of every reverse-sweep nest
    where that is legal (small tiles, so that small sizes cross tiles)."""
    reports = [r for r in schedule.loops() if r.sweep == "reverse"]
    for outer, inner in zip(reports, reports[1:]):
        if inner.depth == outer.depth + 1 and inner.instructions == outer.instructions:
            try:
                schedule = schedule.tile([outer.loop, inner.loop], [size, size])
            except ScheduleError:
                continue
    if not schedule.trace and reports:
        # No permutable pair: strip-mine the outermost loop (always legal).
        schedule = schedule.tile([reports[0].loop], [size])
    return schedule


@pytest.mark.parametrize("strategy", ["exact", "stack"])
@pytest.mark.parametrize("name", sampled(EXAMPLES))
def test_gradient_with_auto_schedule(name, strategy):
    kernel = example(name)
    result = verify.check_gradient(kernel, kernel.sizes("small"), strategy=strategy,
                                   schedule="auto")
    assert all(c["ok"] for c in result["checks"]), result["checks"]


@pytest.mark.parametrize("strategy", ["exact", "stack"])
@pytest.mark.parametrize("name", sampled(EXAMPLES))
def test_gradient_with_tiled_schedule(name, strategy):
    kernel = example(name)
    result = verify.check_gradient(kernel, kernel.sizes("small"), strategy=strategy,
                                   schedule=tile_reverse_nests)
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_most_examples_have_a_tileable_reverse_nest():
    tiled = [name for name in EXAMPLES
             if any(step.primitive == "tile"
                    for step in tile_reverse_nests(polyad.grad(example(name)).schedule()).trace)]
    assert tiled == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_inputs_at_the_bench_sizes_are_normal_numbers(name):
    """make bench times the medium preset on these inputs: a subnormal input
    sends every variant, the original C too, to the processor's slow path
    (durbin's r was subnormal beyond k = 1390 and its gradient measured
    15x the primal for it, not for its code). Oracle: numpy's finfo."""
    kernel = example(name)
    sizes = kernel.sizes("medium")
    values = verify.kernel_inputs(kernel, sizes, seed=0)
    tiny = np.finfo(float).tiny
    for array, value in values.items():
        value = np.asarray(value, dtype=float)
        subnormal = (value != 0) & (np.abs(value) < tiny)
        assert not subnormal.any(), f"{name}: {array} has {int(subnormal.sum())} subnormal values"
