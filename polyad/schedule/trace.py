"""Schedule traces: the primitives a schedule was made with, as JSON.

A trace records where it was made (kernel, mode, wrt, of and the program's
fingerprint) and its steps; replaying it on the same program applies the same
primitives with the same arguments. Strategies such as ``auto`` record the
concrete steps they took (rescheduling by isl included, as the flat maps
isl chose), so a replay reproduces the program bit for bit whatever the
strategy would do today.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import islpy as isl

from polyad.errors import ScheduleError

#: The version of the trace format: 1 had ``auto`` as one opaque step.
TRACE_VERSION = 2
#: The keys of a trace that say which program it was recorded for.
ORIGIN_KEYS = ("kernel", "mode", "wrt", "of", "fingerprint")


@dataclass(frozen=True)
class Step:
    """One primitive of a trace: its name and JSON-able arguments."""

    primitive: str
    arguments: tuple[tuple[str, object], ...] = ()

    def to_dict(self) -> dict:
        """The step as a JSON object: ``{"primitive": name, **arguments}``."""
        return {"primitive": self.primitive, **dict(self.arguments)}


def trace_text(origin: dict, reassociate: bool, steps) -> str:
    """The JSON text of a trace.

    >>> text = trace_text({"kernel": "k"}, True, [Step("unroll", (("loop", "S.i"),
    ...                                                            ("factor", 2)))])
    >>> json.loads(text)["steps"]
    [{'primitive': 'unroll', 'loop': 'S.i', 'factor': 2}]
    """
    return json.dumps({"polyad_schedule": TRACE_VERSION, **origin, "reassociate": reassociate,
                       "steps": [step.to_dict() for step in steps]}, indent=2)


def read_trace(text: str) -> tuple[dict, list[dict]]:
    """The header (everything but the steps) and the steps of a JSON trace;
    a :class:`ScheduleError` when the text is not one."""
    try:
        data = json.loads(text)
        steps = [dict(step) for step in data["steps"]]
    except (ValueError, KeyError, TypeError) as error:
        raise ScheduleError(f"not a polyad schedule trace: {error}") from None
    return {key: value for key, value in data.items() if key != "steps"}, steps


def check_origin(origin: dict, trace: dict) -> None:
    """Raise a :class:`ScheduleError` unless a trace header (as read from
    JSON) was recorded for the program of ``origin``: the same kernel, mode,
    differentiated arrays and program fingerprint, as far as the trace states
    them (a hand-written trace may state none)."""
    wrong = [f"{key} {trace[key]!r} (this is {origin[key]!r})"
             for key in ORIGIN_KEYS if key in trace and key in origin and trace[key] != origin[key]]
    if wrong:
        what = ", ".join(f"{key}={value!r}" for key, value in origin.items()
                         if key in ("kernel", "mode", "wrt", "of"))
        raise ScheduleError(
            f"this schedule trace was recorded for another program: {'; '.join(wrong)}; "
            f"record one for {what} (Schedule.to_json) or use --schedule auto")


def map_record(m: isl.Map) -> dict:
    """A map as JSON-able data: isl text with its iterators and parameters
    renamed ``i0, i1, ...`` and ``p0, p1, ...`` (a kernel may name an
    iterator ``floord`` or ``min``, which isl's parser takes for its own
    words), and the real names beside it.

    >>> m = isl.Map("[n] -> { S[i] -> [0, i] : 0 <= i < n }")
    >>> m = m.set_dim_name(isl.dim_type.in_, 0, "floord")
    >>> record = map_record(m)
    >>> record["map"], record["iterators"], record["params"]
    ('[p0] -> { S[i0] -> [0, i0] : 0 <= i0 < p0 }', ['floord'], ['n'])
    >>> map_from_record(record).is_equal(m), map_from_record(record).get_dim_name(isl.dim_type.in_, 0)
    (True, 'floord')
    """
    iterators = [m.get_dim_name(isl.dim_type.in_, d) for d in range(m.dim(isl.dim_type.in_))]
    params = [m.get_dim_name(isl.dim_type.param, d) for d in range(m.dim(isl.dim_type.param))]
    safe = m
    for d in range(len(iterators)):
        safe = safe.set_dim_name(isl.dim_type.in_, d, f"i{d}")
    for d in range(len(params)):
        safe = safe.set_dim_name(isl.dim_type.param, d, f"p{d}")
    return {"map": safe.to_str(), "iterators": iterators, "params": params}


def map_from_record(record: dict) -> isl.Map:
    """The map of a :func:`map_record`; a :class:`ScheduleError` if it is not one."""
    try:
        m = isl.Map(str(record["map"]))
        for d, name in enumerate(record["iterators"]):
            m = m.set_dim_name(isl.dim_type.in_, d, str(name))
        for d, name in enumerate(record["params"]):
            m = m.set_dim_name(isl.dim_type.param, d, str(name))
    except (isl.Error, KeyError, TypeError) as error:
        raise ScheduleError(f"not a schedule map record: {error}") from None
    return m
