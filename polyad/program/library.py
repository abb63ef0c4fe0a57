"""Matrix products among a program's instructions, as typed library calls.

An instruction whose body is one increment ``X[a][b] += s * Y[..] * Z[..]``
(``s`` a product of scalar reads and constants, possibly absent) over a box
of three iterators, each of X, Y and Z indexed by exactly two of them with
plain subscripts (transposed or not), is ``C = s * op(A) * op(B) + C``: a
:class:`Gemm`. Its matrix-vector cousin ``y[i] += s * A[i][j] * x[j]`` (or
``A[j][i]``) over a box of two iterators is a :class:`Gemv`. A scalar
incremented by the product of three matrices over a box of three iterators
(gemm's ``alpha_b += A[i][k] * B[k][j] * C_b[i][j]``) is a product into a
workspace and a dot with the third: a :class:`GemmDot`. The forward
sweep's ``X = X + s * Y * Z`` is the same increment. A box cut by one
triangle on two iterators (syrk's ``j <= i``, trmm's ``k > i``) masks the
one matrix those two index: :mod:`polyad.program.masked` plans it as a
:class:`Gemmt`, :class:`Trmm` or :class:`GemmtDot`.

:func:`library_call` recognises them with isl (the domain is the box of its
projections, each access relation is the projection on two iterators) and
says why not otherwise. The calls are values codegen prints (as CBLAS
calls on row-major arrays); nothing here knows C.

>>> import polyad
>>> from polyad.program.ir import primal_program
>>> program = primal_program(polyad.parse("examples/gemm.c"))
>>> print(library_call(program.instruction("S1"), program))
gemm C += alpha * A * B
>>> syrk = primal_program(polyad.parse("examples/syrk.c"))
>>> print(library_call(syrk.instruction("S1"), syrk))
gemmt C(lower) += alpha * A * A^T
"""

from __future__ import annotations

from dataclasses import replace

import islpy as isl
import sympy

from polyad.errors import ScheduleError
from polyad.program.blascalls import (WORKSPACE, Gemm, GemmDot, Gemmt, GemmtDot, Gemv, Ger,
                                      LibraryCall, Matrix, Sum, Syr2k, Trmm)
from polyad.program.ir import Instruction, Program
from polyad.program.masked import masked_dot, masked_product
from polyad.program.triangles import identity_dims, masked_box

#: The most terms of a sum of products that become one call each.
MAX_TERMS = 4

__all__ = ["Ger", "Sum", "Syr2k", "WORKSPACE", "Gemm", "GemmDot", "Gemmt", "GemmtDot", "Gemv", "LibraryCall",
           "Matrix", "Trmm", "library_call", "may_have_products"]




def library_call(instruction: Instruction, program: Program,
                 order: isl.Map | None = None) -> LibraryCall:
    """The library call that does all of ``instruction``'s instances, or a
    :class:`ScheduleError` saying why there is none. Precondition: the
    instruction belongs to ``program``. ``order``, the instruction's flat
    schedule map, is what proves an in-place triangular product safe
    (without it, a product reading the array it increments is refused)."""
    dtypes = {program.buffer(reference.buffer).dtype
              for reference in instruction.references.values()}
    if dtypes - {"double", "float"} or len(dtypes) > 1:
        # A call computes in one type (BLAS's d* routines, or its s* ones),
        # where C would have converted each mixed operation's operands.
        raise ScheduleError(f"{instruction.name}: its data are {' and '.join(sorted(dtypes))} "
                            "(a BLAS call computes all of its data in double, or all in float)")
    target, product = _increment(instruction)
    terms = sympy.Add.make_args(product)
    if len(terms) == 1 and any(f.is_Add for f in _factors(product)):
        terms = sympy.Add.make_args(sympy.expand(product))  # g * (A B + B A)
    if len(terms) == 1:
        return _product_call(instruction, program, target, product, order)
    if len(terms) > MAX_TERMS:
        raise ScheduleError(f"{instruction.name}: its increment is a sum of {len(terms)} "
                            f"terms (at most {MAX_TERMS} become calls)")
    parts = []
    for term in terms:
        part = _product_call(instruction, program, target, term, order)
        if isinstance(part, Trmm) and part.x.buffer == part.c.buffer:
            raise ScheduleError(f"{instruction.name}: a sum of products reading the array "
                                f"{part.c.buffer} it increments (each call would see the "
                                "others' increments)")
        parts.append(part)
    return _syr2k(parts) or Sum(tuple(parts))


