"""The stream layout's FIFOs: one per read of a tape, each as long as its
reader has instances. Oracles: the program's own references (pushes per
FIFO per instruction), AddressSanitizer over the generated code, and polyad
check's (the original C for the primal, bitwise; the interpreter; finite
differences; the dot product)."""

from __future__ import annotations

import polyad
from polyad import api
from polyad.check import verify
from tests.conftest import ROOT

KERNEL = ROOT / "tests" / "kernels" / "stream_two_reads_of_one_tape.c"
SIZES = {"polyad_threads": 6}


def test_each_fifo_takes_one_value_per_instance_of_its_reader():
    """Two reads of one tape by one instruction pushed two values per
    instance into a FIFO sized for one (fails on the old code)."""
    adjoint = polyad.grad(polyad.parse(str(KERNEL))).with_layout("stream")
    program = api.program_of(adjoint, api.schedule(adjoint).auto())
    fifos = {b.name for b in program.buffers if b.sequence == "fifo"}
    assert fifos
    for instruction in program.instructions:
        pushed = [r.buffer for r in instruction.references.values()
                  if r.push and r.buffer in fifos]
        assert len(pushed) == len(set(pushed)), (instruction.name, pushed)


def test_the_stream_layout_under_auto_is_clean_under_the_sanitizers(monkeypatch):
    monkeypatch.setenv("POLYAD_SANITIZE", "1")
    result = verify.check_gradient(polyad.parse(str(KERNEL)), SIZES, layout="stream",
                                   schedule="auto")
    assert result["verdict"] == "ok", result["checks"]
