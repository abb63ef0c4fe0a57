"""BLAS calls in generated C: OpenBLAS from the ``scipy-openblas32`` wheel.

The wheel (a declared dependency of polyad) ships ``libscipy_openblas.so``
with 32-bit integers and every symbol prefixed ``scipy_``
(``scipy_cblas_dgemm``). Generated code declares the few functions it calls
itself, rather than including ``cblas.h``, so that the header's hundreds of
names cannot meet the kernel's; the library is linked with an rpath, so the
shared object loads without ``LD_LIBRARY_PATH``. Programs that call BLAS set
its thread count to polyad's own (``polyad_threads()``, OpenMP's) on entry:
one thread when polyad runs one.

What to call is decided upstream (:mod:`polyad.program.library` values in
the schedule's :class:`polyad.schedule.marks.Library` marks); this module
prints those calls.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import islpy as isl

from polyad.errors import CompileError
from polyad.program.library import WORKSPACE, Gemm, GemmDot, Gemv, LibraryCall, Matrix

#: The wheel's symbol prefix (its pkg-config file says -DBLAS_SYMBOL_PREFIX=scipy_).
PREFIX = "scipy_"
DGEMM, DGEMV, DDOT = f"{PREFIX}cblas_dgemm", f"{PREFIX}cblas_dgemv", f"{PREFIX}cblas_ddot"
SET_THREADS = f"{PREFIX}openblas_set_num_threads"
#: The functions generated code calls (kernels may not use these names).
FUNCTIONS = (DGEMM, DGEMV, DDOT, SET_THREADS)
#: cblas.h's enumerators: CblasRowMajor, CblasNoTrans, CblasTrans.
ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE = 101, 111, 112

#: The declarations generated code needs (cblas.h's, with its enums and
#: blasint, which is int in this 32-bit-integer build, spelled as int).
PROTOTYPES = f"""\
/* OpenBLAS (scipy-openblas32): row-major CBLAS, 32-bit integers. */
extern void {DGEMM}(int, int, int, int, int, int, double, const double *, int,
                    const double *, int, double, double *, int);
extern void {DGEMV}(int, int, int, int, double, const double *, int, const double *, int,
                    double, double *, int);
extern double {DDOT}(int, const double *, int, const double *, int);
extern void {SET_THREADS}(int);
"""


@dataclass(frozen=True)
class BlasLibrary:
    """Where the shared library is and which version it is."""

    directory: str
    name: str
    version: str

    @property
    def link_flags(self) -> tuple[str, ...]:
        """Linker arguments: the library, found at run time through an rpath."""
        return (f"-L{self.directory}", f"-Wl,-rpath,{self.directory}", f"-l{self.name}")

    @property
    def path(self) -> str:
        """The shared library's file."""
        return f"{self.directory}/lib{self.name}.so"

    @property
    def identity(self) -> str:
        """What the build cache keys on: a new wheel rebuilds."""
        return f"scipy-openblas32 {self.version} {self.directory}"


@functools.lru_cache(maxsize=None)
def blas_library() -> BlasLibrary:
    """The OpenBLAS of the scipy-openblas32 wheel (a CompileError if it is
    not installed)."""
    try:
        import scipy_openblas32 as wheel
    except ImportError:
        raise CompileError("generated code calls BLAS, but the scipy-openblas32 package "
                           "is not installed (pip install scipy-openblas32, or schedule "
                           "with --no-blas)") from None
    return BlasLibrary(wheel.get_lib_dir(), wheel.get_library(),
                       getattr(wheel, "__version__", "unknown"))


def call_lines(call: LibraryCall, pointer: Callable[[str], str],
               extent: Callable[[isl.PwAff], str], scale: str, target: str = "",
               workspace: str = "") -> list[str]:
    """The C statements of one call: ``pointer(buffer)`` is the address of a
    buffer's first element, ``extent`` the C text of a size, ``scale`` of the
    scalar factor (``1`` when there is none); for a GemmDot, ``target`` is the scalar's C text and
    ``workspace`` a free name for the product. Nothing is called when a
    dimension is empty (the library would reject a leading dimension of 0)."""
    if isinstance(call, GemmDot):
        product = call.product
        m, n, k = extent(product.m), extent(product.n), extent(product.k)
        into = {WORKSPACE: workspace}
        gemm = _gemm_arguments(product, "1.0", "0.0", lambda name: into.get(name) or
                               pointer(name), extent)
        return [f"if ({m} > 0 && {n} > 0 && {k} > 0) {{",
                f"  double *restrict {workspace} = malloc(sizeof(double) * {m} * {n});",
                f"  {DGEMM}({', '.join(gemm)});",
                f"  {target} += {'' if scale == '1' else scale + ' * '}{DDOT}({m} * {n}, "
                f"{pointer(call.w)}, 1, {workspace}, 1);",
                f"  free({workspace});",
                "}"]
    if isinstance(call, Gemm):
        m, n, k = extent(call.m), extent(call.n), extent(call.k)
        arguments = _gemm_arguments(call, scale, "1.0", pointer, extent)
        return [f"if ({m} > 0 && {n} > 0 && {k} > 0)",
                f"  {DGEMM}({', '.join(arguments)});"]
    if isinstance(call, Gemv):
        rows, columns = extent(call.rows), extent(call.columns)
        arguments = [str(ROW_MAJOR), _transpose(call.a), rows, columns, scale,
                     pointer(call.a.buffer), _leading(call.a, extent),
                     pointer(call.x), "1", "1.0", pointer(call.y), "1"]
        return [f"if ({rows} > 0 && {columns} > 0)",
                f"  {DGEMV}({', '.join(arguments)});"]
    raise CompileError(f"internal error: no C for the library call {call}")


def _gemm_arguments(call: Gemm, scale: str, beta: str, pointer, extent) -> list[str]:
    return [str(ROW_MAJOR), _transpose(call.a), _transpose(call.b), extent(call.m),
            extent(call.n), extent(call.k), scale, pointer(call.a.buffer),
            _leading(call.a, extent), pointer(call.b.buffer), _leading(call.b, extent), beta,
            pointer(call.c.buffer), _leading(call.c, extent)]


def _transpose(matrix: Matrix) -> str:
    return str(TRANSPOSE if matrix.transposed else NO_TRANSPOSE)


def _leading(matrix: Matrix, extent: Callable[[isl.PwAff], str]) -> str:
    return extent(matrix.leading)


def thread_line(threads: str) -> str:
    """The statement that gives BLAS ``threads`` (C text) threads."""
    return f"{SET_THREADS}({threads});"
