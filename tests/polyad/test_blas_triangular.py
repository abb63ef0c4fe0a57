"""Triangular matrix products as OpenBLAS calls (dgemmt, dtrmm, and
dgemmt with row dots): which instructions of syrk, syr2k, trmm and symm and
their gradients become which calls, why the others do not, and the
gradients of every path.

Oracles: for gradients, polyad check's (the reverse-mode interpreter over
the model, the dot-product test, finite differences of the original C, and
the original C compiled by the system compiler for the forward sweep,
within BLAS's rounding); for recognition, the typed call against the
kernel's own algebra (which matrix is triangular, which side, transposed
or not), never the C text.
"""

from __future__ import annotations

import re

import pytest

import polyad
from polyad import api
from polyad.check import verify
from polyad.codegen.emit import calls_library
from polyad.errors import ScheduleError
from polyad.program.ir import primal_program
from polyad.program.library import Gemmt, GemmtDot, Sum, Syr2k, Trmm, library_call
from polyad.program.targets import load_schedule, program_of
from tests.conftest import EXAMPLES_DIR, example


def _calls(kernel) -> dict:
    """The auto gradient's calls by the instruction they replace."""
    schedule = polyad.grad(kernel).schedule().auto()
    return {handle.instruction: call for handle, call, _ in schedule.library_calls()}


def _check(kernel, sizes) -> dict:
    return verify.check_gradient(kernel, sizes, schedule=lambda base: base.auto(),
                                 oracles=("primal", "interpreter", "dot", "fd"))


def test_syrk_gradient_is_dgemmt_forward_and_dtrmm_back():
    """C += alpha A A^T on C's lower triangle; A_b += alpha L(C_b) A and
    alpha L(C_b)^T A (the two halves of alpha (C_b + C_b^T) A restricted to
    the triangle); alpha_b += <L(C_b), A A^T> on the triangle."""
    calls = _calls(example("syrk"))
    assert set(calls) == {"S1", "S1_b_split0", "S1_b_split1", "S1_b_split2"}
    forward = calls["S1"]
    assert isinstance(forward, Gemmt) and not forward.upper and forward.c.buffer == "C"
    assert (forward.a.buffer, forward.a.transposed, forward.b.buffer, forward.b.transposed) \
        == ("A", False, "A", True)
    dot = calls["S1_b_split0"]
    assert isinstance(dot, GemmtDot) and dot.target == "alpha_b" and dot.w.buffer == "C_b"
    assert not dot.upper
    halves = [calls["S1_b_split1"], calls["S1_b_split2"]]
    assert all(isinstance(c, Trmm) and c.left and not c.unit and c.c.buffer == "A_b"
               and c.t.buffer == "C_b" and not c.upper and c.x.buffer == "A" for c in halves)
    assert sorted(c.t.transposed for c in halves) == [False, True]


def test_syr2k_sums_become_one_call_per_term_and_its_update_dsyr2k():
    """C += alpha (B A^T + A B^T) on the lower triangle is one dsyr2k; the
    other sums (alpha_b's two dots) one call per term."""
    calls = _calls(example("syr2k"))
    forward = calls["S1"]
    assert isinstance(forward, Syr2k) and not forward.upper and forward.c.buffer == "C"
    assert {forward.a.buffer, forward.b.buffer} == {"A", "B"}
    assert not forward.a.transposed and not forward.b.transposed
    dots = [c for c in calls.values() if isinstance(c, Sum) and c.writes == "alpha_b"]
    assert len(dots) == 1 and all(isinstance(p, GemmtDot) for p in dots[0].parts)
    trmms = [c for c in calls.values() if isinstance(c, Trmm)]
    assert sorted(c.writes for c in trmms) == ["A_b", "A_b", "B_b", "B_b"]


def test_covariance_products_are_on_the_upper_triangle():
    """cov[i][j] += data[k][i] data[k][j] for j >= i: dgemmt on the upper
    triangle, and data_b's two halves dtrmm by that triangle of cov_b."""
    calls = _calls(example("covariance"))
    forward = [c for c in calls.values() if c.writes == "cov"]
    assert len(forward) == 1 and isinstance(forward[0], Gemmt) and forward[0].upper
    back = [c for c in calls.values() if c.writes == "data_b"]
    assert len(back) == 2 and all(isinstance(c, Trmm) and c.t.buffer == "cov_b" and c.upper
                                  for c in back)


