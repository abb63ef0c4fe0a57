"""The layers layout on the heat2d stencil of issue 12 (its scratch indices
once went out of bounds), the sanitized runs that would have caught it, and
the bounds that end every isl computation.

Oracles: verify.check_gradient (the original C compiled by the system
compiler, the reverse-mode interpreter, central finite differences, the
dot-product test); AddressSanitizer and UBSan (codegen.sanitize) on the
generated code; the CLI's exit-code contract (2 and one line for a bound)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import islpy as isl
import numpy as np
import pytest

from polyad import codegen
import polyad
from polyad.codegen.sanitize import SanitizerError, run_sanitized
from polyad.codegen.binding import ArgumentSpec
from polyad import api
from polyad.check import verify
from polyad.bounds import BoundExceeded, bounded
from polyad.errors import UsageError
from polyad.tape.layouts import plan_layers
from polyad.program.lowering import adjoint_program
from tests.conftest import example

ROOT = Path(__file__).resolve().parents[2]
HEAT2D = ROOT / "tests" / "kernels" / "heat2d.c"


def _heat2d():
    return polyad.parse(HEAT2D)


def _all_ok(result):
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_heat2d_layers_passes_every_oracle():
    kernel = _heat2d()
    _all_ok(verify.check_gradient(kernel, {"tsteps": 2, "n": 10}, layout="layers"))


def test_no_instruction_is_staged_in_two_layers():
    # At n = 20 the boundary pieces of the split adjoint (S0_b6: i = 1, a
    # constant row) once got a layer of their own inside their band's layer.
    kernel = _heat2d()
    sizes = {"tsteps": 2, "n": 20}
    adjoint = polyad.grad(kernel)
    layers = plan_layers(adjoint_program(adjoint, layout="exact"), adjoint.schedule(),
                         32 * 1024, sizes)
    staged = [name for layer in layers for name in layer.instructions]
    assert len(staged) == len(set(staged))
    (with_b0,) = [layer for layer in layers if "S0_b0" in layer.instructions]
    assert "S0_b6" in with_b0.instructions


def test_layers_code_is_for_the_sizes_it_was_planned_at():
    kernel = _heat2d()
    sizes = {"tsteps": 2, "n": 10}
    adjoint = polyad.grad(kernel).with_layout("layers", sizes=sizes)
    program = api.program_of(adjoint)
    assert dict(program.sizes) == sizes
    source = codegen.generate(program)
    assert "abort();" in source and "n == 10" in source
    function = codegen.compile_program(program)
    values = verify.kernel_inputs(kernel, {"tsteps": 2, "n": 12}, seed=0)
    with pytest.raises(UsageError, match="outside"):
        function(**values)


OVERFLOW = """
void overflow(int n, double *x) { for (int i = 0; i <= n; i++) x[i] = 1.0; }
"""


def test_the_sanitized_run_finds_an_out_of_bounds_write():
    specs = (ArgumentSpec("n", "size", "int"), ArgumentSpec("x", "array"))
    # OVERFLOW is a plain void function, without the status generated
    # functions return: the driver calls it without checking one.
    run_sanitized(OVERFLOW.replace("<= n", "< n"), "overflow", specs,
                  {"n": 4, "x": np.zeros(4)}, status=False)
    with pytest.raises(SanitizerError, match="heap-buffer-overflow"):
        run_sanitized(OVERFLOW, "overflow", specs, {"n": 4, "x": np.zeros(4)},
                      status=False)


@pytest.mark.slow  # 140 s on 2 cores; jacobi_2d below keeps a sanitized layers run in make test
def test_heat2d_layers_and_auto_are_clean_under_the_sanitizers(monkeypatch):
    monkeypatch.setenv("POLYAD_SANITIZE", "1")
    kernel = _heat2d()
    function = codegen.compile_program(api.program_of(
        polyad.grad(kernel).with_layout("layers", sizes=kernel.sizes())))
    assert type(function).__name__ == "SanitizedFunction"
    _all_ok(verify.check_gradient(kernel, kernel.sizes(), layout="layers",
                                  schedule="auto"))


@pytest.mark.parametrize("name", ["jacobi_2d", pytest.param("lu", marks=pytest.mark.slow),
                                  pytest.param("rnn", marks=pytest.mark.slow)])
def test_examples_in_layers_and_auto_are_clean_under_the_sanitizers(name, monkeypatch):
    monkeypatch.setenv("POLYAD_SANITIZE", "1")
    kernel = example(name)
    _all_ok(verify.check_gradient(kernel, kernel.sizes(), layout="layers", schedule="auto"))


def _cli(*args, **env):
    environment = {**os.environ, **env}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "polyad.cli", *args], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def test_the_operation_bound_ends_layers_with_a_clear_error():
    done = _cli("check", str(HEAT2D), "--layout", "layers",
                POLYAD_ISL_MAX_OPERATIONS="10000")
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("polyad: error: --layout layers:")
    assert "10000 isl operations ($POLYAD_ISL_MAX_OPERATIONS)" in line
    assert "use --layout stream or exact" in line


def test_the_time_bound_ends_auto_with_a_clear_error():
    done = _cli("check", str(ROOT / "examples" / "gemm.c"), "--schedule", "auto",
                POLYAD_TIME_LIMIT="0.001")
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "--schedule auto" in line and "0.001 s ($POLYAD_TIME_LIMIT)" in line


def test_bounded_passes_other_errors_through_and_restores_isl():
    context = isl.DEFAULT_CONTEXT
    before = context.get_max_operations()
    with pytest.raises(UsageError, match="unrelated") as caught:
        with bounded("--layout layers", "use another"):
            raise UsageError("unrelated")
    assert not isinstance(caught.value, BoundExceeded)
    with pytest.raises(BoundExceeded, match="--layout layers: .* 10 isl operations"):
        os.environ["POLYAD_ISL_MAX_OPERATIONS"] = "10"
        try:
            with bounded("--layout layers", "use another"):
                isl.Set("[n] -> { [i, j] : 0 <= i, j < n and i + j = n }").lexmin()
                isl.Set("[n] -> { [i, j] : 0 <= i < n and j = 2i }").coalesce().lexmax()
        finally:
            del os.environ["POLYAD_ISL_MAX_OPERATIONS"]
    assert context.get_max_operations() == before
    assert str(isl.Set("{ [i] : 0 <= i < 3 }").lexmin()) == "{ [i = 0] }"


@pytest.mark.parametrize("n", [4, 5])
def test_layers_of_a_loop_without_iterations_at_the_sizes(n):
    """Oracles of polyad check (original C bitwise, interpreter, dot product,
    finite differences): a nest that runs no iteration at n = 4 is staged
    in no layer."""
    kernel = polyad.parse(str(ROOT / "tests" / "kernels" / "empty_nest_layers.c"))
    result = api.check(kernel, {"n": n}, layout="layers")
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_bench_goes_on_when_a_variant_exceeds_a_bound(monkeypatch):
    """Oracle: the CLI's contract. heat2d at tsteps=50, n=200 ran past the
    isl bound in layers and ended the whole bench with exit 2; a variant past
    a bound is now reported not applicable, with the reason, and the others
    are timed (here the bound is lowered so that small sizes show it)."""
    from tests.test_cli import polyad_cli
    monkeypatch.setenv("POLYAD_ISL_MAX_OPERATIONS", "1000000")
    done = polyad_cli("bench", "tests/kernels/heat2d.c", "-D", "tsteps=2", "-D", "n=20",
                      "--repeat", "1", "--variants", "primal,exact,layers", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)["variants"]}
    assert rows["exact"]["verified"] is True and rows["exact"]["median_s"] > 0
    assert "isl operations" in rows["layers"]["not_applicable"]


@pytest.mark.slow
def test_heat2d_layers_at_the_issues_sizes_is_within_the_bounds():
    """Oracles of polyad check (original C bitwise, interpreter). At
    tsteps=2, n=100 printing the layers code ran past isl's default
    operation bound (after 33 s): rebuilding each instruction's schedule
    from its piecewise dimensions multiplied their pieces."""
    kernel = polyad.parse(str(ROOT / "tests" / "kernels" / "heat2d.c"))
    result = api.check(kernel, {"tsteps": 2, "n": 100}, layout="layers",
                       oracles=("primal", "interpreter"))
    assert all(c["ok"] for c in result["checks"]), result["checks"]
