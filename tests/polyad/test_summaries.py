"""print() of a Kernel, an Adjoint and a Tangent is a short summary, not the
dataclass text of every isl set (tens of KB).

Oracle: the values' own fields (array names, statement lines, wrt and of,
the tape plan's entries), compared with what the summary says; equality is
still the dataclasses', field by field.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import polyad
from tests.conftest import example


@pytest.mark.parametrize("name", ["gemm", "rnn", "layernorm"])
def test_a_kernel_prints_a_few_lines_naming_its_arrays_and_statements(name):
    kernel = example(name)
    text = str(kernel)
    assert len(text) < 2000
    assert len(text.splitlines()) <= 3 + len(kernel.statements)
    for array in kernel.arrays:
        assert f"{array.name} {array.dtype}" in text
    for statement in kernel.statements:
        assert f"{statement.name} line {statement.location.line}" in text
    assert f"sizes {', '.join(kernel.params)}" in text.splitlines()[0]


def test_the_kernel_summary_gives_shapes_and_roles():
    text = str(example("gemm"))
    assert "C double[ni][nj] inout" in text
    assert "A double[ni][nk] input" in text
    assert "alpha double input" in text
    assert "C[i][j] += alpha * A[i][k] * B[k][j];" in text


def test_repr_is_one_line_and_names_the_arrays():
    kernel = example("adi")  # 27 statements, 17 arrays and scalars
    assert "\n" not in repr(kernel) and len(repr(kernel)) < 300
    assert all(array.name in repr(kernel) for array in kernel.arrays)
    adjoint = polyad.grad(kernel)
    assert "\n" not in repr(adjoint) and len(repr(adjoint)) < 300
    assert repr(adjoint).startswith("<Adjoint of adi: u, v with respect to u;")


def test_equality_is_still_field_by_field():
    kernel = example("gemm")
    assert kernel == replace(kernel)
    assert kernel != replace(kernel, name="other")
    adjoint = polyad.grad(kernel)
    assert adjoint == replace(adjoint)
    assert adjoint != adjoint.with_layout("stream")


def test_an_adjoint_prints_mode_wrt_of_layout_and_the_tape_in_words():
    kernel = example("rnn")
    adjoint = polyad.grad(kernel, of=["h"])
    text = str(adjoint)
    assert len(text) < 2000
    assert text.splitlines()[0] == ("adjoint of rnn (reverse mode): the gradient of h with "
                                    "respect to Wh, Wx, b, x, h")
    assert "exact strategy, exact layout" in text
    # tanh's partial is 1 - h*h with h[t + 1][j] read from memory
    # (polyad.ad.outputs): s, overwritten by the next j, is not needed.
    assert "records nothing: every value the reverse sweep needs is read from memory" in text
    assert "layers layout, scratchpad 32768 bytes" in str(adjoint.with_layout("layers"))


def test_an_adjoint_prints_its_recorded_reads_in_words():
    """neural_ode: h[k] is overwritten by the step's update, s[j] by the next
    step (reading the kernel)."""
    text = str(polyad.grad(example("neural_ode"), of=["h"]))
    assert "records 2 of the 3 reads whose values the reverse sweep needs" in text
    assert "h[k] (read at line 19) from one record of the values S2 writes (each value " \
        "recorded once), for every instance but the first iteration of t" in text
    assert "s[j] (read at line 22) for every instance but the last iteration of t" in text


def test_a_tape_without_entries_says_so():
    text = str(polyad.grad(example("gemm"), wrt=["A", "B"]))
    assert "records nothing: every value the reverse sweep needs is read from memory" in text


def test_the_stack_strategy_names_every_read_it_records():
    adjoint = polyad.grad(example("rnn"), strategy="stack")
    text = str(adjoint)
    assert "stack strategy, stack layout" in text
    for entry in adjoint.tape.entries:
        assert f"{entry.access.text} (read at line {entry.access.location.line})" in text


def test_a_tangent_prints_two_lines():
    tangent = polyad.jvp(example("rnn"), wrt=["x"])
    assert str(tangent).splitlines() == [
        "tangent of rnn (forward mode): with respect to x",
        "  tangents   " + ", ".join(f"{s.statement.name} line {s.statement.location.line}"
                                    for s in tangent.statements)]
