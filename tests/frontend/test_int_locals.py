"""Int locals with an affine value (`int k = 5;`, `int ip = i + 1;`) stand
for that value wherever they are used: bounds, subscripts, conditions and
values. Oracles: access relations and domains written by hand from C's
semantics (isl is_equal), the original C compiled by the system compiler
(primal, bitwise) and `polyad check`'s gradient oracles (interpreter, finite
differences, dot product)."""

from __future__ import annotations

import islpy as isl

from polyad.check import verify
from tests.frontend.test_accepts import assert_primal, parse_file

TEMPORARIES = """
void k(int n, double x[n], double y[n][n])
{
  int k = 2;
  int h = n / 2;
  for (int i = 0; i < n - 1; i++) {
    int ip = i + 1;
    for (int j = 0; j < h; j++) {
      int jj = j + h;
      if (jj > ip)
        y[i][jj] = x[ip] * k + y[i][j];
    }
    x[i] = x[ip] * (double)ip;
  }
}
"""


def test_affine_temporaries_are_substituted(tmp_path):
    kernel = parse_file(tmp_path, TEMPORARIES)
    first, second = kernel.statements
    assert first.domain.is_equal(isl.Set(
        "[n] -> { S0[i, j] : 0 <= i <= n - 2 and 0 <= j and 2j <= n - 2 "
        "and j + floor(n/2) > i + 1 }"))
    assert first.write.relation.is_equal(isl.Map(
        "[n] -> { S0[i, j] -> y[i, j + floor(n/2)] : 0 <= i <= n - 2 and 0 <= j "
        "and 2j <= n - 2 and j + floor(n/2) > i + 1 }"))
    reads = {a.text: a.relation for a in second.reads}
    assert reads["x[ip]"].is_equal(isl.Map("[n] -> { S1[i] -> x[i + 1] : 0 <= i <= n - 2 }"))
    assert_primal(kernel, {"n": 7}, {"n": 10})


def test_gradient_through_int_temporaries(tmp_path):
    kernel = parse_file(tmp_path, TEMPORARIES)
    result = verify.check_gradient(kernel, {"n": 8})
    verdicts = {c["oracle"]: c["ok"] for c in result["checks"]}
    assert len(verdicts) == 4 and all(verdicts.values()), result["checks"]


def test_constant_bound_redeclared_in_a_sibling_block_and_reused_as_iterator(tmp_path):
    kernel = parse_file(tmp_path, """
void k(int n, double x[n], double z[5])
{
  int m = 3;
  for (int i = 0; i < m; i++) { int s = 1; z[i + s] = z[i]; }
  for (int i = 0; i < m; i++) { int s = 2; z[i + s] += 1.0; }
  for (m = 0; m < n; m++)
    x[m] = 2.0 * x[m];
}
""")
    writes = [s.write.relation for s in kernel.statements]
    assert writes[0].is_equal(isl.Map("[n] -> { S0[i] -> z[i + 1] : 0 <= i < 3 }"))
    assert writes[1].is_equal(isl.Map("[n] -> { S1[i] -> z[i + 2] : 0 <= i < 3 }"))
    assert writes[2].is_equal(isl.Map("[n] -> { S2[m] -> x[m] : 0 <= m < n }"))
    assert_primal(kernel, {"n": 6})
