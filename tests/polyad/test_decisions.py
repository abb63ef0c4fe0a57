"""Comparison outcomes recorded instead of the values compared
(polyad/tape/decisions.py, polyad/program/decided.py).

Tape sizes: exact byte counts of the plan, written down from reading each
kernel (instances times 8 bytes per value, 1 per outcome), and the bytes
the plan would take without decisions (plan_tape alone) to show they shrink.
Gradients: verify.check_gradient, whose oracles are the original C compiled
by the system compiler (primal, bitwise), the reverse-mode interpreter over
the model, central finite differences of the original C and the dot-product
test between tangent and adjoint code; in every layout. The inputs keep every
comparison at least 0.1 away from a tie, so that finite differences never
cross one.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad.check import verify
from polyad.tape.plan import plan_tape
from tests.conftest import example

SIZES = {"T": 3, "n": 5}
LAYOUTS = ["exact", "stack", "regions", "stream", "layers"]

#: name -> (kernel, bytes of the exact plan at SIZES, bytes without decisions)
KERNELS = {
    # x only compared (c never written): one outcome per instance for one value.
    "select": ("""
void k(int T, int n, double x[n], double c[n])
{
  for (int t = 0; t < T; t++)
    for (int i = 0; i < n; i++)
      x[i] = x[i] < c[i] ? 1.5 * c[i] - 0.5 * x[i] : 0.5 * x[i] + 0.25 * c[i];
}
""", 15, 15 * 8),
    # d/dx uses x <= y, d/dy x > y: one outcome answers both.
    "fmin": ("""
void k(int T, int n, double x[n], double y[n])
{
  for (int t = 0; t < T; t++)
    for (int i = 0; i < n; i++)
      x[i] = fmin(x[i], y[i]) + 0.5 * x[i];
}
""", 15, 15 * 8),
    "fmax": ("""
void k(int T, int n, double x[n], double y[n])
{
  for (int t = 0; t < T; t++)
    for (int i = 0; i < n; i++)
      x[i] = 0.75 * fmax(y[i], x[i]);
}
""", 15, 15 * 8),
    # fabs' partial is sign(x): two comparisons (x > 0, x < 0), two bytes.
    "fabs": ("""
void k(int T, int n, double x[n])
{
  for (int t = 0; t < T; t++)
    for (int i = 0; i < n; i++)
      x[i] = fabs(x[i]) - 0.5;
}
""", 2 * 15, 15 * 8),
    # Two nested conditions on x: two outcomes instead of x.
    "nested": ("""
void k(int T, int n, double x[n])
{
  for (int t = 0; t < T; t++)
    for (int i = 0; i < n; i++)
      x[i] = x[i] > 0.0 ? (x[i] > 3.0 ? 3.0 + 0.1 * x[i] : 0.9 * x[i]) : 0.2 * x[i];
}
""", 2 * 15, 15 * 8),
    # x is also needed for the product, so it stays recorded; y, overwritten
    # by the next statement, is only compared: 8 + 1 bytes instead of 16.
    "product": ("""
void k(int T, int n, double x[n], double y[n])
{
  for (int t = 0; t < T; t++)
    for (int i = 0; i < n; i++) {
      x[i] = x[i] > y[i] ? 0.5 * x[i] * x[i] : y[i];
      y[i] = 0.5 * y[i] + 1.0;
    }
}
""", 15 * 8 + 15, 2 * 15 * 8),
    # A compound assignment keeps its adjoint: the reverse statement reads
    # z_b only through the seed, beside the outcome that replaced x.
    "compound": ("""
void k(int T, int n, double x[n], double y[n], double z[n])
{
  for (int t = 0; t < T; t++)
    for (int i = 0; i < n; i++) {
      z[i] += fmin(x[i], y[i]);
      x[i] = 0.5 * x[i] + 1.0;
    }
}
""", 15, 15 * 8),
    # S1's x is overwritten by the next step's S0 only: outcomes for every
    # step but the last, which compares the x still in memory.
    "recompute": ("""
