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
from typing import Callable, Mapping

import islpy as isl

from polyad.codegen.cexpr import CExpressionPrinter
from polyad.codegen.instances import comment_text
from polyad.errors import CompileError
from polyad.program.blascalls import Computed, SharedProduct, Sum
from polyad.program.ir import Buffer
from polyad.program.library import (WORKSPACE, Gemm, GemmDot, Gemmt, GemmtDot, Gemv, Ger,
                                    LibraryCall, Matrix, Syr2k, Trmm)

#: The wheel's symbol prefix (its pkg-config file says -DBLAS_SYMBOL_PREFIX=scipy_).
PREFIX = "scipy_"
SET_THREADS = f"{PREFIX}openblas_set_num_threads"
#: cblas.h's enumerators: CblasRowMajor, CblasNoTrans, CblasTrans.
ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE = 101, 111, 112
#: CblasUpper, CblasLower, CblasNonUnit, CblasUnit, CblasLeft, CblasRight.
UPPER, LOWER, NON_UNIT, UNIT, LEFT, RIGHT = 121, 122, 131, 132, 141, 142


@dataclass(frozen=True)
class Precision:
    """The routines of one floating type: BLAS's ``d`` functions for
    ``double``, its ``s`` functions for ``float`` (the call's data are all
    of that type; :func:`polyad.program.library.library_call` sees to it)."""

    ctype: str
    letter: str

    def routine(self, name: str) -> str:
        """The prefixed CBLAS name, e.g. ``scipy_cblas_sgemm`` for gemm."""
        return f"{PREFIX}cblas_{self.letter}{name}"

    @property
    def prototypes(self) -> str:
        """cblas.h's declarations of the routines generated code calls
        (blasint is int in this 32-bit-integer build, spelled as int)."""
        t, r = self.ctype, self.routine
        return f"""\
extern void {r("gemm")}(int, int, int, int, int, int, {t}, const {t} *, int,
                    const {t} *, int, {t}, {t} *, int);
extern void {r("gemv")}(int, int, int, int, {t}, const {t} *, int, const {t} *, int,
                    {t}, {t} *, int);
extern {t} {r("dot")}(int, const {t} *, int, const {t} *, int);
extern void {r("gemmt")}(int, int, int, int, int, int, {t}, const {t} *, int,
                     const {t} *, int, {t}, {t} *, int);
extern void {r("ger")}(int, int, int, {t}, const {t} *, int, const {t} *, int,
                  {t} *, int);
extern void {r("syr2k")}(int, int, int, int, int, {t}, const {t} *, int,
                     const {t} *, int, {t}, {t} *, int);
extern void {r("trmm")}(int, int, int, int, int, int, int, {t}, const {t} *, int,
                    {t} *, int);
"""


DOUBLE, SINGLE = Precision("double", "d"), Precision("float", "s")
PRECISIONS = {"double": DOUBLE, "float": SINGLE}
ROUTINES = ("gemm", "gemv", "dot", "gemmt", "trmm", "syr2k", "ger")
#: The functions generated code calls (kernels may not use these names).
FUNCTIONS = tuple(p.routine(r) for p in (DOUBLE, SINGLE) for r in ROUTINES) + (SET_THREADS,)

#: The declarations generated code needs, for both precisions.
PROTOTYPES = ("/* OpenBLAS (scipy-openblas32): row-major CBLAS, 32-bit integers. */\n"
              + DOUBLE.prototypes + SINGLE.prototypes + f"extern void {SET_THREADS}(int);\n")


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


def library_lines(call: LibraryCall, buffers: Mapping[str, Buffer],
                  reference_text: Callable[[Buffer, str], str],
                  extent: Callable[[isl.PwAff], str], local: Callable[[str], str],
                  comments: bool) -> list[str]:
    """The C statements doing one library call of a schedule's mark, in the
    precision of the buffer it writes (its data are all of that type):
    ``reference_text(buffer, name)`` is the C text of a scalar's value,
    ``extent`` of a size, ``local(stem)`` a free name in the call's block;
    with ``comments``, each call is preceded by what it computes."""
    if isinstance(call, Sum):
        return [line for part in call.parts
                for line in library_lines(part, buffers, reference_text, extent, local,
                                          comments)]
    said = [f"/* {comment_text(str(call))} */"] if comments else []
    if isinstance(call, Computed):
        return said

    def pointer(name: str, row: int = 0, column: int = 0) -> str:
        rank = len(buffers[name].extents)
        at = [row, column] if rank == 2 else [0] * rank
        return f"&{name}" + "".join(f"[{i}]" for i in at)

    def scale_text(of) -> str:
        scalars = {symbol: reference_text(buffers[buffer], buffer)
                   for symbol, buffer in of.scalars}
        return "1" if of.scale == 1 else \
            CExpressionPrinter(lambda symbol: scalars[symbol]).print(of.scale)

    target = reference_text(buffers[call.writes], call.writes)
    precision = PRECISIONS[buffers[call.writes].dtype]
    if isinstance(call, SharedProduct):
        return said + shared_product_lines(call, pointer, extent, scale_text(call.dot), target,
                                           scale_text(call.gemm), local, precision)
    return said + call_lines(call, pointer, extent, scale_text(call), target, local, precision)


