"""The benchmark report's extra memory: per taped kernel the planned tape,
the peak extra heap bytes one gradient call allocated (measured by the
driver, codegen.driver.HEAP_COUNTER) for polyad's variants and Enzyme, and
JAX's temporary buffers as XLA compiled them (a planned figure, named as
such)."""

from __future__ import annotations

import statistics


def entry(row: dict, name: str) -> dict:
    """The variant or peer of a row's results by name ({} if absent)."""
    for v in row["variants"] + row["peers"]:
        if v["name"] == name:
            return v
    return {}


def xla_temp_bytes(fn, args) -> int | None:
    """The temporary buffers XLA's compiled gradient allocates beside its
    arguments and outputs (``memory_analysis().temp_size_in_bytes`` of the
    compiled executable, the one the timed calls ran: jit's cache hands it
    back): planned by XLA's buffer assignment, not counted during a call,
    so it is JAX's counterpart of polyad's planned extra bytes, reported
    under its own name. None where the backend does not say."""
    try:
        analysis = fn.lower(*args).compile().memory_analysis()
    except Exception:  # pragma: no cover - depends on the JAX version and backend
        return None
    return getattr(analysis, "temp_size_in_bytes", None) if analysis is not None else None


#: The variants and peers whose extra memory the report's memory table shows.
MEMORY_COLUMNS = ("stack", "exact", "auto", "checkpoint", "enzyme")


def _bytes(value: int | None) -> str:
    return f"{value:,}" if value is not None else "n/a"


def memory_table(rows: list[dict]) -> list[str]:
    """The markdown table of extra memory per taped kernel (exact records
    something): planned tape bytes, and the peak extra heap bytes one
    gradient call allocated, measured by the driver, for polyad's variants
    and Enzyme; JAX's XLA temp bytes (planned by XLA) apart."""
    taped = [r for r in rows if entry(r, "exact").get("tape_bytes")]
    if not taped:
        return []
    header = (["kernel", "sizes", "exact tape (planned)"]
              + [f"{name} measured" for name in MEMORY_COLUMNS] + ["jax XLA temp (planned)"])
    lines = ["", "Extra memory of one gradient call, bytes, per kernel with a "
             "tape: the exact tape as planned, and per variant the peak heap bytes one "
             "call allocated beyond what the driver held (tapes, snapshots, local arrays, "
             "workspaces), counted by the driver's malloc wrappers; JAX's figure is XLA's "
             "temporary buffers as compiled, not a measurement of the call.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in taped:
        cells = [row["kernel"], " ".join(f"{k}={v}" for k, v in row["sizes"].items()),
                 _bytes(entry(row, "exact").get("tape_bytes"))]
        cells += [_bytes(entry(row, name).get("peak_extra_bytes")) for name in MEMORY_COLUMNS]
        cells.append(_bytes(entry(row, "jax").get("xla_temp_bytes")))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def memory_summary(rows: list[dict]) -> str:
    """Measured against planned: the exact variant's peak extra bytes over
    its planned extra bytes (tapes, as allocated) on the taped kernels, and
    the kernels where the measurement exceeds the plan by more than 1%
    (local arrays, workspaces the plan does not count)."""
    taped = [r for r in rows if entry(r, "exact").get("tape_bytes")]
    ratios, over = [], []
    for row in taped:
        exact = entry(row, "exact")
        if exact.get("peak_extra_bytes") is None or not exact.get("extra_bytes"):
            continue
        ratio = exact["peak_extra_bytes"] / exact["extra_bytes"]
        ratios.append(ratio)
        if ratio > 1.01:
            over.append(f"{row['kernel']} ({ratio:.2f}x)")
    if not ratios:
        return "measured extra memory: n/a"
    return (f"measured peak extra memory of exact over its planned extra bytes: median "
            f"{statistics.median(ratios):.3f}x over {len(ratios)} taped kernels; more than "
            f"1% over on: " + (", ".join(over) or "none"))
