"""Bad kernels: each holds one construct polyad refuses, and the error must
name it at its exact place in the file.

Every case is a small C text in which ``@`` marks the first character of the
offending construct (the marker is removed before the text is written to
``bad.c``). The error must carry that line and column of the *original* text,
even when a macro, a comment or odd spacing precedes the construct on the same
line (the frontend maps positions back through ``cc -E``), and its message
must contain a phrase naming the construct.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import polyad
from polyad.errors import KernelError, PolyadError

ROOT = Path(__file__).resolve().parents[2]
MARK = "@"


def located(text: str) -> tuple[str, int, int]:
    """The text without its marker, and the marker's 1-based line and column."""
    assert text.count(MARK) == 1, "a case marks exactly one construct"
    before = text[:text.index(MARK)]
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return text.replace(MARK, ""), line, col


def parse_text(tmp_path: Path, text: str, function: str | None = None):
    """Write ``text`` to ``bad.c`` and parse it from there."""
    path = tmp_path / "bad.c"
    path.write_text(text)
    return polyad.parse(str(path), function=function)


# (id, C text with the marker, a phrase the message must contain)
CASES = [
    # --- control flow ------------------------------------------------------
    ("while", """\
void f(int n, double x[n]) {
  int i;
#pragma scop
  x[0] = 0.0;
  @while (i < n) x[i] = 0.0;
#pragma endscop
}
""", "while loop"),
    ("do-while", """\
void f(int n, double x[n]) {
#pragma scop
  for (int i = 0; i < n; i++) {
    @do { x[i] = 0.0; } while (0);
  }
#pragma endscop
}
""", "do-while loop"),
    ("break", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++) {
    x[i] = 1.0;
    if (i > 3) @break;
  }
}
""", "break"),
    ("continue", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++) {
    if (i == 2) @continue;
    x[i] = 1.0;
  }
}
""", "continue"),
    ("goto", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++) {
    x[i] = 1.0;
    @goto done;
  }
done:
  ;
}
""", "goto"),
    ("return-in-region", """\
void f(int n, double x[n]) {
#pragma scop
  for (int i = 0; i < n; i++) {
    x[i] = 1.0;
  }
  @return;
#pragma endscop
}
""", "return inside the modelled region"),
    ("return-in-loop", """\
double f(int n, double x[n]) {
  double s = 0.0;
  for (int i = 0; i < n; i++) {
    s += x[i];
    @return s;
  }
  return s;
}
""", "return inside the modelled region"),
    ("early-return", """\
double f(int n, double x[n]) {
  double s = x[0];
  @return s;
  s = s * 2.0;
  return s;
}
""", "return inside the modelled region"),
    ("double-without-final-return", """\
double f(int n, double x[n], double y[n]) {
  @for (int i = 0; i < n; i++)
    y[i] = x[i];
}
""", "function f returning double without a final return"),
    ("int-result", """\
@int f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = 1.0;
  return 0;
}
""", "function f returning int"),
    ("switch-fall-through", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    switch (i % 3) { case 0: x[i] = 1.0; @case 1: x[i] += 2.0; break; }
}
""", "fall-through into this case"),
    ("switch-break-inside", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    switch (i % 3) { case 0: if (x[i] > 0.0) @break; x[i] = 1.0; break; }
}
""", "break inside a case other than at its end"),
    ("data-dependent-break", """\
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++) {
    if (x[i] > 0.0) @break;
    y[i] = x[i];
  }
}
""", "break"),
    ("data-dependent-call", """\
void g(double);
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    if (x[i] > 0.0) { x[i] = 1.0; @g(x[i]); }
}
""", "call to g(), which is declared but not defined in this file"),
    ("int-local-from-data", """\