def test_trmm_in_place_products_are_unit_diagonal_dtrmm():
    """B += sL(A)^T B in the forward sweep and B_b += sL(A) B_b in the
    reverse sweep read rows not yet incremented (proved on the schedule), so
    each is one dtrmm with a unit diagonal: (I + sL(A))^T B."""
    calls = _calls(example("trmm"))
    forward, reverse = calls["S0"], calls["S0_b_split1"]
    for call, buffer, transposed in ((forward, "B", True), (reverse, "B_b", False)):
        assert isinstance(call, Trmm) and call.unit and call.left and not call.upper
        assert call.c.buffer == call.x.buffer == buffer and call.t.buffer == "A"
        assert call.t.transposed is transposed and call.scale == 1
    assert "S0_b_split0" not in calls  # A_b reads the tape of B's entry values


def test_trmm_a_b_update_stays_loops_because_it_reads_a_tape():
    schedule = polyad.grad(example("trmm")).schedule().split("S0_b")
    with pytest.raises(ScheduleError, match="entry_B_S0_0 is a tape"):
        schedule.blas("S0_b_split0")


def test_symm_products_are_calls_once_its_scalar_accumulator_is_expanded():
    """symm's S1 (C[k][j] += alpha B[i][j] A[i][k], k < i) is a triangular
    product; S2 (acc += B[k][j] A[i][k]) is one only once acc, which
    otherwise carries its nest from one (i, j) to the next, has one element
    per (i, j) (Schedule.expand; tests/polyad/test_expansion.py checks the
    gradients). auto expands it and calls both."""
    kernel = example("symm")
    program = primal_program(kernel)
    assert isinstance(library_call(program.instruction("S1"), program), Trmm)
    with pytest.raises(ScheduleError, match="not a product of three arrays"):
        library_call(program.instruction("S2"), program)
    expanded = api.schedule(kernel).expand("acc", 2).program
    assert isinstance(library_call(expanded.instruction("S2"), expanded), Trmm)
    assert len(api.schedule(kernel).auto().library_calls()) == 2


P = ("int n, int m, double s, double C[n][n], double A[n][m], double B[m][n], "
     "double T[n][n], double X[n][m], double Y[m][n]")


def _kernel(body: str):
    return polyad.parse(f"void k({P}) {{\n#pragma scop\n{body}\n#pragma endscop\n}}")


LOOPS = "for (int i = 0; i < n; i++) "

#: One kernel per path: (body, the call its product becomes, as text).
PATHS = {
    "strict lower output":
        (LOOPS + "for (int j = 0; j < i; j++) for (int l = 0; l < m; l++)"
         " C[i][j] += s * A[i][l] * B[l][j];", "gemmt C[1:,0:](lower) += s * A[1:,0:] * B"),
    "upper output":
        (LOOPS + "for (int j = i; j < n; j++) for (int l = 0; l < m; l++)"
         " C[i][j] += A[i][l] * A[j][l];", "gemmt C(upper) += A * A^T"),
    "upper output two off, written transposed":
        (LOOPS + "for (int j = 0; j <= i - 2; j++) for (int l = 0; l < m; l++)"
         " C[j][i] += A[i][l] * A[j][l];", "gemmt C[0:,2:](upper) += A * A[2:,0:]^T"),
    "rank-2k update, transposed":
        (LOOPS + "for (int l = 0; l < m; l++) for (int j = 0; j <= i; j++)"
         " C[i][j] += B[l][i] * Y[l][j] * s + Y[l][i] * B[l][j] * s;",
         "syr2k C(lower) += s * (B^T * Y + Y^T * B)"),
    "left upper input":
        (LOOPS + "for (int l = 0; l < m; l++) for (int k = i; k < n; k++)"
         " X[i][l] += s * T[i][k] * A[k][l];", "trmm X += s * T(upper) * A"),
    "left strict transposed input, transposed other":
        (LOOPS + "for (int l = 0; l < m; l++) for (int k = i + 1; k < n; k++)"
         " X[i][l] += T[k][i] * B[l][k];", "trmm X += T[1:,0:]^T(lower) * B[0:,1:]^T"),
    "right lower input":
        ("for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) for (int k = j; k < n; k++)"
         " Y[i][j] += s * X[k][i] * T[k][j];", "trmm Y += s * X^T * T(lower)"),
    "in place with a scale (workspace)":
        (LOOPS + "for (int j = 0; j < m; j++) for (int k = i + 1; k < n; k++)"
         " X[i][j] += s * T[k][i] * X[k][j];", "trmm X += s * T[1:,0:]^T(lower) * X[1:,0:]"),
    "in place, unit diagonal":
        (LOOPS + "for (int j = 0; j < m; j++) for (int k = i + 1; k < n; k++)"
         " X[i][j] += T[k][i] * X[k][j];", "trmm X += T^T(strict lower) * X (in place)"),
}

#: Odd sizes, a one-element matrix (whose strict triangle is empty), a sum
#: of one term.
SIZES = [{"n": 5, "m": 3}, {"n": 1, "m": 2}, {"n": 4, "m": 1}]