def _syr2k(parts: list) -> Syr2k | None:
    """The two products of a symmetric rank-2k update as one dsyr2k, when
    they are ``op(A) op(B)^T`` and ``op(B) op(A)^T`` on one triangle of one
    C with one scale (OpenBLAS's dsyr2k ran 15% faster than two dgemmt,
    bench/triangular.py)."""
    if len(parts) != 2 or not all(isinstance(p, Gemmt) for p in parts):
        return None
    first, second = parts

    def flipped(m: Matrix) -> Matrix:
        return replace(m, transposed=not m.transposed)
    same = (first.c == second.c and first.upper == second.upper
            and first.scale == second.scale and first.scalars == second.scalars
            and first.n.is_equal(second.n) and first.k.is_equal(second.k))
    if not same or first.a.transposed == first.b.transposed:
        return None
    if second.a != flipped(first.b) or second.b != flipped(first.a):
        return None
    return Syr2k(first.c, first.upper, first.a, flipped(first.b), first.n, first.k,
                 first.scale, first.scalars)


def _product_call(instruction: Instruction, program: Program, target: sympy.Symbol,
                  product: sympy.Expr, order: isl.Map | None) -> LibraryCall:
    """The call doing ``target += product`` over the instruction's instances."""
    name = instruction.name
    references = instruction.references
    x = references[target]
    factors = _factors(product)
    operands = [f for f in factors if f in references and _rank(program, f, instruction) > 0]
    scalars = [f for f in factors if f not in operands]
    for factor in scalars:
        for symbol in factor.free_symbols:
            if symbol not in references or _rank(program, symbol, instruction) != 0:
                raise ScheduleError(f"{name}: the factor {factor} of its increment is not "
                                    "a scalar read or a constant")
    scalar_target = _rank(program, target, instruction) == 0
    if len(operands) != (3 if scalar_target else 2):
        raise ScheduleError(f"{name}: its increment of {x.buffer} is not a product of "
                            f"{'three' if scalar_target else 'two'} arrays and scalars "
                            f"({product})")
    for symbol in [target, *operands]:
        buffer = program.buffer(references[symbol].buffer)
        if buffer.tape or buffer.sequence or references[symbol].relation is None:
            raise ScheduleError(f"{name}: {buffer.name} is a tape, whose layout decides "
                                "where its values are")
    read = {references[s].buffer for f in scalars for s in f.free_symbols}
    in_place = x.buffer in {references[s].buffer for s in operands}
    if x.buffer in read or (in_place and scalar_target):
        raise ScheduleError(f"{name}: it reads the array {x.buffer} it increments")
    iterators = instruction.iterators
    rank = len(iterators)
    outer = not scalar_target and rank == 2 == _rank(program, target, instruction)
    if outer:
        return _ger(instruction, program, target, operands, scalars, in_place)
    if (scalar_target and rank != 3) or (not scalar_target and (
            _rank(program, target, instruction) + 1 != rank or rank not in (2, 3))):
        raise ScheduleError(f"{name}: not a matrix product (an increment of a "
                            f"{_rank(program, target, instruction)}-d array over "
                            f"{rank} loops)")
    uses = {symbol: identity_dims(instruction, references[symbol].relation)
            for symbol in operands + ([] if scalar_target else [target])}
    for symbol, dims in uses.items():
        if dims is None:
            raise ScheduleError(f"{name}: the subscripts of {symbol} are not plain "
                                "iterators of its loops")
    scale = sympy.Mul(*scalars)
    scalar_buffers = tuple(sorted(((s, references[s].buffer) for s in scale.free_symbols),
                                  key=lambda item: item[0].name))
    if scalar_target:
        return _gemm_dot(instruction, program, target, operands, uses, scale,
                         scalar_buffers)
    kept = uses[target]
    (reduction,) = set(range(rank)) - set(kept)
    if rank == 2:
        if in_place:
            raise ScheduleError(f"{name}: it reads the array {x.buffer} it increments")
        return _gemv(instruction, program, target, operands, uses, reduction, scale,
                     scalar_buffers)
    return _gemm(instruction, program, target, operands, uses, reduction, scale,
                 scalar_buffers, order, in_place)


