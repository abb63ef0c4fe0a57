"""Several programs compiled by one compiler run (codegen.compile_programs).

Oracles: the same programs compiled one by one (their outputs must be
bitwise the same), and the number of times the compiler runs.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyad
from polyad import codegen
from polyad.codegen import build
from polyad.check.verify import kernel_inputs
from polyad.program.derived import derivative_names
from polyad.program.ir import ADJOINT_SUFFIX, TANGENT_SUFFIX
from polyad.program.tangent import tangent_program
from polyad.program.targets import program_of
from tests.conftest import example


def _programs(name: str, auto: bool):
    kernel = example(name)
    adjoint = polyad.grad(kernel)
    schedule = adjoint.schedule().auto() if auto else None
    return kernel, adjoint, [program_of(adjoint, schedule),
                             tangent_program(polyad.jvp(kernel, adjoint.wrt))]


def _compiler_runs(monkeypatch) -> list:
    runs = []
    real = build.subprocess.run

    def counted(command, *args, **kwargs):
        if "-shared" in command:  # a build, not a probe of the compiler
            runs.append(command)
        return real(command, *args, **kwargs)

    monkeypatch.setattr(build.subprocess, "run", counted)
    return runs


@pytest.mark.parametrize("name, auto", [("lu", False), ("jacobi_2d", True), ("gemm", True)])
def test_together_is_bitwise_the_same_as_one_by_one(name, auto, tmp_path, monkeypatch):
    """Oracle: each program compiled alone; the outputs of the adjoint and
    the tangent compiled together are bitwise the same."""
    monkeypatch.setenv("POLYAD_CACHE", str(tmp_path / "cache"))
    kernel, adjoint, programs = _programs(name, auto)
    runs = _compiler_runs(monkeypatch)
    together = codegen.compile_programs(programs)
    kinds = {(codegen.compile.uses_openmp(p), codegen.compile.calls_library(p))
             for p in programs}
    assert len(runs) == len(kinds)
    alone = [codegen.compile_program(p) for p in programs]
    sizes = kernel.sizes("small") if "small" in kernel.source.presets else {
        p: 6 for p in kernel.params}
    values = kernel_inputs(kernel, sizes, seed=3)
    rng = np.random.default_rng(4)
    b, d = derivative_names(kernel, ADJOINT_SUFFIX), derivative_names(kernel, TANGENT_SUFFIX)
    extra = [{b[n]: rng.standard_normal(kernel.array(n).shape(sizes)) for n in adjoint.of},
             {d[n]: rng.standard_normal(kernel.array(n).shape(sizes)) for n in adjoint.wrt}]
    for one, other, more in zip(together, alone, extra):
        assert one.name == other.name
        got, expected = one(**values, **more), other(**values, **more)
        assert got.keys() == expected.keys()
        for key in got:
            assert np.array_equal(got[key], expected[key]), (name, one.name, key)


def test_one_compiler_run_for_programs_of_one_kind(tmp_path, monkeypatch):
    """Oracle: the compiler's invocations. The default-order adjoint and
    tangent of lu need neither OpenMP nor BLAS: one run builds both, and a
    second call finds them in the cache."""
    monkeypatch.setenv("POLYAD_CACHE", str(tmp_path / "cache"))
    _, _, programs = _programs("lu", False)
    runs = _compiler_runs(monkeypatch)
    first = codegen.compile_programs(programs)
    assert len(runs) == 1 and sum(arg.endswith(".c") for arg in runs[0]) == 2
    second = codegen.compile_programs(programs)
    assert len(runs) == 1
    assert [f.library_path for f in first] == [f.library_path for f in second]
    assert first[0].library_path == first[1].library_path