@pytest.mark.parametrize("path", list(PATHS))
def test_each_triangular_path_is_its_call(path):
    body, text = PATHS[path]
    calls = [str(call) for _, call, _ in api.schedule(_kernel(body)).auto().library_calls()]
    assert calls == [text]


@pytest.mark.parametrize("path,sizes", [(p, s) for p in PATHS for s in SIZES],
                         ids=lambda v: v if isinstance(v, str)
                         else "-".join(f"{k}{x}" for k, x in v.items()))
def test_each_triangular_path_gradient_passes_every_oracle(path, sizes):
    kernel = _kernel(PATHS[path][0])
    assert polyad.grad(kernel).schedule().auto().library_calls()
    result = _check(kernel, sizes)
    assert result["verdict"] == "ok", result["checks"]


EXAMPLE_SIZES = [("syrk", {"n": 7, "m": 3}), ("syrk", {"n": 1, "m": 1}),
                 ("syrk", {"n": 6, "m": 1}), ("syr2k", {"n": 5, "m": 3}),
                 ("syr2k", {"n": 1, "m": 4}), ("trmm", {"m": 5, "n": 3}),
                 ("trmm", {"m": 1, "n": 3}), ("trmm", {"m": 2, "n": 1}),
                 ("covariance", {"m": 5, "n": 3}), ("covariance", {"m": 1, "n": 4}),
                 ("correlation", {"m": 5, "n": 3})]


@pytest.mark.parametrize("name,sizes", EXAMPLE_SIZES,
                         ids=lambda v: v if isinstance(v, str)
                         else "-".join(f"{k}{x}" for k, x in v.items()))
def test_triangular_example_gradients_pass_every_oracle(name, sizes):
    result = _check(example(name), sizes)
    assert result["verdict"] == "ok", result["checks"]
    oracles = [c["oracle"] for c in result["checks"]]
    assert "primal vs original C (reassociated by BLAS)" in oracles


M = "int n, int m, double s, double C[n][n], double A[n][n], double B[n][n], double R[n][m]"


@pytest.mark.parametrize("body,reason", [
    (LOOPS + "for (int j = 0; j < n; j++) for (int k = 0; k < i; k++)"
     " C[i][j] += A[i][k] * C[k][j];", "reads elements of C that it has incremented"),
    (LOOPS + "for (int j = 0; j < n; j++) for (int k = i; k < n; k++)"
     " C[i][j] += A[k][i] * C[k][j];", "reads elements of C that it has incremented"),
    (LOOPS + "for (int j = 0; j <= i + 1 && j < n; j++) for (int k = 0; k < n; k++)"
     " C[i][j] += A[i][k] * B[k][j];", "reaches across the diagonal"),
    (LOOPS + "for (int j = 0; j <= i && j < m; j++) for (int k = 0; k < n; k++)"
     " R[i][j] += A[i][k] * R[k][j] * s;", "not in a square"),
    (LOOPS + "for (int j = 0; j < n; j++) for (int k = i + 1; k < n; k++)"
     " C[i][j] += A[k][i] * C[k][j] + B[k][i] * C[k][j];", "a sum of products reading"),
])
def test_triangular_recognition_refuses_with_a_reason(body, reason):
    kernel = polyad.parse(f"void k({M}) {{\n#pragma scop\n{body}\n#pragma endscop\n}}")
    with pytest.raises(ScheduleError, match=reason):
        api.schedule(kernel).blas("S0")
    assert not api.schedule(kernel).auto().library_calls()


def test_in_place_needs_the_order_to_be_proved():
    """Without the schedule, the in-place product is refused: the proof
    that its reads see only values from before the nest is on the order."""
    program = primal_program(example("trmm"))
    with pytest.raises(ScheduleError, match="its order is needed"):
        library_call(program.instruction("S0"), program)


@pytest.mark.parametrize("name", ["syrk", "syr2k", "trmm"])
def test_no_blas_keeps_triangular_products_as_loops(name):
    adjoint = polyad.grad(example(name))
    without = load_schedule(adjoint, "auto", blas=False)
    assert not without.library_calls()
    assert not calls_library(program_of(adjoint, without))


def test_a_size_named_like_an_isl_operator_survives_the_triangle_search():
    """syrk with its size named ``min``: auto's triangle search copies isl
    sets through their text, which isl's parser read as its min operator (an
    internal error, found by the random kernels). Oracles: all four."""
    source = (EXAMPLES_DIR / "syrk.c").read_text()
    kernel = polyad.parse(re.sub(r"\bn\b", "min", source))
    result = verify.check_gradient(kernel, {"min": 5, "m": 4}, schedule="auto")
    assert result["verdict"] == "ok", result["checks"]
