"""Domains of matrix products cut by one triangle, found with isl.

In a product over iterators (r, c, s) (``C[r][c] += A[r][s] * B[s][c]``)
each pair of iterators indexes exactly one of the three matrices. A domain
that equals the box of whole array dimensions (each iterator from 0 to an
extent of an array it subscripts) intersected with ONE constraint
``e - d <= offset`` or ``e - d >= offset`` on a pair of iterators is the
full box product with that one matrix masked to a triangle.

:func:`masked_box` finds the box and the cut (:class:`Cut`); :func:`triangle_of`
says what the cut is on the stored matrix it falls on (a
:class:`Triangle`), and :func:`squared` moves a triangle whose diagonal is
off the main one onto a square submatrix whose own triangle includes its
diagonal (strict lower of an n x n matrix = lower of the (n-1) x (n-1)
matrix one row down), which is what the tuned triangular routines take.
:func:`reads_before_writes` proves that an in-place product reads only
values from before its loop nest. Nothing here knows C.

>>> import polyad
>>> from polyad.program.ir import primal_program
>>> program = primal_program(polyad.parse("examples/syrk.c"))
>>> s1 = program.instruction("S1")
>>> arrays = [s for s in s1.references if s.name != 'alpha']
>>> extents, cut = masked_box(s1, program, arrays)
>>> cut
Cut(first=0, second=2, upper=False, offset=0)
"""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl

from polyad.errors import ScheduleError
from polyad.program.ir import Instruction, Program


@dataclass(frozen=True)
class Cut:
    """The one constraint that cuts a product's domain from its box, on the
    iterators at positions ``first`` < ``second``: ``x[second] - x[first]
    <= offset`` (``upper`` false) or ``>= offset`` (``upper`` true)."""

    first: int
    second: int
    upper: bool
    offset: int


@dataclass(frozen=True)
class Triangle:
    """The elements ``[row][column]`` of a stored matrix with ``column - row
    <= offset`` (``upper`` false: lower) or ``>= offset`` (upper); offset 0
    includes the diagonal."""

    upper: bool
    offset: int

    def __str__(self) -> str:
        side = "upper" if self.upper else "lower"
        return side if self.offset == 0 else f"{side}{self.offset:+d}"


def masked_box(instruction: Instruction, program: Program, symbols: list) -> tuple[
        list[isl.PwAff], Cut | None]:
    """Per iterator, the extent of the array dimension it runs over (0 to
    the extent), and the cut of the domain from that box (None when the
    domain is the box); a :class:`ScheduleError` when the domain is neither.
    ``symbols``: the instruction's references whose subscripts are plain
    iterators (the extents are theirs)."""
    domain = own_copy(instruction.domain)
    n = domain.dim(isl.dim_type.set)
    params = domain.params()
    extents = []
    for d in range(n):
        high = domain.dim_max(d).add_constant_val(isl.Val(1))
        covering = []
        for symbol in symbols:
            dims = identity_dims(instruction, instruction.references[symbol].relation) or ()
            if d in dims:
                extent = program.buffer(instruction.references[symbol].buffer) \
                    .extents[dims.index(d)]
                if params.is_subset(high.eq_set(extent)):
                    covering.insert(0, extent)
                elif params.is_subset(high.le_set(extent)):
                    covering.append(extent)
        if not covering:
            raise ScheduleError(f"{instruction.name}: the loop over "
                                f"{instruction.iterators[d]} runs past the arrays it "
                                "subscripts")
        extents.append(covering[0])
    box = _box(domain, extents)
    if box.is_equal(domain):
        return extents, None
    for cut in _candidate_cuts(domain):
        if box.intersect(_cut_set(domain, cut)).is_equal(domain):
            return extents, cut
    for d in range(n):
        high = domain.dim_max(d).add_constant_val(isl.Val(1))
        if not params.is_subset(high.eq_set(extents[d])):
            raise ScheduleError(f"{instruction.name}: the loop over "
                                f"{instruction.iterators[d]} does not cover a whole "
                                "dimension of the arrays it subscripts")
    for d in range(n):
        zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(params.get_space()))
        if not params.is_subset(domain.dim_min(d).eq_set(zero)):
            raise ScheduleError(f"{instruction.name}: the loop over "
                                f"{instruction.iterators[d]} does not start at 0")
    raise ScheduleError(f"{instruction.name}: its domain is not a box, nor a box cut by "
                        f"one triangle on two of its loops ({domain})")