void f(int n, double x[n], int idx[n]) {
  for (int i = 0; i < n; i++) {
    int k = @idx[i];
    x[i] = 2.0 * x[i];
  }
}
""", "non-affine int initialiser: it reads the array element idx[i]"),
    ("unsigned-local-negative", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++) {
    unsigned k = @i - 1;
    x[i] = 2.0 * x[i];
  }
}
""", "unsigned int local k with a value that may be negative"),
    ("int-local-scaled", """\
void f(int n, double x[n], double y[n]) {
  int k = 1;
  for (int i = 0; i < n; i++) {
    y[i] = x[i];
    @k *= 2;
  }
}
""", "change of int local k by k *= 2"),
    ("induction-triangular", """\
void f(int n, int nn, double x[n][n], double y[nn]) {
  int k = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++) {
      y[k] = x[i][j];
      @k++;
    }
}
""", "int local k whose value is not affine: each iteration of the loop over i (line 3) "
     "changes it by i, which grows with i (a triangular nest)"),
    ("induction-product", """\
void f(int n, int m, int nm, double x[n][m], double y[nm]) {
  int k = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++) {
      y[k] = x[i][j];
      @k += 1;
    }
}
""", "changes it by m, which is not a constant: k would be a product (m) * i; "
     "compute the index from the iterators instead (i * M + j for a constant M), "
     "or fix m with -D m=VALUE"),
    ("induction-under-data", """\
void f(int n, double x[n], double y[n]) {
  int k = 0;
  for (int i = 0; i < n; i++)
    if (x[i] > 0.0) { y[k] = x[i]; @k++; }
}
""", "change of int local k under a condition on data (x[i] > 0.0)"),
    ("induction-reset-sometimes", """\
void f(int n, double x[n], double y[n]) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    y[k] = x[i];
    if (i % 2 == 0) @k = i;
  }
}
""", "int local k given a new value in only some iterations of the loop over i"),
    ("induction-in-own-bound", """\
void f(int n, double x[n], double y[n]) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < @k; j++) { y[j] = x[i]; k++; }
  }
}
""", "use of int local k in a loop condition inside a loop that changes it"),
    ("induction-without-value", """\
void f(int n, double x[n], double y[n]) {
  int k;
  for (int i = 0; i < n; i++) {
    y[i] = x[i];
    @k++;
  }
}
""", "change of int local k before it has a value"),
    ("argmax-used-per-row", """\
void f(int n, int m, double A[n][m], double y[n]) {
  int k = 0;
  for (int r = 0; r < n; r++) {
    k = 0;
    for (int j = 1; j < m; j++)
      if (A[r][j] > A[r][k]) k = j;
    y[r] = A[r][@k];
  }
}
""", "use of k, found by a search, whose value is overwritten later"),
    ("argmax-index-outside", """\
void f(int n, double a[n], double x[n], double y[1]) {
  int k = 0;
  for (int i = 0; i < n; i++)
    if (a[i] > 0.5) k = @i + 1;
  y[0] = x[k];
}
""", "value i + 1 of k, which may be outside x (it subscripts x[k] at line 5)"),
    ("argmax-index-arithmetic", """\
void f(int n, double a[n], double x[n], double y[1]) {
  int k = 0;
  for (int i = 0; i < n; i++)
    if (a[i] > 0.5) k = i;
  y[0] = x[@k + 1];
}
""", "use of k, an index found by a search, in a subscript"),
    ("argmax-index-from-data", """\
void f(int n, int idx[n], double a[n], double x[n], double y[1]) {
  int k = 0;
  for (int i = 0; i < n; i++)
    if (a[i] > 0.5) k = @idx[i];
  y[0] = x[k];
}
""", "non-affine value of the index k: it reads the array element idx[i]"),
    # --- loops ---------------------------------------------------------------
    ("non-affine-bound", """\
void f(int n, int m, double x[n][m]) {
  for (int i = 0; i < @n*m; i++)
    x[0][0] += 1.0;
}
""", "product of two variables"),
    ("bound-double-scalar", """\
void f(int n, double s, double x[n]) {
  for (int i = 0; i < @s; i++)
    x[i] = 0.0;
}
""", "'s' is a double scalar"),
    ("bound-division-by-variable", """\
void f(int n, int m, double x[n]) {
  for (int i = 0; i < @n / m; i++)
    x[i] = 0.0;
}
""", "division by a variable"),
    ("condition-not-monotone", """\
void f(int n, double x[10]) {
  for (int i = 0; @i != 5; i++)
    x[i] = 0.0;
}
""", "loop condition i != 5"),
    ("unbounded-loop", """\
void f(int n, double x[n]) {
  @for (int i = 0; i >= 0; i++)
    x[0] += 1.0;
}
""", "loop over i without a bound"),
    ("loop-without-condition", """\
void f(int n, double x[n]) {
  @for (int i = 0; ; i++)
    x[0] += 1.0;
}
""", "for loop without condition"),
    ("variable-step", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; @i += n)
    x[i] = 0.0;
}
""", "loop increment i += n"),
    ("same-iterator-nested", """\
