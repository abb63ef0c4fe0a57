"""The statements if-conversion makes of an `if` on data, read from the
model (oracle: the forms and iteration domains written by hand from C's
semantics; the gradients are checked in tests/polyad/test_data_branches.py)."""

from __future__ import annotations

import islpy as isl

from polyad.codegen.cexpr import CExpressionPrinter
from tests.frontend.test_accepts import parse_file


def values(kernel) -> list[str]:
    """Each statement as `polyad show` prints it (C text)."""
    printer = CExpressionPrinter(lambda symbol: symbol.name)
    return [f"{s.write.array} = {printer.print(s.expr)}" for s in kernel.statements]


def test_if_else_on_one_target_is_one_select(tmp_path):
    kernel = parse_file(tmp_path, """
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    if (x[i] > 0.0) y[i] = x[i]; else { y[i] = 0.0; }
}""")
    assert values(kernel) == ["y = x[i] > 0.0 ? x[i] : 0.0"]


def test_without_else_the_untaken_branch_keeps_the_old_value(tmp_path):
    kernel = parse_file(tmp_path, """
void f(int n, double x[n], double y[n]) {
  double s;
  s = 0.0;
  for (int i = 0; i < n; i++)
    if (x[i] > 0.0) { s += x[i]; y[i] = s; }
}""")
    assert values(kernel)[1:] == ["s = x[i] > 0.0 ? s + x[i] : s",
                                  "y = x[i] > 0.0 ? s : y[i]"]
    assert kernel.array("y").role == "inout"  # untaken elements keep their input


def test_a_predicate_local_only_where_the_branch_overwrites_what_it_tests(tmp_path):
    kernel = parse_file(tmp_path, """
void f(int n, double a[n], double b[n]) {
  for (int i = 0; i < n; i++) {
    if (a[i] > 0.0) a[i] = 0.0;
    if (a[i] < b[i]) { b[i] = 1.0; a[i] = 2.0; }
  }
}""")
    assert values(kernel) == ["a = a[i] > 0.0 ? 0.0 : a[i]",
                              "cond5 = a[i] < b[i] ? 1.0 : 0.0",
                              "b = cond5 != 0 ? 1.0 : b[i]",
                              "a = cond5 != 0 ? 2.0 : a[i]"]


def test_the_predicate_name_captures_no_kernel_name(tmp_path):
    kernel = parse_file(tmp_path, """
void f(int n, double a[n], double cond4[n]) {
  for (int i = 0; i < n; i++)
    if (a[i] > 0.0) { a[i] = 0.0; cond4[i] = 1.0; }
}""")
    assert kernel.statements[0].write.array == "cond4_"


def test_affine_parts_of_a_condition_become_domains(tmp_path):
    kernel = parse_file(tmp_path, """
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    if (x[i] > 0.0 && i > 1) y[i] = x[i - 2]; else y[i] = 1.0;
}""")
    # if (i > 1) { if (x[i] > 0) ... else ... } else y[i] = 1.0
    assert values(kernel) == ["y = x[i] > 0.0 ? x[i - 2] : 1.0", "y = 1.0"]
    assert kernel.statements[0].domain.is_equal(isl.Set("[n] -> { S0[i] : 2 <= i < n }"))
    assert kernel.statements[1].domain.is_equal(isl.Set("[n] -> { S1[i] : 0 <= i <= 1 and i < n }"))


def test_nested_data_ifs_nest_selects_and_loops_keep_their_domain(tmp_path):
    kernel = parse_file(tmp_path, """
void f(int n, double x[n], double A[n][n]) {
  for (int i = 0; i < n; i++)
    if (x[i] > 0.0)
      for (int j = 0; j < i; j++)
        if (A[i][j] < 1.0) A[i][j] = x[i];
}""")
    assert values(kernel) == ["A = x[i] > 0.0 ? (A[i][j] < 1.0 ? x[i] : A[i][j]) : A[i][j]"]
    assert kernel.statements[0].domain.is_equal(
        isl.Set("[n] -> { S0[i, j] : 0 <= j < i < n }"))
