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
from polyad.program.blascalls import SharedProduct
from polyad.program.library import (WORKSPACE, Gemm, GemmDot, Gemmt, GemmtDot, Gemv, Ger,
                                    LibraryCall, Matrix, Syr2k, Trmm)

#: The wheel's symbol prefix (its pkg-config file says -DBLAS_SYMBOL_PREFIX=scipy_).
PREFIX = "scipy_"
DGEMM, DGEMV, DDOT = f"{PREFIX}cblas_dgemm", f"{PREFIX}cblas_dgemv", f"{PREFIX}cblas_ddot"
DGEMMT, DTRMM = f"{PREFIX}cblas_dgemmt", f"{PREFIX}cblas_dtrmm"
DSYR2K, DGER = f"{PREFIX}cblas_dsyr2k", f"{PREFIX}cblas_dger"
SET_THREADS = f"{PREFIX}openblas_set_num_threads"
#: The functions generated code calls (kernels may not use these names).
FUNCTIONS = (DGEMM, DGEMV, DDOT, DGEMMT, DTRMM, DSYR2K, DGER, SET_THREADS)
#: cblas.h's enumerators: CblasRowMajor, CblasNoTrans, CblasTrans.
ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE = 101, 111, 112
#: CblasUpper, CblasLower, CblasNonUnit, CblasUnit, CblasLeft, CblasRight.
UPPER, LOWER, NON_UNIT, UNIT, LEFT, RIGHT = 121, 122, 131, 132, 141, 142