void f(int n, double x[n][n]) {
  int i;
  for (i = 0; i < n; i++)
    @for (i = 0; i < n; i++)
      x[i][i] = 0.0;
}
""", "loop over i inside a loop over i"),
    ("double-iterator", """\
void f(int n, double x[n]) {
  for (@double t = 0; t < n; t++)
    x[0] += 1.0;
}
""", "loop iterator t of type double"),
    ("non-affine-lower-bound", """\
void f(int n, int m, double x[n]) {
  for (int i = @n % m; i < n; i++)
    x[i] = 0.0;
}
""", "remainder by a variable"),
    ("bound-reads-array", """\
void f(int n, int len[1], double x[n]) {
  for (int i = 0; i < @len[0]; i++)
    x[i] = 0.0;
}
""", "array element len[0]"),
    # --- subscripts and bounds of accesses ------------------------------------
    ("subscript-product", """\
void f(int n, double A[n]) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      A[@i*j] = 0.0;
}
""", "product of two variables"),
    ("subscript-indirect", """\
void f(int n, int B[n], double A[n]) {
  for (int i = 0; i < n; i++)
    A[@B[i]] = 1.0;
}
""", "write through the index array B (A[B[i]])"),
    ("too-few-subscripts", """\
void f(int n, double A[n][n]) {
  for (int i = 0; i < n; i++)
    @A[i] = 1.0;
}
""", "A[i] with 1 subscript for the 2-d array A"),
    ("too-many-subscripts", """\
void f(int n, double A[n], double s) {
  for (int i = 0; i < n; i++)
    A[i] = @A[i][0] * s;
}
""", "A[i][0] with 2 subscripts for the 1-d array A"),
    ("out-of-bounds", """\
void f(int n, double A[n]) {
  for (int i = 0; i <= n; i++)
    @A[i] = 0.0;
}
""", "instance S0[i = n] touches A[n]"),
    ("out-of-bounds-read", """\
void f(int n, double A[n], double B[n]) {
  for (int i = 0; i < n; i++)
    B[i] = @A[i + 1];
}
""", "instance S0[i = n - 1] touches A[n]"),
    ("iterator-after-loop", """\
void f(int n, double x[n]) {
  int i;
  for (i = 0; i < n; i++)
    x[i] = 0.0;
  x[@i - 1] = 1.0;
}
""", "use of loop iterator i outside its loop (in a subscript)"),
    ("local-int-bound", """\
void f(int n, double x[n]) {
  int m;
  for (int i = 0; i < @m; i++)
    x[i] = 0.0;
}
""", "int local m"),
    # --- declarations ----------------------------------------------------------
    ("pointer-parameter", """\
void f(int n, @double *x) {
  for (int i = 0; i < n; i++)
    x[i] = 0.0;
}
""", "pointer x"),
    ("pointer-beyond-one-element", """\
void f(int n, double x[n], @double *out) {
  out[0] = 0.0;
  for (int i = 0; i < n; i++)
    out[1] += x[i];
}
""", "pointer out"),
    ("pointer-moved", """\
void f(int n, double x[n], @double *out) {
  for (int i = 0; i < n; i++)
    *(out + 1) += x[i];
}
""", "pointer out"),
    ("array-without-extent", """\
void f(int n, @double A[]) {
  for (int i = 0; i < n; i++)
    A[i] = 0.0;
}
""", "array parameter A without extent"),
    ("long-double-variable", """\
void f(int n, double x[n]) {
  @long double t;
  for (int i = 0; i < n; i++) {
    t = 2.0;
    x[i] = t;
  }
}
""", "long double variable t"),
    ("float16-array", """\