void k(int T, int n, double x[n], double y[n])
{
  for (int t = 0; t < T; t++)
    for (int i = 0; i < n; i++) {
      x[i] = x[i] + 0.1 * y[i];
      y[i] = x[i] > 0.0 ? 2.0 * x[i] : 0.5 * x[i];
    }
}
""", 2 * 5, 2 * 5 * 8),
}

#: Inputs away from ties: x alternates in sign with |x| >= 1.3 and apart from
#: y; y and c sit between the x of neighbouring elements.
INPUTS = {
    "x": np.array([1.3, -2.1, 4.7, -3.4, 2.6]),
    "y": np.array([0.4, 1.9, -0.8, 2.5, -1.2]),
    "c": np.array([0.9, -1.0, 1.6, 0.2, 3.9]),
}


def kernel(name):
    return polyad.parse(KERNELS[name][0])


def given(k):
    return {a.name: INPUTS[a.name] for a in k.arrays if a.name in INPUTS}


@pytest.mark.parametrize("name", list(KERNELS))
def test_planned_bytes_shrink_to_the_outcomes(name):
    k = kernel(name)
    adjoint = polyad.grad(k)
    _, planned, without = KERNELS[name]
    assert adjoint.tape.bytes(SIZES) == planned
    operands = plan_tape(k, {s.statement.name: s.needed() for s in adjoint.statements})
    assert operands.bytes(SIZES) == without
    assert adjoint.with_strategy("stack").tape.decisions == ()  # the baseline records values


def test_floyd_warshall_records_one_byte_per_instance():
    k = example("floyd_warshall")
    adjoint = polyad.grad(k)
    [decision] = adjoint.tape.decisions
    assert adjoint.tape.entries == ()
    assert decision.compared is not None  # the source's own comparison is recorded
    assert adjoint.tape.bytes({"n": 8}) == 8 ** 3
    assert adjoint.tape.bytes({"n": 500}) == 500 ** 3  # 125 MB at the medium size
    operands = plan_tape(k, {s.statement.name: s.needed() for s in adjoint.statements})
    assert operands.bytes({"n": 500}) == 3 * 8 * 500 ** 3  # 3,000 MB before


def test_the_plan_says_what_it_records_instead():
    k = example("floyd_warshall")
    [sentence] = polyad.grad(k).tape.explain(k)
    assert "recorded: the outcome of path[i][j] < path[i][k] + path[k][j] (1 byte per " \
           "instance) instead of 3 values, for every instance" in sentence
    [partly] = [line for line in polyad.grad(kernel("recompute")).tape.explain(
        kernel("recompute")) if "outcome" in line]
    assert "every instance but the last iteration of t" in partly
    assert "recomputed from memory at the others" in partly


def test_an_operand_in_memory_is_compared_again():
    k = polyad.parse("void relu(int n, double x[n], double y[n]) "
                     "{ for (int i = 0; i < n; i++) y[i] = x[i] > 0.0 ? x[i] : 0.0; }")
    plan = polyad.grad(k).tape
    assert plan.decisions == () and plan.entries == () and plan.bytes({"n": 9}) == 0


def test_the_byte_buffer_is_typed_in_the_program():
    from polyad.program.ir import DECISION_DTYPE
    from polyad.program.lowering import adjoint_program
    program = adjoint_program(polyad.grad(kernel("select")))
    [buffer] = [b for b in program.buffers if b.tape]
    assert buffer.dtype == DECISION_DTYPE == "unsigned char"
    source = polyad.generate_c(polyad.grad(kernel("select")))
    assert "unsigned char" in source and "x[c1] < c[c1]" in source


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(KERNELS))
def test_gradients_in_every_layout(name, layout):
    k = kernel(name)
    result = verify.check_gradient(k, SIZES, given=given(k), layout=layout,
                                   scratchpad=256 if layout == "layers" else None)
    assert all(c["ok"] for c in result["checks"]), result["checks"]
    assert len(result["checks"]) == 4  # primal, interpreter, dot product, finite differences


@pytest.mark.slow
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(KERNELS))
def test_gradients_in_every_layout_with_auto(name, layout):
    k = kernel(name)
    result = verify.check_gradient(k, SIZES, given=given(k), layout=layout, schedule="auto",
                                   scratchpad=256 if layout == "layers" else None)
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_a_record_reads_what_its_evaluated_condition_cancels():
    """The source's condition (s_d[i + 1] - s_d[i + 1] > ...) is recorded as
    written, bit for bit; its evaluated form cancels s_d[i + 1], which was
    then no operand of the record: the generated C named the kernel's
    iterator, undeclared there (a compile error in every layout, found by
    the random kernels). Oracles: every one of polyad check."""
    kernel = polyad.parse("""\
void k(int n, double alpha, double s_d[n], double C[n][n])
{
  double p = 0.0;
  for (int i = n - 2; i >= 1; i--) {
    p = ((s_d[i + 1] - s_d[i + 1]) > ((s_d[i] > alpha ? s_d[i] : alpha) * 1.25)
         ? (s_d[i + 1] - s_d[i + 1]) : ((s_d[i] > alpha ? s_d[i] : alpha) * 1.25));
    C[i + 1][i] = p;
  }
  for (int i = 1; i < n - 1; i++)
    s_d[i - 1] = alpha * C[i][i];
}
""")
    for layout in ("exact", "layers"):
        result = verify.check_gradient(kernel, {"n": 6}, layout=layout)
        assert result["verdict"] == "ok", result["checks"]
