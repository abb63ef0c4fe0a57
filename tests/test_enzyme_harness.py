"""The Enzyme peer's harness (bench/peers/enzyme.py) up to the plugin, which
is not packaged for this machine: the wrapper it hands to Enzyme is valid C
with the signature of polyad's gradient, passes the differentiated arrays as
enzyme_dup with their adjoints and everything else as enzyme_const, and the
benchmark says how to enable it when the plugin is absent. Oracle: the
system C compiler (syntax and types) and the kernel's own signature."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from bench.peers.enzyme import SYMBOL, enzyme_available, wrapper_source
from polyad.codegen.declarations import signature
from polyad.ad.adjoint import grad
from polyad.program.lowering import adjoint_program
from tests.conftest import example


@pytest.mark.parametrize("name", ["gemm", "lu", "rnn"])
def test_the_wrapper_is_valid_c_with_the_gradient_signature(name, tmp_path):
    kernel = example(name)
    source = wrapper_source(kernel)
    program = adjoint_program(grad(kernel))
    expected = signature(program).replace(f"int {program.name}(", f"int {SYMBOL}(", 1)
    assert expected in source
    path = tmp_path / "wrapper.c"
    path.write_text(source)
    compiler = os.environ.get("CC") or shutil.which("cc") or "gcc"
    done = subprocess.run([compiler, "-std=c99", "-fsyntax-only", "-Wall", "-Werror",
                           "-Wno-unused-variable", "-Wno-unknown-pragmas", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_arrays_are_duplicated_with_their_adjoints_and_the_rest_is_constant():
    source = wrapper_source(example("gemm"))
    call = re.search(r"__enzyme_autodiff\(\(void \*\)gemm, (.*)\);", source).group(1)
    assert call == ("enzyme_const, ni, enzyme_const, nj, enzyme_const, nk, "
                    "enzyme_const, alpha, enzyme_const, beta, enzyme_dup, C, C_b, "
                    "enzyme_dup, A, A_b, enzyme_dup, B, B_b")


def test_without_the_plugin_the_peer_is_not_available(monkeypatch):
    monkeypatch.delenv("ENZYME_PLUGIN", raising=False)
    assert not enzyme_available()
    monkeypatch.setenv("ENZYME_PLUGIN", "/nonexistent/ClangEnzyme-16.so")
    monkeypatch.setenv("CLANG", "clang-16")
    assert not enzyme_available()


@pytest.mark.parametrize("name", ["gemm", "bicg", "rnn"])
def test_enzyme_gets_restrict_arrays_and_the_same_kernel(name, tmp_path):
    """Oracle: the original C compiled by the system compiler: the kernel
    handed to Enzyme, with restrict on every array parameter, computes the
    same outputs bit for bit."""
    import numpy as np

    from polyad.codegen.build import shared_library
    from polyad.codegen.compile import compile_original
    from polyad.tools.bench import bench_inputs
    from polyad.codegen.binding import CompiledFunction

    kernel = example(name)
    source = wrapper_source(kernel)
    header = source[:source.index("{", source.index(f"void {kernel.name}("))]
    arrays = [p.name for p in kernel.signature if p.kind == "array"]
    for array in arrays:
        assert re.search(rf"\b{array}\[restrict ", header), (array, header)
    original, _ = compile_original(kernel)
    restricted = CompiledFunction(shared_library(source.split("extern void __enzyme")[0]),
                                  kernel.name, original.arguments, original.context,
                                  status=False)  # the user's own void function
    values, _ = bench_inputs(kernel, kernel.sizes(), 0, ())
    expected, got = original(**values), restricted(**values)
    for array in arrays:
        assert np.array_equal(expected[array], got[array]), array
