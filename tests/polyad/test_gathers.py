"""Reads through index arrays, gathers (issue 15, item 8): ``x[col[k]]``,
``E[idx[b][l]][j]``, and their adjoints' scatter-adds ``x_b[col[k]] += ...``.

Oracles: ``verify.check_gradient`` (the primal bitwise against the original
C compiled by the system compiler, the reverse-mode interpreter, central
finite differences of the original C, the dot-product test); numpy's
``np.add.at`` (an unbuffered scatter-add) for the gradient of a kernel with
repeated indices, which the generated scatter-add must accumulate; the
schedule's legality verdicts for parallel and vector loops over a
scatter-add; the status of the generated code and the original C's wrapper
for an index outside its array. Before this item every accepted kernel here
was refused ("non-affine subscript: it reads the array element col[k]").
"""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad.check import verify
from polyad.check.interpreter import Interpreter
from polyad.codegen.compile import compile_original
from polyad.errors import PolyadError, UsageError
from tests.conftest import assert_refused_at
from polyad.model.gathers import gathers

ORACLES = ("primal vs original C", "interpreter", "dot product", "finite differences")

# y = A x with A in ELL format: row i holds w entries A[i][p] in columns col[i][p].
ELL = """\
void ell(int n, int m, int w, int col[n][w], double A[n][w], double x[m], double y[n]) {
  for (int i = 0; i < n; i++) {
    y[i] = 0.0;
    for (int p = 0; p < w; p++)
      y[i] += A[i][p] * tanh(x[col[i][p]]);
  }
}
"""

# an embedding bag: the squared sum of L rows of E per bag
BAG = """\
void bag(int nb, int L, int V, int d, int idx[nb][L], double E[V][d], double out[nb][d]) {
  for (int b = 0; b < nb; b++)
    for (int j = 0; j < d; j++) {
      out[b][j] = 0.0;
      for (int l = 0; l < L; l++)
        out[b][j] += E[idx[b][l]][j] * E[idx[b][l]][j];
    }
}
"""


def _all_ok(result):
    names = " | ".join(c["oracle"] for c in result["checks"])
    assert all(oracle in names for oracle in ORACLES), names
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_a_gather_is_a_may_access_of_the_whole_extent():
    kernel = polyad.parse(ELL)
    update = kernel.statements[1]
    (gather,) = [a for a in update.reads if a.is_gather]
    assert gather.text == "x[col[i][p]]"
    assert [i.text for i in gather.indices] == ["col[i][p]"]
    whole = kernel.array("x").shape_set().align_params(gather.relation.get_space())
    assert gather.relation.range().is_equal(whole.intersect_params(kernel.context))
    assert gathers(kernel) == (("col", "x", 0),)
    assert kernel.array("col").role == "input"


@pytest.mark.parametrize("layout", ["exact", "stack", "stream", "regions"])
def test_ell_gathers_pass_every_oracle(layout):
    # n * w = 12 entries in m = 4 columns: random indices repeat.
    _all_ok(verify.check_gradient(polyad.parse(ELL), {"n": 4, "m": 4, "w": 3},
                                  layout=layout))


def test_a_gather_in_a_time_loop_under_the_checkpoint_layout():
    """The reruns of a segment rename their instructions, and a gather's
    index references with them (they kept the old name: an isl error in
    codegen, found with an argmax's gathers)."""
    kernel = polyad.parse("void f(int n, int col[n], double a[n], double y[n]) {\n"
                          "  for (int t = 0; t < 4; t++)\n"
                          "    for (int i = 0; i < n; i++)\n"
                          "      y[i] = y[i] * 0.5 + a[col[i]] * y[i];\n}\n")
    _all_ok(verify.check_gradient(kernel, {"n": 5}, layout="checkpoint"))


def test_an_embedding_bag_passes_every_oracle_under_auto():
    kernel = polyad.parse(BAG)
    _all_ok(verify.check_gradient(kernel, {"nb": 3, "L": 4, "V": 5, "d": 3}))
    _all_ok(verify.check_gradient(kernel, {"nb": 3, "L": 4, "V": 5, "d": 3},
                                  schedule="auto"))


def _ell_inputs():
    col = np.array([[1, 1, 0], [3, 1, 1], [0, 0, 0], [2, 1, 3]], dtype=np.int32)
    rng = np.random.default_rng(3)
    return dict(n=4, m=4, w=3, col=col, A=rng.random((4, 3)), x=rng.random(4),
                y=np.zeros(4), y_b=rng.random(4))


def _ell_x_gradient(values):
    """d (y_b . y) / dx by numpy: np.add.at accumulates repeated indices."""
    expected = np.zeros(4)
    slope = values["A"] * (1 - np.tanh(values["x"][values["col"]]) ** 2)
    np.add.at(expected, values["col"], slope * values["y_b"][:, None])
    return expected


