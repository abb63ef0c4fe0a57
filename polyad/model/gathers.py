"""Gathers of a kernel: which index arrays subscript which arrays, and the
values an index array may hold (polyad.model.kernel.Access has the gather
itself)."""

from __future__ import annotations

from typing import Mapping

from polyad.model.kernel import Kernel


def gathers(kernel: Kernel) -> tuple[tuple[str, str, int], ...]:
    """(index array, gathered array, dimension) for each dimension of an
    array that an index array subscripts (``x[col[k]]``: ``("col", "x",
    0)``; a scatter's written array too), once each, in statement order."""
    found: list[tuple[str, str, int]] = []
    for statement in kernel.statements:
        for access in (statement.write,) + statement.reads:
            symbols = {index.symbol: index.array for index in access.indices}
            for dim, subscript in enumerate(access.subscripts or ()):
                if subscript is not None and \
                        (symbols[subscript], access.array, dim) not in found:
                    found.append((symbols[subscript], access.array, dim))
    return tuple(found)


def index_limit(kernel: Kernel, name: str, sizes: Mapping[str, int]) -> int | None:
    """The values index array ``name`` may hold at ``sizes``: 0 up to this
    (excluded), the smallest extent it subscripts; None for an array no
    gather reads through."""
    extents = [kernel.array(array).shape(sizes)[dim]
               for index, array, dim in gathers(kernel) if index == name]
    return min(extents) if extents else None


def scattered_arrays(kernel: Kernel) -> frozenset[str]:
    """The arrays some statement writes through an index array (a scatter,
    ``y[perm[i]] = e``, under ``#pragma polyad injective(perm)``)."""
    return frozenset(s.write.array for s in kernel.statements if s.write.is_gather)


def scatter_indices(kernel: Kernel) -> frozenset[str]:
    """The index arrays some statement writes through (stated injective)."""
    return frozenset(index.array for s in kernel.statements for index in s.write.indices)
