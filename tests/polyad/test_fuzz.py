"""Differential testing on random kernels (hypothesis).

Oracles: the reverse-mode interpreter (gradients, 1e-9 relative), the
dot-product test between generated tangent and adjoint code (1e-9), and the
original C for the primal (bitwise). `make fuzz` runs thousands of kernels
(POLYAD_FUZZ_EXAMPLES); the default suite runs 200.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import codegen
import polyad
from polyad import verify
from polyad.activity import floating_inputs, floating_outputs
from tests.polyad.kernelgen import kernels

EXAMPLES = int(os.environ.get("POLYAD_FUZZ_EXAMPLES", "200"))


@pytest.fixture(autouse=True, scope="module")
def _quick_compiles():
    """-O1 compiles faster; bitwise comparisons use the same flags on both sides."""
    saved = os.environ.get("CFLAGS")
    os.environ["CFLAGS"] = "-O1 -ffp-contract=off"
    yield
    if saved is None:
        del os.environ["CFLAGS"]
    else:
        os.environ["CFLAGS"] = saved


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=kernels(), strategy=st.sampled_from(["exact", "stack"]),
       n=st.integers(4, 6))
def test_random_kernel_gradient(text, strategy, n):
    kernel = polyad.parse(text)
    # check refuses a kernel with nothing to differentiate (tested elsewhere).
    assume(floating_outputs(kernel) and floating_inputs(kernel))
    sizes = {"n": n}
    values = verify.kernel_inputs(kernel, sizes, seed=n)
    original, _ = codegen.compile_original(kernel)
    outputs = original(**values)
    assume(all(np.all(np.isfinite(v)) and np.max(np.abs(v)) < 1e6 for v in outputs.values()))
    result = verify.check_gradient(kernel, sizes, strategy=strategy, seed=n)
    checks = {c["oracle"]: c for c in result["checks"]}
    assert checks["primal vs original C (bitwise)"]["ok"], (text, checks)
    assert checks["reverse-mode interpreter"]["max_rel_err"] <= 1e-9, (text, checks)
    assert checks["dot product <w, J v> = <J^T w, v>"]["max_rel_err"] <= 1e-9, (text, checks)
