"""Random inputs for running and checking kernels."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from polyad.memory import require_memory
from polyad.model import Kernel

#: A check holds the inputs, the original's outputs, the gradient's outputs
#: and its adjoints, the tangent's, and the two shifted runs of finite
#: differences, at once: about this many copies of the kernel's arrays.
COPIES_AT_ONCE = 8


def random_inputs(kernel: Kernel, sizes: Mapping[str, int], seed: int = 0,
                  low: float = 0.5, high: float = 1.5) -> dict[str, object]:
    """Sizes, scalars and every array argument of the kernel, filled with
    uniform random values in [low, high) (integers in [0, 4) for int data).

    Output arrays are filled too: a kernel may leave parts of them untouched,
    and those parts must come back as they went in.
    """
    kernel.check_sizes(sizes)
    given = ", ".join(f"{p}={sizes[p]}" for p in kernel.params)
    require_memory(kernel.array_bytes(sizes), COPIES_AT_ONCE, f"sizes {given}")
    rng = np.random.default_rng(seed)
    values: dict[str, object] = dict(sizes)
    for array in kernel.arrays:
        if array.storage != "parameter":
            continue
        if array.is_scalar:
            values[array.name] = float(rng.uniform(low, high))
            continue
        shape = array.shape(sizes)
        if array.is_float:
            values[array.name] = rng.uniform(low, high, size=shape)
        else:
            values[array.name] = rng.integers(0, 4, size=shape).astype(
                np.int32 if array.dtype == "int" else np.int8)
    return values
