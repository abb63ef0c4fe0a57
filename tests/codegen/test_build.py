"""The build cache (codegen/build.py).

Oracles: the file system (paths, modification times, leftover files), the
loaded library itself (a function of it returns the value its source says),
and the compiler's own error text.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from polyad.codegen import build
from polyad.codegen.build import shared_library
from polyad.errors import CompileError, PolyadError

ROOT = Path(__file__).resolve().parents[2]


def _source(value: int) -> str:
    """A fresh source (never in any cache) whose function returns ``value``."""
    return (f"/* {uuid.uuid4()} */\n"
            f"int answer(void) {{ return {value}; }}\n")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private, empty cache directory."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("POLYAD_CACHE", str(directory))
    return directory


def _answer(library: Path) -> int:
    function = ctypes.CDLL(str(library)).answer
    function.restype = ctypes.c_int
    return function()


def test_polyad_cache_is_respected(cache):
    """Oracle: the path returned lies in $POLYAD_CACHE, which is created."""
    library = shared_library(_source(1))
    assert library.parent == cache
    assert library.suffix == ".so" and library.is_file()
    assert _answer(library) == 1


def test_same_source_same_library_compiled_once(cache, monkeypatch):
    """Oracle: the second build neither runs the compiler nor touches the file."""
    source = _source(2)
    first = shared_library(source)
    stamp = first.stat().st_mtime_ns
    entries = sorted(os.listdir(cache))

    def no_compiler(*args, **kwargs):
        raise AssertionError(f"the compiler ran again: {args}")

    monkeypatch.setattr(build.subprocess, "run", no_compiler)
    second = shared_library(source)
    assert second == first
    assert second.stat().st_mtime_ns == stamp
    assert sorted(os.listdir(cache)) == entries


def test_key_is_the_content(cache):
    """Oracle: different sources give different libraries, each with its own
    behaviour; the name does not depend on anything but the content."""
    one, two = _source(3), _source(4)
    assert shared_library(one) != shared_library(two)
    assert _answer(shared_library(one)) == 3
    assert _answer(shared_library(two)) == 4


def test_different_cflags_different_library(cache, monkeypatch):
    """Oracle: the flags are part of the key (a -O0 build is not served for
    -O2, nor the other way round)."""
    source = _source(5)
    monkeypatch.setenv("CFLAGS", "-O0")
    plain = shared_library(source)
    monkeypatch.setenv("CFLAGS", "-O2 -ffp-contract=off")
    optimised = shared_library(source)
    assert plain != optimised
    assert plain.is_file() and optimised.is_file()
    monkeypatch.setenv("CFLAGS", "-O0")
    assert shared_library(source) == plain


def test_compile_error_raises_with_the_compiler_message(cache):
    """Oracle: the compiler's own diagnostic names the undeclared identifier."""
    source = "/* %s */\nint broken(void) { return undeclared_thing_42; }\n" % uuid.uuid4()
    with pytest.raises(CompileError) as raised:
        shared_library(source, what="the test source")
    message = str(raised.value)
    assert "the test source" in message
    assert "undeclared_thing_42" in message
    assert "error" in message
    # nothing half-built is left behind, and nothing is cached for it
    assert not list(cache.glob("*.tmp")) and not list(cache.glob("*.so"))
    assert isinstance(raised.value, PolyadError)  # the CLI reports it as bad input


def test_a_pointer_of_the_wrong_type_in_generated_code_is_an_error(cache):
    """A double** passed for a double* (the nested parallel bug of
    6a8fbd1: a warning, and a wrong gradient) stops the build of generated
    code; the same C from a user still builds. Oracle: the compiler's own
    diagnostic."""
    source = (f"/* {uuid.uuid4()} */\n"
              "static void body(double *x) { x[0] += 1.0; }\n"
              "void outer(double *x) { body(&x); }\n")
    with pytest.raises(CompileError, match="incompatible-pointer-types"):
        shared_library(source, extra_flags=build.GENERATED_CODE_FLAGS)
    assert shared_library(source).is_file()


def test_missing_compiler_is_a_compile_error(cache, monkeypatch):
    """Oracle: the documented contract (set CC) instead of FileNotFoundError."""
    monkeypatch.setenv("CC", str(cache / "no-such-cc"))
    with pytest.raises(CompileError, match="not found"):
        shared_library(_source(6))


_CHILD = textwrap.dedent("""
    import ctypes, os, sys, time
    from pathlib import Path
    from polyad.codegen.build import shared_library
    source, barrier, me = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    (barrier / me).touch()
    deadline = time.time() + 60
    while len(list(barrier.iterdir())) < 4 and time.time() < deadline:
        time.sleep(0.005)
    library = shared_library(source)
    function = ctypes.CDLL(str(library)).answer
    function.restype = ctypes.c_int
    print(library, function())
""")


def test_concurrent_builds_of_a_new_source(cache, tmp_path):
    """Four processes build the same new source at the same moment.

    Oracle: each loads a working library (a partial file would not load or
    would not return 4242), all at the same path, and no temporary file is
    left in the cache.
    """
    source = _source(4242) + "".join(
        f"double f{k}(double x) {{ return x * {k}.5 + {k}; }}\n" for k in range(300))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = dict(os.environ, POLYAD_CACHE=str(cache),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, source, str(barrier), str(k)],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
                for k in range(4)]
    results = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, results):
        assert child.returncode == 0, err
    lines = {out.strip() for out, _ in results}
    assert len(lines) == 1, lines
    path, value = lines.pop().rsplit(" ", 1)
    assert value == "4242"
    assert Path(path).parent == cache
    leftovers = [p.name for p in cache.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert sorted(p.suffix for p in cache.iterdir()) == [".c", ".so"]


def test_editing_an_included_header_rebuilds(cache, tmp_path):
    """The original kernel is compiled with its directory on the include
    path; a header it includes is part of what is compiled.

    Oracle: the loaded function returns the header's current value (a stale
    cache hit would return the old one), and an unchanged header still hits.
    """
    headers = tmp_path / "headers"
    headers.mkdir()
    source = f'/* {uuid.uuid4()} */\n#include "value.h"\nint answer(void) {{ return VALUE; }}\n'
    (headers / "value.h").write_text("#define VALUE 1\n")
    first = shared_library(source, include_dir=str(headers))
    assert _answer(first) == 1
    assert shared_library(source, include_dir=str(headers)) == first
    (headers / "value.h").write_text("#define VALUE 2\n")
    second = shared_library(source, include_dir=str(headers))
    assert second != first
    assert _answer(second) == 2