def triangle_of(cut: Cut, dims: tuple[int, int]) -> Triangle:
    """The cut as a triangle of the stored matrix whose subscripts are the
    iterators ``dims`` (row, column): the two iterators of the cut."""
    if dims == (cut.first, cut.second):
        return Triangle(cut.upper, cut.offset)
    if dims == (cut.second, cut.first):
        return Triangle(not cut.upper, -cut.offset)
    raise ScheduleError(f"internal error: the cut {cut} is not on the iterators {dims}")


def squared(triangle: Triangle) -> tuple[int, int]:
    """The (row, column) of the square submatrix whose diagonal-including
    triangle of the same side holds the same elements, and by how much it
    is smaller than the matrix (a ScheduleError when there is none: a lower
    triangle reaching above the diagonal, an upper one below)."""
    if not triangle.upper and triangle.offset <= 0:
        return -triangle.offset, 0
    if triangle.upper and triangle.offset >= 0:
        return 0, triangle.offset
    raise ScheduleError(f"the {triangle} triangle reaches across the diagonal (no "
                        "triangular routine takes it)")


def is_strict(triangle: Triangle) -> bool:
    """Whether the triangle is the strict one just off the diagonal, what a
    routine with a unit diagonal adds to the identity."""
    return triangle.offset == (1 if triangle.upper else -1)


def same_extent(instruction: Instruction, first: isl.PwAff, second: isl.PwAff) -> bool:
    """Whether two extents are equal for every size the domain allows."""
    return instruction.domain.params().is_subset(first.eq_set(second))


def reads_before_writes(instruction: Instruction, read: isl.Map, order: isl.Map) -> bool:
    """Whether no instance of ``instruction`` reads (through ``read``) an
    element that an instance run before it, or itself, writes: then every
    read sees the value from before the loop nest, and the instances may run
    in any order. ``order``: the instruction's flat schedule map."""
    writes = [instruction.references[a.target].relation for a in instruction.body
              if a.target in instruction.references]
    order = own_copy(order).intersect_domain(own_copy(instruction.domain))
    for write in writes:
        conflicts = own_copy(read).apply_range(own_copy(write).reverse())  # reader -> writer of that element
        earlier = order.lex_ge_map(order)  # x -> y with y scheduled no later than x
        if not conflicts.intersect(earlier).is_empty():
            return False
    return True


def identity_dims(instruction: Instruction, relation: isl.Map) -> tuple[int, ...] | None:
    """The iterators (by position) a reference's subscripts are, in order,
    when its access relation is exactly that projection of the domain."""
    domain, relation = own_copy(instruction.domain), own_copy(relation)
    n = domain.dim(isl.dim_type.set)
    rank = relation.dim(isl.dim_type.out)
    if rank not in (1, 2):
        return None
    space = isl.Space.map_from_domain_and_range(domain.get_space(),
                                               relation.get_space().range())
    candidates = [(d,) for d in range(n)] if rank == 1 else [
        (d, e) for d in range(n) for e in range(n) if d != e]
    for dims in candidates:
        projection = isl.MultiAff.zero(space)
        local = isl.LocalSpace.from_space(domain.get_space())
        for position, d in enumerate(dims):
            projection = projection.set_aff(position, isl.Aff.var_on_domain(
                local, isl.dim_type.set, d))
        if isl.Map.from_multi_aff(projection).intersect_domain(domain).is_equal(relation):
            return dims
    return None