void f(int n, @_Float16 x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = x[i] * 0.5f;
}
""", "unsupported type _Float16"),
    ("float16-local", """\
void f(int n, float x[n]) {
  @__fp16 t;
  for (int i = 0; i < n; i++)
    x[i] = x[i] * 0.5f;
}
""", "unsupported type __fp16"),
    ("struct", """\
struct pair { double a, b; };
void f(int n, double x[n], @struct pair p) {
  for (int i = 0; i < n; i++)
    x[i] = 0.0;
}
""", "struct"),
    ("non-affine-extent", """\
void f(int n, int m, double x[@n * m]) {
  for (int i = 0; i < n; i++)
    x[i] = 0.0;
}
""", "product of two variables"),
    ("five-dimensions", """\
void f(int n, @double x[n][n][n][n][n]) {
  for (int i = 0; i < n; i++)
    x[i][i][i][i][i] = 0.0;
}
""", "array x of 5 dimensions"),
    ("local-pointer", """\
void f(int n, double x[n]) {
  @double *p;
  for (int i = 0; i < n; i++)
    x[i] = 0.0;
}
""", "pointer p"),
    ("variadic", """\
void f(int n, double x[n], @...) {
  for (int i = 0; i < n; i++)
    x[i] = 0.0;
}
""", "variadic function"),
    # --- statements and assignments ---------------------------------------------
    ("call-statement", """\
void g(double v);
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    @g(x[i]);
}
""", "call to g(), which is declared but not defined in this file"),
    ("assign-iterator", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++) {
    x[i] = 0.0;
    @i = i + 1;
  }
}
""", "assignment to loop iterator i"),
    ("assign-size", """\
void f(int n, double x[n]) {
  @n = 3;
  for (int i = 0; i < n; i++)
    x[i] = 0.0;
}
""", "assignment to size parameter n"),
    ("increment-double", """\
void f(int n, double x[n]) {
  double t;
  t = 0.0;
  for (int i = 0; i < n; i++) {
    @t++;
    x[i] = t;
  }
}
""", "increment statement t++"),
    ("comma-expression", """\
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    @x[i] = 1.0, y[i] = 2.0;
}
""", "comma expression"),
    ("undeclared", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @y;
}
""", "use of undeclared y"),
    ("uninitialised-local", """\
void f(int n, double x[n]) {
  double t;
  for (int i = 0; i < n; i++)
    x[i] = @t * 2.0;
}
""", "read of t before any write"),
    ("modulo-assignment", """\
void f(int n, int x[n]) {
  for (int i = 0; i < n; i++)
    @x[i] %= 3;
}
""", "assignment operator %="),
    ("statement-after-endscop", """\
void f(int n, double x[n]) {
#pragma scop
  for (int i = 0; i < n; i++)
    x[i] = 0.0;
#pragma endscop
  @x[0] = 1.0;
}
""", "statement after #pragma endscop"),
    ("local-array-initialiser", """\
void f(int n, double x[n]) {
  double z[2] = @{1.0, 2.0};
  for (int i = 0; i < n; i++)
    x[i] = z[0];
}
""", "initialiser of local array z"),
    ("double-to-int-data", """\
void f(int n, int k[n], double x[n]) {
  for (int i = 0; i < n; i++)
    @k[i] = x[i];
}
""", "double value assigned to int data k"),
    # --- expressions --------------------------------------------------------------
    ("pointer-arithmetic", """\
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = *(@x + y);
}
""", "sum of two pointers (x + y)"),
    ("address-of", """\
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = @&x[i] - &x[0];
}
""", "address &x[i] as a value"),
    ("unknown-call", """\
double g(double v);
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = 2.0 * @g(x[i]);
}
""", "call to g()"),
    ("declared-helper-call", """\
