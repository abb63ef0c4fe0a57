"""Generated names never capture the kernel's own names (issue 12, item 1).

tests/kernels/hygiene.c names its scalars and arrays after every family of
names polyad generates (loop iterators, tapes and their counters,
accumulators, locals, the seed, macros, outlined functions, derivative
names). Oracles: the original C compiled by the system compiler (the primal,
bitwise), the reverse-mode interpreter, central finite differences of the
original C, and the dot-product test between tangent and adjoint code; a
captured name gives a wrong value in one of them, or C that does not compile.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest

from polyad import codegen
import polyad
from polyad.codegen.build import shared_library
from polyad.codegen.compile import argument_specs
from polyad.tools import analysis
from polyad.check import verify
from polyad.program.targets import load_schedule, program_of

KERNEL = pathlib.Path(__file__).resolve().parent.parent / "kernels" / "hygiene.c"
SIZES = {"n": 7}


@pytest.fixture(scope="module")
def kernel() -> polyad.Kernel:
    return polyad.parse(KERNEL)

def test_regenerated_primal_is_bitwise_the_original(kernel):
    values = verify.kernel_inputs(kernel, SIZES, seed=3)
    result = verify.check_primal(kernel, values)
    assert result["ok"], result


@pytest.mark.parametrize("layout, schedule", [
    ("exact", "none"), ("stack", "none"), ("stream", "none"), ("regions", "none"),
    ("exact", "auto"), ("stream", "auto")])
def test_gradient_passes_every_oracle(kernel, layout, schedule):
    result = verify.check_gradient(kernel, SIZES, layout=layout, schedule=schedule,
                                   strategy="stack" if layout == "stack" else "exact",
                                   seed=5)
    failed = [check for check in result["checks"] if not check["ok"]]
    assert len(result["checks"]) == 4 and not failed, failed


def _adjoint_c(kernel, layout: str, schedule: str) -> str:
    adjoint = polyad.grad(kernel, strategy="stack" if layout == "stack" else "exact")
    if layout != "stack":
        adjoint = adjoint.with_layout(layout, sizes=SIZES)
    return codegen.generate(program_of(adjoint, load_schedule(adjoint, schedule)))


# What each configuration must generate under a fresh name because the kernel
# took the usual one: the gradient tests above exercise these families only
# while the kernel makes polyad generate them.
RENAMED = {
    ("stack", "none"): [r"for \(int c1_ = ", r"long stack_S3_top_ = 0;",
                        r"const double _pop0_ = ", r"double _g_ = ", r"double _t0_ = ",
                        r"#define min_\(x, y\)", r"#define polyad_threads_\(\)"],
    ("stream", "none"): [r"double \*restrict stream_S4_ = malloc", r"long stream_S4__top = "],
    ("exact", "auto"): [r"static void f_b_loop0_\(int c0_, ", r"double _acc0_ = 0.0;",
                        r"if \(polyad_threads_\(\) > 1\)", r"#pragma omp parallel for",
                        r"#pragma omp simd reduction\(\+: _acc0_"],
}


@pytest.mark.parametrize("layout, schedule", sorted(RENAMED))
def test_generated_names_avoid_the_kernels(kernel, layout, schedule):
    text = _adjoint_c(kernel, layout, schedule)
    missing = [pattern for pattern in RENAMED[layout, schedule]
               if not re.search(pattern, text)]
    assert not missing, missing


def test_adjoint_and_tangent_names_avoid_the_kernels(kernel):
    """x_b is the kernel's own array: the adjoint of x is x_b_b, that of
    x_b is x_b_b_b (the suffix repeated until the name is free); the
    generated function takes them under those names."""
    adjoint = polyad.compile(polyad.grad(kernel, wrt=["x", "x_b"], of=["out"]))
    names = [spec.name for spec in adjoint.arguments]
    assert names[-3:] == ["x_b_b", "x_b_b_b", "out_b"], names
    tangent = polyad.compile(polyad.jvp(kernel, ["x", "x_d"]))
    names = [spec.name for spec in tangent.arguments]
    assert "x_d_d" in names and "x_d_d_d" in names, names


def test_interpreter_reads_never_take_an_iterators_name():
    """Found by the random kernels: a loop iterator named read0 was a second
    lambdify argument of that name in the interpreter. Oracles: the original C
    (primal), the interpreter, finite differences, the dot-product test."""
    kernel = polyad.parse("""
