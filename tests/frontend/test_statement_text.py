"""A statement's text in the model is its whole source: continued lines
joined, and only its own part of a line holding two statements (adi's line
33 was cut at the end of its first line). Oracle: the source file itself."""

from __future__ import annotations

import polyad

TWO_ON_A_LINE = """void two(int n, double A[n], double B[n])
{
  for (int i = 0; i < n; i++) {
    A[i] = 2.0 * A[i]; B[i] = A[i] +
                           1.0;
  }
}
"""


def test_two_statements_on_a_line_and_a_continued_one():
    first, second = polyad.parse(TWO_ON_A_LINE).statements
    assert first.text == "A[i] = 2.0 * A[i];"
    assert second.text == "B[i] = A[i] + 1.0;"
    assert (second.location.line, second.location.col) == (4, 24)


def test_adis_two_line_statement_is_whole():
    statement = polyad.parse("examples/adi.c").statements[17]
    assert statement.location.line == 33
    assert statement.text.startswith("q[i][j] = (-d * u[j][i - 1]")
    assert statement.text.endswith("- a * q[i][j - 1]) / (a * p[i][j - 1] + b);")


def test_a_statement_after_a_loop_header_on_its_line():
    kernel = polyad.parse("void f(int n, double x[n]) {\n"
                          "  for (int i = 0; i < n; i++) x[i] = x[i] * (x[i] +\n"
                          "      1.0);\n}\n")
    assert kernel.statements[0].text == "x[i] = x[i] * (x[i] + 1.0);"
