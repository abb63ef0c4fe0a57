"""Helper functions of the kernel's file (inlined) and pointers into array
parameters (issue 15, item 4).

Oracles: ``verify.check_gradient`` (the original C, helpers, pointers and
all, compiled by the system compiler, its primal compared bitwise; the
reverse-mode interpreter; central finite differences of the original C;
the dot-product test); numpy for the values of a small kernel; the CLI's
exit code and stderr for a refusal. Before this item, every accepted kernel
here was refused (a file with two functions needed --function, and then the
call, ``double *p`` or ``*(a + i)`` was "unsupported").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import polyad
from polyad.check import verify
from polyad.codegen.compile import compile_original
from tests.conftest import assert_refused_at

ROOT = Path(__file__).resolve().parents[2]
ORACLES = ("primal vs original C", "interpreter", "dot product", "finite differences")

HELPERS = """\
#include <math.h>
double W[8];

/* one return: substituted where it is called */
static double sq(double x) { return x * x; }
static double scaled(double a, int i) { return a * i; }
static int mirror(int n, int i) { return n - 1 - i; }
static double weight(int i) { return W[i]; }

/* statements: inlined before the statement that calls it; its locals
   (s, j) are named as the kernel's are */
static double dot(int n, const double *u, const double v[n]) {
  double s = 0.0;
  for (int j = 0; j < n; j++)
    s += u[j] * v[j];
  return s;
}

/* writes through its array argument: called as a statement */
static void axpy(int n, double a, const double *x, double *y) {
  for (int j = 0; j < n; j++)
    y[j] += a * tanh(x[j]);
}

/* a helper calling helpers */
static double norm2(int n, const double *v) {
  double t = dot(n, v, v);
  return sqrt(t + sq(v[0]));
}

void k(int n, int m, double alpha, double A[n][m], double x[m], double y[n],
       double z[n]) {
  double s = 0.5;
  for (int i = 0; i < n; i++) {
    y[i] = sq(x[mirror(m, i % 1)]) + scaled(alpha, i) + weight(i) * s;
    z[i] = dot(m, A[i], x) - norm2(m, A[i]);
  }
  for (int j = 0; j < n; j++)
    axpy(m, y[j], x, A[j]);
}
"""

POINTERS = """\
#pragma polyad assume n >= 3
void p(int n, int m, double a[n], double A[n][m], double y[n], double *out) {
  double *first = &a[1];
  double *shifted = a + 2;
  for (int i = 0; i < n - 2; i++) {
    double *row = A[i];
    y[i] = first[i] * shifted[0] + *(a + i) + *first;
    for (int j = 0; j < m; j++)
      row[j] = row[j] * first[i];
  }
  *out = *(y + 1);
}
"""

LOSS = """\
static double dot(int n, const double *u, const double *v) {
  double s = 0.0;
  for (int i = 0; i < n; i++)
    s += u[i] * v[i];
  return s;
}

double loss(int n, const double x[n], const double w[n]) {
  return dot(n, x, w) + dot(n - 1, &x[1], w);
}
"""


def _all_ok(result):
    names = " | ".join(c["oracle"] for c in result["checks"])
    assert all(oracle in names for oracle in ORACLES), names
    assert all(c["ok"] for c in result["checks"]), result["checks"]


@pytest.mark.parametrize("sizes", [{"n": 5, "m": 4}, {"n": 8, "m": 3}])
def test_helpers_inlined_pass_every_oracle(sizes):
    kernel = polyad.parse(HELPERS)
    assert kernel.name == "k"  # the one function no other calls
    assert kernel.source.globals == ("W",)  # used by a helper only
    _all_ok(verify.check_gradient(kernel, sizes))


def test_inlined_locals_take_fresh_names():
    """The helper's s and j are renamed (dot1_s, axpy1_j): the kernel's s
    and j keep theirs; a one-return helper leaves no local."""
    kernel = polyad.parse(HELPERS)
    written = {s.write.array for s in kernel.statements}
    assert {"s", "dot1_s", "dot2_s", "norm21_t"} <= written
    assert not any(name.startswith("sq") for name in written)
    reads = {a.text for s in kernel.statements for a in s.reads}
    assert "A[i][dot1_j]" in reads and "A[j][axpy1_j]" in reads


def test_pointers_lowered_pass_every_oracle():
    kernel = polyad.parse(POINTERS)
    reads = [[a.text for a in s.reads] for s in kernel.statements]
    assert reads[0] == ["a[1 + i]", "a[2]", "a[i]", "a[1]"]
    assert reads[1] == ["A[i][j]", "a[1 + i]"]
    _all_ok(verify.check_gradient(kernel, {"n": 6, "m": 4}))


def test_a_returned_loss_through_a_helper_and_a_pointer():
    """Oracle: numpy for the value, check_gradient for the gradient."""
    kernel = polyad.parse(LOSS)
    original, _ = compile_original(kernel)
    rng = np.random.default_rng(1)
    x, w = rng.random(7), rng.random(7)
    out = original(n=7, x=x, w=w, result=np.zeros(1))
    assert np.isclose(out["result"][0], x @ w + x[1:] @ w[:6], rtol=1e-14)
    _all_ok(verify.check_gradient(kernel, {"n": 7}))


REFUSED = [
    ("recursion", """\