def test_the_scatter_add_accumulates_repeated_indices():
    kernel = polyad.parse(ELL)
    values = _ell_inputs()
    out = polyad.compile(polyad.grad(kernel))(**values)
    expected = _ell_x_gradient(values)
    assert np.allclose(out["x_b"], expected, rtol=1e-13)
    _, gradients = Interpreter(kernel).gradient(values, {"y": values["y_b"]}, ("x",))
    assert np.allclose(gradients["x"], expected, rtol=1e-13)
    # col holds 1 five times: its element gets every one of them.
    assert np.count_nonzero(values["col"] == 1) == 5 and out["x_b"][1] == pytest.approx(
        expected[1], rel=1e-13)


def test_no_parallel_or_vector_loop_over_a_scatter_add_without_atomics():
    adjoint = polyad.grad(polyad.parse(ELL))
    schedule = adjoint.schedule()
    for verb, loop in [("vectorize", "S1_b.p"), ("parallel", "S1_b.p"),
                       ("parallel", "S1_b.i")]:
        with pytest.raises(PolyadError, match="increments of x_b from different "
                                              "iterations meet"):
            getattr(schedule, verb)(loop)
    # auto leaves the reverse sweep's scatter-add a plain loop
    text = polyad.generate_c(adjoint, schedule=schedule.auto())
    reverse = text[text.index("adjoint of line 5"):]
    lines = text[:text.index("adjoint of line 5")].splitlines()[-4:]
    assert not any("pragma" in line for line in lines), lines
    assert "x_b[col[" in reverse


def test_atomics_make_the_scatter_add_parallel_and_right():
    adjoint = polyad.grad(polyad.parse(ELL))
    schedule = adjoint.schedule().parallel("S1_b.i", atomics=True)
    text = polyad.generate_c(adjoint, schedule=schedule)
    assert "#pragma omp atomic\n" in text.replace("      ", "")
    values = _ell_inputs()
    out = polyad.compile(adjoint, schedule=schedule)(**values)
    assert np.allclose(out["x_b"], _ell_x_gradient(values), rtol=1e-13)


def test_an_index_outside_its_array_is_refused_before_any_access():
    kernel = polyad.parse(ELL)
    values = _ell_inputs()
    values["col"] = values["col"].copy()
    values["col"][3, 2] = 4  # x has 4 elements
    with pytest.raises(UsageError, match="index array holds a value outside"):
        polyad.compile(polyad.grad(kernel))(**values)
    with pytest.raises(UsageError, match="index array holds a value outside"):
        polyad.compile(polyad.jvp(kernel))(**{k: v for k, v in values.items()
                                               if k != "y_b"})
    original, _ = compile_original(kernel)
    values.pop("y_b")
    with pytest.raises(UsageError, match="index array holds a value outside"):
        original(**values)
    with pytest.raises(UsageError, match=r"index col\[3\]\[2\] = 4 is outside x's extent 4"):
        Interpreter(kernel).gradient(values, {"y": np.ones(4)}, ("x",))
    values["col"][3, 2] = -1
    with pytest.raises(UsageError, match="index array holds a value outside"):
        original(**values)


def test_the_layers_layout_refuses_gathers():
    with pytest.raises(UsageError, match="layers layout does not stage gathers"):
        verify.check_gradient(polyad.parse(ELL), {"n": 4, "m": 4, "w": 3},
                              layout="layers")


REFUSED = [
    ("a write through an index array", """\
void k(int n, int perm[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = x[i];
}
""", (3, 7), "write through the index array perm (y[perm[i]])"),
    ("a gather from an array the kernel writes", """\
void k(int n, int col[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = x[col[i]];
  for (int i = 0; i < n; i++)
    x[i] = 2.0 * y[i];
}
""", (3, 12), "gather x[col[i]] from x, which the kernel writes"),
    ("an index array the kernel writes", """\
void k(int n, int col[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = x[col[i]];
  for (int i = 0; i < n; i++)
    col[i] = 0;
}
""", (5, 5), "write to the index array col"),
    ("arithmetic on an index", """\
void k(int n, int col[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = x[col[i] + 1];
}
""", (3, 14), "a subscript reads an int array parameter only as the whole subscript"),
    ("an index through an index", """\
void k(int n, int col[n], int c2[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = x[col[c2[i]]];
}
""", (3, 14), "index array col read through an index array"),
]


@pytest.mark.parametrize("name,text,place,phrase", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_with_its_place(tmp_path, name, text, place, phrase):
    assert_refused_at(tmp_path, text, place, phrase)
