"""Assumptions on the sizes (issue 15, item 3): ``#pragma polyad assume``,
``--assume`` and ``parse(assume=...)``.

Oracles: ``verify.check_gradient`` (the original C compiled by the system
compiler, bitwise for the primal; the reverse-mode interpreter; central
finite differences; the dot-product test); the C functions called directly
through ctypes, bypassing polyad's binding, for the status they return and
the memory they leave alone; the CLI's exit-code contract (2 and one line
naming file, line and column); isl sets written by hand for the contexts.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import islpy as isl
import numpy as np
import pytest

import polyad
from polyad import api, codegen
from polyad.check import verify
from polyad.codegen.compile import compile_original
from polyad.codegen.driver import time_function
from polyad.errors import CompileError, KernelError, UsageError

ROOT = Path(__file__).resolve().parents[2]

#: y[i + 4] is inside y only when n is a multiple of 5; s reads y up to m.
BLOCKS = """\
#include <math.h>
#pragma polyad assume n % 5 == 0 && n >= 5
void blocks(int n, int m, double w[5], double x[n], double y[n], double s[m]) {
  for (int i = 0; i < n; i += 5)
    for (int k = 0; k < 5; k++)
      y[i + k] = w[k] * sin(x[i + k]) + x[i + 4 - k] * x[i + k];
#pragma polyad assume m <= n
  for (int j = 0; j < m; j++)
    s[j] = y[j] * y[j];
}
"""
WITHOUT_PRAGMAS = "".join(line + "\n" for line in BLOCKS.splitlines()
                          if "pragma polyad" not in line)
ORACLES = ("primal vs original C", "interpreter", "dot product", "finite differences")


def _blocks(path: Path) -> Path:
    file = path / "blocks.c"
    file.write_text(BLOCKS)
    return file


def _all_ok(result):
    names = " | ".join(c["oracle"] for c in result["checks"])
    assert all(oracle in names for oracle in ORACLES), names
    assert all(c["ok"] for c in result["checks"]), result["checks"]
    assert result["verdict"] == "ok"


def test_the_context_is_the_assumptions_with_positive_extents(tmp_path):
    kernel = polyad.parse(_blocks(tmp_path))
    expected = isl.Set("[n, m] -> { : n % 5 = 0 and n >= 5 and 0 < m <= n }")
    assert kernel.context.is_equal(expected)
    assert kernel.assumed.is_equal(isl.Set("[n, m] -> { : n % 5 = 0 and n >= 5 and m <= n }"))
    for statement in kernel.statements:  # the dataflow runs under them
        assert statement.domain.params().is_subset(kernel.assumed)


def test_accepted_with_the_assumptions_and_refused_without():
    with pytest.raises(KernelError, match=r"<kernel>:5:7: out-of-bounds access y\[i \+ k\]"):
        polyad.parse(WITHOUT_PRAGMAS)
    with pytest.raises(KernelError, match=r"out-of-bounds access y\[j\]"):
        polyad.parse(WITHOUT_PRAGMAS, assume="n % 5 == 0")
    kernel = polyad.parse(WITHOUT_PRAGMAS, assume=["n % 5 == 0", "m <= n"])
    assert kernel.context.is_equal(isl.Set("[n, m] -> { : n % 5 = 0 and 0 < m <= n }"))


@pytest.mark.parametrize("sizes", [{"n": 10, "m": 7}, {"n": 5, "m": 5}])
def test_gradient_under_the_assumptions_passes_every_oracle(tmp_path, sizes):
    kernel = polyad.parse(_blocks(tmp_path))
    _all_ok(verify.check_gradient(kernel, sizes))


def test_scheduled_and_tiled_gradients_under_the_assumptions_pass(tmp_path):
    kernel = polyad.parse(_blocks(tmp_path))
    _all_ok(verify.check_gradient(kernel, {"n": 15, "m": 11}, schedule="auto"))
    _all_ok(verify.check_gradient(kernel, {"n": 15, "m": 11}, layout="layers"))


def test_default_sizes_are_moved_inside_the_assumptions(tmp_path):
    kernel = polyad.parse(_blocks(tmp_path))
    assert kernel.sizes() == {"n": 10, "m": 8}  # 8 each, n raised to a multiple of 5
    with pytest.raises(UsageError, match=r"sizes n=8, m=8 are outside what blocks assumes"):
        kernel.sizes(None, {"n": 8})


def _inputs(kernel, sizes):
    values = verify.kernel_inputs(kernel, sizes, seed=1)
    return {name: (np.asarray(v, dtype=float) if not np.isscalar(v) else v)
            for name, v in values.items()}


def _raw_call(function, values) -> tuple[int, dict]:
    """Call the C function of a compiled function through ctypes, without
    polyad's binding (which refuses such sizes first): its status and the
    arrays after the call."""
    library = ctypes.CDLL(str(function.library_path))
    c_function = getattr(library, function.symbol)
    c_function.restype = ctypes.c_int
    arrays, args, types = {}, [], []
    for spec in function.arguments:
        value = values[spec.name]
        if spec.kind == "size":
            args.append(int(value))
            types.append(ctypes.c_int)
        elif spec.kind == "scalar":
            args.append(float(value))
            types.append(ctypes.c_double)
        else:
            arrays[spec.name] = np.array(value, dtype=np.float64, order="C", copy=True)
            args.append(arrays[spec.name].ctypes.data)
            types.append(ctypes.c_void_p)
    c_function.argtypes = types
    return c_function(*args), arrays


def _values(function, n: int, m: int, fill: float) -> dict:
    """Every argument of a compiled function of ``blocks`` at sizes n, m:
    scalars 1.0, arrays (and their adjoints, tangents) full of ``fill``."""
    shapes = {"w": (5,), "x": (n,), "y": (n,), "s": (m,)}
    values: dict = {"n": n, "m": m}
    for spec in function.arguments:
        if spec.kind == "scalar":
            values[spec.name] = 1.0
        elif spec.kind != "size":
            values[spec.name] = np.full(shapes[spec.name.split("_")[0]], fill)
    return values


@pytest.mark.parametrize("target", ["gradient", "tangent", "primal", "original"])
def test_a_call_outside_the_assumptions_is_refused_not_run(tmp_path, target):
    kernel = polyad.parse(_blocks(tmp_path))
    if target == "original":
        function, _ = compile_original(kernel)
    else:
        function = api.compile({"gradient": polyad.grad(kernel), "primal": kernel,
                                "tangent": polyad.jvp(kernel)}[target])
    # n = 7 is not a multiple of 5: the binding refuses the call, and the C
    # function itself returns 1 and leaves every element of its arrays.
    values = _values(function, 7, 3, 42.0)
    with pytest.raises(UsageError, match=r"sizes n=7, m=3 are outside what the kernel "
                                         r"assumes \(\(n\) mod 5 = 0"):
        function(**values)
    status, after = _raw_call(function, values)
    assert status == 1
    for name, array in after.items():
        assert np.all(array == 42.0), name
    status, after = _raw_call(function, _values(function, 10, 4, 0.5))
    assert status == 0
    assert not np.all(after["y"] == 0.5)  # it ran: y = w sin(x) + x x


def test_the_benchmark_driver_stops_on_a_refused_call(tmp_path):
    kernel = polyad.parse(_blocks(tmp_path))
    function = api.compile(kernel)
    prepared = function.prepare(_inputs(kernel, {"n": 10, "m": 4}))
    assert time_function(function.library_path, function.symbol, function.arguments,
                         prepared, repeat=1)["seconds"]
    prepared["n"] = 9  # the arrays stay those of n = 10: only the status refuses it
    with pytest.raises(CompileError, match="refused its sizes"):
        time_function(function.library_path, function.symbol, function.arguments,
                      prepared, repeat=1)


def test_the_entry_check_is_the_first_statement(tmp_path):
    kernel = polyad.parse(_blocks(tmp_path))
    source = api.generate_c(polyad.grad(kernel))
    lines = source[source.index("\nint blocks_b("):].splitlines()
    assert lines[2] == "{"
    assert lines[3].startswith("  if (!(") and "n % 5 == 0" in lines[3], lines[3]
    assert lines[4].strip().startswith("return 1;")
    assert lines[-2:] == ["  return 0;", "}"]


# --- statements that never run ------------------------------------------------

NEVER = """\
void never(int n, double x[n], double y[n]) {
  for (int i = 10; i < 5; i++)
    x[i] = 0.0;
  for (int i = 0; i < n; i++) {
    if (n < 4)
      y[i] = 3.0 * x[i];
    y[i] = 2.0 * x[i] * x[i];
  }
}
"""


def test_a_statement_that_never_runs_is_left_out_with_a_note():
    kernel = polyad.parse(NEVER)
    assert [s.name for s in kernel.statements] == ["S1", "S2"]
    assert kernel.notes == ("S0 at line 3 (x[i] = 0.0;) never runs: left out of the model",)
    assert kernel.array("x").role == "input"
    _all_ok(verify.check_gradient(kernel, {"n": 6}))


def test_a_statement_empty_under_the_assumptions_is_left_out():
    kernel = polyad.parse(NEVER, assume="n >= 4")
    assert [s.name for s in kernel.statements] == ["S2"]
    assert kernel.notes[1] == ("S1 at line 6 (y[i] = 3.0 * x[i];) never runs under the "
                               "assumptions: left out of the model")
    _all_ok(verify.check_gradient(kernel, {"n": 6}))
    _all_ok(verify.check_gradient(kernel, {"n": 4}, schedule="auto"))


def test_a_kernel_none_of_whose_statements_runs_is_refused():
    with pytest.raises(KernelError, match="<kernel>:3:5: nothing to model: kernel whose "
                                          "statements never run"):
        polyad.parse(NEVER.replace("i < n; i++) {", "i < n && n < 0; i++) {"))


# --- refusals ----------------------------------------------------------------

HEAD = "void f(int n, int m, double x[n]) {\n"
BODY = "  for (int i = 0; i < n; i++)\n    x[i] = 2.0 * x[i];\n}\n"


@pytest.mark.parametrize("pragma, where, message", [
    ("#pragma polyad assume n * m > 4", "1:23", "non-affine assumption (product of two"),
    ("#pragma polyad assume q > 4", "1:23", "use of q in an assumption; an assumption may "
                                            "name only the int size parameters of f (n, m)"),
    ("#pragma polyad assume x > 4", "1:23", "use of x in an assumption"),
    ("#pragma polyad assume n > 2.5", "1:27", "double constant 2.5 in assumption"),
    ("#pragma polyad assume n % m == 0", "1:23", "remainder by a variable"),
    ("#pragma polyad assume x[0] > 0", "1:23", "it reads the array element x[0]"),
    ("#pragma polyad assume n >", "1:23", "invalid assumption 'n >': C syntax"),
    ("#pragma polyad assume", "1:1", "invalid #pragma polyad assume without a condition"),
    ("#pragma polyad assumes n > 4", "1:1", "unknown #pragma polyad assumes"),
    ("#pragma polyad assume n < 0", "1:23", "assumptions of f that no sizes satisfy"),
])
def test_bad_assumptions_are_refused_at_file_line_column(pragma, where, message):
    with pytest.raises(KernelError) as error:
        polyad.parse(pragma + "\n" + HEAD + BODY)
    assert str(error.value).startswith(f"<kernel>:{where}: "), str(error.value)
    assert message in str(error.value)


def test_an_assumption_inside_the_function_is_read_and_checked():
    with pytest.raises(KernelError, match=r"<kernel>:3:27: unsupported use of i in an "
                                          "assumption"):
        polyad.parse(HEAD + "  for (int i = 0; i < n; i++) {\n"
                     "    #pragma polyad assume i < 4\n    x[i] = 2.0 * x[i];\n  }\n}\n")
    kernel = polyad.parse(HEAD + "  #pragma polyad assume n % 2 == 0\n" + BODY)
    assert kernel.context.is_equal(isl.Set("[n, m] -> { : n % 2 = 0 and n > 0 }"))


def test_option_assumptions_are_refused_in_the_option_text():
    with pytest.raises(KernelError, match=r"^--assume 'n < 2 \* m \* n':1:5: unsupported "
                                          r"non-affine assumption"):
        polyad.parse(HEAD + BODY, assume="n < 2 * m * n")


# --- the command line ---------------------------------------------------------

def _cli(*args):
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "polyad.cli", *args], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def test_cli_check_show_and_exit_codes(tmp_path):
    file = _blocks(tmp_path)
    done = _cli("check", str(file), "-D", "n=10", "-D", "m=6")
    assert done.returncode == 0, done.stderr
    assert "verdict: ok" in done.stdout
    done = _cli("check", str(file), "-D", "n=7", "-D", "m=6")
    assert done.returncode == 2
    assert done.stderr.strip() == ("polyad: error: sizes n=7, m=6 are outside what blocks "
                                   "assumes ((n) mod 5 = 0 and n >= 5 and 0 < m <= n)")
    shown = _cli("show", str(file), "--assume", "n <= 100")
    assert shown.returncode == 0, shown.stderr
    assert "  assumed  [n, m] -> {  : (n) mod 5 = 0 and 5 <= n <= 100 and m <= n }" \
        in shown.stdout


def test_cli_assume_option_and_its_refusal(tmp_path):
    file = tmp_path / "noassume.c"
    file.write_text(WITHOUT_PRAGMAS)
    refused = _cli("grad", str(file))
    assert refused.returncode == 2 and "out-of-bounds" in refused.stderr
    for command in (["show"], ["grad"], ["analyze", "--layout", "exact", "-D", "n=10"]):
        done = _cli(*command, str(file), "--assume", "n % 5 == 0", "--assume", "m <= n")
        assert done.returncode == 0, (command, done.stderr)
    bad = _cli("check", str(file), "--assume", "n % 5 == 0 && m <= k")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "polyad: error: --assume 'n % 5 == 0 && m <= k':1:20: unsupported use of k in an "
        "assumption; an assumption may name only the int size parameters of blocks "
        "(n, m) and integer constants"]
