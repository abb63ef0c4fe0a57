"""Matrix products whose domain is a box cut by one triangle, planned as
the tuned triangular routines.

In ``C[r][c] += s * A[r][k] * B[k][c]`` over iterators (r, c, k) each pair
of iterators indexes exactly one matrix, so a domain cut by one triangle on
a pair (:func:`polyad.program.triangles.masked_box`) is the box product with
that one matrix masked to the triangle:

- the mask on C (syrk's ``j <= i``): only C's triangle is updated, which
  is OpenBLAS's ``dgemmt`` (a :class:`Gemmt`; dsyrk's speed, and any two
  operands);
- the mask on A or B (trmm's ``k > i``, the gradients of syrk): the other
  operand times a triangular matrix, OpenBLAS's ``dtrmm`` (a :class:`Trmm`)
  on a copy of the other operand in a workspace, added to C; when the
  other operand is C itself (an in-place product) the reads must be proved
  to see only values from before the nest (else the nest stays loops), and
  a strict triangle with no scale is one dtrmm with a unit diagonal on C;
- a scalar summing three matrices' product (``alpha_b``): the masked
  matrix's triangle dotted, row by row, with the other two's product on
  that triangle (a :class:`GemmtDot`).

A triangle whose diagonal is off the main one becomes the diagonal-including
triangle of a square submatrix (:func:`polyad.program.triangles.squared`),
and every operand a view shifted along the same iterators. Measured against
a masked dgemm (the masked operand copied with zeros, then the box
product), these do half the arithmetic and ran 1.7x to 1.9x faster at the
medium sizes (docs/benchmarks.md).
"""

from __future__ import annotations

import islpy as isl
import sympy

from polyad.errors import ScheduleError
from polyad.program.blascalls import WORKSPACE, Gemmt, GemmtDot, Matrix, Trmm
from polyad.program.ir import Instruction, Program
from polyad.program.triangles import (Cut, is_strict, reads_before_writes, same_extent,
                                      squared, triangle_of)


class Plan:
    """The operands' views and the iterators' sizes of a product whose
    domain a cut masks, once the cut's triangle is moved onto a square
    submatrix. ``uses``: per symbol, the iterators (row, column) of its
    subscripts."""

    def __init__(self, instruction: Instruction, program: Program, uses: dict,
                 extents: list[isl.PwAff], cut: Cut):
        self.instruction, self.program, self.uses = instruction, program, uses
        pair = {cut.first, cut.second}
        masked = [s for s, dims in uses.items() if set(dims) == pair]
        if len(masked) != 1:
            raise ScheduleError(f"{instruction.name}: its triangle is on loops that no one "
                                "matrix of the product is indexed by")
        self.masked = masked[0]
        self.triangle = triangle_of(cut, uses[self.masked])
        if not same_extent(instruction, extents[cut.first], extents[cut.second]):
            raise ScheduleError(f"{instruction.name}: the {self.triangle} triangle of "
                                f"{self.buffer(self.masked)} is not in a square")
        try:
            row, column = squared(self.triangle)
        except ScheduleError as error:
            raise ScheduleError(f"{instruction.name}: {error}") from None
        self.start = [0] * len(extents)
        self.start[uses[self.masked][0]] += row
        self.start[uses[self.masked][1]] += column
        self.sizes = [e.add_constant_val(isl.Val(-(row + column))) if d in pair else e
                      for d, e in enumerate(extents)]
        self.extents = extents

    def buffer(self, symbol) -> str:
        return self.instruction.references[symbol].buffer

    def view(self, symbol, transposed: bool = False, shifted: bool = True) -> Matrix:
        dims = self.uses[symbol]
        buffer = self.buffer(symbol)
        start = self.start if shifted else [0] * len(self.start)
        return Matrix(buffer, transposed, self.program.buffer(buffer).extents[-1],
                      start[dims[0]], start[dims[1]])


def masked_product(instruction: Instruction, program: Program, target, a, b, uses: dict,
                   extents: list[isl.PwAff], cut: Cut, scale: sympy.Expr, scalars: tuple,
                   order: isl.Map | None) -> Gemmt | Trmm:
    """The triangular call doing ``target += scale * a * b`` over the cut
    box (``a`` uses the target's row, ``b`` its column), or a
    :class:`ScheduleError` saying why there is none. ``order``: the
    instruction's flat schedule map, which proves an in-place product safe
    (None: an in-place product is refused)."""
    name = instruction.name
    plan = Plan(instruction, program, uses, extents, cut)
    row, column = uses[target]
    (summed,) = set(range(3)) - {row, column}
    written = plan.buffer(target)
    if plan.masked == target:
        if written in (plan.buffer(a), plan.buffer(b)):
            raise ScheduleError(f"{name}: it reads the array {written} it increments")
        return Gemmt(c=plan.view(target), upper=plan.triangle.upper,
                     a=plan.view(a, uses[a] != (row, summed)),
                     b=plan.view(b, uses[b] != (summed, column)),
                     n=plan.sizes[row], k=plan.sizes[summed], scale=scale, scalars=scalars)
    left = plan.masked == a
    t, x = (a, b) if left else (b, a)
    t_transposed = uses[t] != ((row, summed) if left else (summed, column))
    x_transposed = uses[x] != ((summed, column) if left else (row, summed))
    if plan.buffer(t) == written:
        raise ScheduleError(f"{name}: it reads the array {written} it increments "
                            "through its triangular factor")
    if plan.buffer(x) == written:
        if order is None:
            raise ScheduleError(f"{name}: it reads the array {written} it increments "
                                "(in place; its order is needed to prove that safe)")
        if not reads_before_writes(instruction, instruction.references[x].relation, order):
            raise ScheduleError(f"{name}: in place, it reads elements of {written} that "
                                "it has incremented before (not one product)")
        if is_strict(plan.triangle) and scale == 1 and not x_transposed:
            return Trmm(c=plan.view(target, shifted=False),
                        t=plan.view(t, t_transposed, shifted=False),
                        upper=plan.triangle.upper, x=plan.view(target, shifted=False),
                        left=left, m=extents[row], n=extents[column], scale=scale,
                        scalars=scalars, unit=True)
    return Trmm(c=plan.view(target), t=plan.view(t, t_transposed), upper=plan.triangle.upper,
                x=plan.view(x, x_transposed), left=left, m=plan.sizes[row],
                n=plan.sizes[column], scale=scale, scalars=scalars)


def masked_dot(instruction: Instruction, program: Program, target, operands: list,
               uses: dict, extents: list[isl.PwAff], cut: Cut, scale: sympy.Expr,
               scalars: tuple) -> GemmtDot:
    """The call doing ``target += scale * sum(x * y * z)`` over the cut box
    (three matrices, each loop along two of them), the masked one dotted
    with the others' product on its triangle."""
    plan = Plan(instruction, program, uses, extents, cut)
    w = plan.masked
    row, column = uses[w]
    (summed,) = {0, 1, 2} - {row, column}
    a = next(s for s in operands if s != w and row in uses[s])
    b = next(s for s in operands if s not in (w, a))
    size = plan.sizes[row]
    product = Gemmt(c=Matrix(WORKSPACE, False, size), upper=plan.triangle.upper,
                    a=plan.view(a, uses[a] != (row, summed)),
                    b=plan.view(b, uses[b] != (summed, column)),
                    n=size, k=plan.sizes[summed], scale=sympy.S.One)
    return GemmtDot(plan.buffer(target), plan.view(w), product, scale, scalars)
