"""Running generated code under AddressSanitizer and UBSan.

With ``POLYAD_SANITIZE=1`` every function :func:`codegen.compile_program`
returns first runs, on the same arguments, a copy of itself built with
``-fsanitize=address,undefined`` inside a driver program (codegen.driver)
built the same way, and only then runs in the Python process. The driver is
a separate process on purpose: loading an ASan-instrumented library into a
Python that is not instrumented needs ``LD_PRELOAD`` of libasan and fails in
confusing ways, and a corrupted heap kills the driver instead of the
caller. A sanitizer report becomes a :class:`SanitizerError`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

from polyad.codegen.binding import ArgumentSpec, CompiledFunction
from polyad.codegen.build import executable, shared_library
from polyad.codegen.driver import driver_source, write_inputs

#: Flags added to the usual ones: the checks, and frames for readable reports.
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer", "-g")
#: Stop at the first error with a distinct exit code; leaks are not what is
#: checked (the driver keeps its arrays to the end).
SANITIZER_OPTIONS = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=86",
                     "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=86"}
#: Seconds a sanitized run may take (the checks make code 2-5x slower).
SANITIZED_RUN_SECONDS = 300


class SanitizerError(Exception):
    """The sanitizer found an error in generated code: a bug in polyad, not
    in its input (the CLI reports it as an internal error)."""


def sanitizing() -> bool:
    """Whether $POLYAD_SANITIZE asks for sanitized runs (1, yes, true)."""
    return os.environ.get("POLYAD_SANITIZE", "").strip().lower() in ("1", "yes", "true")


class SanitizedFunction(CompiledFunction):
    """A compiled function whose every call first runs under the sanitizers
    (precondition: ``source`` is the whole C text of ``symbol``'s library,
    built with OpenMP when ``openmp``, with OpenBLAS when ``blas``)."""

    def __init__(self, *args, openmp: bool = False, blas: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.openmp = openmp
        self.blas = blas

    def __call__(self, **values) -> dict[str, object]:
        run_sanitized(self.source, self.symbol, self.arguments, self.prepare(values),
                      openmp=self.openmp, blas=self.blas, status=self.status)
        return super().__call__(**values)


def run_sanitized(source: str, symbol: str, specs: tuple[ArgumentSpec, ...],
                  prepared: Mapping[str, object], *, openmp: bool = False,
                  blas: bool = False, status: bool = True) -> None:
    """Run ``symbol`` of C ``source`` once on ``prepared`` arguments (see
    CompiledFunction.prepare) with both built under the sanitizers; raise
    :class:`SanitizerError` with the report's first lines if they object.
    ``status``: ``symbol`` returns an int status, as generated functions
    do (False for a plain ``void`` function)."""
    library = shared_library(source, openmp=openmp, extra_flags=SANITIZE_FLAGS,
                             what=f"{symbol} (sanitized)", blas=blas)
    driver = executable(driver_source(specs, status, count_heap=False),
                        extra_flags=SANITIZE_FLAGS,
                        what="the sanitizer driver")
    environment = {**os.environ, **SANITIZER_OPTIONS, "OMP_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="polyad-sanitize-") as directory:
        inputs = Path(directory) / "inputs.bin"
        write_inputs(inputs, specs, prepared)
        try:
            done = subprocess.run([str(driver), str(library), symbol, str(inputs), "1", "0"],
                                  capture_output=True, text=True, env=environment,
                                  timeout=SANITIZED_RUN_SECONDS)
        except subprocess.TimeoutExpired:
            raise SanitizerError(f"the sanitized run of {symbol} took over "
                                 f"{SANITIZED_RUN_SECONDS} s") from None
    report = _report(done.stderr)
    if done.returncode != 0 or report:
        raise SanitizerError(f"sanitized run of {symbol} failed (exit {done.returncode}): "
                             + (report or done.stderr.strip()[-2000:] or "no report")
                             + f" [library {library}]")


def _report(stderr: str) -> str:
    """The lines of a sanitizer report that say what went wrong, and where."""
    lines = stderr.splitlines()
    kept = [line.strip() for line in lines
            if "ERROR: AddressSanitizer" in line or "runtime error:" in line
            or line.strip().startswith("#0 ") or line.strip().startswith("#1 ")
            or "is located" in line]
    return "\n".join(kept[:8])
