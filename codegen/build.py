"""Compiling C with the system compiler into a content-addressed cache.

A shared library is keyed by the hash of its source, the compiler command,
its flags and its version; it is compiled to a temporary file in the cache
directory and moved into place atomically, so concurrent runs never see a
half-written library and the cache survives them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from polyad.codegen.blas import blas_library
from polyad.errors import CompileError, UsageError
from polyad.files import write_atomically

#: Flags used unless $CFLAGS says otherwise. -ffp-contract=off keeps every
#: multiply and add separately rounded, so that generated and original code
#: can be compared bit for bit whatever the compiler does with FMA.
DEFAULT_CFLAGS = "-O3 -march=native -ffp-contract=off"
#: Warnings that are errors in the code polyad generates (never in a user's
#: C, which the compiler judges as the user's build would): each means an
#: argument or a call of the wrong type (a double** for a double*), which
#: runs and returns a wrong gradient.
GENERATED_CODE_FLAGS = ("-Werror=incompatible-pointer-types", "-Werror=int-conversion",
                        "-Werror=implicit-function-declaration")


def cache_dir() -> Path:
    """The build cache: $POLYAD_CACHE, else ~/.cache/polyad."""
    root = os.environ.get("POLYAD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "polyad")
    path = Path(root)
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A directory we may list but not write in fails later, at the first
        # build, with a less helpful message: try a write now.
        tempfile.TemporaryFile(dir=path).close()
    except OSError as error:
        variable = "POLYAD_CACHE" if os.environ.get("POLYAD_CACHE") else "XDG_CACHE_HOME"
        raise UsageError(f"cannot use the build cache {path}: {error.strerror}; set "
                         f"{variable} to a writable directory") from None
    return path


def compiler_command() -> list[str]:
    """The compiler ($CC, default cc) as argv."""
    return shlex.split(os.environ.get("CC", "cc"))


def compiler_flags(openmp: bool = False) -> list[str]:
    """$CFLAGS (or the defaults), C99 with GNU extensions, and OpenMP."""
    flags = shlex.split(os.environ.get("CFLAGS", DEFAULT_CFLAGS))
    flags += ["-std=gnu99"]
    if openmp:
        flags.append("-fopenmp")
    return flags


@functools.lru_cache(maxsize=None)
def compiler_version(command: tuple[str, ...]) -> str:
    try:
        done = subprocess.run(list(command) + ["--version"], capture_output=True,
                              text=True, timeout=60)
    except FileNotFoundError:
        raise CompileError(f"C compiler {command[0]!r} not found (set CC)") from None
    return done.stdout.splitlines()[0] if done.stdout else ""


def shared_library(source: str | tuple[str, ...], *, openmp: bool = False,
                   include_dir: str | None = None, what: str = "generated code",
                   extra_flags: tuple[str, ...] = (), blas: bool = False) -> Path:
    """The path of a shared library built from C ``source`` (cached), with
    ``extra_flags`` after the usual ones (the cache key includes them);
    linked with OpenBLAS when ``blas`` (codegen.blas; the key includes the
    library's version and place). A tuple of sources is built by one
    compiler run into one library, each source its own translation unit
    (so their static names and macros stay apart; their external names
    must differ)."""
    flags = compiler_flags(openmp) + list(extra_flags)
    if include_dir:
        flags += ["-I", include_dir]
    libraries, depends_on = (), ()
    if blas:
        library = blas_library()
        libraries, depends_on = tuple(library.link_flags), (library.identity,)
    # Vectorised loops may call glibc's vector math (codegen.emit declares
    # it where it exists); linking it always keeps one key per source.
    libraries += vector_math_library(tuple(compiler_command()))
    return _built(source, flags + ["-shared", "-fPIC"], ".so", what, include_dir,
                  libraries=libraries, depends_on=depends_on)


@functools.lru_cache(maxsize=None)
def vector_math_library(command: tuple[str, ...]) -> tuple[str, ...]:
    """``("-lmvec",)`` where the compiler links glibc's vector math library
    (libmvec), else nothing."""
    with tempfile.TemporaryDirectory(prefix="polyad-probe-") as directory:
        source = Path(directory) / "probe.c"
        source.write_text("int main(void) { return 0; }\n")
        try:
            done = subprocess.run(list(command) + [str(source), "-o",
                                                   str(Path(directory) / "probe"), "-lmvec"],
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return ()
    return ("-lmvec",) if done.returncode == 0 else ()


def executable(source: str, *, what: str = "a benchmark driver",
               extra_flags: tuple[str, ...] = ()) -> Path:
    """The path of a program built from C ``source`` (cached), linked with
    libdl for drivers that load shared libraries."""
    return _built(source, compiler_flags(False) + list(extra_flags), "", what, None,
                  libraries=["-ldl"])


def _built(source: str | tuple[str, ...], flags: list[str], suffix: str, what: str,
           include_dir: str | None, libraries: tuple[str, ...] | list[str] = (),
           depends_on: tuple[str, ...] = ()) -> Path:
    command = compiler_command()
    sources = (source,) if isinstance(source, str) else tuple(source)
    # With an include directory the source may #include the user's headers:
    # key on what the compiler will see, so that editing a header rebuilds.
    seen = [_preprocessed(command, include_dir, text) if include_dir else text
            for text in sources]
    # One source keys as it always did; several are told apart from one
    # source that happens to hold their concatenation.
    parts = seen if len(seen) == 1 else [f"{len(seen)} translation units", *seen]
    key = hashlib.sha256("\0".join(
        [*parts, *command, *flags, compiler_version(tuple(command)), *libraries,
         *depends_on]).encode()).hexdigest()
    directory = cache_dir()
    library = directory / f"{key[:32]}{suffix or '.exe'}"
    if library.exists():
        return library
    source_paths = [directory / (f"{key[:32]}.c" if len(sources) == 1 else f"{key[:32]}-{i}.c")
                    for i in range(len(sources))]
    for path, text in zip(source_paths, sources):
        write_atomically(path, text)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=f"{suffix or '.exe'}.tmp")
    os.close(handle)
    try:
        done = subprocess.run(command + flags + ["-o", temporary, *map(str, source_paths),
                                                 "-lm", *libraries],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            shown = ", ".join(map(str, source_paths))
            raise CompileError(f"{command[0]} failed on {what} ({shown}):\n"
                               + _first_lines(done.stderr))
        os.replace(temporary, library)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return library


def _preprocessed(command: list[str], include_dir: str, source: str) -> str:
    """``source`` after the preprocessor (the source itself if that fails:
    the compilation will then report why)."""
    try:
        done = subprocess.run(command + ["-E", "-I", include_dir, "-x", "c", "-"],
                              input=source, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return source
    return done.stdout if done.returncode == 0 else source


def _first_lines(text: str, count: int = 12) -> str:
    lines = text.strip().splitlines()
    tail = ["..."] if len(lines) > count else []
    return "\n".join(lines[:count] + tail)
