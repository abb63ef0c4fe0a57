"""Shared fixtures: the example kernels, parsed once per test process."""

from __future__ import annotations

import functools
import os
import pathlib

import pytest

import polyad

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.c"))
#: The examples that sweeps over every example run in `make test`: one of
#: each kind (BLAS products, in-place solvers with tapes, a scalar
#: recurrence, a gathered stencil, a time loop with a tape, exp/max, a data
#: branch, recorded decisions, sqrt and division, a triangular product). The
#: others run in `make test-all` (marked slow), which keeps make test near
#: its five minutes on two cores.
SAMPLE = ("gemm", "k2mm", "lu", "cholesky", "durbin", "jacobi_2d", "adi", "softmax", "relu",
          "floyd_warshall", "gramschmidt", "trmm")


def sampled(names) -> list:
    """``names`` as pytest parameters, those outside :data:`SAMPLE` marked
    slow (run by ``make test-all`` only)."""
    return [pytest.param(name, marks=() if name in SAMPLE else pytest.mark.slow)
            for name in names]


@functools.lru_cache(maxsize=None)
def example(name: str) -> polyad.Kernel:
    """The parsed kernel of examples/<name>.c."""
    return polyad.parse(EXAMPLES_DIR / f"{name}.c")


@pytest.fixture(autouse=True, scope="session")
def _private_build_cache(tmp_path_factory):
    """Compile into a cache of this test session, not the user's."""
    if "POLYAD_CACHE" not in os.environ:
        os.environ["POLYAD_CACHE"] = str(tmp_path_factory.mktemp("polyad-cache"))
    yield
