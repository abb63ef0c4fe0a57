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

import pathlib

import pytest

import polyad
from polyad import verify

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
