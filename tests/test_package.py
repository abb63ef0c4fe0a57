"""The wheel installs one import package, polyad, with polyad.frontend and polyad.codegen.

Oracle: the wheel that pip builds from the project's own files (a zip file,
read with zipfile), and the modules of the package as installed here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the project's packaging files and sources."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("polyad", "frontend", "codegen"):
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    wheels = list(out.glob("polyad-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_polyad_and_its_dist_info_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {entry for entry in top if not entry.endswith(".dist-info")} == {"polyad"}
    assert len([entry for entry in top if entry.endswith(".dist-info")]) == 1
    assert "polyad/frontend/parse.py" in names
    assert "polyad/codegen/emit.py" in names
    assert "polyad/cli.py" in names


def test_the_installed_subpackages_are_the_repositorys_folders():
    import polyad.codegen
    import polyad.frontend

    assert Path(polyad.frontend.__file__).parent == ROOT / "frontend"
    assert Path(polyad.codegen.__file__).parent == ROOT / "codegen"
    assert "frontend" not in sys.modules and "codegen" not in sys.modules
