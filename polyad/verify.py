"""Checking generated code against oracles that share none of its code.

Each check returns a record ``{"oracle", "max_rel_err", "ok", "detail"}``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

import codegen
from polyad.inputs import random_inputs
from polyad.model import Kernel
from polyad.program import primal_program


def kernel_inputs(kernel: Kernel, sizes: Mapping[str, int], seed: int,
                  given: Mapping[str, object] | None = None) -> dict[str, object]:
    """Inputs for a run: random ones, then the file's init function, then
    ``given`` arrays (from ``--inputs``), which win."""
    values = random_inputs(kernel, sizes, seed)
    _, init = codegen.compile_original(kernel)
    if init is not None:
        values.update(init(**values))
    if given:
        values.update(given)
    return values


def check_primal(kernel: Kernel, values: Mapping[str, object]) -> dict:
    """Oracle: the user's function compiled by the system compiler. The
    regenerated primal must give bitwise identical outputs."""
    original, _ = codegen.compile_original(kernel)
    generated = codegen.compile_program(primal_program(kernel))
    expected = original(**values)
    got = generated(**values)
    worst, differing = 0.0, []
    for name, value in expected.items():
        if not np.array_equal(np.asarray(value), np.asarray(got[name]), equal_nan=True):
            differing.append(name)
            worst = max(worst, relative_error(got[name], value))
    return {"oracle": "original C (bitwise)", "max_rel_err": worst, "ok": not differing,
            "detail": f"outputs differ: {', '.join(differing)}" if differing
            else f"{len(expected)} arrays identical"}


def relative_error(got, expected) -> float:
    """max |got - expected| / max(|expected|) over all elements (0 for empty)."""
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if expected.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    return float(np.max(np.abs(got - expected))) / scale