def call_lines(call: LibraryCall, pointer: Callable[..., str],
               extent: Callable[[isl.PwAff], str], scale: str, target: str = "",
               local: Callable[[str], str] = lambda stem: stem,
               precision: Precision = DOUBLE) -> list[str]:
    """The C statements of one call: ``pointer(buffer, row, column)`` is the
    address of a buffer's element (row and column for a matrix, its first
    element by default), ``extent`` the C text of a size, ``scale`` of the
    scalar factor (``1`` when there is none); for a dot, ``target`` is the
    scalar's C text; ``local(stem)`` gives a free name for a workspace or a
    loop counter of the call's block (distinct stems); ``precision`` the
    type of the call's data. Nothing is called
    when a dimension is empty (the library would reject a leading dimension
    of 0, or a negative size)."""
    def view(matrix: Matrix) -> str:
        return pointer(matrix.buffer, matrix.row, matrix.column)

    if isinstance(call, GemmDot):
        return _gemm_dot_lines(call, pointer, extent, scale, target, local("_product"), [],
                               precision)
    if isinstance(call, GemmtDot):
        return _gemmt_dot_lines(call, view, extent, scale, target, local, precision)
    r = precision.routine
    if isinstance(call, Gemm):
        m, n, k = (_size(extent, e) for e in (call.m, call.n, call.k))
        arguments = _gemm_arguments(call, scale, "1.0", view, extent)
        return [f"if ({m} > 0 && {n} > 0 && {k} > 0)",
                f"  {r('gemm')}({', '.join(arguments)});"]
    if isinstance(call, Gemmt):
        n, k = _size(extent, call.n), _size(extent, call.k)
        return [f"if ({n} > 0 && {k} > 0)",
                f"  {r('gemmt')}({', '.join(_gemmt_arguments(call, scale, '1.0', view, extent))});"]
    if isinstance(call, Trmm):
        return _trmm_lines(call, view, extent, scale, local, precision)
    if isinstance(call, Syr2k):
        n, k = _size(extent, call.n), _size(extent, call.k)
        arguments = [str(ROW_MAJOR), str(UPPER if call.upper else LOWER), _transpose(call.a),
                     extent(call.n), extent(call.k), scale, view(call.a),
                     _leading(call.a, extent), view(call.b), _leading(call.b, extent), "1.0",
                     view(call.c), _leading(call.c, extent)]
        return [f"if ({n} > 0 && {k} > 0)", f"  {r('syr2k')}({', '.join(arguments)});"]
    if isinstance(call, Ger):
        m, n = _size(extent, call.m), _size(extent, call.n)
        arguments = [str(ROW_MAJOR), extent(call.m), extent(call.n), scale, pointer(call.x),
                     "1", pointer(call.y), "1", view(call.a), _leading(call.a, extent)]
        return [f"if ({m} > 0 && {n} > 0)", f"  {r('ger')}({', '.join(arguments)});"]
    if isinstance(call, Gemv):
        rows, columns = extent(call.rows), extent(call.columns)
        arguments = [str(ROW_MAJOR), _transpose(call.a), rows, columns, scale,
                     view(call.a), _leading(call.a, extent),
                     pointer(call.x), "1", "1.0", pointer(call.y), "1"]
        return [f"if ({rows} > 0 && {columns} > 0)",
                f"  {r('gemv')}({', '.join(arguments)});"]
    raise CompileError(f"internal error: no C for the library call {call}")


def _gemm_dot_lines(call: GemmDot, pointer, extent, scale: str, target: str,
                    workspace: str, then: list[str], precision: Precision) -> list[str]:
    """The product into ``workspace``, the dot with it, the lines ``then``
    (which may read the workspace), the workspace freed."""
    product = call.product
    t, r = precision.ctype, precision.routine
    m, n, k = (_size(extent, e) for e in (product.m, product.n, product.k))
    into = {WORKSPACE: workspace}
    gemm = _gemm_arguments(product, "1.0", "0.0", lambda matrix: into.get(matrix.buffer)
                           or pointer(matrix.buffer, matrix.row, matrix.column), extent)
    return [f"if ({m} > 0 && {n} > 0 && {k} > 0) {{",
            f"  {t} *restrict {workspace} = malloc(sizeof({t}) * {m} * {n});",
            f"  {r('gemm')}({', '.join(gemm)});",
            f"  {target} += {'' if scale == '1' else scale + ' * '}{r('dot')}({m} * {n}, "
            f"{pointer(call.w)}, 1, {workspace}, 1);",
            *then,
            f"  free({workspace});",
            "}"]


