"""A saved ``auto`` schedule replays to the same program, bit for bit.

Oracle: the C text generated from the schedule ``auto`` built, against the C
text generated from ``Schedule.replay`` of its JSON trace, with the auto
strategy disabled during the replay (so the trace alone must carry every
step: a replay that reran the heuristic would fail here).
"""

from __future__ import annotations

import json
from pathlib import Path

import islpy as isl
import pytest

import polyad
from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.api import generate_c
from polyad.schedule import auto
from polyad.schedule.schedule import Schedule

ROOT = Path(__file__).resolve().parents[2]


def example(name: str) -> polyad.Kernel:
    return polyad.parse(str(ROOT / "examples" / f"{name}.c"))


def replayed_without_auto(base: Schedule, text: str, monkeypatch) -> Schedule:
    def refuse(*args, **kwargs):
        raise AssertionError("the replay ran the auto strategy")
    with monkeypatch.context() as patch:
        patch.setattr(auto, "auto_schedule", refuse)
        patch.setattr("polyad.schedule.schedule.auto_schedule", refuse)
        return Schedule.replay(base, text)


@pytest.mark.parametrize("name,layout", [("gemm", "exact"), ("jacobi_2d", "exact"),
                                         ("syr2k", "stream"), ("heat_3d", "stack"),
                                         ("mlp", "regions"), ("atax", "exact")])
def test_replay_of_an_auto_trace_gives_the_same_c(name, layout, monkeypatch):
    adjoint = polyad.grad(example(name)).with_layout(layout)
    scheduled = adjoint.schedule().auto()
    text = scheduled.to_json()
    steps = [step["primitive"] for step in json.loads(text)["steps"]]
    assert "auto" not in steps and "reorder" in steps, steps
    again = replayed_without_auto(adjoint.schedule(), text, monkeypatch)
    assert again.flat.is_equal(scheduled.flat)
    assert again.annotations == scheduled.annotations
    assert generate_c(adjoint, again) == generate_c(adjoint, scheduled)


def test_replay_keeps_iterators_that_isl_reads_as_its_own_words(monkeypatch):
    """A kernel whose loop iterator is ``floord`` (isl's parser takes it
    for its function): the trace's maps survive the round trip."""
    kernel = polyad.parse(str(ROOT / "tests" / "kernels" / "empty_copy_layers_auto.c"))
    adjoint = polyad.grad(kernel)
    scheduled = adjoint.schedule().auto()
    assert "floord" in scheduled.to_json()
    again = replayed_without_auto(adjoint.schedule(), scheduled.to_json(), monkeypatch)
    assert generate_c(adjoint, again) == generate_c(adjoint, scheduled)


def test_an_old_trace_with_an_auto_step_still_replays():
    """Format 1 traces hold ``auto`` as one step: it runs today's strategy."""
    adjoint = polyad.grad(example("gemm"))
    old = json.dumps({"polyad_schedule": 1, "steps": [{"primitive": "auto", "tile": 128}]})
    again = Schedule.replay(adjoint.schedule(), old)
    assert generate_c(adjoint, again) == generate_c(adjoint, adjoint.schedule().auto())


def test_reorder_refuses_a_map_that_reverses_a_dependence():
    """Oracle: the dependence x[i] -> x[i + 1] the kernel states."""
    kernel = polyad.parse("void k(int n, double x[n]) {\n#pragma scop\n"
                          "for (int i = 1; i < n; i++) x[i] += x[i - 1];\n#pragma endscop\n}")
    schedule = polyad.api.schedule(kernel)
    (current,) = maps_of(schedule.flat)
    assert current.is_equal(isl.Map("[n] -> { S0[i] -> [i] : 0 < i < n }"))
    backwards = isl.Map("[n] -> { S0[i] -> [-i] : 0 < i < n }")
    with pytest.raises(ScheduleError, match="reorder would violate a dependence"):
        schedule.reorder([backwards])


def test_a_schedule_prints_as_a_short_summary():
    """Oracle: the steps and marks the test applies."""
    schedule = polyad.grad(example("gemm")).schedule().auto()
    text = repr(schedule)
    assert len(text) < 2000 and text.startswith("<Schedule of gemm_b (reverse")
    assert "reorder" in text and "parallel" in text
