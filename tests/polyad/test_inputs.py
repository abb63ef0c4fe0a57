"""The kinds of ``--init``: each gives arrays with its defining property
(oracle: numpy's linear algebra on the drawn values), bad requests are clear
errors, and the precedence random < polyad-init < --init < --inputs holds."""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad.check import verify
from polyad.errors import UsageError
from polyad.check.inputs import parse_init, random_inputs
from tests.conftest import example

MATRICES = polyad.parse("void k(int n, int m, double S[n][n], double W[m][n], "
                        "double T[n][m], double v[n], int c[n], double s) {\n"
                        "for (int i = 0; i < n; i++) v[i] = S[i][i] + W[0][i] + T[i][0]"
                        " + c[i] + s;\n}")
SIZES = {"n": 7, "m": 9}


def draw(**kinds):
    return random_inputs(MATRICES, SIZES, seed=5, init=parse_init(kinds))


def test_spd_is_symmetric_positive_definite():
    S = draw(S="spd")["S"]
    assert np.array_equal(S, S.T)
    assert np.min(np.linalg.eigvalsh(S)) > 0.5


def test_diagonally_dominant():
    S = draw(S="diagonally-dominant")["S"]
    off = np.abs(S).sum(axis=1) - np.abs(np.diag(S))
    assert np.all(np.abs(np.diag(S)) > off)
    assert np.any(S < 0)  # off-diagonal entries of both signs


def test_orthogonal_tall_and_wide():
    values = draw(W="orthogonal", T="orthogonal", S="orthogonal")
    assert np.allclose(values["W"].T @ values["W"], np.eye(7), atol=1e-13)  # 9 x 7
    assert np.allclose(values["T"] @ values["T"].T, np.eye(7), atol=1e-13)  # 7 x 9
    assert np.allclose(values["S"] @ values["S"].T, np.eye(7), atol=1e-13)


def test_int_normal_positive_uniform_bounds():
    values = draw(c="int:-2:2", v="int:3:3", W="normal:10:0.001", T="positive",
                  S="uniform:-1:-0.5", s="positive")
    assert values["c"].dtype == np.int32 and set(np.unique(values["c"])) <= {-2, -1, 0, 1, 2}
    assert np.all(values["v"] == 3.0)
    assert abs(np.mean(values["W"]) - 10) < 0.01
    assert np.all(values["T"] >= 0.1) and np.all(values["T"] < 10)
    assert np.all(values["S"] >= -1) and np.all(values["S"] < -0.5)
    assert isinstance(values["s"], float) and values["s"] > 0


def test_naming_a_kind_leaves_the_other_arrays_unchanged():
    plain = random_inputs(MATRICES, SIZES, seed=5)
    chosen = draw(S="spd")
    for name in ("W", "T", "v", "c", "s"):
        assert np.array_equal(plain[name], chosen[name]), name
    assert not np.array_equal(plain["S"], chosen["S"])


@pytest.mark.parametrize("kinds, message", [
    ({"S": "hermitian"}, "unknown input kind 'hermitian'"),
    ({"v": "spd"}, "v has 1 dimensions; this kind needs a matrix"),
    ({"W": "spd"}, "needs a square matrix, not 9x7"),
    ({"c": "normal"}, "integer data takes int:LO:HI"),
    ({"S": "uniform:2:1"}, "needs finite LO < HI"),
    ({"S": "int:1"}, "write int:LO:HI"),
    ({"S": "spd:1:2"}, "takes no bounds"),
    ({"S": "normal:0:-1"}, "STD > 0"),
    ({"Q": "spd"}, "no array or scalar 'Q'"),
])
def test_bad_init_is_a_clear_error(kinds, message):
    with pytest.raises(UsageError, match=message):
        verify.check_gradient(MATRICES, SIZES, init=parse_init(kinds))


def test_init_wins_over_the_files_init_function_and_inputs_win_over_init():
    """Oracle: the values that reach the kernel (cholesky's polyad-init
    makes a fixed matrix; --init draws a random SPD one; --inputs is given)."""
    kernel = example("cholesky")
    sizes = {"n": 5}
    from_file = verify.kernel_inputs(kernel, sizes, 0)["A"]
    drawn = verify.kernel_inputs(kernel, sizes, 0, init=parse_init({"A": "spd"}))["A"]
    assert not np.array_equal(from_file, drawn)
    assert np.min(np.linalg.eigvalsh(drawn)) > 0
    given = np.eye(5) * 2.0
    assert np.array_equal(verify.kernel_inputs(kernel, sizes, 0, {"A": given},
                                               parse_init({"A": "spd"}))["A"], given)


def test_api_check_takes_init_as_text():
    """Oracle: all four of check's oracles, on cholesky with a random SPD A."""
    kernel = example("cholesky")
    result = polyad.api.check(kernel, {"n": 6}, init={"A": "spd"})
    assert result["init"] == {"A": "spd"} and result["verdict"] == "ok", result
