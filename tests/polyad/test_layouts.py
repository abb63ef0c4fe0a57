"""Tape layouts: same gradients in every layout and schedule, streams read
front to back, layers that fit their scratchpad, and an address trace from
the model equal to the one the instrumented generated C prints.

Oracles: verify.check_gradient (the interpreter, finite differences, the
dot-product test, the original C); the instrumented build's own trace."""

from __future__ import annotations

import os
import tempfile

import pytest

from polyad import codegen
import polyad
from polyad.codegen.binding import CompiledFunction
from polyad.codegen.build import shared_library
from polyad.codegen.compile import argument_specs
from polyad import api
from polyad.tools import analysis
from polyad.check import verify
from polyad.errors import UsageError
from polyad.tape.layouts import plan_layers
from polyad.program.lowering import adjoint_program
from tests.conftest import EXAMPLES, example, sampled
from tests.polyad.test_examples import tile_reverse_nests

#: Examples whose exact tape is not empty (kernels that must record).
TAPED = [name for name in EXAMPLES if polyad.grad(example(name)).tape.records]
SCHEDULES = {"none": None, "auto": "auto", "tiled": tile_reverse_nests}
SCRATCHPAD = 2048


def test_taped_examples():
    # (rnn records nothing since tanh's partial reads the h it wrote)
    assert {"lu", "cholesky", "neural_ode", "gemm", "adi", "durbin", "softmax"} <= set(TAPED)


def _check(name, layout, schedule):
    kernel = example(name)
    result = verify.check_gradient(kernel, kernel.sizes(), layout=layout,
                                   scratchpad=SCRATCHPAD if layout == "layers" else None,
                                   schedule=SCHEDULES[schedule])
    assert result["layout"] == layout
    assert all(c["ok"] for c in result["checks"]), result["checks"]


QUICK = ["rnn", "lu", "cholesky", "gemm", "softmax", "durbin", "jacobi_2d"]


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("layout", ["stack", "regions", "stream", "layers"])
@pytest.mark.parametrize("name", QUICK)
def test_layouts_give_the_same_gradients(name, layout, schedule):
    _check(name, layout, schedule)


@pytest.mark.slow
@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("layout", ["stack", "regions", "stream", "layers"])
@pytest.mark.parametrize("name", [n for n in EXAMPLES if n not in QUICK])
def test_layouts_give_the_same_gradients_everywhere(name, layout, schedule):
    try:
        _check(name, layout, schedule)
    except UsageError as error:  # a nest of which not one iteration fits, or gathers
        assert layout == "layers" and ("fits a scratchpad" in str(error) or
                                       "does not stage gathers" in str(error))


def _reverse_stream_reads(program, sizes):
    reads = {}
    for access in analysis.trace(program, sizes):
        if access.reverse and access.kind == "r" and access.buffer.startswith("stream"):
            reads.setdefault(access.buffer, []).append(access.index)
    return reads


@pytest.mark.parametrize("schedule", ["none", "auto"])
@pytest.mark.parametrize("name", sampled(TAPED))
def test_stream_is_read_front_to_back(name, schedule):
    kernel = example(name)
    adjoint = polyad.grad(kernel).with_layout("stream")
    chosen = adjoint.schedule().auto() if schedule == "auto" else None
    reads = _reverse_stream_reads(api.program_of(adjoint, chosen), kernel.sizes())
    by_readers = [e for e in adjoint.tape.entries if not (e.writer or e.on_entry or e.shares)]
    if schedule == "none" and not by_readers and not adjoint.tape.decisions:
        # Every value is recorded by its writer or on entry (a shared
        # record, looked up by instance): nothing to stream.
        assert not reads
        return
    assert reads
    for buffer, indices in reads.items():
        assert indices == list(range(indices[0], indices[0] + len(indices))), buffer


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_layer_fits_its_scratchpad(name):
    kernel = example(name)
    adjoint = polyad.grad(kernel)
    try:
        layers = plan_layers(adjoint_program(adjoint, layout="exact"), adjoint.schedule(),
                             SCRATCHPAD, kernel.sizes())
    except UsageError as error:
        assert "fits a scratchpad of 2048 bytes" in str(error)
        return
    assert layers
    for layer in layers:
        assert 0 < layer.bytes <= SCRATCHPAD, (layer.instructions, layer.bytes)