#: The declarations generated code needs (cblas.h's, with its enums and
#: blasint, which is int in this 32-bit-integer build, spelled as int).
PROTOTYPES = f"""\
/* OpenBLAS (scipy-openblas32): row-major CBLAS, 32-bit integers. */
extern void {DGEMM}(int, int, int, int, int, int, double, const double *, int,
                    const double *, int, double, double *, int);
extern void {DGEMV}(int, int, int, int, double, const double *, int, const double *, int,
                    double, double *, int);
extern double {DDOT}(int, const double *, int, const double *, int);
extern void {DGEMMT}(int, int, int, int, int, int, double, const double *, int,
                     const double *, int, double, double *, int);
extern void {DGER}(int, int, int, double, const double *, int, const double *, int,
                  double *, int);
extern void {DSYR2K}(int, int, int, int, int, double, const double *, int,
                     const double *, int, double, double *, int);
extern void {DTRMM}(int, int, int, int, int, int, int, double, const double *, int,
                    double *, int);
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


def call_lines(call: LibraryCall, pointer: Callable[..., str],
               extent: Callable[[isl.PwAff], str], scale: str, target: str = "",
               local: Callable[[str], str] = lambda stem: stem) -> list[str]:
    """The C statements of one call: ``pointer(buffer, row, column)`` is the
    address of a buffer's element (row and column for a matrix, its first
    element by default), ``extent`` the C text of a size, ``scale`` of the
    scalar factor (``1`` when there is none); for a dot, ``target`` is the
    scalar's C text; ``local(stem)`` gives a free name for a workspace or a
    loop counter of the call's block (distinct stems). Nothing is called
    when a dimension is empty (the library would reject a leading dimension
    of 0, or a negative size)."""
    def view(matrix: Matrix) -> str:
        return pointer(matrix.buffer, matrix.row, matrix.column)

    if isinstance(call, GemmDot):
        return _gemm_dot_lines(call, pointer, extent, scale, target, local("_product"), [])
    if isinstance(call, GemmtDot):
        return _gemmt_dot_lines(call, view, extent, scale, target, local)
    if isinstance(call, Gemm):
        m, n, k = (_size(extent, e) for e in (call.m, call.n, call.k))
        arguments = _gemm_arguments(call, scale, "1.0", view, extent)
        return [f"if ({m} > 0 && {n} > 0 && {k} > 0)",
                f"  {DGEMM}({', '.join(arguments)});"]
    if isinstance(call, Gemmt):
        n, k = _size(extent, call.n), _size(extent, call.k)
        return [f"if ({n} > 0 && {k} > 0)",
                f"  {DGEMMT}({', '.join(_gemmt_arguments(call, scale, '1.0', view, extent))});"]
    if isinstance(call, Trmm):
        return _trmm_lines(call, view, extent, scale, local)
    if isinstance(call, Syr2k):
        n, k = _size(extent, call.n), _size(extent, call.k)
        arguments = [str(ROW_MAJOR), str(UPPER if call.upper else LOWER), _transpose(call.a),
                     extent(call.n), extent(call.k), scale, view(call.a),
                     _leading(call.a, extent), view(call.b), _leading(call.b, extent), "1.0",
                     view(call.c), _leading(call.c, extent)]
        return [f"if ({n} > 0 && {k} > 0)", f"  {DSYR2K}({', '.join(arguments)});"]
    if isinstance(call, Ger):
        m, n = _size(extent, call.m), _size(extent, call.n)
        arguments = [str(ROW_MAJOR), extent(call.m), extent(call.n), scale, pointer(call.x),
                     "1", pointer(call.y), "1", view(call.a), _leading(call.a, extent)]
        return [f"if ({m} > 0 && {n} > 0)", f"  {DGER}({', '.join(arguments)});"]
    if isinstance(call, Gemv):
        rows, columns = extent(call.rows), extent(call.columns)
        arguments = [str(ROW_MAJOR), _transpose(call.a), rows, columns, scale,
                     view(call.a), _leading(call.a, extent),
                     pointer(call.x), "1", "1.0", pointer(call.y), "1"]
        return [f"if ({rows} > 0 && {columns} > 0)",
                f"  {DGEMV}({', '.join(arguments)});"]
    raise CompileError(f"internal error: no C for the library call {call}")


def _gemm_dot_lines(call: GemmDot, pointer, extent, scale: str, target: str,
                    workspace: str, then: list[str]) -> list[str]:
    """The product into ``workspace``, the dot with it, the lines ``then``
    (which may read the workspace), the workspace freed."""
    product = call.product
    m, n, k = (_size(extent, e) for e in (product.m, product.n, product.k))
    into = {WORKSPACE: workspace}
    gemm = _gemm_arguments(product, "1.0", "0.0", lambda matrix: into.get(matrix.buffer)
                           or pointer(matrix.buffer, matrix.row, matrix.column), extent)
    return [f"if ({m} > 0 && {n} > 0 && {k} > 0) {{",
            f"  double *restrict {workspace} = malloc(sizeof(double) * {m} * {n});",
            f"  {DGEMM}({', '.join(gemm)});",
            f"  {target} += {'' if scale == '1' else scale + ' * '}{DDOT}({m} * {n}, "
            f"{pointer(call.w)}, 1, {workspace}, 1);",
            *then,
            f"  free({workspace});",
            "}"]


def shared_product_lines(call: SharedProduct, pointer: Callable[..., str],
                         extent: Callable[[isl.PwAff], str], dot_scale: str, target: str,
                         gemm_scale: str, local: Callable[[str], str]) -> list[str]:
    """The C statements of a :class:`SharedProduct`: the gemm+dot's (the
    product into a workspace, the dot), then the gemm's ``c`` incremented
    by its scale times the workspace, a loop the compiler vectorises."""
    gemm = call.gemm
    m, n = _size(extent, gemm.m), _size(extent, gemm.n)
    workspace, row, column, c = (local(stem) for stem in ("_product", "_row", "_column", "_c"))
    element = f"{workspace}[(long){row} * {_leading(call.dot.product.c, extent)} + {column}]"
    increment = [
        f"  double *restrict {c} = {pointer(gemm.c.buffer, gemm.c.row, gemm.c.column)};",
        f"  for (long {row} = 0; {row} < {m}; {row}++)",
        f"    for (long {column} = 0; {column} < {n}; {column}++)",
        f"      {c}[{row} * {_leading(gemm.c, extent)} + {column}] += "
        + (element if gemm_scale == "1" else f"{gemm_scale} * {element}") + ";"]
    return _gemm_dot_lines(call.dot, pointer, extent, dot_scale, target, workspace, increment)


def _gemm_arguments(call: Gemm, scale: str, beta: str, view, extent) -> list[str]:
    return [str(ROW_MAJOR), _transpose(call.a), _transpose(call.b), extent(call.m),
            extent(call.n), extent(call.k), scale, view(call.a),
            _leading(call.a, extent), view(call.b), _leading(call.b, extent), beta,
            view(call.c), _leading(call.c, extent)]


def _gemmt_arguments(call: Gemmt, scale: str, beta: str, view, extent) -> list[str]:
    return [str(ROW_MAJOR), str(UPPER if call.upper else LOWER), _transpose(call.a),
            _transpose(call.b), extent(call.n), extent(call.k), scale, view(call.a),
            _leading(call.a, extent), view(call.b), _leading(call.b, extent), beta,
            view(call.c), _leading(call.c, extent)]


def _gemmt_dot_lines(call: GemmtDot, view, extent, scale, target, local) -> list[str]:
    """The product on the triangle into a workspace (the rest of it is
    never written nor read), then one dot per row of the triangle."""
    n, k = _size(extent, call.product.n), _size(extent, call.product.k)
    workspace, row, total, w = local("_product"), local("_row"), local("_sum"), local("_w")
    into = {WORKSPACE: workspace}
    arguments = _gemmt_arguments(call.product, "1.0", "0.0",
                                 lambda m: into.get(m.buffer) or view(m), extent)
    leading = _leading(call.w, extent)
    first = row if call.upper else "0"
    length = f"{n} - {row}" if call.upper else f"{row} + 1"
    return [f"if ({n} > 0 && {k} > 0) {{",
            f"  double *restrict {workspace} = malloc(sizeof(double) * {n} * {n});",
            f"  const double *{w} = {view(call.w)};",
            f"  double {total} = 0.0;",
            f"  {DGEMMT}({', '.join(arguments)});",
            f"  for (int {row} = 0; {row} < {n}; {row}++)",
            f"    {total} += {DDOT}({length}, &{w}[(long){row} * {leading} + {first}], 1, "
            f"&{workspace}[(long){row} * {n} + {first}], 1);",
            f"  {target} += {'' if scale == '1' else scale + ' * '}{total};",
            f"  free({workspace});",
            "}"]


def _trmm_lines(call: Trmm, view, extent, scale, local) -> list[str]:
    """One dtrmm in place (a unit diagonal), or op(x) copied into a
    workspace, multiplied there by dtrmm, and added to c."""
    m, n = _size(extent, call.m), _size(extent, call.n)
    side = str(LEFT if call.left else RIGHT)
    uplo = str(UPPER if call.upper else LOWER)
    if call.unit:
        arguments = [str(ROW_MAJOR), side, uplo, _transpose(call.t), str(UNIT), m, n, "1.0",
                     view(call.t), _leading(call.t, extent), view(call.c),
                     _leading(call.c, extent)]
        return [f"if ({m} > 0 && {n} > 0)", f"  {DTRMM}({', '.join(arguments)});"]
    workspace, x, c = local("_product"), local("_x"), local("_c")
    row, column = local("_row"), local("_column")
    lx, lc = _leading(call.x, extent), _leading(call.c, extent)
    source = (f"{x}[(long){column} * {lx} + {row}]" if call.x.transposed
              else f"{x}[(long){row} * {lx} + {column}]")
    element = f"{workspace}[(long){row} * {n} + {column}]"
    loops = [f"  for (int {row} = 0; {row} < {m}; {row}++)",
             f"    for (int {column} = 0; {column} < {n}; {column}++)"]
    arguments = [str(ROW_MAJOR), side, uplo, _transpose(call.t), str(NON_UNIT), m, n, scale,
                 view(call.t), _leading(call.t, extent), workspace, n]
    return [f"if ({m} > 0 && {n} > 0) {{",
            f"  double *restrict {workspace} = malloc(sizeof(double) * {m} * {n});",
            f"  const double *{x} = {view(call.x)};",
            f"  double *{c} = {view(call.c)};",
            *loops, f"      {element} = {source};",
            f"  {DTRMM}({', '.join(arguments)});",
            *loops, f"      {c}[(long){row} * {lc} + {column}] += {element};",
            f"  free({workspace});",
            "}"]


def _size(extent: Callable[[isl.PwAff], str], pa: isl.PwAff) -> str:
    """A size's C text, parenthesised when it is more than a name or number."""
    text = extent(pa)
    return text if text.isidentifier() or text.isdigit() else f"({text})"


def _transpose(matrix: Matrix) -> str:
    return str(TRANSPOSE if matrix.transposed else NO_TRANSPOSE)


def _leading(matrix: Matrix, extent: Callable[[isl.PwAff], str]) -> str:
    return extent(matrix.leading)


def thread_line(threads: str) -> str:
    """The statement that gives BLAS ``threads`` (C text) threads."""
    return f"{SET_THREADS}({threads});"
