"""Loop marks: what a schedule says of a loop beyond the order of its iterations.

Marks are frozen values. The schedule tree carries each above its band as an
isl mark whose id holds a :class:`BandMark` (isl ids carry a Python object),
so codegen reads the value itself and never parses a name. ``str()`` of a
mark is its short text for reports and traces (``parallel:reduce=s``).

>>> str(Parallel(reductions=("alpha_b",))), str(Simd(("x_b",))), str(Unroll(4))
('parallel:reduce=alpha_b', 'simd:accumulate=x_b', 'unroll:4')
"""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl

from polyad.errors import PolyadError
from polyad.program.library import LibraryCall


@dataclass(frozen=True)
class Parallel:
    """The loop's iterations run on several threads. Increments of the
    ``reductions`` buffers from different iterations are an OpenMP
    reduction; those of ``atomics`` are atomic updates."""

    reductions: tuple[str, ...] = ()
    atomics: tuple[str, ...] = ()

    family = "parallel"

    def __str__(self) -> str:
        options = [f"reduce={','.join(self.reductions)}"] if self.reductions else []
        options += [f"atomic={','.join(self.atomics)}"] if self.atomics else []
        return "parallel" + (":" + ";".join(options) if options else "")


#: The math functions of the kernel language with vector versions in
#: glibc's libmvec (x86-64, glibc 2.35 and later; within 4 ulp of the scalar
#: function): a vectorised loop may call those instead.
VECTOR_MATH = frozenset({"exp", "log", "sin", "cos", "tan", "tanh", "pow"})


@dataclass(frozen=True)
class Simd:
    """The innermost loop is vectorised. Increments of the elements of the
    ``accumulators`` buffers that the loop does not move are kept in
    registers (a simd reduction each) and added once after the loop. The
    loop calls the vector versions of the ``vector_math`` functions (some of
    :data:`VECTOR_MATH`), which round differently from the scalar ones."""

    accumulators: tuple[str, ...] = ()
    vector_math: tuple[str, ...] = ()

    family = "simd"

    def __str__(self) -> str:
        options = [f"accumulate={','.join(self.accumulators)}"] if self.accumulators else []
        options += [f"math={','.join(self.vector_math)}"] if self.vector_math else []
        return "simd" + (":" + ";".join(options) if options else "")


@dataclass(frozen=True)
class Unroll:
    """The C compiler unrolls the loop ``factor`` times."""

    factor: int

    family = "unroll"

    def __str__(self) -> str:
        return f"unroll:{self.factor}"


@dataclass(frozen=True)
class Reversed:
    """The band's loops count down (the reverse sweep's exact reversal)."""

    family = "reversed"

    def __str__(self) -> str:
        return "reversed"


@dataclass(frozen=True)
class Library:
    """The loop nest below runs as one call of a tuned library: codegen
    prints the ``call`` (a :mod:`polyad.program.library` value) in place
    of the loops."""

    call: LibraryCall

    family = "library"

    def __str__(self) -> str:
        return f"library:{self.call}"


LoopMark = Parallel | Simd | Unroll | Library


@dataclass(frozen=True)
class BandMark:
    """A mark as the schedule tree carries it, with the depth of its band
    (the AST generator may drop a one-iteration loop or split a loop in
    pieces, and a mark must reach the loops of its own band only)."""

    mark: LoopMark | Reversed
    depth: int


def mark_id(mark: LoopMark | Reversed, depth: int) -> isl.Id:
    """The isl id of a mark node above the band at ``depth``.

    >>> band_mark(mark_id(Unroll(2), 1))
    BandMark(mark=Unroll(factor=2), depth=1)
    """
    return isl.Id(f"{mark.family}@{depth}", user=BandMark(mark, depth))


def band_mark(identifier: isl.Id) -> BandMark:
    """The mark a mark node's id carries (made by :func:`mark_id`)."""
    value = identifier.get_user()
    if not isinstance(value, BandMark):
        raise PolyadError(f"internal error: schedule mark {identifier.get_name()} carries "
                          "no polyad mark")
    return value


def excluded_by(family: str, others) -> LoopMark | None:
    """The mark among ``others`` that forbids putting a mark of ``family``
    (``"parallel"``, ``"simd"``, ``"unroll"``, ``"library"``) on the same
    loop: a loop runs in parallel, is vectorised, is unrolled or is a library
    call, one at most (a parallel loop's body runs as a function of its own,
    C compilers take a simd or unroll directive only right above a loop,
    and a library call replaces the loops).

    >>> excluded_by("simd", [Unroll(4)])
    Unroll(factor=4)
    """
    return next((other for other in others
                 if isinstance(other, (Parallel, Simd, Unroll, Library))
                 and other.family != family),
                None)