double clip(double a);  /* defined in another file */
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = @clip(x[i]);
}
""", "call to clip()"),
    ("min-function-on-values", """\
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = @min(x[i], 0.0);
}
""", "call to min()"),
    ("integer-division", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @i / n;
}
""", "integer division in a value expression"),
    ("long-double-literal", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = x[i] * @0.5L;
}
""", "long double literal 0.5L"),
    ("sizeof", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @sizeof(double);
}
""", "sizeof"),
    ("cast-to-int", """\
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = @(int)x[i];
}
""", "cast to int"),
    ("comparison-value", """\
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = @x[i] > 0.0;
}
""", "operator > in a value expression"),
    ("assignment-in-expression", """\
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = 1.0 + (@x[i] = 2.0);
}
""", "assignment inside an expression"),
    ("math-arity", """\
#include <math.h>
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @pow(x[i]);
}
""", "call to pow() with 1 argument"),
    ("modulo-doubles", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @x[i] % 2.0;
}
""", "operator % on floating-point values"),
    ("string-literal", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @"one"[0];
}
""", "string"),
    ("syntax-error", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @;
}
""", "C syntax: invalid expression"),
    ("syntax-error-missing-semicolon", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = 1.0
@}
""", "C syntax: unexpected '}'"),
    ("comma-loop-header", """\
void f(int n, double x[n]) {
  int i, j;
  for (@i = 0, j = 0; i < n; i++)
    x[i] = 1.0;
}
""", "loop header i = 0, j = 0"),
    ("global-int", """\
int G;
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @G * x[i];
}
""", "use of the global int G"),
    ("global-const", """\
const double G[4] = {1.0, 2.0, 3.0, 4.0};
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = @G[i % 4];
}
""", "use of the const global G"),
    ("global-scalar-written", """\
double G;
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    @G = x[i];
}
""", "assignment to the global scalar G"),
    ("enum-constant-bound", """\
enum { LEN = 8 };
void f(int n, double x[n]) {
  for (int i = 0; i < @LEN; i++)
    x[i] = 1.0;
}
""", "use of the enum constant LEN in a loop condition"),
    ("undeclared-in-bound", """\
void f(int n, double x[n]) {
  for (int i = 0; i < @len; i++)
    x[i] = 1.0;
}
""", "use of undeclared len in a loop condition"),
    ("int-local-in-if", """\
void f(int n, double x[n]) {
  int lim;
  for (int i = 0; i < n; i++)
    if (i < @lim)
      x[i] = 1.0;
}
""", "use of int local lim in an if condition"),
    ("end-of-file", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = 1.0;@
""", "C syntax: unexpected end of file"),
    ("second-scop", """\
void f(int n, double x[n]) {
#pragma scop
  x[0] = 1.0;
#pragma endscop
@#pragma scop
  x[1] = 1.0;
#pragma endscop
}
""", "second #pragma scop"),
    ("scop-without-end", """\
void f(int n, double x[n]) {
  @#pragma scop
  for (int i = 0; i < n; i++)
    x[i] = 1.0;
}
""", "#pragma scop without #pragma endscop"),
    ("scop-inside-loop", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++) {
@#pragma scop
    x[i] = 1.0;
#pragma endscop
  }
}
""", "#pragma scop inside a block"),
    ("shadowing-local", """\
void f(int n, double x[n]) {
  double t;
  t = 1.0;
  for (int i = 0; i < n; i++) {
    @double t = x[i];
    x[i] = 2.0 * t;
  }
}
""", "second declaration of t"),
    ("redeclared-with-other-size", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++) {
    double z[2];
    z[0] = x[i];
    x[i] = z[0];
  }
  for (int i = 0; i < n; i++) {
    @double z[3];
    z[0] = x[i];
    x[i] = z[0];
  }
}
""", "second declaration of z"),
    ("local-array-extent-iterator", """\
void f(int n, double x[n]) {
  for (int i = 0; i < n; i++) {
    double z[@i + 1];
    z[0] = x[i];
    x[i] = z[0];
  }
}
""", "array extent using i"),
    # --- positions behind macros, comments and odd spacing -----------------------
    ("after-comment", """\
void f(int n, double x[n]) {
  int i = 0;
  /* reset */ x[0] = 0.0; /* then */ @while (i < n) i++;
}
""", "while loop"),
    ("after-macro", """\
