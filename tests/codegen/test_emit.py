"""Generated C (codegen/emit.py): the loops it prints and the file's shape.

Oracles: the user's own function compiled by the system compiler (the
regenerated primal must give bitwise the same outputs, also at the edge
sizes where loops run zero or one time), the C compiler (a generated file
compiles alone, against libm only, without warnings), and the generated
text read against the kernel (names, comments, restrict).
"""

from __future__ import annotations

import itertools
import re
import subprocess

import pytest

import polyad
from polyad.codegen.build import compiler_command
from polyad.check import verify
from polyad.model.kernel import fix_sizes
from tests.conftest import example


def _edge_sizes(kernel) -> list[dict[str, int]]:
    """All ones, all twos, 1 2 3 1 2 ... and 3 2 1 3 ...: the smallest sizes
    in the kernel's context, where loop bounds meet."""
    count = len(kernel.params)
    candidates = [(1,) * count, (2,) * count,
                  tuple(itertools.islice(itertools.cycle((1, 2, 3)), count)),
                  tuple(itertools.islice(itertools.cycle((3, 2, 1)), count))]
    chosen = []
    for values in dict.fromkeys(candidates):
        sizes = dict(zip(kernel.params, values))
        if not fix_sizes(kernel.context, sizes).is_empty():
            chosen.append(sizes)
    return chosen


# Triangular, strided-stencil, time-loop and reduction shapes.
EDGE_EXAMPLES = ["lu", "cholesky", "trisolv", "durbin", "symm", "gramschmidt",
                 "seidel_2d", "jacobi_2d", "conv2d", "softmax"]
EXTRA_SIZES = {"jacobi_2d": [dict(tsteps=0, n=3), dict(tsteps=1, n=3)],
               "seidel_2d": [dict(tsteps=1, n=3), dict(tsteps=-1, n=4)],
               "conv2d": [dict(nci=1, nco=2, h=3, w=3, kh=3, kw=1)]}


@pytest.mark.parametrize("name", EDGE_EXAMPLES)
def test_primal_is_bitwise_the_original_at_edge_sizes(name):
    """Oracle: the original C function (verify.check_primal, bitwise)."""
    kernel = example(name)
    all_sizes = _edge_sizes(kernel) + EXTRA_SIZES.get(name, [])
    assert all_sizes, "no edge size inside the context"
    for seed, sizes in enumerate(all_sizes):
        values = verify.kernel_inputs(kernel, sizes, seed)
        result = verify.check_primal(kernel, values)
        assert result["ok"], (sizes, result["detail"])


def test_edge_sizes_reach_the_context_boundary():
    """Oracle: the contexts (every size 1 is the boundary of n > 0), so the
    sizes above really test the smallest kernels."""
    assert _edge_sizes(example("lu"))[0] == {"n": 1}
    assert _edge_sizes(example("conv2d"))[0] == dict(nci=1, nco=1, h=1, w=1, kh=1, kw=1)


def _function_text(source: str) -> str:
    return source[source.index("\nint "):]


def _signature(source: str) -> str:
    match = re.search(r"^int \w+\(.*\)$", source, re.MULTILINE)
    assert match, source[:400]
    return match.group(0)


def test_adjoint_of_gemm_wrt_a_b_needs_no_tape():
    """Oracle: reading gemm. A and B are never overwritten, and C's old value
    is only needed for beta's gradient, so no value is recorded; with beta
    among the wrts, C's value before C *= beta must be."""
    kernel = example("gemm")
    text = polyad.generate_c(polyad.grad(kernel, wrt=["A", "B"]))
    text = text[text.index("*/"):]  # past the header naming the source path
    assert "tape" not in text and "malloc" not in text
    with_beta = polyad.generate_c(polyad.grad(kernel))
    assert "tape" in with_beta and "free(" in with_beta


def test_derivative_naming_and_signatures():
    """Oracle: the naming convention (adjoint X_b, tangent X_d, function
    name_b / name_d), restrict on every array, scalar adjoints by pointer,
    scalar tangents by value."""
    kernel = example("gemm")
    primal = "int ni, int nj, int nk, double alpha, double beta, " \
             "double C[restrict ni][nj], double A[restrict ni][nk], " \
             "double B[restrict nk][nj]"
    assert _signature(polyad.generate_c(kernel)) == f"int gemm({primal})"
    assert _signature(polyad.generate_c(polyad.grad(kernel, wrt=["A", "B"]))) == (
        f"int gemm_b({primal}, double C_b[restrict ni][nj], "
        "double A_b[restrict ni][nk], double B_b[restrict nk][nj])")
    adjoint = _signature(polyad.generate_c(polyad.grad(kernel)))
    assert "double *restrict alpha_b, double *restrict beta_b" in adjoint
    tangent = _signature(polyad.generate_c(polyad.jvp(kernel, ["alpha", "A"])))
    assert tangent.startswith("int gemm_d(" + primal)
    assert "double alpha_d" in tangent and "double A_d[restrict ni][nk]" in tangent
    assert "B_d" not in tangent
    # every array parameter, in every mode, is restrict-qualified
    for text in (adjoint, tangent):
        for parameter in text[text.index("(") + 1:-1].split(", "):
            if "[" in parameter or "*" in parameter:
                assert "restrict" in parameter, parameter