def _gemm(instruction, program, target, operands, uses, reduction, scale,
          scalar_buffers, order, in_place) -> Gemm | Gemmt | Trmm:
    name, references = instruction.name, instruction.references
    row, column = uses[target]
    by_row = [s for s in operands if row in uses[s]]
    by_column = [s for s in operands if column in uses[s]]
    if len(by_row) != 1 or len(by_column) != 1 or by_row == by_column or any(
            reduction not in uses[s] for s in operands):
        raise ScheduleError(f"{name}: each factor must use the loop {references[target].buffer}"
                            " does not and one of its own (a contraction over one iterator)")
    a, b = by_row[0], by_column[0]
    extents, cut = masked_box(instruction, program, [target, *operands])
    if cut is not None:
        return masked_product(instruction, program, target, a, b, uses, extents, cut,
                              scale, scalar_buffers, order)
    if in_place:
        raise ScheduleError(f"{name}: it reads the array {references[target].buffer} "
                            "it increments")
    return Gemm(c=_matrix(program, references[target].buffer, False),
                a=_matrix(program, references[a].buffer, uses[a] != (row, reduction)),
                b=_matrix(program, references[b].buffer, uses[b] != (reduction, column)),
                m=extents[row], n=extents[column], k=extents[reduction],
                scale=scale, scalars=scalar_buffers)


def _ger(instruction, program, target, operands, scalars, in_place) -> Ger:
    """``A[i][j] += s * x[i] * y[j]`` over a box: a rank-1 update."""
    name, references = instruction.name, instruction.references
    if in_place:
        raise ScheduleError(f"{name}: it reads the array {references[target].buffer} "
                            "it increments")
    uses = {symbol: identity_dims(instruction, references[symbol].relation)
            for symbol in [target, *operands]}
    if uses[target] is None:
        raise ScheduleError(f"{name}: the subscripts of {target} are not plain iterators "
                            "of its loops")
    row, column = uses[target]
    x = [s for s in operands if uses[s] == (row,)]
    y = [s for s in operands if uses[s] == (column,)]
    if len(x) != 1 or len(y) != 1:
        raise ScheduleError(f"{name}: not a rank-1 update (one vector factor along each "
                            f"loop of {references[target].buffer})")
    extents, cut = masked_box(instruction, program, [target, *operands])
    if cut is not None:
        raise ScheduleError(f"{name}: a triangular rank-1 update (no call for it)")
    scale = sympy.Mul(*scalars)
    scalar_buffers = tuple(sorted(((s, references[s].buffer) for s in scale.free_symbols),
                                  key=lambda item: item[0].name))
    return Ger(a=_matrix(program, references[target].buffer, False),
               x=references[x[0]].buffer, y=references[y[0]].buffer, m=extents[row],
               n=extents[column], scale=scale, scalars=scalar_buffers)


def _gemv(instruction, program, target, operands, uses, reduction, scale,
          scalar_buffers) -> Gemv:
    name, references = instruction.name, instruction.references
    (row,) = uses[target]
    matrices = [s for s in operands if len(uses[s]) == 2]
    vectors = [s for s in operands if uses[s] == (reduction,)]
    if len(matrices) != 1 or len(vectors) != 1:
        raise ScheduleError(f"{name}: not a matrix-vector product (one factor must be "
                            "a matrix, the other a vector along the summed loop)")
    a, x = matrices[0], vectors[0]
    extents, cut = masked_box(instruction, program, [target, *operands])
    if cut is not None:
        raise ScheduleError(f"{name}: a triangular matrix-vector product (no call for it "
                            "yet)")
    transposed = uses[a] != (row, reduction)
    rows, columns = (reduction, row) if transposed else (row, reduction)
    return Gemv(y=references[target].buffer,
                a=_matrix(program, references[a].buffer, transposed),
                x=references[x].buffer, rows=extents[rows], columns=extents[columns],
                scale=scale, scalars=scalar_buffers)


