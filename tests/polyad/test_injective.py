"""Writes through an index array stated injective (issue 15, item 8):
``#pragma polyad injective(perm)``, then ``y[perm[i]] = e`` and
``h[bucket[i]] += e``, scatters modelled as may-writes of the whole extent.

Oracles: ``verify.check_gradient`` (the primal bitwise against the original
C compiled by the system compiler, the reverse-mode interpreter, central
finite differences of the original C, the dot-product test), also through
``polyad check`` with ``--init perm=permutation``; numpy's fancy indexing
for the gradient of a permutation scatter; the status the generated code
and the original C's wrapper return for an index array holding a value
twice. Before this item every accepted kernel here was refused ("write
through the index array perm").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import polyad
from polyad.check import verify
from polyad.check.inputs import InitKind, check_init, draw, random_inputs
from polyad.codegen.compile import compile_original
from polyad.errors import KernelError, UsageError
from tests.conftest import assert_refused_at

ROOT = Path(__file__).resolve().parents[2]
ORACLES = ("primal vs original C", "interpreter", "dot product", "finite differences")

# a permutation scatter: y[perm[i]] = a[i] * x[i]
SCATTER = """\
#pragma polyad injective(perm)
void scatter(int n, int perm[n], double a[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = a[i] * x[i];
}
"""

# a histogram of n weighted values into m > n buckets, each bucket hit once
HISTOGRAM = """\
#include <stdlib.h>
void hist(int n, int m, int bucket[n], double w[n], double x[n], double h[m]) {
#pragma polyad injective(bucket)
  for (int j = 0; j < m; j++)
    h[j] = 0.0;
  for (int i = 0; i < n; i++)
    h[bucket[i]] += w[i] * x[i] * x[i];
}
"""

# a scatter-add into the caller's h, read back by a later statement
ACCUMULATE = """\
#pragma polyad injective(bucket)
void acc(int n, int m, int bucket[n], double w[n], double h[m], double z[m]) {
  for (int i = 0; i < n; i++)
    h[bucket[i]] += sin(w[i]);
  for (int j = 0; j < m; j++)
    z[j] = h[j] * h[j];
}
"""


def _all_ok(result):
    names = " | ".join(c["oracle"] for c in result["checks"])
    assert all(oracle in names for oracle in ORACLES), names
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_a_scatter_is_a_may_write_of_the_whole_extent():
    kernel = polyad.parse(SCATTER)
    (statement,) = kernel.statements
    assert statement.write.is_gather and statement.write.text == "y[perm[i]]"
    assert [i.text for i in statement.write.indices] == ["perm[i]"]
    whole = kernel.array("y").shape_set().align_params(statement.write.relation.get_space())
    assert statement.write.relation.range().is_equal(whole.intersect_params(kernel.context))
    # the index element is a read of the statement
    assert [a.text for a in statement.reads] == ["perm[i]", "a[i]", "x[i]"]
    assert kernel.array("perm").role == "input"
    # its default inputs are a permutation
    perm = random_inputs(kernel, {"n": 9})["perm"]
    assert sorted(perm.tolist()) == list(range(9))


@pytest.mark.parametrize("layout", ["exact", "stream", "regions"])
def test_a_permutation_scatter_passes_every_oracle(layout):
    _all_ok(verify.check_gradient(polyad.parse(SCATTER), {"n": 7}, layout=layout))


def test_a_permutation_scatter_under_auto_and_its_gradient_by_numpy():
    kernel = polyad.parse(SCATTER)
    _all_ok(verify.check_gradient(kernel, {"n": 7}, schedule="auto"))
    rng = np.random.default_rng(1)
    values = dict(n=7, perm=rng.permutation(7).astype(np.int32), a=rng.random(7),
                  x=rng.random(7), y=np.zeros(7), y_b=rng.random(7))
    out = polyad.compile(polyad.grad(kernel))(**values)
    seed = values["y_b"][values["perm"]]  # d(y_b . y)/d(a[i] x[i]) = y_b[perm[i]]
    assert np.allclose(out["a_b"], seed * values["x"], rtol=1e-14)
    assert np.allclose(out["x_b"], seed * values["a"], rtol=1e-14)


def test_a_scatter_add_passes_every_oracle():
    kernel = polyad.parse(HISTOGRAM)
    assert kernel.array("h").role == "output"  # every element zeroed first
    _all_ok(verify.check_gradient(kernel, {"n": 4, "m": 6}))
    _all_ok(verify.check_gradient(kernel, {"n": 4, "m": 6}, schedule="auto"))


@pytest.mark.parametrize("layout", ["exact", "stream", "checkpoint"])
def test_a_scatter_add_into_the_callers_array_read_later(layout):
    """h keeps its values where no bucket falls (m > n): it is an input too,
    and z's reads of h are may-reads of the scatter's values."""
    kernel = polyad.parse(ACCUMULATE)
    assert kernel.array("h").role == "inout"
    _all_ok(verify.check_gradient(kernel, {"n": 3, "m": 5}, layout=layout))


def test_a_value_overwritten_after_a_scatter_is_taped_by_its_reader():
    """The reverse sweep needs y[i] as z read it, and y is overwritten after:
    with the scatter taken for a must-write, the tape kept one value written
    by S0's last instance for every reader (a wrong gradient); a scatter
    names no last writer, so every reader records its own."""
    kernel = polyad.parse("""\
#pragma polyad injective(perm)
void k(int n, int perm[n], double a[n], double y[n], double z[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = a[i];
  for (int i = 0; i < n; i++)
    z[i] = y[i] * y[i];
  for (int i = 0; i < n; i++)
    y[i] = 1.0;
}
""")
    (entry,) = polyad.grad(kernel).tape.entries
    assert entry.statement == "S1" and not entry.writer
    _all_ok(verify.check_gradient(kernel, {"n": 6}))
    _all_ok(verify.check_gradient(kernel, {"n": 6}, layout="checkpoint"))


def test_an_index_array_holding_a_value_twice_gets_the_error_return():
    kernel = polyad.parse(SCATTER)
    values = dict(n=5, perm=np.array([3, 1, 3, 0, 2], dtype=np.int32),
                  a=np.ones(5), x=np.ones(5), y=np.zeros(5))
    message = "an index array stated injective .* holds a value twice"
    with pytest.raises(UsageError, match=message):
        polyad.compile(polyad.grad(kernel))(**values, y_b=np.ones(5))
    with pytest.raises(UsageError, match=message):
        polyad.compile(polyad.jvp(kernel))(**values)
    original, _ = compile_original(kernel)
    with pytest.raises(UsageError, match=message):
        original(**values)
    # a value outside y is the bounds check's error, before any access
    values["perm"] = np.array([3, 1, 5, 0, 2], dtype=np.int32)
    with pytest.raises(UsageError, match="holds a value outside"):
        polyad.compile(polyad.grad(kernel))(**values, y_b=np.ones(5))
    text = polyad.generate_c(polyad.grad(kernel))
    assert "return 3;  /* a value twice in perm */" in text


def _cli(*args):
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "polyad.cli", *args], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def test_polyad_check_with_a_permutation_init(tmp_path):
    path = tmp_path / "hist.c"
    path.write_text(HISTOGRAM)
    done = _cli("check", str(path), "-D", "n=6", "-D", "m=6", "--init", "bucket=permutation")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: ok" in done.stdout and "bucket=permutation" in done.stdout
    refused = _cli("check", str(path), "-D", "n=6", "-D", "m=6", "--init", "w=permutation")
    assert refused.returncode == 2 and "a permutation fills an int index array" in \
        refused.stderr
    shown = _cli("show", str(path))
    assert "may write" in shown.stdout and "(h[bucket[i]], a scatter)" in shown.stdout


def test_the_permutation_init_kind():
    kernel = polyad.parse(HISTOGRAM)
    array = kernel.array("bucket")
    values = draw(InitKind("permutation"), array, (4,), np.random.default_rng(0), 6)
    assert len(set(values.tolist())) == 4 and values.max() < 6 and values.dtype == np.int32
    assert sorted(draw(InitKind("permutation"), array, (2, 3),
                       np.random.default_rng(0)).ravel().tolist()) == list(range(6))
    with pytest.raises(UsageError, match="6 distinct values below 4 do not exist"):
        random_inputs(kernel, {"n": 6, "m": 4}, init={"bucket": InitKind("permutation")})
    with pytest.raises(UsageError, match="a permutation fills an int index array"):
        check_init(kernel, {"w": InitKind("permutation")})


REFUSED = [
    ("a write through an index array without the pragma", """\
void k(int n, int perm[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = x[i];
}
""", (3, 7), "say so with #pragma polyad injective(perm) before the kernel"),
    ("a pragma naming an unknown name", """\
#pragma polyad injective(perm, prem)
void k(int n, int perm[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = x[i];
}
""", (1, 32), "injective(prem): k has no parameter prem"),
    ("a pragma naming a double array", """\
void k(int n, int perm[n], double x[n], double y[n]) {
  #pragma polyad injective( x )
  for (int i = 0; i < n; i++)
    y[perm[i]] = x[i];
}
""", (2, 29), "injective(x): x is a double array, not an int array parameter"),
    ("a pragma naming a size", """\
#pragma polyad injective(n)
void k(int n, int perm[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = x[i];
}
""", (1, 26), "injective(n): n is a size parameter"),
    ("a pragma without names", """\
#pragma polyad injective perm
void k(int n, int perm[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = x[i];
}
""", (1, 1), "invalid #pragma polyad injective"),
    ("a scatter whose reverse sweep needs the value it overwrites", """\
#pragma polyad injective(perm)
void k(int n, int perm[n], double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = y[perm[i]] * x[i];
}
""", (4, 18), "taping y[perm[i]], read through an index array and overwritten"),
    ("a gather from a scattered array", """\
#pragma polyad injective(perm)
void k(int n, int perm[n], double x[n], double y[n], double z[n]) {
  for (int i = 0; i < n; i++)
    y[perm[i]] = x[i];
  for (int i = 0; i < n; i++)
    z[i] = y[perm[i]];
}
""", (6, 12), "gather y[perm[i]] from y, which the kernel writes"),
]


@pytest.mark.parametrize("name,text,place,phrase", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_with_its_place(tmp_path, name, text, place, phrase):
    if "taping" in phrase:  # found when the tape is planned, from the gradient
        path = tmp_path / "bad.c"
        path.write_text(text)
        with pytest.raises(KernelError) as error:
            polyad.grad(polyad.parse(path))
        location = error.value.location
        assert (location.line, location.col) == place and phrase in str(error.value)
        return
    assert_refused_at(tmp_path, text, place, phrase)


def test_the_refusals_on_the_command_line_exit_with_2(tmp_path):
    path = tmp_path / "bad.c"
    path.write_text(REFUSED[5][1])
    done = _cli("grad", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{path}:4:18: unsupported taping y[perm[i]]" in done.stderr