def test_no_layer_that_fits_is_an_error_with_the_bytes_needed():
    kernel = example("gemm")
    adjoint = polyad.grad(kernel).with_layout("layers", 16, sizes=kernel.sizes())
    with pytest.raises(UsageError, match=r"fits a scratchpad of 16 bytes: one iteration .* "
                                         r"needs \d+ bytes"):
        api.program_of(adjoint)


def _instrumented_trace(program, kernel, sizes):
    source = codegen.generate(program, trace=True)
    function = CompiledFunction(shared_library(source, openmp="#pragma omp" in source),
                                program.name, argument_specs(program), program.context)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "trace")
        os.environ["POLYAD_TRACE_FILE"] = path
        try:
            function(**verify.kernel_inputs(kernel, sizes, seed=0))
        finally:
            del os.environ["POLYAD_TRACE_FILE"]
        return [tuple(line.split()) for line in open(path)]


@pytest.mark.parametrize("layout", ["exact", "stack", "regions", "stream", "layers"])
@pytest.mark.parametrize("name", ["rnn", "lu", "jacobi_1d"])
def test_modelled_trace_equals_the_instrumented_build(name, layout):
    kernel = example(name)
    sizes = kernel.sizes()
    adjoint = polyad.grad(kernel, strategy="stack" if layout == "stack" else "exact")
    adjoint = adjoint.with_layout(layout, SCRATCHPAD if layout == "layers" else None,
                                  sizes=sizes)
    program = api.program_of(adjoint)
    names = [b.name for b in program.buffers]
    modelled = [(a.kind, str(names.index(a.buffer)), str(a.index))
                for a in analysis.trace(program, sizes)]
    assert modelled and _instrumented_trace(program, kernel, sizes) == modelled


@pytest.mark.parametrize("layout", ["exact", "stack", "regions", "stream", "layers"])
def test_modelled_trace_of_recorded_outcomes(layout):
    """Byte buffers of comparison outcomes (floyd_warshall's), exact strategy
    in every layout: the model's addresses are the generated C's."""
    kernel = example("floyd_warshall")
    sizes = {"n": 4}
    adjoint = polyad.grad(kernel).with_layout(layout, SCRATCHPAD if layout == "layers"
                                              else None, sizes=sizes)
    program = api.program_of(adjoint)
    assert any(b.dtype == "unsigned char" for b in program.buffers)
    names = [b.name for b in program.buffers]
    modelled = [(a.kind, str(names.index(a.buffer)), str(a.index))
                for a in analysis.trace(program, sizes)]
    assert modelled and _instrumented_trace(program, kernel, sizes) == modelled
    report = analysis.analyze(program, sizes, analysis.Cache(32 * 1024, 64, 8))
    assert report["tape_bytes"] == 4 ** 3  # one byte per instance


def test_reuse_distances_and_lru_cache():
    assert analysis.reuse_distances([1, 2, 1, 3, 2, 1]) == [None, None, 1, None, 2, 2]
    cache = analysis.Cache(size=128, line=64, ways=2)  # one set of two lines
    assert analysis.simulate([0, 64, 0, 128, 64, 0], cache) == [
        False, False, True, False, False, False]
    assert analysis.Cache.parse("32KiB,64B,8") == analysis.Cache(32768, 64, 8)
    with pytest.raises(UsageError):
        analysis.Cache.parse("32KiB,64B")


def test_a_split_under_the_stack_layout():
    """A schedule's rewrites are made on the rescheduled program, where the
    stack is an instance-indexed tape: split on it is legal, and compiling
    applied it to the sequential-stack program instead (a ScheduleError,
    found by make test's random kernels). Oracles: every one of check."""
    kernel = polyad.parse("void f(int n, double x[n], double z[n], double y[n]) "
                          "{ for (int i = 0; i < n; i++) y[i] += x[i] * z[i]; }")
    result = verify.check_gradient(kernel, {"n": 5}, strategy="stack", layout="stack",
                                   schedule=lambda s: s.split("S0_b"))
    assert result["checks"] and all(c["ok"] for c in result["checks"]), result["checks"]