void k(int c4, double A[c4], double c0[c4][c4]) {
  double c2 = 0.0;
#pragma scop
  for (int c3 = 1; c3 < c4 - 1; c3++)
    for (int read0 = 1; read0 < c4 - 1; read0++) {
      c2 = A[c3 - 1] * c0[read0][c3];
      A[c3] += sin(c2) * A[c3 - 1];
    }
#pragma endscop
}
""")
    result = verify.check_gradient(kernel, {"c4": 5}, seed=2)
    failed = [check for check in result["checks"] if not check["ok"]]
    assert len(result["checks"]) == 4 and not failed, failed


def test_a_parameter_named_like_its_function(tmp_path):
    """The original's exported wrapper must still call the function when a
    parameter hides its name (and its entry name must be free in the file).
    Oracles: the original C compiled by the system compiler against the
    regenerated primal (bitwise), the interpreter, finite differences, the
    dot-product test."""
    path = tmp_path / "k.c"
    path.write_text("""
void polyad_entry_k(void) {}
void k(int n, double x[n], double k[n]) {
#pragma scop
  for (int i = 0; i < n; i++) k[i] = x[i] * x[i] + k[i];
#pragma endscop
}
""")
    kernel = polyad.parse(str(path), function="k")
    result = verify.check_gradient(kernel, {"n": 4}, seed=1)
    failed = [check for check in result["checks"] if not check["ok"]]
    assert len(result["checks"]) == 4 and not failed, failed


@pytest.mark.parametrize("layout", ["stack", "stream"])
def test_instrumented_build_traces_what_the_model_says(kernel, layout):
    """The trace build (``polyad analyze``) with a kernel array named
    polyad_trace, like the trace function. Oracle: the address trace the
    model predicts (polyad.tools.analysis.trace) against the instrumented build."""
    adjoint = polyad.grad(kernel, strategy="stack" if layout == "stack" else "exact")
    adjoint = adjoint.with_layout(layout, sizes=SIZES)
    program = program_of(adjoint, None)
    source = codegen.generate(program, trace=True)
    function = codegen.CompiledFunction(shared_library(source), program.name,
                                        argument_specs(program), program.context)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "trace")
        os.environ["POLYAD_TRACE_FILE"] = path
        try:
            function(**verify.kernel_inputs(kernel, SIZES, seed=0))
        finally:
            del os.environ["POLYAD_TRACE_FILE"]
        traced = [tuple(line.split()) for line in open(path)]
    names = [b.name for b in program.buffers]
    modelled = [(a.kind, str(names.index(a.buffer)), str(a.index))
                for a in analysis.trace(program, SIZES)]
    assert modelled and traced == modelled


def test_gather_names_a_primal_whose_adjoint_name_was_taken():
    """jacobi-1d with a kernel array named B_b: the adjoint of B is B_b_b,
    and gather(..., "B") must gather it (it took the kernel's B_b before).
    Oracles: the reverse-mode interpreter, finite differences, the
    dot-product test and the original C (primal), on the gathered schedule."""
    kernel = polyad.parse("""
void k(int n, double A[n], double B[n], double B_b[n]) {
#pragma scop
  for (int i = 1; i < n - 1; i++) B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1]) * B_b[i];
  for (int i = 1; i < n - 1; i++) A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1]);
#pragma endscop
}
""")
    adjoint = polyad.grad(kernel)
    gathered = adjoint.schedule().gather("S1_b", "B")
    assert gathered.rewrites == (("gather", "S1_b", "B_b_b"),)
    result = verify.check_gradient(kernel, {"n": 8}, schedule=lambda _: gathered, seed=4)
    failed = [check for check in result["checks"] if not check["ok"]]
    assert len(result["checks"]) == 4 and not failed, failed


@pytest.mark.parametrize("options", [["--layout", "stack"], ["--schedule", "auto"]])
def test_polyad_check_passes_on_the_hygiene_kernel(options):
    """The CLI's verdict: exit 0 only when all four oracles pass."""
    done = subprocess.run([sys.executable, "-m", "polyad.cli", "check", str(KERNEL), *options],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(" ok ") == 4, done.stdout
