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
