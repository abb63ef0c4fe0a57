"""The ``polyad`` command line, run as users run it (a subprocess).

Oracles: golden files reviewed by hand against the kernels' source
(``show --json``), the documented exit-code contract (0 success, 1 a failed
check, 2 bad input with one ``polyad: error:`` line and no traceback), the C
compiler (files ``grad`` writes compile), the file system (``-o`` replaces
atomically, leaves a file alone on failure) and numbers that must hold
between outputs (the stack tape is larger than the exact one).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import polyad
from polyad.codegen.build import compiler_command
from polyad.tools.bench import bench_inputs

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def polyad_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("POLYAD_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "polyad.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _strict_json(text: str):
    """JSON as other tools read it: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


# --- show --json --------------------------------------------------------------

@pytest.mark.parametrize("name", ["gemm", "lu", "jacobi_2d"])
def test_show_json_golden(name):
    """Oracle: tests/golden/show_<name>.json, reviewed against the source
    (statement lines, domains from the loop bounds, schedules in textual
    order, one read per reference, right-hand sides as written)."""
    done = polyad_cli("show", f"examples/{name}.c", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    got = _strict_json(done.stdout)
    assert got == json.loads((GOLDEN / f"show_{name}.json").read_text())

    assert set(got) >= {"name", "params", "arrays", "statements"}
    assert got["name"] == name and all(isinstance(p, str) for p in got["params"])
    for array in got["arrays"]:
        assert set(array) == {"name", "shape", "dtype", "role"}
        assert isinstance(array["shape"], list)
        assert array["role"] in ("input", "output", "inout", "temporary")
    source = (ROOT / "examples" / f"{name}.c").read_text().splitlines()
    for statement in got["statements"]:
        assert set(statement) == {"name", "line", "domain", "schedule", "write", "reads",
                                  "expr"}
        assert isinstance(statement["line"], int) and isinstance(statement["reads"], list)
        # the line really holds an assignment to the written array
        written = statement["write"].split("->")[2].split("[")[0].strip(" {")
        assert re.search(rf"\b{written}\b.*=", source[statement["line"] - 1])


def test_show_text():
    """Oracle: examples/gemm.c (its two statements and their lines)."""
    done = polyad_cli("show", "examples/gemm.c")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("kernel gemm (examples/gemm.c)")
    assert "S0  line 12: C[i][j] *= beta;" in done.stdout
    assert "S1  line 15: C[i][j] += alpha * A[i][k] * B[k][j];" in done.stdout


# --- bad input: exit 2, one line ----------------------------------------------

INT_KERNEL = ("void f(int n, int p[n], double x[n], double y[n])\n"
              "{ for (int i = 0; i < n; i++) y[i] = x[i] * p[i]; }\n")
SYNTAX_ERROR = ("void f(int n, double x[n])\n"
                "{ for (int i = 0; i < n; i++) x[i] = x[i] * 2.0 }\n")


@pytest.fixture
def kernels(tmp_path):
    (tmp_path / "intk.c").write_text(INT_KERNEL)
    (tmp_path / "syntax.c").write_text(SYNTAX_ERROR)
    return tmp_path


BAD_INPUT = {
    "missing file": (["show", "examples/no_such_kernel.c"], "no_such_kernel.c"),
    "unknown function": (["show", "examples/gemm.c", "--function", "gemv"], "gemv"),
    "unknown -D name": (["check", "examples/gemm.c", "-D", "nz=3"], "nz"),
    "-D not an integer": (["check", "examples/gemm.c", "-D", "ni=eight"], "ni=eight"),
    "size outside the context": (["check", "examples/gemm.c", "-D", "ni=0"], "ni"),
    "bad --wrt name": (["grad", "examples/gemm.c", "--wrt", "Z"], "Z"),
    "bad --of name": (["grad", "examples/gemm.c", "--of", "Q"], "Q"),
    "non-float --wrt": (["grad", "{tmp}/intk.c", "--wrt", "p"], "p"),
    "syntax error": (["show", "{tmp}/syntax.c"], "syntax.c:2:"),
    "syntax error in grad": (["grad", "{tmp}/syntax.c"], "syntax.c:2:"),
    "unknown command": (["differentiate", "examples/gemm.c"], "differentiate"),
    "unknown mode": (["grad", "examples/gemm.c", "--mode", "forward"], "forward"),
    "missing kernel": (["check"], "kernel"),
    "--of with tangent": (["grad", "examples/gemm.c", "--mode", "tangent", "--of", "C"],
                          "--of"),
    "missing --inputs file": (["check", "examples/gemm.c", "--inputs", "{tmp}/none.npz"],
                              "none.npz"),
    "--inputs not an npz": (["check", "examples/gemm.c", "--inputs", "{tmp}/intk.c"],
                            "intk.c"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_exits_2_with_one_line(case, kernels):
    """Oracle: the CLI's contract (polyad/cli.py docstring)."""
    args, mentioned = BAD_INPUT[case]
    done = polyad_cli(*[a.replace("{tmp}", str(kernels)) for a in args])
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("polyad: error: ")
    assert mentioned in lines[0]
    assert done.stdout == ""


def test_version():
    """Oracle: polyad.__version__."""
    done = polyad_cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"polyad {polyad.__version__}"


# --- check ----------------------------------------------------------------------

CHECK_KEYS = {"kernel", "sizes", "tape_bytes", "strategy", "verdict", "checks"}


def test_check_succeeds_on_gemm():
    """Oracle: the four oracles of polyad check all pass on gemm (exit 0)."""
    done = polyad_cli("check", "examples/gemm.c")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("check gemm at ni=8 nj=9 nk=10")
    assert "FAILED" not in done.stdout
    assert done.stdout.count("  ok  ") == 4


def test_check_json_schema_and_options():
    """Oracle: the documented schema; -D, --strategy and --wrt/--of echoed."""
    done = polyad_cli("check", "examples/gemm.c", "--json", "-D", "ni=3", "-D", "nj=2",
                      "-D", "nk=4", "--strategy", "stack", "--wrt", "A", "--of", "C")
    assert done.returncode == 0, done.stdout + done.stderr
    result = _strict_json(done.stdout)
    assert set(result) >= CHECK_KEYS
    assert result["kernel"] == "gemm"
    assert result["sizes"] == {"ni": 3, "nj": 2, "nk": 4}
    assert result["strategy"] == "stack"
    assert result.get("wrt", ["A"]) == ["A"] and result.get("of", ["C"]) == ["C"]
    assert isinstance(result["tape_bytes"], int) and result["tape_bytes"] >= 0
    assert len(result["checks"]) == 4
    for check in result["checks"]:
        assert set(check) >= {"oracle", "max_rel_err", "ok"}
        assert isinstance(check["oracle"], str) and check["ok"] is True
        assert isinstance(check["max_rel_err"], float) and 0 <= check["max_rel_err"] < 1e-9


def _gemm_with_nan(tmp_path) -> Path:
    A = np.ones((2, 3))
    A[0, 1] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, A=A, ni=2, nk=3)
    return path


def test_check_nan_input_is_bad_inputs(tmp_path):
    """Oracle: the input file itself. A NaN in A makes the original C's
    output NaN: no oracle is run on it; the verdict names the input element
    and exits 4 (not an error: the input file is valid)."""
    done = polyad_cli("check", "examples/gemm.c", "--inputs", str(_gemm_with_nan(tmp_path)),
                      "-D", "nj=2")
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stdout.startswith("check gemm at ni=2 nj=2 nk=3")
    assert "bad inputs: input A[0][1] is nan" in done.stdout
    assert "--init" in done.stdout and "reverse-mode interpreter" not in done.stdout
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr


def test_check_json_of_bad_inputs_is_json(tmp_path):
    """Oracle: strict JSON; the verdict and the offending input, no checks."""
    done = polyad_cli("check", "examples/gemm.c", "--json", "--inputs",
                      str(_gemm_with_nan(tmp_path)), "-D", "nj=2")
    assert done.returncode == 4
    result = _strict_json(done.stdout)
    assert set(result) >= CHECK_KEYS
    assert result["verdict"] == "bad inputs" and result["checks"] == []
    assert result["nonfinite"]["input"] == "A"


def test_check_names_the_sqrt_of_a_matrix_that_is_not_positive_definite(tmp_path):
    """Oracle: the original C, run by the interpreter statement by statement.
    Cholesky of a matrix that is not positive definite takes the sqrt of a
    negative number at A[1][1] (line 22): bad inputs, exit 4, the statement,
    its line and the value read are named, and no numpy warning is printed."""
    path = tmp_path / "indefinite.npz"
    np.savez(path, A=0.1 * np.ones((4, 4)) - np.eye(4), n=4)
    done = polyad_cli("check", "examples/cholesky.c", "--inputs", str(path))
    assert done.returncode == 4, done.stdout + done.stderr
    assert "bad inputs: examples/cholesky.c:22:" in done.stdout
    assert "sqrt(sum)" in done.stdout and "gives nan at i=0" in done.stdout
    assert "sum = -0.9" in done.stdout and "it depends on the input A" in done.stdout
    assert done.stderr == ""


def test_check_of_random_cholesky_inputs_is_bad_inputs_and_spd_fixes_it():
    """Oracle: the original C. Uniform random entries are not positive
    definite: bad inputs (exit 4) naming the sqrt; --init A=spd gives a
    matrix Cholesky accepts and every oracle passes (exit 0)."""
    done = polyad_cli("check", "examples/cholesky.c", "--init", "A=uniform")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "cholesky.c:22:" in done.stdout and "gives nan" in done.stdout
    done = polyad_cli("check", "examples/cholesky.c", "--init", "A=spd")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "inputs A=spd" in done.stdout and done.stdout.count("  ok  ") == 4


def test_check_a_returned_loss(tmp_path):
    """Oracles: the original C (bitwise primal, finite differences), the
    interpreter and the dot product. A loss returned by the function's last
    statement is checked like any output (exit 0, four oracles ok, the
    output named result in show); an early return is refused at its place
    (exit 2, one line)."""
    path = tmp_path / "loss.c"
    path.write_text("#include <math.h>\n"
                    "double loss(int n, const double y[n], const double t[n]) {\n"
                    "  double s = 0.0;\n  for (int i = 0; i < n; i++)\n"
                    "    s += (y[i] - t[i]) * (y[i] - t[i]);\n  return sqrt(s);\n}\n")
    done = polyad_cli("check", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("  ok  ") == 4 and "verdict: ok" in done.stdout
    shown = polyad_cli("show", str(path))
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"result\s+double\[1\]\s+output", shown.stdout), shown.stdout
    path.write_text("double loss(int n, double y[n]) {\n  double s = 0.0;\n"
                    "  for (int i = 0; i < n; i++) {\n    s += y[i];\n"
                    "    if (i == 2) return s;\n  }\n  return s;\n}\n")
    done = polyad_cli("check", str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"polyad: error: {path}:5:17: unsupported return inside")
    assert len(done.stderr.splitlines()) == 1


def test_check_refuses_a_kernel_with_nothing_to_differentiate(tmp_path):
    """Oracle: C semantics. A scalar parameter assigned in the body is
    discarded by C, so the kernel has no output: refused, exit 2, one line
    saying how to write a scalar output."""
    path = tmp_path / "loss.c"
    path.write_text("void loss_of(int n, double loss, double x[n]) {\n"
                    "  for (int i = 0; i < n; i++)\n    loss = loss + x[i] * x[i];\n}\n")
    done = polyad_cli("check", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("polyad: error: nothing to differentiate: no "
                                  "floating-point output in loss_of")
    assert "double loss[1]" in done.stderr and len(done.stderr.splitlines()) == 1


def test_check_oracles_and_progress():
    """Oracle: the options' contract. --oracles runs exactly those oracles;
    --progress says what runs on stderr, stdout keeps the table."""
    done = polyad_cli("check", "examples/gemm.c", "--oracles", "fd,dot", "--progress",
                      "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = _strict_json(done.stdout)
    assert [c["oracle"] for c in result["checks"]] == [
        "dot product <w, J v> = <J^T w, v>", "central finite differences"]
    assert "polyad: finite differences of the original C" in done.stderr
    assert "interpreter" not in done.stderr
    done = polyad_cli("check", "examples/gemm.c", "--oracles", "fd,magic")
    assert done.returncode == 2 and "unknown oracle magic" in done.stderr


# --- grad -----------------------------------------------------------------------

def _compiles(path: Path) -> None:
    done = subprocess.run(compiler_command() + ["-c", "-std=c99", "-Wall", "-o",
                                                str(path.with_suffix(".o")), str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_grad_output_file_replaces_atomically(tmp_path):
    """Oracle: the file system. An existing out.c is replaced (keeping its
    permissions), no temporary file is left, and the file compiles."""
    out = tmp_path / "out.c"
    out.write_text("old contents\n")
    out.chmod(0o640)
    done = polyad_cli("grad", "examples/gemm.c", "--wrt", "A,B", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    text = out.read_text()
    assert text.startswith("/* Generated by polyad from examples/gemm.c. */")
    assert "int gemm_b(" in text and "A_b" in text and "B_b" in text
    assert "alpha_b" not in text
    assert out.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.c"]
    _compiles(out)


@pytest.mark.parametrize("args", [["{tmp}/syntax.c"], ["examples/gemm.c", "--wrt", "Z"]])
def test_grad_failure_leaves_output_untouched(kernels, args):
    """Oracle: the file system (content, modification time, no temporary)."""
    out = kernels / "out.c"
    out.write_text("precious\n")
    stamp = out.stat().st_mtime_ns
    before = sorted(p.name for p in kernels.iterdir())
    done = polyad_cli("grad", *[a.replace("{tmp}", str(kernels)) for a in args],
                      "-o", str(out))
    assert done.returncode == 2
    assert out.read_text() == "precious\n" and out.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in kernels.iterdir()) == before


def test_grad_to_a_missing_directory_is_bad_input(tmp_path):
    """Oracle: the CLI contract (an unwritable -o is the user's input)."""
    done = polyad_cli("grad", "examples/gemm.c", "-o", str(tmp_path / "no" / "out.c"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("polyad: error:") and "Traceback" not in done.stderr


@pytest.mark.parametrize("mode, function", [("tangent", "gemm_d"), ("primal", "gemm"),
                                            ("reverse", "gemm_b")])
def test_grad_modes(tmp_path, mode, function):
    """Oracle: the naming convention and the C compiler."""
    out = tmp_path / f"{mode}.c"
    done = polyad_cli("grad", "examples/gemm.c", "--mode", mode, "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert re.search(rf"^int {function}\(int ni, int nj, int nk, ", text, re.MULTILINE)
    suffixes = {"tangent": "_d", "reverse": "_b", "primal": None}[mode]
    for other in ("_d", "_b"):
        assert (f"A{other}[" in text) == (other == suffixes)
    _compiles(out)


def test_grad_to_stdout_is_the_api_output():
    """Oracle: polyad.generate_c on the same kernel (the CLI adds nothing)."""
    done = polyad_cli("grad", "examples/gemm.c", "--wrt", "A,B")
    assert done.returncode == 0, done.stderr
    kernel = polyad.parse(ROOT / "examples" / "gemm.c")
    expected = polyad.generate_c(polyad.grad(kernel, wrt=["A", "B"]))
    assert done.stdout.split("\n", 1)[1] == expected.split("\n", 1)[1]


# --- show --tape ----------------------------------------------------------------

def test_show_tape_of_rnn():
    """Oracle: reading rnn.c: tanh's derivative at line 19 is 1 - h*h of
    the h[t + 1][j] it writes, which nothing overwrites later, so s (which
    the next j overwrites) is not needed and nothing is recorded; the stack
    baseline records every value its partials use."""
    done = polyad_cli("show", "examples/rnn.c", "--tape")
    assert done.returncode == 0, done.stderr
    assert ("S3's partials use the value it writes, h[t + 1][j] at line 19: never "
            "overwritten later") in done.stdout
    assert "Wh[j][k] at line 16: never overwritten" in done.stdout
    match = re.search(r"at nt=3 nh=5 nx=4: exact records (\d+) values \((\d+) bytes\); "
                      r"stack would record (\d+) \((\d+) bytes\)", done.stdout)
    assert match, done.stdout
    exact_values, exact_bytes, stack_values, stack_bytes = map(int, match.groups())
    assert exact_values == 0 and exact_bytes == 0
    assert stack_bytes > exact_bytes and stack_bytes == 8 * stack_values


def test_show_tape_of_neural_ode():
    """Oracle: reading neural_ode.c: s[j] is overwritten by the next step's
    s[j] = b[j] before the reverse sweep reads it for tanh (not the whole
    right-hand side), recorded at every step but the last: (nt - 1) * nh
    values; h[k] is overwritten by the step's update: each value S2 writes
    in a step but the last, and h on entry, recorded once for the nh readers
    of it, (nt - 1) * nh + nh (polyad.tape.sharing)."""
    done = polyad_cli("show", "examples/neural_ode.c", "--tape")
    assert done.returncode == 0, done.stderr
    assert "S2 reads s[j] at line 22: overwritten by S0 at line 17" in done.stdout
    match = re.search(r"at nt=4 nh=5: exact records (\d+) values", done.stdout)
    assert match, done.stdout
    assert int(match.group(1)) == (4 - 1) * 5 + (4 - 1) * 5 + 5

    done = polyad_cli("show", "examples/neural_ode.c", "--tape", "--json", "-D", "nt=3")
    assert done.returncode == 0, done.stderr
    plan = _strict_json(done.stdout)
    assert plan["sizes"] == {"nt": 3, "nh": 5}
    assert plan["tape_bytes"] == 8 * ((3 - 1) * 5 + (3 - 1) * 5 + 5) < plan["stack_tape_bytes"]
    assert [e["read"] for e in plan["entries"]] == ["h[k]", "h[k]", "s[j]"]
    assert [e["overwritten_by"] for e in plan["entries"]] == [["S2"], ["S2"], ["S0", "S1"]]
    done = polyad_cli("show", "examples/rnn.c", "--tape", "--json", "-D", "nt=4")
    assert done.returncode == 0, done.stderr
    plan = _strict_json(done.stdout)
    assert plan["tape_bytes"] == 0 < plan["stack_tape_bytes"] and plan["entries"] == []


def test_bench_takes_init():
    """Oracle: numpy's eigenvalues of the matrix bench uses (bench_inputs is
    what bench runs on), and the CLI's exit codes for a good and a bad kind."""
    kernel = polyad.parse("examples/cholesky.c")
    values, _ = bench_inputs(kernel, {"n": 6}, 0, ("A",), {"A": "spd"})
    assert np.min(np.linalg.eigvalsh(values["A"])) > 0
    done = polyad_cli("bench", "examples/cholesky.c", "--init", "A=spd", "--variants",
                      "primal,exact", "--repeat", "1", "-D", "n=6")
    assert done.returncode == 0, done.stdout + done.stderr
    done = polyad_cli("bench", "examples/cholesky.c", "--init", "A=sspd")
    assert done.returncode == 2 and "unknown input kind 'sspd'" in done.stderr


def test_check_of_an_overflowing_loop_names_the_statement_without_warnings(tmp_path):
    """Oracle: the original C's outputs (inf) and the interpreter run
    forward: squaring 20 times overflows; bad inputs (exit 4) naming line 4,
    and no numpy RuntimeWarning on stderr."""
    path = tmp_path / "squaring.c"
    path.write_text("void squaring(int n, int m, double x[m]) {\n"
                    "  for (int t = 0; t < n; t++)\n    for (int i = 0; i < m; i++)\n"
                    "      x[i] = x[i] * x[i];\n}\n")
    done = polyad_cli("check", str(path), "-D", "n=20", "-D", "m=3")
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"bad inputs: {path}:4:" in done.stdout and "gives inf at t=" in done.stdout
    assert done.stderr == ""
    done = polyad_cli("check", str(path), "-D", "n=12", "-D", "m=3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""


def test_check_of_a_rank_deficient_gram_schmidt_exits_3(tmp_path):
    """Oracle: the condition estimate (the compiled gradient at perturbed
    inputs): two columns 1e-10 apart are ill-conditioned, said with the
    estimate, exit 3; not a wrong gradient."""
    rng = np.random.default_rng(3)
    A = rng.uniform(0.5, 1.5, (10, 8))
    A[:, 3] = A[:, 2] + 1e-10 * rng.standard_normal(10)
    path = tmp_path / "deficient.npz"
    np.savez(path, A=A, m=10, n=8)
    done = polyad_cli("check", "examples/gramschmidt.c", "--inputs", str(path))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "verdict: ill-conditioned at these inputs (condition estimate" in done.stdout
    assert "WRONG" not in done.stdout


def test_check_at_the_medium_preset_ends_within_a_minute():
    """Oracle: the clock, and the four oracles at gemm's medium sizes (the
    interpreter at reduced sizes, which the row says)."""
    start = time.monotonic()
    done = polyad_cli("check", "examples/gemm.c", "--dataset", "medium", "--progress")
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - start < 60
    assert "at reduced sizes ni=8 nj=9 nk=10" in done.stdout
    assert "polyad: reverse-mode interpreter: 792 statement instances" in done.stderr


def test_analyze_plans_the_layers_of_the_scheduled_program():
    """A gathered (auto) schedule splits instructions: the layers report
    plans those pieces (it used to end in KeyError: 'S0_b_rest')."""
    done = polyad_cli("analyze", "examples/jacobi_1d.c", "--schedule", "auto", "--layout",
                      "layers", "-D", "n=40", "-D", "tsteps=5", "--json")
    assert done.returncode == 0, done.stderr
    (layers,) = json.loads(done.stdout)["layouts"]
    names = {name for layer in layers["layers"] for name in layer["instructions"]}
    assert "S0_b_rest" in names and all(layer["iterations"] > 0 for layer in layers["layers"])
