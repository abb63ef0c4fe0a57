"""Byte counts: reading them, printing them, and the memory a run may use.

A run that would allocate more than the machine can give is refused up
front, as a usage error naming the sizes and the bytes, instead of failing
half-way with an allocation error (or being killed).
"""

from __future__ import annotations

import os
from typing import Mapping

from polyad.errors import UsageError

#: Environment variable capping the memory polyad lets one run allocate.
MEMORY_LIMIT_VARIABLE = "POLYAD_MEMORY_LIMIT"

_UNITS = {"kib": 1024, "kb": 1000, "mib": 1 << 20, "mb": 1000 ** 2, "gib": 1 << 30,
          "gb": 1000 ** 3, "b": 1, "": 1}


def parse_bytes(text: str) -> int:
    """``32KiB`` -> 32768, ``64B`` -> 64, ``1MiB`` -> 1048576, ``4096`` -> 4096."""
    stripped = text.strip().lower()
    number = stripped.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = stripped[len(number):]
    if unit not in _UNITS or not number:
        raise UsageError(f"not a size in bytes: {text!r} (write e.g. 32KiB, 64B, 4096)")
    try:
        return int(float(number) * _UNITS[unit])
    except ValueError:
        raise UsageError(f"not a size in bytes: {text!r}") from None


def format_bytes(count: int) -> str:
    """``1536`` -> ``1.5 KiB``; ``80000000000`` -> ``74.5 GiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def available_memory() -> int:
    """What a run may allocate: ``$POLYAD_MEMORY_LIMIT`` if set, else the
    memory the system reports available (MemAvailable), else all of it."""
    limit = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if limit:
        return parse_bytes(limit)
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def require_memory(needed: Mapping[str, int], copies: int, what: str) -> None:
    """Raise a :class:`UsageError` if ``copies`` times the bytes of
    ``needed`` (name -> bytes) exceed :func:`available_memory`.

    >>> require_memory({"A": 80_000_000_000}, 1, "sizes n=100000")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    polyad.errors.UsageError: sizes n=100000 need 74.5 GiB for the arrays (A 74.5 GiB)...
    """
    total = sum(needed.values())
    limit = available_memory()
    if total * copies <= limit:
        return
    largest = sorted(needed.items(), key=lambda item: -item[1])[:3]
    parts = ", ".join(f"{name} {format_bytes(count)}" for name, count in largest)
    raise UsageError(
        f"{what} need {format_bytes(total)} for the arrays ({parts}), "
        f"{copies} copies of them at once: {format_bytes(total * copies)}, more than the "
        f"{format_bytes(limit)} available (choose smaller sizes, or set "
        f"{MEMORY_LIMIT_VARIABLE} to allow more)")
