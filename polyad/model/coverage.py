"""Which part of a whole a set of instances (or elements) is, in words.

The tape plan says which instances record a value as an isl set; people
read "every instance but the last iteration of t" faster than
``{ S0[t, i] : 0 <= t <= -2 + tsteps and ... }``. :func:`coverage_phrase`
compares the set with the statement's domain (or the array's elements) by
set algebra and names the usual shapes: everything, nothing, all but the
first or last iteration of one loop, all but the first or last instance,
only those; anything else is described by the constraints that cut the part
out of the whole (isl's ``gist``). The set itself stays beside the phrase.

>>> import islpy as isl
>>> whole = isl.Set("[T, n] -> { S[t, i] : 0 <= t < T and 0 <= i < n }")
>>> coverage_phrase(isl.Set("[T, n] -> { S[t, i] : 0 <= t < T - 1 and 0 <= i < n }"), whole)
'every instance but the last iteration of t'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import islpy as isl


@dataclass(frozen=True)
class Units:
    """How to name the points of a set and its axes in a phrase.

    ``one`` and ``many`` name a point (``instance`` / ``instances``, or
    ``element of B`` / ``elements of B``); ``axes`` name one value of each
    dimension (``iteration of t``, ``row``), outermost first.
    """

    one: str
    many: str
    axes: tuple[str, ...]

    @staticmethod
    def instances(iterators: Sequence[str], statement: str = "") -> "Units":
        """Instances of a statement with these loop iterators (named when
        ``statement`` is given: "instance of S3")."""
        of = f" of {statement}" if statement else ""
        return Units(f"instance{of}", f"instances{of}",
                     tuple(f"iteration of {i}" for i in iterators))

    @staticmethod
    def elements(array: str, rank: int) -> "Units":
        """Elements of an array of this rank."""
        # One dimension has no axis to name: its first and last iterations
        # are its first and last elements.
        axes = {1: (), 2: ("row", "column")}.get(
            rank, tuple(f"index of dimension {d}" for d in range(rank)))
        return Units(f"element of {array}", f"elements of {array}", axes)


def coverage_phrase(part: isl.Set, whole: isl.Set, units: Units | None = None,
                    context: isl.Set | None = None) -> str:
    """``part`` of ``whole`` in words, for sizes in ``context``.

    Precondition: both sets live in one space (one tuple name and
    dimension count; dimension names may differ) and ``part`` is a subset
    of ``whole`` where ``context`` holds. ``units`` default to instances
    named after ``whole``'s dimensions.

    >>> import islpy as isl
    >>> whole = isl.Set("[n] -> { S[i, j] : 0 <= i < n and 0 <= j < n }")
    >>> coverage_phrase(whole, whole), coverage_phrase(whole.subtract(whole), whole)
    ('every instance', 'no instance')
    >>> coverage_phrase(isl.Set("[n] -> { S[i, j] : 0 <= i < n and 0 <= j < n and i + j < 2n - 2 }"), whole)
    'every instance but the last one'
    >>> coverage_phrase(isl.Set("[n] -> { S[i, j] : 0 <= i < n and 0 <= j < n and j < i }"), whole)
    'the instances where j < i'
    """
    if units is None:
        units = Units.instances([whole.get_dim_name(isl.dim_type.set, d) or f"i{d}"
                                 for d in range(whole.dim(isl.dim_type.set))])
    if context is not None:
        part, whole = part.intersect_params(context), whole.intersect_params(context)
    part = part.intersect(whole)
    if part.is_empty():
        return f"no {units.one}"
    rest = whole.subtract(part)
    if rest.is_empty():
        return f"every {units.one}"
    for d, axis in enumerate(units.axes):
        for end, ends in (("last", _ends(whole, d, later=True)),
                          ("first", _ends(whole, d, later=False))):
            if rest.is_equal(ends):
                return f"every {units.one} but the {end} {axis}"
            if part.is_equal(ends):
                return f"only the {end} {axis}"
    for end, point in (("last", whole.lexmax()), ("first", whole.lexmin())):
        if rest.is_equal(point):
            return f"every {units.one} but the {end} one"
        if part.is_equal(point):
            return f"only the {end} {units.one}"
    cut = part.gist(whole).coalesce()
    if cut.n_basic_set() == 1:
        return f"the {units.many} where {_constraints(cut)}"
    return f"some of the {units.many}"


def _ends(whole: isl.Set, dimension: int, *, later: bool) -> isl.Set:
    """The last (``later``) or first iteration of the loop of ``dimension``,
    as loops nest: the points whose value of that dimension is the largest
    (smallest) for their values of the outer dimensions, with everything the
    inner dimensions hold under it."""
    count = whole.dim(isl.dim_type.set)
    inner = count - dimension - 1
    outer = whole.project_out(isl.dim_type.set, dimension + 1, inner)
    step = isl.Map.universe(isl.Space.map_from_set(outer.get_space()))
    for d in range(dimension):
        step = step.equate(isl.dim_type.in_, d, isl.dim_type.out, d)
    step = (step.order_lt if later else step.order_gt)(
        isl.dim_type.in_, dimension, isl.dim_type.out, dimension)
    has_next = step.intersect_domain(outer).intersect_range(outer).domain()
    ends = outer.subtract(has_next).add_dims(isl.dim_type.set, inner)
    return whole.intersect(ends.set_tuple_id(whole.get_tuple_id())
                           if whole.has_tuple_id() else ends)


def _constraints(points: isl.Set) -> str:
    """``j = -1 + m and i <= -2 + n``: the constraints of a one-piece set as
    isl prints them. The dimensions become parameters first, so that isl
    writes an equality as a constraint instead of into the tuple
    (``S4[i, j = -1 + m]``)."""
    params = points.dim(isl.dim_type.param)
    flat = points.move_dims(isl.dim_type.param, params, isl.dim_type.set, 0,
                            points.dim(isl.dim_type.set))
    return flat.to_str().split(":", 1)[1].strip(" }")