def shared_product_lines(call: SharedProduct, pointer: Callable[..., str],
                         extent: Callable[[isl.PwAff], str], dot_scale: str, target: str,
                         gemm_scale: str, local: Callable[[str], str],
                         precision: Precision = DOUBLE) -> list[str]:
    """The C statements of a :class:`SharedProduct`: the gemm+dot's (the
    product into a workspace, the dot), then the gemm's ``c`` incremented
    by its scale times the workspace, a loop the compiler vectorises."""
    gemm = call.gemm
    m, n = _size(extent, gemm.m), _size(extent, gemm.n)
    workspace, row, column, c = (local(stem) for stem in ("_product", "_row", "_column", "_c"))
    element = f"{workspace}[(long){row} * {_leading(call.dot.product.c, extent)} + {column}]"
    increment = [
        f"  {precision.ctype} *restrict {c} = {pointer(gemm.c.buffer, gemm.c.row, gemm.c.column)};",
        f"  for (long {row} = 0; {row} < {m}; {row}++)",
        f"    for (long {column} = 0; {column} < {n}; {column}++)",
        f"      {c}[{row} * {_leading(gemm.c, extent)} + {column}] += "
        + (element if gemm_scale == "1" else f"{gemm_scale} * {element}") + ";"]
    return _gemm_dot_lines(call.dot, pointer, extent, dot_scale, target, workspace, increment,
                           precision)


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


def _gemmt_dot_lines(call: GemmtDot, view, extent, scale, target, local,
                     precision: Precision) -> list[str]:
    """The product on the triangle into a workspace (the rest of it is
    never written nor read), then one dot per row of the triangle."""
    n, k = _size(extent, call.product.n), _size(extent, call.product.k)
    t, r = precision.ctype, precision.routine
    workspace, row, total, w = local("_product"), local("_row"), local("_sum"), local("_w")
    into = {WORKSPACE: workspace}
    arguments = _gemmt_arguments(call.product, "1.0", "0.0",
                                 lambda m: into.get(m.buffer) or view(m), extent)
    leading = _leading(call.w, extent)
    first = row if call.upper else "0"
    length = f"{n} - {row}" if call.upper else f"{row} + 1"
    return [f"if ({n} > 0 && {k} > 0) {{",
            f"  {t} *restrict {workspace} = malloc(sizeof({t}) * {n} * {n});",
            f"  const {t} *{w} = {view(call.w)};",
            f"  {t} {total} = 0.0;",
            f"  {r('gemmt')}({', '.join(arguments)});",
            f"  for (int {row} = 0; {row} < {n}; {row}++)",
            f"    {total} += {r('dot')}({length}, &{w}[(long){row} * {leading} + {first}], 1, "
            f"&{workspace}[(long){row} * {n} + {first}], 1);",
            f"  {target} += {'' if scale == '1' else scale + ' * '}{total};",
            f"  free({workspace});",
            "}"]


def _trmm_lines(call: Trmm, view, extent, scale, local, precision: Precision) -> list[str]:
    """One dtrmm in place (a unit diagonal), or op(x) copied into a
    workspace, multiplied there by dtrmm, and added to c."""
    m, n = _size(extent, call.m), _size(extent, call.n)
    t, r = precision.ctype, precision.routine
    side = str(LEFT if call.left else RIGHT)
    uplo = str(UPPER if call.upper else LOWER)
    if call.unit:
        arguments = [str(ROW_MAJOR), side, uplo, _transpose(call.t), str(UNIT), m, n, "1.0",
                     view(call.t), _leading(call.t, extent), view(call.c),
                     _leading(call.c, extent)]
        return [f"if ({m} > 0 && {n} > 0)", f"  {r('trmm')}({', '.join(arguments)});"]
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
            f"  {t} *restrict {workspace} = malloc(sizeof({t}) * {m} * {n});",
            f"  const {t} *{x} = {view(call.x)};",
            f"  {t} *{c} = {view(call.c)};",
            *loops, f"      {element} = {source};",
            f"  {r('trmm')}({', '.join(arguments)});",
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
