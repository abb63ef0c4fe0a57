"""The JAX peers of the benchmark (bench/peers/jax_ports.py) against polyad.

Oracle: polyad's compiled adjoint of each example at its small sizes, on the
inputs the benchmark uses (``verify.kernel_inputs``, seed 0) and random
seeds. A faithful port (same boundaries, time steps and in-place semantics)
agrees to rounding, checked elementwise to rtol 1e-9.

mlp and rnn are also checked where the gradient itself is ill-conditioned:
with their inputs scaled up, tanh saturates (pre-activations above 10), so
tanh' falls below 1e-8 and both tools compute it from y = tanh(s) by
cancellation (polyad 1 - y*y, JAX (1 + y)(1 - y)). XLA's tanh is within 4 ulp
of the C library's, not equal, and the order of additions in s differs, so
each factor tanh' may differ by about 5 eps absolute: a relative
5 eps / (1 - y^2), once per tanh on a derivative path (up to nt of them in
rnn). That bound is their tolerance there.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("CI") == "true":
    import jax  # CI installs the test extra, which has jax: a missing jax fails there
else:
    jax = pytest.importorskip("jax")

import polyad  # noqa: E402
from bench.peers.jax_ports import PORTS  # noqa: E402
from polyad.check import verify  # noqa: E402
from polyad.codegen.binding import NUMPY_TYPES  # noqa: E402
from tests.conftest import EXAMPLES, example, sampled  # noqa: E402

EPS = np.finfo(np.float64).eps
RTOL = 1e-9
#: Ports computing in float32 (the float examples) against polyad's float gradient.
FLOAT_RTOL = 1e-5
#: tanh kernels: the output holding tanh values, and the size counting the
#: tanh factors on one derivative path.
TANH = {"mlp": ("y", None), "rnn": ("h", "nt")}
#: Input scales that saturate tanh without rounding it to exactly 1.
SATURATING = {"mlp": 3.0, "rnn": 4.0}


def gradients(name: str, values: dict | None = None):
    """(polyad's gradient, the JAX port's gradient, the inputs, the sizes) at
    the small sizes, on the benchmark's inputs unless ``values`` is given."""
    kernel = example(name)
    sizes = kernel.sizes("small")
    if values is None:
        values = verify.kernel_inputs(kernel, sizes, seed=0)
    adjoint = polyad.grad(kernel)
    rng = np.random.default_rng(1)
    seeds = {y: rng.standard_normal(kernel.array(y).shape(sizes)).astype(
        NUMPY_TYPES[kernel.array(y).dtype]) for y in adjoint.of}
    out = polyad.compile(adjoint)(**values, **{f"{y}_b": seeds[y] for y in adjoint.of})
    expected = {x: out[f"{x}_b"] for x in adjoint.wrt}
    fn, args, unpack = PORTS[name].make(sizes, values, seeds)
    return expected, unpack(fn(*args)), values, sizes


def assert_gradients_equal(expected: dict, got: dict, rtol: float, atol: float = 0.0) -> None:
    assert sorted(got) == sorted(expected)
    for x in expected:
        assert isinstance(got[x], float) == isinstance(expected[x], float), x
        np.testing.assert_allclose(got[x], expected[x], rtol=rtol, atol=atol, err_msg=x)


def tanh_tolerance(name: str, values: dict, sizes: dict) -> float:
    """RTOL plus 5 eps / min(1 - y^2) per tanh factor on a derivative path."""
    output, depth = TANH[name]
    kernel = example(name)
    y = polyad.compile(kernel)(**values)[output]
    if name == "rnn":
        y = y[1:]                                     # h[0] is the given state
    return RTOL + (sizes[depth] if depth else 1) * 5 * EPS / float(np.min(1.0 - y * y))


def test_enough_ports():
    assert len(PORTS) >= 8
    assert set(PORTS) <= set(EXAMPLES)
    assert {"gemm", "atax", "jacobi_1d", "jacobi_2d", "heat_3d", "conv2d", "mlp", "rnn",
            "seidel_2d", "softmax", "layernorm", "lu"} <= set(PORTS)


@pytest.mark.parametrize("name", sorted(PORTS))
def test_port_differentiates_what_polyad_does(name):
    adjoint = polyad.grad(example(name))
    assert PORTS[name].kernel == name
    assert (PORTS[name].wrt, PORTS[name].of) == (adjoint.wrt, adjoint.of)


@pytest.mark.parametrize("name", sampled(sorted(PORTS)))
def test_port_gradient_matches_polyad(name):
    expected, got, values, sizes = gradients(name)
    if name in TANH:  # the examples' init functions keep tanh unsaturated
        assert tanh_tolerance(name, values, sizes) < 2 * RTOL
    if PORTS[name].dtype == "float32":
        assert_float_gradients_equal(expected, got)
    else:
        assert_gradients_equal(expected, got, RTOL)


def assert_float_gradients_equal(expected: dict, got: dict) -> None:
    """To FLOAT_RTOL, and FLOAT_RTOL of the largest element where an element
    is near zero."""
    scale = max(float(np.max(np.abs(g))) for g in expected.values())
    assert_gradients_equal(expected, got, FLOAT_RTOL, FLOAT_RTOL * scale)


def test_float32_port_matches_polyad_to_float_rounding():
    """mlp_float: both compute in float (JAX float32, polyad's float
    gradient), each summing in its own order: they agree to float rounding
    (FLOAT_RTOL, and FLOAT_RTOL of the largest element where an element is
    near zero), and not to double's."""
    assert PORTS["mlp_float"].dtype == "float32"
    expected, got, _, _ = gradients("mlp_float")
    assert all(g.dtype == np.float32 for g in got.values())
    assert_float_gradients_equal(expected, got)
    assert any(not np.array_equal(got[x], expected[x]) for x in expected)


@pytest.mark.parametrize("name", sorted(TANH))
def test_saturated_tanh_port_matches_polyad_to_the_conditioning_bound(name):
    """Inputs scaled until tanh saturates (tanh' below 1e-8): the
    port agrees to the bound of the module docstring."""
    kernel = example(name)
    values = verify.kernel_inputs(kernel, kernel.sizes("small"), seed=0)
    values = {k: v * SATURATING[name] if isinstance(v, np.ndarray) else v for k, v in values.items()}
    expected, got, values, sizes = gradients(name, values)
    rtol = tanh_tolerance(name, values, sizes)
    assert 2 * RTOL < rtol < 1e-5
    assert_gradients_equal(expected, got, rtol)
