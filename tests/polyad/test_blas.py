"""Matrix products as OpenBLAS calls: recognition on the model, the split
and blas primitives, auto with and without BLAS, and the generated code.

Oracles: for gradients, polyad check's (the reverse-mode interpreter, the
dot-product test, finite differences of the original C, and the original C
for the forward sweep within BLAS's rounding); for recognition, the typed
call against the kernel's own algebra (which array is transposed); for the
build, the typed program (library marks in its schedule tree), never the
text.
"""

from __future__ import annotations

import pytest

import polyad
from polyad import api
from polyad.check import verify
from polyad.codegen.build import shared_library
from polyad.codegen.emit import calls_library
from polyad.cli import build_parser
from polyad.errors import ScheduleError
from polyad.program.ir import primal_program
from polyad.program.blascalls import SharedProduct
from polyad.program.library import Gemm, GemmDot, Gemv, Ger, Sum, library_call
from polyad.program.targets import load_schedule, program_of
from polyad.schedule.schedule import Schedule
from tests.conftest import example


def _auto(target, blas=True) -> Schedule:
    return target.schedule().auto(blas=blas) if hasattr(target, "schedule") else \
        api.schedule(target).auto(blas=blas)


def _checked(kernel, sizes) -> dict:
    """polyad check of the auto gradient, which must call BLAS."""
    adjoint = polyad.grad(kernel)
    assert _auto(adjoint).library_calls(), "nothing became a BLAS call"
    return verify.check_gradient(kernel, sizes, schedule=lambda base: base.auto(),
                                 oracles=("primal", "interpreter", "dot", "fd"))


#: Small, odd sizes (no multiple of a vector width or a block), and sizes
#: with a dimension of one (a vector as a matrix, a sum of one term).
SIZES = {
    "gemm": [{"ni": 5, "nj": 7, "nk": 3}, {"ni": 1, "nj": 3, "nk": 1}],
    "k2mm": [{"ni": 3, "nj": 5, "nk": 2, "nl": 7}],
    "mlp": [{"nb": 3, "ni": 5, "no": 1}],
    "gesummv": [{"n": 5}, {"n": 1}],
    "mvt": [{"n": 5}, {"n": 1}],
    "gemver": [{"n": 5}],
}


@pytest.mark.parametrize("name,sizes", [(n, s) for n, all_ in SIZES.items() for s in all_],
                         ids=lambda value: value if isinstance(value, str)
                         else "-".join(f"{k}{v}" for k, v in value.items()))
def test_gradient_with_blas_calls_passes_every_oracle(name, sizes):
    result = _checked(example(name), sizes)
    assert result["verdict"] == "ok", result["checks"]
    oracles = [c["oracle"] for c in result["checks"]]
    # (with vector math too where a forward loop calls tanh or exp)
    assert any(o.startswith("primal vs original C (reassociated by BLAS") for o in oracles)


def test_gemm_gradient_calls_are_the_products_of_its_algebra():
    """A_b += alpha C_b B^T and B_b += alpha A^T C_b (the textbook gradient
    of C += alpha A B), alpha_b += <A, C_b B^T>, and the forward C += alpha A B;
    alpha_b's and A_b's product computed once (a SharedProduct)."""
    calls = {}
    for _, call, _ in _auto(polyad.grad(example("gemm"))).library_calls():
        parts = (call.dot, call.gemm) if isinstance(call, SharedProduct) else (call,)
        calls.update({part.writes: part for part in parts})
    assert sum(isinstance(c, SharedProduct) for _, c, _ in
               _auto(polyad.grad(example("gemm"))).library_calls()) == 1
    assert set(calls) == {"C", "A_b", "B_b", "alpha_b"}
    dot = calls.pop("alpha_b")
    assert isinstance(dot, GemmDot) and dot.w == "A" and dot.scale == 1
    calls["alpha_b"] = dot.product
    assert all(isinstance(call, Gemm) for call in calls.values())
    shape = {w: (c.a.buffer, c.a.transposed, c.b.buffer, c.b.transposed)
             for w, c in calls.items()}
    assert shape == {"C": ("A", False, "B", False), "A_b": ("C_b", False, "B", True),
                     "B_b": ("A", True, "C_b", False), "alpha_b": ("C_b", False, "B", True)}
    assert {str(c.scale) for w, c in calls.items() if w != "alpha_b"} == {"alpha"}


def test_matrix_vector_products_sharing_their_matrix_stay_one_loop():
    """atax's and bicg's products read A in one shared loop: as dgemv/dger
    calls each would pass over A again (bicg's gradient measured 0.84x the
    primal with calls, 0.54x as the loop), so auto keeps them loops; mvt's
    two products of A are in nests of their own and stay calls, gesummv's
    share a loop but not a matrix."""
    def calls(name):
        return [c for _, c, _ in _auto(polyad.grad(example(name))).library_calls()]
    assert calls("atax") == [] and calls("bicg") == []
    assert sum(isinstance(c, Gemv) for c in calls("mvt")) == 4
    assert sorted((c.y, c.a.buffer) for c in calls("gesummv") if isinstance(c, Gemv)) == [
        ("ax", "A"), ("bx", "B"), ("x_b", "A"), ("x_b", "B")]


