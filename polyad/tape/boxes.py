"""The bounding box of a set of instances, in the sizes: the shape of every
box-shaped tape buffer (lowering's exact, regions and sequence tapes, the
stream layout's FIFOs)."""

from __future__ import annotations

import islpy as isl


def tape_box(instances: isl.Set, context: isl.Set) -> tuple[list[isl.PwAff], list[isl.PwAff]]:
    """Lower bounds and extents (in the sizes) of the bounding box of a set;
    extents are 0 for sizes where the set is empty.

    Precondition: ``context`` is the kernel's context, in the set's parameters.

    >>> lows, extents = tape_box(isl.Set("[N] -> { S[i] : 1 <= i < N }"),
    ...                          isl.Set("[N] -> { : N >= 2 }"))
    >>> str(extents[0])
    '[N] -> { [(-1 + N)] }'
    """
    params = instances.params()
    zero = isl.PwAff.zero_on_domain(isl.LocalSpace.from_space(context.get_space()))
    lows, extents = [], []
    for d in range(instances.dim(isl.dim_type.set)):
        low = instances.dim_min(d)
        high = instances.dim_max(d)
        extent = high.sub(low).add(isl.PwAff.val_on_domain(params, isl.Val(1)))
        lows.append(low.union_max(zero.intersect_domain(context - params)).coalesce())
        extents.append(extent.union_max(zero).gist_params(context).coalesce())
    return lows, extents


def tape_relation(instances: isl.Set, lows: list[isl.PwAff], buffer: str,
                  field: int | None = None) -> isl.Map:
    """{ S[i, j] -> tape[i - low0, j - low1] } on the recording instances
    (``tape[..., field]`` for a struct per instance).

    Precondition: ``lows`` are the lower bounds of the instances' box
    (:func:`tape_box`), one per dimension."""
    space = instances.get_space()
    local = isl.LocalSpace.from_space(space)
    relation = None
    for d, low in enumerate(lows):
        offset = isl.PwAff.var_on_domain(local, isl.dim_type.set, d).sub(
            low.insert_domain(space))
        piece = isl.Map.from_pw_aff(offset)
        relation = piece if relation is None else relation.flat_range_product(piece)
    if field is not None:
        piece = isl.Map.from_pw_aff(isl.PwAff.val_on_domain(isl.Set.universe(space),
                                                            isl.Val(field)))
        relation = piece if relation is None else relation.flat_range_product(piece)
    if relation is None:
        relation = isl.Map.from_domain(isl.Set.universe(space))
    relation = relation.set_tuple_name(isl.dim_type.out, buffer)
    return relation.intersect_domain(instances)
