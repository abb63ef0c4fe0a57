"""Random inputs for running and checking kernels, and the kinds ``--init``
names (``uniform``, ``normal``, ``positive``, ``spd``, ``permutation``, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from polyad.errors import UsageError
from polyad.memory import require_memory
from polyad.model.gathers import index_limit, scatter_indices
from polyad.model.kernel import Array, Kernel

#: A check holds the inputs, the original's outputs, the gradient's outputs
#: and its adjoints, the tangent's, and the two shifted runs of finite
#: differences, at once: about this many copies of the kernel's arrays.
COPIES_AT_ONCE = 8

#: The kinds of ``--init NAME=KIND``; ``uniform`` and ``int`` take optional
#: bounds after colons (``uniform:-1:1``, ``int:0:9``), ``normal`` a mean and
#: a standard deviation (``normal:0:2``); ``permutation`` fills an int
#: array with pairwise distinct indices (a permutation of 0 .. count - 1, or
#: distinct values below the extent it subscripts, when that is larger).
INIT_KINDS = ("uniform", "normal", "positive", "spd", "diagonally-dominant",
              "orthogonal", "int", "permutation")
#: Kinds for int data.
_INT_KINDS = ("int", "permutation")
#: Kinds that only make sense for a two-dimensional array.
_MATRIX_KINDS = ("spd", "diagonally-dominant", "orthogonal")
_DEFAULT_BOUNDS = {"uniform": (0.5, 1.5), "normal": (0.0, 1.0), "int": (0, 3)}


@dataclass(frozen=True)
class InitKind:
    """How to fill one array: a kind of :data:`INIT_KINDS` and its two
    numbers (bounds, or mean and standard deviation for ``normal``)."""

    kind: str
    low: float = 0.0
    high: float = 0.0

    def __str__(self) -> str:
        if self.kind in _DEFAULT_BOUNDS:
            return f"{self.kind}:{self.low:g}:{self.high:g}"
        return self.kind


def parse_init_kind(text: str) -> InitKind:
    """The kind ``text`` names (``spd``, ``int:0:9``, ``uniform:-1:1``).

    Precondition: none; an unknown kind or malformed bounds raise UsageError.
    """
    name, *bounds = text.strip().split(":")
    if name not in INIT_KINDS:
        raise UsageError(f"unknown input kind {text!r} (choose among "
                         f"{', '.join(INIT_KINDS)}; int takes int:LO:HI)")
    if name not in _DEFAULT_BOUNDS:
        if bounds:
            raise UsageError(f"input kind {name} takes no bounds (got {text!r})")
        return InitKind(name)
    if not bounds:
        return InitKind(name, *_DEFAULT_BOUNDS[name])
    number = int if name == "int" else float
    try:
        if len(bounds) != 2:
            raise ValueError
        low, high = number(bounds[0]), number(bounds[1])
    except ValueError:
        raise UsageError(f"input kind {text!r}: write {name}:LO:HI with two "
                         f"{'integers' if name == 'int' else 'numbers'}") from None
    if name == "normal":
        if not (np.isfinite(low) and np.isfinite(high) and high > 0):
            raise UsageError(f"input kind {text!r}: write normal:MEAN:STD with STD > 0")
    elif not (np.isfinite(low) and np.isfinite(high)) or high < low or (
            name == "uniform" and high == low):
        raise UsageError(f"input kind {text!r}: needs finite LO < HI (LO <= HI for int)")
    return InitKind(name, low, high)


def parse_init(specs: Sequence[str] | Mapping[str, str] | None) -> dict[str, InitKind]:
    """``{"A": InitKind}`` from ``["A=spd", ...]`` (the CLI's ``--init``) or
    ``{"A": "spd"}`` (the API's). Precondition: none; bad text raises UsageError."""
    if not specs:
        return {}
    pairs = specs.items() if isinstance(specs, Mapping) else [
        spec.partition("=")[::2] for spec in specs]
    kinds = {}
    for name, kind in pairs:
        name = str(name).strip()
        if not name or not str(kind).strip():
            raise UsageError(f"--init expects NAME=KIND, got {name}={kind}".rstrip("="))
        kinds[name] = kind if isinstance(kind, InitKind) else parse_init_kind(str(kind))
    return kinds


def check_init(kernel: Kernel, kinds: Mapping[str, InitKind]) -> None:
    """Raise UsageError unless every named array is an argument of the kernel
    that the kind fits (matrix kinds: two-dimensional floating arrays; int
    arrays: only ``int``)."""
    for name, kind in kinds.items():
        array = kernel.array(name)  # unknown names: an error listing the arrays
        if array.storage != "parameter":
            raise UsageError(f"--init {name}: {name} is local to {kernel.name}, not an "
                             "argument; only arguments take inputs")
        if kind.kind in _MATRIX_KINDS and array.rank != 2:
            raise UsageError(f"--init {name}={kind.kind}: {name} has {array.rank} "
                             "dimensions; this kind needs a matrix (two dimensions)")
        if not array.is_float and kind.kind not in _INT_KINDS:
            raise UsageError(f"--init {name}={kind.kind}: {name} holds {array.dtype}; "
                             "integer data takes int:LO:HI or permutation")
        if array.is_float and kind.kind == "permutation":
            raise UsageError(f"--init {name}=permutation: {name} holds {array.dtype}; "
                             "a permutation fills an int index array")


def random_inputs(kernel: Kernel, sizes: Mapping[str, int], seed: int = 0,
                  low: float = 0.5, high: float = 1.5,
                  init: Mapping[str, InitKind] | None = None) -> dict[str, object]:
    """Sizes, scalars and every array argument of the kernel, filled with
    uniform random values in [low, high) (integers in [0, 4) for int data,
    valid indices for an index array, pairwise distinct ones for an index
    array a scatter writes through, ``#pragma polyad injective``),
    or with the kind ``init`` names for an array.

    Output arrays are filled too: a kernel may leave parts of them untouched,
    and those parts must come back as they went in. Precondition:
    ``check_init(kernel, init)`` holds.
    """
    kernel.check_sizes(sizes)
    given = ", ".join(f"{p}={sizes[p]}" for p in kernel.params)
    require_memory(kernel.array_bytes(sizes), COPIES_AT_ONCE, f"sizes {given}")
    init = dict(init or {})
    rng = np.random.default_rng(seed)
    values: dict[str, object] = dict(sizes)
    for position, array in enumerate(kernel.arrays):
        if array.storage != "parameter":
            continue
        # The default value is always drawn, so that naming a kind for one
        # array leaves every other array's values unchanged.
        if array.is_scalar:
            values[array.name] = float(rng.uniform(low, high))
        elif array.is_float:
            values[array.name] = rng.uniform(low, high, size=array.shape(sizes))
        else:
            # An index array holds valid indices of the arrays it subscripts.
            limit = index_limit(kernel, array.name, sizes)
            values[array.name] = rng.integers(0, 4 if limit is None else limit,
                                              size=array.shape(sizes)).astype(
                np.int32 if array.dtype == "int" else np.int8)
            if array.name in scatter_indices(kernel) and array.name not in init:
                own = np.random.default_rng([seed, position])
                values[array.name] = draw(InitKind("permutation"), array,
                                          array.shape(sizes), own, limit)
        if array.name in init:
            own = np.random.default_rng([seed, position])
            values[array.name] = draw(init[array.name], array, array.shape(sizes), own,
                                      index_limit(kernel, array.name, sizes))
        if array.dtype == "float":  # drawn in double, rounded as the kernel holds them
            values[array.name] = (float(np.float32(values[array.name])) if array.is_scalar
                                  else np.asarray(values[array.name]).astype(np.float32))
    return values


def draw(kind: InitKind, array: Array, shape: tuple[int, ...],
         rng: np.random.Generator, limit: int | None = None):
    """Values of one array of ``shape`` of the given kind (a float for a
    scalar); ``limit``: the extent an index array subscripts, which a
    ``permutation``'s values stay below. Precondition: the kind fits the
    array (see check_init)."""
    if kind.kind == "permutation":
        count = int(np.prod(shape))
        bound = count if limit is None else limit
        if count > bound:
            raise UsageError(f"--init {array.name}=permutation: {count} distinct values "
                             f"below {bound} do not exist")
        return rng.permutation(bound)[:count].reshape(shape).astype(
            np.int32 if array.dtype == "int" else np.int8)
    if kind.kind == "int":
        data = rng.integers(int(kind.low), int(kind.high) + 1, size=shape)
        if not array.is_float:
            return data.astype(np.int32 if array.dtype == "int" else np.int8)
        data = data.astype(float)
    elif kind.kind == "uniform":
        data = rng.uniform(kind.low, kind.high, size=shape)
    elif kind.kind == "normal":
        data = rng.normal(kind.low, kind.high, size=shape)
    elif kind.kind == "positive":
        data = np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=shape))
    else:
        data = _matrix(kind.kind, shape, rng)
    return float(data) if array.is_scalar else data


def _matrix(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    rows, cols = shape
    if kind == "orthogonal":
        # Orthonormal columns (rows, for a wide matrix): Q of a Gaussian matrix.
        tall = rows >= cols
        q, r = np.linalg.qr(rng.standard_normal((rows, cols) if tall else (cols, rows)))
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)  # the unique Q with diag(R) > 0
        return q if tall else q.T
    if rows != cols:
        raise UsageError(f"input kind {kind} needs a square matrix, not {rows}x{cols}")
    if kind == "spd":
        g = rng.standard_normal((rows, rows))
        return g @ g.T / rows + np.eye(rows)
    off = rng.uniform(-1.0, 1.0, size=(rows, rows))
    np.fill_diagonal(off, 0.0)
    return off + np.diag(np.abs(off).sum(axis=1) + rng.uniform(0.5, 1.5, size=rows))
