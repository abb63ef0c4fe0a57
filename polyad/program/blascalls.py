"""The library calls a program's matrix products become, as typed values.

Each says what it computes on row-major buffers (its operands are
:class:`Matrix` views: a buffer, transposed or not, from an element on);
codegen prints them as CBLAS calls. Recognition is
:mod:`polyad.program.library`'s; the triangular ones are planned by
:mod:`polyad.program.masked`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import islpy as isl
import sympy


@dataclass(frozen=True)
class Matrix:
    """A row-major operand: its buffer, whether the product uses it
    transposed, its leading dimension (the buffer's last extent), and the
    element ``[row][column]`` of the buffer where the operand starts (a
    submatrix; 0, 0 for the whole array)."""

    buffer: str
    transposed: bool
    leading: isl.PwAff
    row: int = 0
    column: int = 0

    def __str__(self) -> str:
        view = f"[{self.row}:,{self.column}:]" if (self.row, self.column) != (0, 0) else ""
        return self.buffer + view + ("^T" if self.transposed else "")


@dataclass(frozen=True)
class Gemm:
    """``c += scale * op(a) * op(b)``: op(a) is m x k, op(b) k x n, c m x n.
    ``scale`` is a sympy expression over the symbols of ``scalars`` (symbol,
    scalar buffer) and constants."""

    c: Matrix
    a: Matrix
    b: Matrix
    m: isl.PwAff
    n: isl.PwAff
    k: isl.PwAff
    scale: sympy.Expr
    scalars: tuple[tuple[sympy.Symbol, str], ...] = ()

    @property
    def writes(self) -> str:
        return self.c.buffer

    def __str__(self) -> str:
        return f"gemm {self.c.buffer} += {_scale_text(self.scale)}{self.a} * {self.b}"


@dataclass(frozen=True)
class Gemv:
    """``y += scale * op(a) * x``: ``a`` as stored is ``rows`` x
    ``columns``; op(a) is a or its transpose (then ``y`` has ``columns``
    elements and ``x`` ``rows``)."""

    y: str
    a: Matrix
    x: str
    rows: isl.PwAff
    columns: isl.PwAff
    scale: sympy.Expr
    scalars: tuple[tuple[sympy.Symbol, str], ...] = ()

    @property
    def writes(self) -> str:
        return self.y

    def __str__(self) -> str:
        return f"gemv {self.y} += {_scale_text(self.scale)}{self.a} * {self.x}"


@dataclass(frozen=True)
class Ger:
    """``a += scale * x * y^T``: a rank-1 update of the m x n ``a`` by the
    vectors ``x`` (m elements) and ``y`` (n), OpenBLAS's dger."""

    a: Matrix
    x: str
    y: str
    m: isl.PwAff
    n: isl.PwAff
    scale: sympy.Expr
    scalars: tuple[tuple[sympy.Symbol, str], ...] = ()

    @property
    def writes(self) -> str:
        return self.a.buffer

    def __str__(self) -> str:
        return f"ger {self.a.buffer} += {_scale_text(self.scale)}{self.x} * {self.y}^T"


#: The ``c`` of a dot's product: a workspace the call owns (n x n for a
#: :class:`GemmtDot`, m x n for a :class:`GemmDot`), allocated around it.
WORKSPACE = ""


@dataclass(frozen=True)
class GemmDot:
    """``target += scale * sum(w * product)`` elementwise, where
    ``product`` (a :class:`Gemm` whose ``c`` is the :data:`WORKSPACE`, m x
    n like ``w``, which is a whole row-major array) is computed first."""

    target: str
    w: str
    product: Gemm
    scale: sympy.Expr
    scalars: tuple[tuple[sympy.Symbol, str], ...] = ()

    @property
    def writes(self) -> str:
        return self.target

    def __str__(self) -> str:
        return (f"gemm+dot {self.target} += {_scale_text(self.scale)}"
                f"<{self.w}, {self.product.a} * {self.product.b}>")


@dataclass(frozen=True)
class Gemmt:
    """``c += scale * op(a) * op(b)`` on the ``upper`` (else lower)
    triangle of the n x n ``c``, diagonal included, and nowhere else
    (OpenBLAS's dgemmt; op(a) is n x k, op(b) k x n)."""

    c: Matrix
    upper: bool
    a: Matrix
    b: Matrix
    n: isl.PwAff
    k: isl.PwAff
    scale: sympy.Expr
    scalars: tuple[tuple[sympy.Symbol, str], ...] = ()

    @property
    def writes(self) -> str:
        return self.c.buffer

    def __str__(self) -> str:
        return (f"gemmt {self.c}({_side(self.upper)}) += {_scale_text(self.scale)}"
                f"{self.a} * {self.b}")


@dataclass(frozen=True)
class Trmm:
    """A product by a triangular matrix ``t`` (its ``upper``, else lower,
    triangle as stored, diagonal included): ``c += scale * op(t) * op(x)``
    when ``left`` (op(t) m x m), ``c += scale * op(x) * op(t)`` otherwise
    (op(t) n x n); ``c`` and op(x) are m x n.

    OpenBLAS's dtrmm overwrites its operand, so the call copies op(x) into
    a workspace of m x n doubles, multiplies it there and adds it to ``c``.
    With ``unit``, the product is in place: ``x`` is ``c`` itself, ``t``'s
    triangle is the strict one and the diagonal counts as ones, so that one
    dtrmm does ``c := c + op(t) * c`` (scale 1) with no workspace."""

    c: Matrix
    t: Matrix
    upper: bool
    x: Matrix
    left: bool
    m: isl.PwAff
    n: isl.PwAff
    scale: sympy.Expr
    scalars: tuple[tuple[sympy.Symbol, str], ...] = ()
    unit: bool = False

    @property
    def writes(self) -> str:
        return self.c.buffer

    def __str__(self) -> str:
        t = f"{self.t}({'strict ' if self.unit else ''}{_side(self.upper)})"
        if self.unit:
            return f"trmm {self.c} += {t} * {self.c} (in place)"
        product = f"{t} * {self.x}" if self.left else f"{self.x} * {t}"
        return f"trmm {self.c} += {_scale_text(self.scale)}{product}"


@dataclass(frozen=True)
class GemmtDot:
    """``target += scale * sum of w * product`` over the ``upper`` (else
    lower) triangle of the n x n ``w`` (a view), diagonal included, where
    ``product`` (a :class:`Gemmt` into the :data:`WORKSPACE`, n x n) is
    computed first, on that triangle only; the dot runs row by row over it."""

    target: str
    w: Matrix
    product: Gemmt
    scale: sympy.Expr
    scalars: tuple[tuple[sympy.Symbol, str], ...] = ()

    @property
    def upper(self) -> bool:
        return self.product.upper

    @property
    def writes(self) -> str:
        return self.target

    def __str__(self) -> str:
        return (f"gemmt+dot {self.target} += {_scale_text(self.scale)}"
                f"<{self.w}({_side(self.upper)}), {self.product.a} * {self.product.b}>")


@dataclass(frozen=True)
class Syr2k:
    """``c += scale * (op(a) * op(b)^T + op(b) * op(a)^T)`` on the
    ``upper`` (else lower) triangle of the n x n ``c``, diagonal included
    (OpenBLAS's dsyr2k; op(a), op(b) are n x k, transposed when
    ``a.transposed``): two :class:`Gemmt` of one sum in one call."""

    c: Matrix
    upper: bool
    a: Matrix
    b: Matrix
    n: isl.PwAff
    k: isl.PwAff
    scale: sympy.Expr
    scalars: tuple[tuple[sympy.Symbol, str], ...] = ()

    @property
    def writes(self) -> str:
        return self.c.buffer

    def __str__(self) -> str:
        a, b = self.a, self.b
        a_t, b_t = (replace(m, transposed=not m.transposed) for m in (a, b))
        return (f"syr2k {self.c}({_side(self.upper)}) += {_scale_text(self.scale)}"
                f"({a} * {b_t} + {b} * {a_t})")


@dataclass(frozen=True)
class Sum:
    """An increment that is a sum of products: its calls, one after the
    other, each incrementing the same target (none reads it)."""

    parts: tuple

    @property
    def writes(self) -> str:
        return self.parts[0].writes

    def __str__(self) -> str:
        return " ; ".join(str(part) for part in self.parts)


@dataclass(frozen=True)
class SharedProduct:
    """A :class:`GemmDot` and a :class:`Gemm` of the same product, one after
    the other (gemm's ``alpha_b += <A, C_b * B^T>`` and ``A_b += alpha * C_b
    * B^T``): the product once into the workspace, the dot with it, then
    ``gemm.c += gemm.scale * product``: one matrix product instead of two."""

    dot: GemmDot
    gemm: Gemm

    @property
    def writes(self) -> str:
        return self.dot.target

    def __str__(self) -> str:
        return (f"{self.dot} ; {self.gemm.c.buffer} += {_scale_text(self.gemm.scale)}"
                "the same product")


@dataclass(frozen=True)
class Computed:
    """The instruction's increment of ``writes`` is done by the call at the
    nest of instruction ``by`` (a :class:`SharedProduct`): nothing runs here."""

    by: str
    writes: str

    def __str__(self) -> str:
        return f"{self.writes}: computed with {self.by}'s call"


def same_product(dot: GemmDot, gemm: Gemm) -> bool:
    """Whether a dot's product is the one a gemm adds (same operands, same
    transpositions, same sizes)."""
    p = dot.product
    return (p.a == gemm.a and p.b == gemm.b and p.m.is_equal(gemm.m)
            and p.n.is_equal(gemm.n) and p.k.is_equal(gemm.k))


LibraryCall = (Gemm | Gemv | Ger | GemmDot | Gemmt | Trmm | GemmtDot | Syr2k | Sum
               | SharedProduct | Computed)


def _side(upper: bool) -> str:
    return "upper" if upper else "lower"


def _scale_text(scale: sympy.Expr) -> str:
    return "" if scale == 1 else f"{scale} * "
