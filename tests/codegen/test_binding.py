"""Calling compiled functions by argument name (codegen/binding.py).

Oracles: numpy computing the same kernel (closed forms), the caller's own
arrays (compared before and after), and the UsageError contract: every
request that does not fit the kernel is a UsageError naming what is wrong.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import polyad
from polyad.errors import UsageError
from tests.conftest import example

# y[i] = x[i] * p[i] + 0.5 for all but the last i: y is an output the
# caller may leave out, and its last element is never written.
SCALE = """
void scale(int n, int p[n], double x[n], double y[n])
{
  for (int i = 0; i < n - 1; i++)
    y[i] = x[i] * p[i] + 0.5;
}
"""


@functools.lru_cache(maxsize=None)
def scale():
    return polyad.compile(polyad.parse(SCALE))


@functools.lru_cache(maxsize=None)
def gemm():
    return polyad.compile(example("gemm"))


@functools.lru_cache(maxsize=None)
def gemm_adjoint():
    return polyad.compile(polyad.grad(example("gemm")))


def _gemm_inputs(ni=3, nj=4, nk=5, seed=0):
    rng = np.random.default_rng(seed)
    return dict(ni=ni, nj=nj, nk=nk, alpha=1.5, beta=-0.75,
                C=rng.standard_normal((ni, nj)), A=rng.standard_normal((ni, nk)),
                B=rng.standard_normal((nk, nj)))


def test_result_is_the_kernel():
    """Oracle: numpy's C := alpha A B + beta C."""
    values = _gemm_inputs()
    got = gemm()(**values)["C"]
    expected = values["alpha"] * values["A"] @ values["B"] + values["beta"] * values["C"]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_caller_arrays_are_not_modified():
    """Oracle: copies of the caller's arrays taken before the call."""
    values = _gemm_inputs()
    before = {k: np.copy(v) for k, v in values.items() if isinstance(v, np.ndarray)}
    result = gemm()(**values)
    for name, array in before.items():
        assert np.array_equal(values[name], array), name
    assert not np.array_equal(result["C"], values["C"])  # the call did update C
    assert result["C"] is not values["C"]


def test_non_contiguous_arrays_are_read_by_index():
    """Oracle: the same call with C-contiguous copies (bitwise)."""
    values = _gemm_inputs()
    strided = dict(values, A=np.asfortranarray(values["A"]),
                   B=np.ascontiguousarray(values["B"].T).T,
                   C=np.repeat(values["C"], 2, axis=1)[:, ::2])
    assert not strided["B"].flags.c_contiguous and not strided["C"].flags.c_contiguous
    assert np.array_equal(gemm()(**strided)["C"], gemm()(**values)["C"])


def test_lists_are_accepted():
    """Oracle: numpy (x * p + 0.5)."""
    got = scale()(n=3, p=[1, 2, 3], x=[1.0, 2.0, 3.0])["y"]
    assert got.tolist() == [1.5, 4.5, 0.0]


def test_wrong_shape():
    """Oracle: the UsageError contract (the name, the shape given and expected)."""
    values = _gemm_inputs(ni=3, nj=4, nk=5)
    with pytest.raises(UsageError, match=r"A has shape \(5, 3\), expected \(3, 5\)"):
        gemm()(**dict(values, A=values["A"].T))
    with pytest.raises(UsageError, match=r"x has shape \(\), expected \(3,\)"):
        scale()(n=3, p=[1, 2, 3], x=1.0)
    with pytest.raises(UsageError, match=r"x has shape \(1, 3\), expected \(3,\)"):
        scale()(n=3, p=[1, 2, 3], x=[[1.0, 2.0, 3.0]])
    with pytest.raises(UsageError, match=r"p has shape \(2,\), expected \(3,\)"):
        scale()(n=3, p=[1, 2], x=[1.0, 2.0, 3.0])


def test_unknown_argument_names_the_known_ones():
    """Oracle: the UsageError contract."""
    with pytest.raises(UsageError) as raised:
        gemm()(**_gemm_inputs(), gamma=1.0)
    message = str(raised.value)
    assert "no argument gamma" in message
    assert "ni, nj, nk, alpha, beta, C, A, B" in message


@pytest.mark.parametrize("missing, what", [("ni", "missing size ni"),
                                           ("alpha", "missing scalar alpha"),
                                           ("A", r"missing array A of shape \(3, 5\)")])
def test_missing_argument(missing, what):
    """Oracle: the UsageError contract (C, an inout, is required like A)."""
    values = _gemm_inputs()
    del values[missing]
    with pytest.raises(UsageError, match=what):
        gemm()(**values)


def test_inout_array_is_required():
    """Oracle: the UsageError contract: only pure outputs are optional."""
    values = _gemm_inputs()
    del values["C"]
    with pytest.raises(UsageError, match="missing array C"):
        gemm()(**values)