def _gemm_dot(instruction, program, target, operands, uses, scale,
              scalar_buffers) -> GemmDot | GemmtDot:
    name, references = instruction.name, instruction.references
    if sorted(d for s in operands for d in uses[s]) != [0, 0, 1, 1, 2, 2]:
        raise ScheduleError(f"{name}: each loop must run along two of the three factors "
                            "(a contraction of three matrices to a scalar)")
    extents, cut = masked_box(instruction, program, operands)
    if cut is not None:
        return masked_dot(instruction, program, target, operands, uses, extents, cut, scale,
                          scalar_buffers)
    params = instruction.domain.params()
    for w in operands:
        row, column = uses[w]
        (summed,) = {0, 1, 2} - {row, column}
        whole = all(params.is_subset(have.eq_set(want)) for have, want in zip(
            program.buffer(references[w].buffer).extents, (extents[row], extents[column])))
        if not whole:
            continue  # the dot runs over w as one contiguous vector
        a = next(s for s in operands if s != w and row in uses[s])
        b = next(s for s in operands if s not in (w, a))
        product = Gemm(c=Matrix(WORKSPACE, False, extents[column]),
                       a=_matrix(program, references[a].buffer, uses[a] != (row, summed)),
                       b=_matrix(program, references[b].buffer, uses[b] != (summed, column)),
                       m=extents[row], n=extents[column], k=extents[summed], scale=sympy.S.One)
        return GemmDot(references[target].buffer, references[w].buffer, product, scale,
                       scalar_buffers)
    raise ScheduleError(f"{name}: no factor is a whole array its loops cover")


def may_have_products(instruction: Instruction, program: Program) -> bool:
    """Whether some memory write of ``instruction``'s body, split off, could
    be a call: a term of its value (locals substituted) multiplies two
    arrays. False means :func:`library_call` refuses the instruction and
    every part a split would give it, so a search may skip the schedule work
    (isolation, split) it would do before asking."""
    references = instruction.references

    def is_array(factor) -> bool:
        return factor in references and _rank(program, factor, instruction) > 0
    for position, write in enumerate(instruction.body):
        if write.target not in references:
            continue
        value = write.value
        for assignment in reversed(instruction.body[:position]):
            if assignment.target not in references:
                value = value.subs(assignment.target, assignment.value)
        for term in _terms(value):
            expanded = sympy.expand(term) if any(f.is_Add for f in _factors(term)) else term
            if any(sum(map(is_array, _factors(t))) >= 2 for t in sympy.Add.make_args(expanded)):
                return True
    return False


def _increment(instruction: Instruction) -> tuple[sympy.Symbol, sympy.Expr]:
    """The one memory write of the body, an increment (``+=``, or ``X = X
    + e``), and its increment ``e`` with the body's locals substituted."""
    references = instruction.references
    writes = [a for a in instruction.body if a.target in references]
    if len(writes) != 1 or instruction.body[-1] is not writes[0]:
        raise ScheduleError(f"{instruction.name}: its body is not one increment of an array "
                            "(split it first)")
    last = writes[0]
    value = last.value
    for assignment in reversed(instruction.body[:-1]):
        value = value.subs(assignment.target, assignment.value)
    if last.op == "+=":
        return last.target, value
    terms = _terms(value)
    rest = [t for t in terms if t != last.target]
    if last.op == "=" and len(rest) == len(terms) - 1 >= 1:
        return last.target, sympy.Add(*rest)  # gemver's A = A + u1 v1^T + u2 v2^T
    raise ScheduleError(f"{instruction.name}: it is not an increment ({last.target} "
                        f"{last.op} {last.value})")


def _terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """The terms of a sum, through nested (unevaluated) sums."""
    if expr.is_Add:
        return [t for arg in expr.args for t in _terms(arg)]
    return [expr]


def _factors(expr: sympy.Expr) -> list[sympy.Expr]:
    """The factors of a product, through nested (unevaluated) products."""
    if expr.is_Mul:
        return [f for arg in expr.args for f in _factors(arg)]
    return [expr]


def _rank(program: Program, symbol: sympy.Symbol, instruction: Instruction) -> int:
    return len(program.buffer(instruction.references[symbol].buffer).extents)


def _matrix(program: Program, buffer: str, transposed: bool) -> Matrix:
    return Matrix(buffer, transposed, program.buffer(buffer).extents[-1])
