"""Kernel identifiers the generated C needs for itself are refused with a
clear error (file, line, column, the name, what to do); names polyad merely
generates (c0, _acc0, min, tape_S0_0, ...) are accepted and avoided instead
(tests/polyad/test_hygiene.py).

Oracle: the error's location is the marked first character of the
declaration; the CLI exits with code 2 and prints no traceback.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from polyad.errors import KernelError
from polyad.codegen.blas import FUNCTIONS as BLAS_FUNCTIONS
from polyad.program.names import HEADER_MACROS, RUNTIME_FUNCTIONS
from tests.frontend.test_errors import located, parse_text

CASES = [
    ("free", """\
void f(int n, double x[n],
       @double free[n]) {
#pragma scop
  for (int i = 0; i < n; i++) free[i] = x[i];
#pragma endscop
}
""", "calls the C library's free"),
    ("cos-local", """\
#include <math.h>
void f(int n, double x[n]) {
  @double cos;
#pragma scop
  for (int i = 0; i < n; i++) { cos = sin(x[i]); x[i] = cos * cos; }
#pragma endscop
}
""", "calls the C library's cos"),
    ("omp-iterator", """\
void f(int n, double x[n]) {
#pragma scop
  for (@int omp_get_max_threads = 0; omp_get_max_threads < n; omp_get_max_threads++)
    x[omp_get_max_threads] = 1.0;
#pragma endscop
}
""", "omp_get_max_threads"),
    ("size-malloc", """\
void f(@int malloc, double x[malloc]) {
#pragma scop
  for (int i = 0; i < malloc; i++) x[i] = 1.0;
#pragma endscop
}
""", "malloc"),
    ("macro", """\
void f(int n, double x[n], @double NAN) {
#pragma scop
  for (int i = 0; i < n; i++) x[i] = NAN;
#pragma endscop
}
""", "macro of the C headers"),
]


@pytest.mark.parametrize("name, text, phrase", CASES, ids=[c[0] for c in CASES])
def test_reserved_name_is_refused_at_its_declaration(tmp_path, name, text, phrase):
    source, line, col = located(text)
    with pytest.raises(KernelError) as caught:
        parse_text(tmp_path, source)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'bad.c'}:{line}:{col}: reserved name "), message
    assert phrase in message and "rename it" in message, message


def test_cli_exits_2_without_traceback(tmp_path):
    source, line, col = located(CASES[0][1])
    (tmp_path / "bad.c").write_text(source)
    done = subprocess.run([sys.executable, "-m", "polyad.cli", "check", str(tmp_path / "bad.c")],
                          capture_output=True, text=True)
    assert done.returncode == 2, done
    assert f"bad.c:{line}:{col}: reserved name free" in done.stderr
    assert "Traceback" not in done.stderr


def test_reserved_names_cover_what_generated_code_calls():
    """The allocation, zeroing, thread-count and math functions the emitter
    and the derivative rules print."""
    assert {"malloc", "calloc", "free", "memset", "omp_get_max_threads"} <= RUNTIME_FUNCTIONS
    assert {"sin", "cos", "log", "pow", "sqrt", "tanh", "exp"} <= RUNTIME_FUNCTIONS
    assert "NAN" in HEADER_MACROS and "min" not in RUNTIME_FUNCTIONS | HEADER_MACROS
    assert set(BLAS_FUNCTIONS) <= RUNTIME_FUNCTIONS