def own_copy(value):
    """A copy of an isl set or map that shares nothing with ``value``: isl
    simplifies shared objects in place (``is_equal`` drops redundant
    constraints), which would change how the program's domains print, and
    so its fingerprint, under the schedule traces recorded on it.

    The copy goes through isl's text, with every name replaced by a
    placeholder on the way: isl's parser reads some C names (``min``,
    ``max``, ``floord``) as its own operators.

    >>> m = isl.Map("[n] -> { S[i] -> A[i] : 0 <= i < n }")
    >>> m = m.set_dim_name(isl.dim_type.param, 0, "min").set_tuple_name(isl.dim_type.out, "max")
    >>> own_copy(m).is_equal(m), own_copy(m).get_dim_name(isl.dim_type.param, 0)
    (True, 'min')
    """
    kinds = [isl.dim_type.param] + ([isl.dim_type.set] if isinstance(value, isl.Set)
                                    else [isl.dim_type.in_, isl.dim_type.out])
    names = {kind: [value.get_dim_name(kind, d) for d in range(value.dim(kind))]
             for kind in kinds}
    placeholder = value
    for kind in kinds:
        for d, name in enumerate(names[kind]):
            if name is not None:
                placeholder = placeholder.set_dim_name(kind, d, f"polyad_{int(kind)}_{d}")
    if isinstance(value, isl.Set):
        tuples = {None: value.get_tuple_name() if value.has_tuple_name() else None}
        rename = lambda v, kind, name: v.set_tuple_name(name)  # noqa: E731
    else:
        tuples = {kind: value.get_tuple_name(kind) if value.has_tuple_name(kind) else None
                  for kind in kinds[1:]}
        rename = lambda v, kind, name: v.set_tuple_name(kind, name)  # noqa: E731
    for kind, name in tuples.items():
        if name is not None:
            placeholder = rename(placeholder, kind, f"polyad_tuple_{int(kind or 0)}")
    copy = type(value).read_from_str(value.get_ctx(), placeholder.to_str())
    for kind in kinds:
        for d, name in enumerate(names[kind]):
            if name is not None:
                copy = copy.set_dim_name(kind, d, name)
    for kind, name in tuples.items():
        if name is not None:
            copy = rename(copy, kind, name)
    return copy


def _box(domain: isl.Set, extents: list[isl.PwAff]) -> isl.Set:
    """``{ S[x] : 0 <= x[d] < extents[d] }`` in the domain's space."""
    box = isl.Set.universe(domain.get_space())
    for d, extent in enumerate(extents):
        iterator = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(domain.get_space()),
                                           isl.dim_type.set, d)
        zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(domain.get_space()))
        bound = extent.pullback_multi_aff(isl.MultiAff.zero(isl.Space.map_from_domain_and_range(
            domain.get_space(), extent.get_domain_space())))
        box = box.intersect(iterator.ge_set(zero)).intersect(iterator.lt_set(bound))
    return box


def _candidate_cuts(domain: isl.Set) -> list[Cut]:
    """The constraints of the domain that bound the difference of two
    iterators by a constant (``x[e] - x[d] <= c`` or ``>= c``)."""
    n = domain.dim(isl.dim_type.set)
    cuts = []
    for basic in domain.coalesce().get_basic_sets():
        for constraint in basic.get_constraints():
            if constraint.is_equality() or constraint.involves_dims(
                    isl.dim_type.param, 0, domain.dim(isl.dim_type.param)) or \
                    constraint.involves_dims(isl.dim_type.div, 0,
                                             basic.dim(isl.dim_type.div)):
                continue
            coefficients = [constraint.get_coefficient_val(isl.dim_type.set, d).to_python()
                            for d in range(n)]
            used = [d for d in range(n) if coefficients[d] != 0]
            if len(used) != 2 or sorted(coefficients[d] for d in used) != [-1, 1]:
                continue
            first, second = used
            constant = constraint.get_constant_val().to_python()
            # c1 x[first] + c2 x[second] + constant >= 0
            if coefficients[first] == 1:  # x[second] - x[first] <= constant
                cuts.append(Cut(first, second, False, constant))
            else:  # x[second] - x[first] >= -constant
                cuts.append(Cut(first, second, True, -constant))
    return cuts


def _cut_set(domain: isl.Set, cut: Cut) -> isl.Set:
    local = isl.LocalSpace.from_space(domain.get_space())
    first = isl.PwAff.var_on_domain(local, isl.dim_type.set, cut.first)
    second = isl.PwAff.var_on_domain(local, isl.dim_type.set, cut.second)
    difference = second.sub(first)
    bound = isl.PwAff.zero_on_domain(local).add_constant_val(isl.Val(cut.offset))
    return difference.ge_set(bound) if cut.upper else difference.le_set(bound)
