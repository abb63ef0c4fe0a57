"""Collect the doctests of frontend/ and codegen/ under their installed names.

The folders are installed as polyad.frontend and polyad.codegen (pyproject's
package-dir). pytest names a module after its path, so left alone it would
import frontend/parse.py a second time as a top-level ``frontend.parse``: a
duplicate of every class, and the very package name polyad no longer installs.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SUBPACKAGES = {ROOT / "frontend": "polyad.frontend", ROOT / "codegen": "polyad.codegen"}


class SubpackageDir(pytest.Dir):
    """A folder mapped into polyad: its modules are imported by their polyad name."""

    def collect(self):
        package = SUBPACKAGES[self.path]
        for collector in super().collect():
            if isinstance(collector, pytest.Module):
                stem = collector.path.stem
                name = package if stem == "__init__" else f"{package}.{stem}"
                collector.obj = importlib.import_module(name)
            yield collector


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector):
    """frontend/ and codegen/ as mapped subpackages; every other folder as usual."""
    if path in SUBPACKAGES:
        return SubpackageDir.from_parent(parent, path=path)
    return None
