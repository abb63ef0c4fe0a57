"""Vector math: a vectorised loop marked ``vector_math`` calls glibc's
libmvec versions of exp, tanh, ... and every other call stays scalar.

Oracles: the built library's dynamic symbols (which exp it calls: a fact
of the binary, not of the C text), numpy's exp for the values (libmvec is
within 4 ulp), the original C compiled by the system compiler for the
primal (within the reassociated tolerance where a forward loop uses vector
math, as auto's may; bitwise otherwise), and
polyad check's interpreter, dot-product and finite-difference oracles for
the gradients.
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

import polyad
from polyad import codegen
from polyad.check import verify
from polyad.check.oracles import check_forward_sweeps
from polyad.codegen.build import compiler_command, vector_math_library
from polyad.program.ir import primal_program
from polyad.program.targets import load_schedule
from polyad.schedule.marks import Simd
from polyad.schedule.schedule import Schedule
from tests.conftest import example

EXP = """#include <math.h>
void e(int n, double x[n], double y[n], double z[n]) {
  for (int i = 0; i < n; i++)
    y[i] = exp(x[i]);
  for (int i = 0; i < n; i++)
    z[i] = exp(x[i]);
}
"""

needs_libmvec = pytest.mark.skipif(not vector_math_library(tuple(compiler_command())),
                                   reason="the C compiler does not link glibc's libmvec")


def _exp_symbols(function) -> set[str]:
    """The exp functions the built library calls (undefined dynamic symbols)."""
    listed = subprocess.run(["nm", "-D", "--undefined-only", str(function.library_path)],
                            capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1].split("@")[0] for line in listed.splitlines() if line.split()}
    return {n for n in names if n == "exp" or (n.startswith("_ZGV") and n.endswith("_exp"))}


@needs_libmvec
def test_only_the_marked_loop_calls_the_vector_exp():
    """y's loop is marked vector_math, z's plain simd: the library calls a
    libmvec exp (for y) and the scalar exp (for z, and y's remainder)."""
    base = Schedule.of(primal_program(polyad.parse(EXP)))
    marked = base.vectorize("S0.i", vector_math=True).vectorize("S1.i")
    marks = [m for _, m in marked.annotations]
    assert marks == [Simd((), ("exp",)), Simd()]
    function = codegen.compile_program(marked.scheduled_program())
    symbols = _exp_symbols(function)
    assert "exp" in symbols and any(s.startswith("_ZGV") for s in symbols), symbols
    plain = codegen.compile_program(base.vectorize("S0.i").vectorize("S1.i")
                                    .scheduled_program())
    assert _exp_symbols(plain) == {"exp"}
    x = np.linspace(-20.0, 20.0, 37)
    out = function(n=37, x=x, y=np.zeros(37), z=np.zeros(37))
    scalar = np.array([math.exp(v) for v in x])      # glibc's scalar exp
    assert np.array_equal(out["z"], scalar)
    assert np.all(np.abs(out["y"] - scalar) <= 4 * np.spacing(scalar))


def test_vector_math_names_only_functions_libmvec_has():
    """fabs and sqrt are instructions, fmin has no libmvec version: the
    mark names exp alone."""
    kernel = polyad.parse("""#include <math.h>
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = exp(x[i]) + sqrt(fabs(x[i])) + fmin(x[i], 1.0);
}""")
    marked = Schedule.of(primal_program(kernel)).vectorize("S0.i", vector_math=True)
    assert [m for _, m in marked.annotations] == [Simd((), ("exp",))]
    assert '"vector_math": true' in marked.to_json()


@pytest.mark.parametrize("name,sizes,reverse", [("neural_ode", {"nt": 3, "nh": 5}, True),
                                                ("neural_ode", {"nt": 1, "nh": 1}, True),
                                                ("softmax", {"n": 3, "m": 9}, False),
                                                ("softmax", {"n": 1, "m": 1}, False)])
def test_auto_uses_vector_math_in_both_sweeps_and_check_says_so(name, sizes, reverse):
    """auto vectorises the forward sweep's exp and tanh too; check's primal
    oracle then allows libmvec's rounding and names it. (neural_ode's
    h + DT * tanh(s) calls tanh in its reverse sweep; softmax's exp, whose
    partial reads the value it wrote, no longer does: polyad.ad.outputs.) Oracles: all four (the
    primal within REASSOCIATED_TOLERANCE of the original C)."""
    kernel = example(name)
    chosen = load_schedule(polyad.grad(kernel), "auto", blas=False)
    marked = [(handle, mark) for handle, mark in chosen.annotations
              if isinstance(mark, Simd) and mark.vector_math]
    assert marked, "auto marked no loop with vector math"
    sweeps = {r.sweep for r in chosen.loops() for handle, _ in marked if r.loop == handle}
    assert ("reverse" in sweeps) == reverse
    # softmax's exp loop and neural_ode's tanh loop are innermost in the
    # forward sweep.
    assert "forward" in sweeps
    result = verify.check_gradient(kernel, sizes, schedule="auto",
                                   oracles=("primal", "interpreter", "dot", "fd"), blas=False)
    assert result["verdict"] == "ok", result["checks"]
    primal = next(c for c in result["checks"] if c["oracle"].startswith("primal"))
    assert ("vector math" in primal["oracle"]) == ("forward" in sweeps), primal
    assert primal["max_rel_err"] <= primal["tolerance"]


@needs_libmvec
def test_check_judges_a_forward_sweep_with_vector_math_within_rounding():
    """A user's vector math in the forward sweep rounds differently from the
    original C: check said "wrong" (bitwise primal); now the primal oracle
    allows libmvec's rounding, names it, and still fails a wrong primal.
    Oracles: all four (the primal within REASSOCIATED_TOLERANCE)."""
    kernel = polyad.parse(EXP)
    result = verify.check_gradient(kernel, {"n": 37},
                                   schedule=lambda base: base.vectorize("S0.i", vector_math=True))
    primal = next(c for c in result["checks"] if c["oracle"].startswith("primal"))
    assert result["verdict"] == "ok", result["checks"]
    assert primal["oracle"] == "primal vs original C (vector math)"
    assert primal["max_rel_err"] <= primal["tolerance"]
    y = np.exp(np.linspace(0, 1, 37))
    wrong = check_forward_sweeps({"y": y}, {"y": y * (1 + 1e-8)}, {"y": y},
                                 roundings=("vector math",))
    assert wrong["verdict"] == "wrong"