def test_rank_one_updates_are_dger():
    """mvt's A_b += x1_b y1^T and A_b += y2 x2_b^T (the adjoints of its
    two matrix-vector products), and gemver's forward A = A + u1 v1^T + u2
    v2^T, one dger per term."""
    calls = [call for _, call, _ in _auto(polyad.grad(example("mvt"))).library_calls()]
    outer = sorted((c.x, c.y) for c in calls if isinstance(c, Ger))
    assert outer == [("x1_b", "y1"), ("y2", "x2_b")]
    assert all(c.a.buffer == "A_b" for c in calls if isinstance(c, Ger))
    gemver = {h.instruction: c for h, c, _ in _auto(polyad.grad(example("gemver")))
              .library_calls()}
    forward = gemver["S0"]
    assert isinstance(forward, Sum) and all(isinstance(p, Ger) for p in forward.parts)
    assert sorted((p.x, p.y) for p in forward.parts) == [("u1", "v1"), ("u2", "v2")]


def _kernel(body: str, params: str):
    return polyad.parse(f"void k({params}) {{\n#pragma scop\n{body}\n#pragma endscop\n}}")


MATRICES = "int n, double s, double C[n][n], double A[n][n], double B[n][n]"


@pytest.mark.parametrize("body,reason", [
    ("for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) for (int k = 0; k <= j; k++)"
     " C[i][j] += A[i][k] * B[k][j];", "not a box, nor a box cut by one triangle"),
    ("for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n - 1; k++)"
     " C[i][j] += A[i][k + 1] * B[k][j];", "not plain iterators"),
    ("for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++)"
     " C[i][j] += A[i][k] * B[k][j] * A[k][j];", "not a product of two arrays"),
    ("for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++)"
     " C[i][j] += A[i][k] * C[k][j];", "reads the array C it increments"),
    ("for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++)"
     " C[i][j] += A[i][j] * B[i][j];", "each factor must use"),
    ("for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++)"
     " C[i][j] = A[i][k] * B[k][j];", "not an increment"),
    ("for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n - 1; k++)"
     " C[i][j] += A[i][k] * B[k][j];", "does not cover a whole dimension"),
    ("for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++)"
     " s += A[i][k] * B[k][j] * C[i][k];", "each loop must run along two of the three"),
    ("for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++)"
     " s += A[i][k] * B[k][j];", "not a product of three arrays"),
    ("for (int i = 1; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++)"
     " C[i][j] += A[i][k] * B[k][j];", "does not start at 0"),
])
def test_recognition_refuses_what_is_not_a_matrix_product(body, reason):
    kernel = _kernel(body, MATRICES)
    program = primal_program(kernel)
    with pytest.raises(ScheduleError, match=reason):
        library_call(program.instruction("S0"), program)
    with pytest.raises(ScheduleError, match=reason):
        api.schedule(kernel).blas("S0")
    assert not api.schedule(kernel).auto().library_calls()


def test_blas_refuses_a_nest_it_shares_until_distributed():
    base = api.schedule(example("gemm"))
    with pytest.raises(ScheduleError, match="shares its loop nest with S0"):
        base.blas("S1")
    called = base.distribute("S1.i").blas("S1")
    assert [str(h) for h, _, _ in called.library_calls()] == ["S1.i"]


def test_a_library_nest_stays_whole():
    """Tiling the nest (so the call would run once per tile) or marking a
    loop of it is refused."""
    called = api.schedule(example("gemm")).distribute("S1.i").blas("S1")
    with pytest.raises(ScheduleError, match="runs as one library call"):
        called.tile(["S1.i", "S1.k"], [4, 4])
    with pytest.raises(ScheduleError, match="runs as a library call"):
        called.vectorize("S1.j")


def test_blas_refuses_to_reassociate_when_told_not_to():
    adjoint = polyad.grad(example("gemm"))
    base = adjoint.schedule(reassociate=False).distribute("S1.i")
    with pytest.raises(ScheduleError, match="reassociate=False"):
        base.blas("S1")


def test_split_refuses_a_part_reading_what_another_writes():
    """gemm's S0_b: C_b[i][j] = g * beta, and beta_b += C[i][j] * g reads
    the old C_b (through g)."""
    with pytest.raises(ScheduleError, match="reads C_b, which an earlier part writes"):
        polyad.grad(example("gemm")).schedule().split("S0_b")


def test_trace_with_blas_steps_replays_to_the_same_c():
    adjoint = polyad.grad(example("k2mm"))
    schedule = _auto(adjoint)
    primitives = {step.primitive for step in schedule.trace}
    assert {"split", "distribute", "blas"} <= primitives
    again = Schedule.replay(adjoint.schedule(), schedule.to_json())
    assert api.generate_c(adjoint, again) == api.generate_c(adjoint, schedule)


def test_no_blas_gives_no_library_call():
    adjoint = polyad.grad(example("gemm"))
    without = load_schedule(adjoint, "auto", blas=False)
    assert not without.library_calls()
    assert not calls_library(program_of(adjoint, without))
    assert calls_library(program_of(adjoint, load_schedule(adjoint, "auto")))
    for command in ("grad", "check", "bench", "show", "analyze"):
        assert build_parser().parse_args([command, "k.c", "--no-blas"]).blas is False
        assert build_parser().parse_args([command, "k.c"]).blas is True


def test_blas_programs_build_apart():
    """The build cache keys on the BLAS library: the same C linked with
    and without it are two libraries."""
    source = "void f(void) {}\n"
    assert shared_library(source, blas=True) != shared_library(source)