static double f(double x, int d) { return d > 0 ? f(x, d - 1) : x; }
void k(int n, double y[n]) {
  for (int i = 0; i < n; i++) y[i] = f(y[i], 2);
}
""", (1, 51), "recursive call to f (f -> f)"),
    ("mutual recursion", """\
static double g(double x);
static double f(double x) { double t = g(x); return t; }
static double g(double x) { double t = f(x); return t; }
void k(int n, double y[n]) {
  for (int i = 0; i < n; i++) y[i] = f(y[i]);
}
""", (3, 40), "recursive call to f (f -> g -> f)"),
    ("early return", """\
static double f(double x) {
  if (x > 0.0) return x;
  return -x;
}
void k(int n, double y[n]) {
  for (int i = 0; i < n; i++) y[i] = f(y[i]);
}
""", (2, 16), "return before the end of function f"),
    ("not defined", """\
double f(double x);
void k(int n, double y[n]) {
  for (int i = 0; i < n; i++) y[i] = f(y[i]);
}
""", (3, 38), "call to f(), which is declared but not defined in this file"),
    ("address taken", """\
static double f(double x) { return x; }
void k(int n, double y[n]) {
  double (*g)(double) = f;
  for (int i = 0; i < n; i++) y[i] = 2.0 * y[i];
}
""", (3, 25), "use of the function f other than by a call"),
    ("variadic", """\
static double f(double x, ...) { return x; }
void k(int n, double y[n]) {
  for (int i = 0; i < n; i++) y[i] = f(y[i], 1);
}
""", (3, 38), "call to the variadic function f"),
    ("statements under a condition", """\
static double f(double x) { double t = x * x; return t; }
void k(int n, double y[n]) {
  for (int i = 0; i < n; i++) y[i] = y[i] > 0.0 ? f(y[i]) : 0.0;
}
""", (3, 51), "call to f under a condition"),
    ("writer in an expression", """\
static double f(double v[], int i) { v[i] = 1.0; return 2.0; }
void k(int n, double y[n], double z[n]) {
  for (int i = 0; i < n; i++) z[i] = f(y, i) + y[i];
}
""", (3, 38), "call to f, which writes arrays, inside an expression"),
    ("static local", """\
static double f(double x) { static double c = 0.0; c += x; return c; }
void k(int n, double y[n]) {
  for (int i = 0; i < n; i++) y[i] = f(y[i]);
}
""", (1, 29), "static local c of function f"),
    ("pointer parameter moved", """\
static void f(double *v, int n) { for (int j = 0; j < n; j++) { *v = 1.0; v++; } }
void k(int n, double y[n]) {
  f(y, n);
}
""", (1, 15), "pointer parameter v of function f moved in its body"),
    ("pointer moved in a loop", """\
void k(int n, double a[n], double y[n]) {
  double *p = a;
  for (int i = 0; i < n; i++) {
    y[i] = *p;
    p++;
  }
}
""", (5, 5), "moving the pointer p (p++)"),
    ("two arrays", """\
void k(int n, double a[n], double b[n], double y[n]) {
  double *p = n > 2 ? a : b;
  for (int i = 0; i < n; i++) y[i] = p[i];
}
""", (2, 15), "pointer (n > 2) ? (a) : (b) that may point into two arrays"),
    ("non-affine arithmetic", """\
void k(int n, double a[n], double y[n]) {
  for (int i = 0; i < n; i++) {
    double *p = a + i * i;
    y[i] = *p;
  }
}
""", (3, 21), "non-affine subscript (product of two variables)"),
    ("pointer stored", """\
void k(int n, double a[n], double y[n]) {
  double *P[2];
  for (int i = 0; i < n; i++) y[i] = a[i];
}
""", (2, 3), "array of pointers P"),
    ("cast", """\
void k(int n, double a[n], double y[n]) {
  double *p = (double *) a;
  for (int i = 0; i < n; i++) y[i] = p[i];
}
""", (2, 15), "cast (double *) a"),
    ("global hidden", """\
double W[4];
static double w(int i) { return W[i]; }
void k(int n, double W[n], double y[n]) {
  for (int i = 0; i < n; i++) y[i] = w(i);
}
""", (4, 38), "call to w, which uses the global W that the kernel's own W hides"),
]


@pytest.mark.parametrize("name, text, place, phrase", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_with_its_place(tmp_path, name, text, place, phrase):
    assert_refused_at(tmp_path, text, place, phrase)


def test_the_cli_refuses_with_exit_code_2(tmp_path):
    path = tmp_path / "bad.c"
    path.write_text(REFUSED[0][1])
    done = subprocess.run([sys.executable, "-m", "polyad.cli", "check", str(path),
                           "-D", "n=4"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "bad.c:1:51: unsupported recursive call to f (f -> f)" in done.stderr
    assert "Traceback" not in done.stderr