@pytest.mark.parametrize("sizes", [dict(ni=0), dict(nj=0), dict(nk=-2)])
def test_sizes_outside_the_context(sizes):
    """Oracle: gemm's context is ni, nj, nk >= 1 (its arrays need it)."""
    values = dict(_gemm_inputs(), **sizes)
    for name in ("A", "B", "C"):
        values[name] = np.zeros((0, 0))
    with pytest.raises(UsageError, match="outside what the kernel assumes"):
        gemm()(**values)


@pytest.mark.parametrize("n", [2.5, "3", None, 2**40])
def test_size_must_be_an_integer(n):
    """Oracle: a size is a C int; truncating 2.5 to 2 or 2**40 to 0 would run
    the kernel on sizes the caller did not ask for."""
    with pytest.raises(UsageError, match="size n"):
        scale()(n=n, p=[1, 2], x=[1.0, 2.0])


def test_integral_sizes_of_other_types():
    """Oracle: numpy (an integral size given as a numpy int or 3.0 is fine)."""
    assert scale()(n=np.int64(3), p=[1, 2, 3], x=[1.0, 1.0, 1.0])["y"].tolist() == \
        [1.5, 2.5, 0.0]
    assert scale()(n=3.0, p=[1, 2, 3], x=[1.0, 1.0, 1.0])["y"].tolist() == [1.5, 2.5, 0.0]


def test_optional_output_defaults_to_zeros():
    """Oracle: y[n-1] is never written: zero when y is left out, the
    caller's value when it is given."""
    left_out = scale()(n=4, p=[1, 1, 1, 1], x=[1.0, 2.0, 3.0, 4.0])["y"]
    assert left_out.tolist() == [1.5, 2.5, 3.5, 0.0]
    given = scale()(n=4, p=[1, 1, 1, 1], x=[1.0, 2.0, 3.0, 4.0], y=np.full(4, 7.0))["y"]
    assert given.tolist() == [1.5, 2.5, 3.5, 7.0]


def test_int_arrays():
    """Oracle: exact arithmetic (x * p + 0.5 with small integers)."""
    function = scale()
    assert {a.name: a.dtype for a in function.arguments}["p"] == "int"
    for p in ([2, -3, 4], np.array([2, -3, 4], dtype=np.int64),
              np.array([2.0, -3.0, 4.0])):
        result = function(n=3, p=p, x=[0.25, 1.0, 5.0])
        assert result["p"].dtype == np.int32
        assert result["y"].tolist() == [1.0, -2.5, 0.0]


@pytest.mark.parametrize("p", [[1.7, 2.0, 3.0], [1, 2, 2**40], [1, np.nan, 3],
                               ["a", "b", "c"]])
def test_int_array_values_that_are_not_ints(p):
    """Oracle: the UsageError contract (silently truncating 1.7 to 1 or
    wrapping 2**40 would compute something the caller did not ask for)."""
    with pytest.raises(UsageError, match="p"):
        scale()(n=3, p=p, x=[1.0, 2.0, 3.0])


def test_non_numeric_scalar():
    """Oracle: the UsageError contract."""
    with pytest.raises(UsageError, match="scalar alpha"):
        gemm()(**dict(_gemm_inputs(), alpha="big"))


def test_pointer_scalars_of_the_adjoint():
    """Oracle: closed forms of gemm's gradient, C_out = alpha A B + beta C:
    alpha_b = <C_b, A B>, beta_b = <C_b, C>, A_b = alpha C_b B^T."""
    function = gemm_adjoint()
    kinds = {a.name: a.kind for a in function.arguments}
    assert kinds["alpha_b"] == kinds["beta_b"] == "pointer"
    values = _gemm_inputs(seed=3)
    seed = np.random.default_rng(4).standard_normal((3, 4))
    result = function(**values, C_b=seed)
    assert isinstance(result["alpha_b"], float) and isinstance(result["beta_b"], float)
    product = values["A"] @ values["B"]
    assert result["alpha_b"] == pytest.approx(float(np.sum(seed * product)), rel=1e-12)
    assert result["beta_b"] == pytest.approx(float(np.sum(seed * values["C"])), rel=1e-12)
    np.testing.assert_allclose(result["A_b"], values["alpha"] * seed @ values["B"].T,
                               rtol=1e-12, atol=1e-12)
    # the caller's seed is not consumed
    assert np.array_equal(seed, np.random.default_rng(4).standard_normal((3, 4)))


def test_pointer_scalar_given_by_the_caller():
    """Oracle: adjoints accumulate (the adjoint of a read is incremented), so
    a given alpha_b = 1 comes back as 1 + the gradient."""
    values = _gemm_inputs(seed=5)
    seed = np.ones((3, 4))
    fresh = gemm_adjoint()(**values, C_b=seed)
    accumulated = gemm_adjoint()(**values, C_b=seed, alpha_b=1.0)
    assert accumulated["alpha_b"] == pytest.approx(1.0 + fresh["alpha_b"], rel=1e-12)
    with pytest.raises(UsageError, match="alpha_b is a scalar"):
        gemm_adjoint()(**values, C_b=seed, alpha_b=[1.0, 2.0])
