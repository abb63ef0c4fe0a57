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


def assert_refused_at(tmp_path, text: str, place: tuple[int, int], phrase: str) -> None:
    """Parsing ``text`` from a file raises a KernelError at (line, column)
    ``place`` of that file whose message says ``phrase``."""
    from polyad.errors import KernelError
    path = tmp_path / "bad.c"
    path.write_text(text)
    try:
        polyad.parse(path)
    except KernelError as error:
        location = error.location
        assert (location.file, location.line, location.col) == (str(path), *place), str(error)
        assert phrase in str(error)
        return
    raise AssertionError(f"accepted, expected a refusal at {place}: {phrase}")


def assert_gradient_ok(result: dict) -> None:
    """``polyad check``'s result (polyad.check.verify.check_gradient): the
    verdict ok and every oracle it ran ok."""
    assert result["verdict"] == "ok", result
    assert result["checks"] and all(c["ok"] for c in result["checks"]), result["checks"]


@functools.lru_cache(maxsize=None)
def example(name: str) -> polyad.Kernel:
    """The parsed kernel of examples/<name>.c."""
    return polyad.parse(EXAMPLES_DIR / f"{name}.c")


#: The suite compiles at -O1 (about 2.5 times faster to compile than the
#: default -O3 -march=native): the oracles compare code built with the same
#: flags on both sides, so the flags change the speed of the code, not what
#: a test can see. A test about the flags themselves sets CFLAGS (as
#: tests/codegen/test_build.py does); a CFLAGS of the user's own wins.
SUITE_CFLAGS = "-O1 -ffp-contract=off"


@pytest.fixture(autouse=True, scope="session")
def _private_build_cache(tmp_path_factory):
    """Compile into a cache of this test session, not the user's, shared by
    the session's xdist workers (the cache is keyed by content and written
    atomically, so concurrent builds are safe: tests/codegen/test_build.py),
    at :data:`SUITE_CFLAGS` unless $CFLAGS is set."""
    if "POLYAD_CACHE" not in os.environ:
        root = tmp_path_factory.getbasetemp()
        if os.environ.get("PYTEST_XDIST_WORKER"):
            root = root.parent  # the session's directory, above each worker's
        cache = root / "polyad-cache"
        cache.mkdir(exist_ok=True)
        os.environ["POLYAD_CACHE"] = str(cache)
    if "CFLAGS" not in os.environ:
        os.environ["CFLAGS"] = SUITE_CFLAGS
    yield