#define N n
#define ZERO 0.0
void f(int n, double A[n]) {
  for (int i = 0; i < N; i++)
    A[N - 1 - i] = ZERO * A[@i*i] + ZERO;
}
""", "product of two variables"),
    ("after-macro-same-token", """\
#define N n
#define TWICE(e) ((e) + (e))
void f(int n, int m, double A[N]) {
  for (int i = 0; i < N; i++)
    A[i] = TWICE(A[i]) + A[@i*m];
}
""", "product of two variables"),
    ("odd-spacing", """\
void f(int n, double A[n][n]) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      A [i]   [j]  =   A [ i ][ j ]  *   @sizeof ( double ) ;
}
""", "sizeof"),
    ("comment-inside-expression", """\
void f(int n, double A[n][n]) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      A[i][j] = /* i*j */ A[i /* row */][@i * j /* col */];
}
""", "product of two variables"),
    ("tab-indent", "void f(int n, double x[n]) {\n\tfor (int i = 0; i < n; i++)\n\t\t"
     "x[i] =\t@0.5L;\n}\n", "long double literal 0.5L"),
    ("unsigned-count-down-past-zero", """\
#include <stddef.h>
void f(size_t n, double x[n]) {
  @for (size_t i = n - 1; i >= 0; i--)
    x[i] = 2.0 * x[i];
}
""", "unsigned loop iterator i counting down past 0"),
    ("unsigned-start-below-zero", """\
void f(unsigned n, double x[n]) {
  @for (unsigned i = n - 2; i < n; i++)
    x[i] = 2.0 * x[i];
}
""", "unsigned loop iterator i starting below 0 where n = 1"),
]


@pytest.mark.parametrize("text, phrase", [(t, p) for _, t, p in CASES],
                         ids=[c[0] for c in CASES])
def test_refused_at_its_place(tmp_path, text, phrase):
    source, line, col = located(text)
    with pytest.raises(KernelError) as caught:
        parse_text(tmp_path, source)
    error = caught.value
    assert error.location is not None, str(error)
    assert (error.location.file.endswith("bad.c"), error.location.line,
            error.location.col) == (True, line, col), str(error)
    message = str(error)
    assert phrase in message
    assert message.startswith(f"{error.location}: ")
    assert "\n" not in message
    assert error.hint, f"no advice given: {message}"


def test_enough_cases():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


def test_message_style(tmp_path):
    text = "void f(int n, double x[n]) {\n  int i = 0;\n  while (i < n) i++;\n}\n"
    with pytest.raises(KernelError) as caught:
        parse_text(tmp_path, text)
    message = str(caught.value)
    assert message.endswith("bad.c:3:3: unsupported while loop; "
                            "write a for loop with affine bounds")
    assert caught.value.construct == "while loop"


def test_missing_header_is_one_polyad_error(tmp_path):
    text = '#include "nowhere.h"\nvoid f(int n, double x[n]) { x[0] = 1.0; }\n'
    with pytest.raises(PolyadError) as caught:
        parse_text(tmp_path, text)
    assert "bad.c:1" in str(caught.value) and "nowhere.h" in str(caught.value)


def test_function_choice_is_a_usage_error(tmp_path):
    text = ("void f(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] = 1.0; }\n"
            "void g(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] = 2.0; }\n")
    with pytest.raises(PolyadError, match="--function"):
        parse_text(tmp_path, text)
    with pytest.raises(PolyadError, match="no function 'h'"):
        parse_text(tmp_path, text, function="h")
    assert parse_text(tmp_path, text, function="g").name == "g"


# --- the command line: one line on stderr, exit code 2 ---------------------------
CLI_CASES = ["while", "subscript-indirect", "out-of-bounds", "after-macro",
             "syntax-error", "pointer-parameter", "return-in-loop"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_reports_one_line(tmp_path, name):
    text = next(t for n, t, _ in CASES if n == name)
    source, line, col = located(text)
    path = tmp_path / "bad.c"
    path.write_text(source)
    done = subprocess.run([sys.executable, "-m", "polyad.cli", "show", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=_env())
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("polyad: error: ")
    assert f"bad.c:{line}:{col}" in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env
