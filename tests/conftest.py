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
