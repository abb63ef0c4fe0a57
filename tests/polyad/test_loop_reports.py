"""`polyad show --loops` names each loop by its handle and in the user's terms.

Oracle: the kernel itself (its statements' source lines and text) and the
schedule's own handles: every handle a report shows is accepted by
Schedule.loop, so users can pass it to the primitives.
"""

from __future__ import annotations

import re

import polyad
from polyad.program.targets import load_schedule
from polyad.tools.reports import format_schedule, loop_description, schedule_summary
from tests.conftest import example


def test_a_loop_around_several_statements_names_their_lines():
    kernel = example("rnn")
    schedule = polyad.grad(kernel).schedule()
    text = format_schedule(schedule)
    lines = ", ".join(str(s.location.line) for s in kernel.statements)  # 14, 16, 18, 19
    assert f"S2.t (loop t around lines {lines}): sequential" in text
    assert f"S2_b.t (loop t around lines {lines}): sequential" in text


def test_a_loop_of_one_statement_quotes_it():
    kernel = example("gemm")
    statement = kernel.statement("S1")
    # Loops, not BLAS calls: the nest of S1_b stays whole.
    text = format_schedule(load_schedule(polyad.grad(kernel), "auto", blas=False))
    assert (f"S1_b.k (loop k of adjoint of line {statement.location.line}: "
            f"{statement.text})") in text
    assert f"S1.k (loop k of line {statement.location.line}: {statement.text})" in text


def test_a_tape_write_loop_is_named_after_the_line_it_records_for():
    """gemm's S0_save0 records C[i][j] before line 12 scales it; its loop i
    runs line 12's and line 15's statements too."""
    schedule = polyad.grad(example("gemm")).schedule()
    reports = {str(r.loop): r for r in schedule.loops()}
    assert loop_description(schedule.program, reports["S0_save0.i"]) == \
        "loop i around lines 12, 15"
    program = schedule.program
    assert program.instruction("S0_save0").comment == "record C[i][j] for the reverse of line 12"
    assert program.instruction("S0_save0").line == 12


def test_every_handle_shown_is_one_the_primitives_take():
    schedule = load_schedule(polyad.grad(example("lu")), "auto")
    text = format_schedule(schedule)
    handles = re.findall(r"^\s+(\S+\.\S+) \(loop ", text, re.MULTILINE)
    assert len(handles) == len(schedule.loops())
    for handle in handles:
        instruction, iterator = handle.rsplit(".", 1)
        assert schedule.loop(instruction, iterator) is not None


def test_the_json_says_what_each_loop_is():
    schedule = polyad.grad(example("rnn")).schedule()
    summary = schedule_summary(schedule)
    assert [loop["what"] for loop in summary["loops"]] == [
        loop_description(schedule.program, report) for report in schedule.loops()]
    assert summary["loops"][0]["loop"] == "S2.t"
