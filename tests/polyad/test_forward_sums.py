"""Forward sums as increments, and auto's vectorised forward sweep.

Oracles: the original C compiled by the system compiler (the primal: bitwise
for the default schedule, within the reassociated tolerance where a schedule
keeps sums in registers or runs them in another order), and polyad check's
interpreter, dot-product and finite-difference oracles for the gradients.
"""

from __future__ import annotations

import islpy as isl
import numpy as np
import pytest

import polyad
from polyad import codegen
from polyad.check import verify
from polyad.program.ir import primal_program
from polyad.program.targets import load_schedule
from polyad.schedule.marks import Simd
from polyad.schedule.rounding import forward_roundings, reordered_sums
from tests.conftest import example
from tests.test_cli import polyad_cli

FORMS = """void f(int n, double a[n], double b[n], double x[n], double y[n], double z[n],
           double w[n]) {
  for (int i = 0; i < n; i++) {
    x[i] = x[i] + a[i] * b[i];
    y[i] = a[i] * b[i] + y[i];
    z[i] -= a[i] / b[i];
    w[i] = w[i] + a[i] + b[i];
  }
}
"""


def test_sums_of_the_kernel_become_increments_and_stay_bitwise():
    """x = x + e, x = e + x and x -= e are increments; w = w + a + b is
    (w + a) + b in C and stays an assignment. The primal program, compiled,
    is bitwise the original C."""
    kernel = polyad.parse(FORMS)
    ops = [i.body[0].op for i in primal_program(kernel).instructions]
    assert ops == ["+=", "+=", "+=", "="]
    rng = np.random.default_rng(3)
    values = {name: rng.uniform(0.5, 2.0, 17) for name in "abxyzw"}
    generated = codegen.compile_program(primal_program(kernel))(n=17, **values)
    original, _ = codegen.compile_original(kernel)
    expected = original(n=17, **values)
    for name in "xyzw":
        assert np.array_equal(generated[name], expected[name]), name


@pytest.mark.parametrize("name,sizes", [("layernorm", None), ("softmax", None),
                                        ("rnn", None)])
def test_auto_vectorises_forward_sums_and_check_allows_their_rounding(name, sizes):
    """auto keeps a forward row sum in a register (a vectorised reduction);
    check's primal oracle then says so and holds the primal within the
    reassociated tolerance. Oracles: all four."""
    kernel = example(name)
    chosen = load_schedule(polyad.grad(kernel), "auto", blas=False)
    forward_sums = [r for r in chosen.loops() if r.sweep == "forward" and any(
        isinstance(mark, Simd) and mark.accumulators for mark in r.annotations)]
    assert forward_sums, f"auto kept no forward sum of {name} in a register"
    assert "sums" in forward_roundings(chosen)
    result = verify.check_gradient(kernel, kernel.sizes("small"), schedule="auto", blas=False)
    assert result["verdict"] == "ok", result["checks"]
    primal = next(c for c in result["checks"] if c["oracle"].startswith("primal"))
    assert "reassociated sums" in primal["oracle"], primal
    assert primal["max_rel_err"] <= primal["tolerance"]


def test_softmax_row_sum_is_vectorised_apart_from_its_tape_record():
    """The record of softmax's row sum at the last iteration kept the sum's
    loop sequential; auto distributes it into a loop of its own and
    vectorises the exp loop and the sum loop."""
    chosen = load_schedule(polyad.grad(example("softmax")), "auto", blas=False)
    forward = {line: r for r in chosen.loops() if r.sweep == "forward"
               for line in [r.loop.instruction]}
    simd = {name for name, r in forward.items()
            if any(isinstance(m, Simd) for m in r.annotations)}
    assert {"S3", "S4"} <= simd, forward


def test_the_default_schedule_is_bitwise_and_a_reordered_sum_is_not():
    """The default order of gemm's forward sweep keeps its sums in order (no
    rounding reason); running the k loop backwards reorders them, and check
    judges that primal within the reassociated tolerance instead of calling
    it wrong. Oracles: all four."""
    adjoint = polyad.grad(example("gemm"))
    base = adjoint.schedule()
    assert forward_roundings(base) == () and not reordered_sums(base)
    backwards = isl.Map("[ni, nj, nk] -> { S1[i, k, j] -> [0, i, 1, -k, j, 1] }")
    reordered = base.reorder([backwards])
    assert reordered_sums(reordered) and forward_roundings(reordered) == ("sums",)
    result = verify.check_gradient(example("gemm"), example("gemm").sizes("small"),
                                   schedule=lambda _: reordered)
    assert result["verdict"] == "ok", result["checks"]
    primal = next(c for c in result["checks"] if c["oracle"].startswith("primal"))
    assert primal["oracle"] == "primal vs original C (reassociated sums)"


def test_reorder_takes_maps_without_their_domain_constraints():
    """reorder's docstring gives a map without the instruction's bounds: the
    points outside its domain made isl's AST build fail (an isl.Error)."""
    adjoint = polyad.grad(example("gemm"))
    swapped = adjoint.schedule().reorder(
        [isl.Map("[ni, nj, nk] -> { S1[i, k, j] -> [0, i, 1, j, k, 1] }")])
    assert "for (int c2 = 0; c2 < nk; c2++)" in polyad.generate_c(adjoint, swapped)


def test_grad_says_when_its_primal_results_are_not_bitwise():
    noted = polyad_cli("grad", "--schedule", "auto", "--no-blas", "examples/layernorm.c",
                       "-o", "/dev/null")
    assert noted.returncode == 0, noted.stderr
    assert "up to rounding (vector math, sums)" in noted.stderr or \
        "up to rounding (sums)" in noted.stderr, noted.stderr
    plain = polyad_cli("grad", "examples/layernorm.c", "-o", "/dev/null")
    assert plain.returncode == 0 and "rounding" not in plain.stderr, plain.stderr


def test_auto_leaves_sums_over_a_window_scalar():
    """conv2d's sum over the filter window (kx < kw, added to x in a
    subscript) is short: auto leaves the forward loop scalar, where a simd
    reduction over five iterations measured slower; rnn's sum over a whole
    row is vectorised."""
    def forward_simd(name):
        chosen = load_schedule(polyad.grad(example(name)), "auto", blas=False)
        return [r.loop for r in chosen.loops() if r.sweep == "forward"
                and any(isinstance(m, Simd) for m in r.annotations)]
    assert forward_simd("conv2d") == []
    assert forward_simd("rnn")