def test_comments_carry_source_lines():
    """Oracle: examples/gemm.c, whose statements are on lines 12 and 15."""
    kernel = example("gemm")
    primal = polyad.generate_c(kernel)
    assert "/* line 12: C[i][j] *= beta; */" in primal
    assert "/* line 15: C[i][j] += alpha * A[i][k] * B[k][j]; */" in primal
    adjoint = polyad.generate_c(polyad.grad(kernel, wrt=["A", "B"]))
    assert "/* adjoint of line 15: C[i][j] += alpha * A[i][k] * B[k][j]; */" in adjoint
    assert "/* adjoint of line 12: C[i][j] *= beta; */" in adjoint
    # the adjoint of line 15 comes before the adjoint of line 12: reverse order
    assert adjoint.index("adjoint of line 15") < adjoint.index("adjoint of line 12")


def test_primal_loops_follow_the_source_order():
    """Oracle: gemm's schedule: the i loop holds the j loop of S0, then the
    k, j nest of S1, with affine accesses in the loop iterators."""
    body = _function_text(polyad.generate_c(example("gemm")))
    loops = re.findall(r"for \(int (c\d) = 0; \1 < (\w+); \1\+\+\)", body)
    assert loops == [("c0", "ni"), ("c1", "nj"), ("c1", "nk"), ("c2", "nj")]
    assert "C[c0][c1] = C[c0][c1] * beta;" in body
    # C[i][j] += ... is the increment it is in C (the same one addition).
    assert "C[c0][c2] += alpha * A[c0][c1] * B[c1][c2];" in body


def _compiles_alone(tmp_path, name: str, text: str) -> None:
    path = tmp_path / f"{name}.c"
    path.write_text(text)
    done = subprocess.run(compiler_command() + [
        "-c", "-std=c99", "-Wall", "-Werror=implicit-function-declaration",
        "-o", str(tmp_path / f"{name}.o"), str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    # and links against libm alone
    done = subprocess.run(compiler_command() + [
        "-shared", "-fPIC", "-o", str(tmp_path / f"{name}.so"),
        str(tmp_path / f"{name}.o"), "-lm"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name, mode", [("gemm", "primal"), ("gemm", "reverse"),
                                        ("gemm", "tangent"), ("rnn", "reverse"),
                                        ("rnn", "stack"), ("cholesky", "reverse"),
                                        ("softmax", "tangent"), ("seidel_2d", "reverse")])
def test_generated_file_is_self_contained(tmp_path, name, mode):
    """Oracle: the C compiler, on the file alone (C99, -Wall, no implicit
    declarations: every math function comes from <math.h>)."""
    kernel = example(name)
    target = {"primal": kernel, "tangent": polyad.jvp(kernel, None),
              "reverse": polyad.grad(kernel),
              "stack": polyad.grad(kernel, strategy="stack")}[mode]
    text = polyad.generate_c(target)
    assert text.startswith(f"/* Generated by polyad from {kernel.source.path}. */")
    _compiles_alone(tmp_path, f"{name}_{mode}", text)


COMMENTED = """
void twice(int n, double x[n])
{
  for (int i = 0; i < n; i++)
    x[i] = x[i] * /* two */ 2.0; /* done */ // really */
}
"""


def test_source_comments_do_not_escape_generated_comments(tmp_path):
    """Oracle: the C compiler (a "*/" copied from the source line would end
    the generated comment early; a "/*" would warn under -Wall) and the
    compiled function (x doubled)."""
    kernel = polyad.parse(COMMENTED)
    for name, target in [("primal", kernel), ("adjoint", polyad.grad(kernel))]:
        _compiles_alone(tmp_path, name, polyad.generate_c(target))
    assert polyad.compile(kernel)(n=3, x=[1.0, 2.0, 3.0])["x"].tolist() == [2.0, 4.0, 6.0]


NEGATIONS = """
void negations(int n, double x[n], double y[n])
{
  for (int i = 0; i < n; i++)
    y[i] = -(-x[i]) + -(-0.5) - -x[i];
}
"""


def test_double_negation_is_not_a_decrement():
    """Oracle: IEEE arithmetic in Python (x + 0.5 + x), and the input left
    unchanged (a printed --x[i] would decrement it)."""
    kernel = polyad.parse(NEGATIONS)
    result = polyad.compile(kernel)(n=3, x=[1.0, 2.5, -4.0])
    assert result["x"].tolist() == [1.0, 2.5, -4.0]
    assert result["y"].tolist() == [1.0 + 0.5 + 1.0, 2.5 + 0.5 + 2.5, -4.0 + 0.5 - 4.0]
    assert "--" not in _function_text(polyad.generate_c(kernel)).split("*/")[-1]


def test_comments_can_be_left_out():
    """Oracle: the text (no comment at all, same code lines otherwise)."""
    from polyad.codegen.emit import generate
    from polyad.program.ir import primal_program

    program = primal_program(example("gemm"))
    bare = generate(program, comments=False)
    assert "line 15" not in bare
    code = [line for line in generate(program).splitlines()
            if not line.strip().startswith("/* line")]
    assert code == bare.splitlines()
