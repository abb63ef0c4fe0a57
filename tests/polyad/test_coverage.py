"""The tape plan says in words which instances record a value.

Oracle: the points of the sets at fixed sizes, enumerated one by one; a
phrase claims a shape ("every instance but the last iteration of t") that
the enumeration checks directly (the last iteration of a loop: the points
with the largest value of its iterator for their outer iterators' values).
"""

from __future__ import annotations

import islpy as isl
import pytest

import polyad
from polyad.model.coverage import Units, coverage_phrase
from polyad.model.kernel import fix_sizes
from tests.conftest import example

WHOLE = isl.Set("[T, n] -> { S[t, i] : 0 <= t < T and 0 <= i <= t }")  # triangular


def points(s: isl.Set, sizes: dict) -> set[tuple[int, ...]]:
    fixed = fix_sizes(s, sizes)
    result: list[tuple[int, ...]] = []
    fixed.foreach_point(lambda p: result.append(tuple(
        p.get_coordinate_val(isl.dim_type.set, d).to_python()
        for d in range(fixed.dim(isl.dim_type.set)))))
    return set(result)


def ends(whole: set, dimension: int, last: bool) -> set:
    """The enumerated last (first) iteration of one loop: the points whose
    value there is the largest (smallest) for their outer loops' values."""
    pick = max if last else min
    best: dict = {}
    for p in whole:
        outer = p[:dimension]
        best[outer] = pick(best.get(outer, p[dimension]), p[dimension])
    return {p for p in whole if p[dimension] == best[p[:dimension]]}


CASES = [
    ("[T, n] -> { S[t, i] : 0 <= t < T and 0 <= i <= t }", "every instance",
     lambda whole: whole),
    ("[T, n] -> { S[t, i] : 1 = 0 }", "no instance", lambda whole: set()),
    ("[T, n] -> { S[t, i] : 0 <= t < T - 1 and 0 <= i <= t }",
     "every instance but the last iteration of t",
     lambda whole: whole - ends(whole, 0, last=True)),
    ("[T, n] -> { S[t, i] : 0 <= t < T and 0 <= i < t }",
     "every instance but the last iteration of i",
     lambda whole: whole - ends(whole, 1, last=True)),
    ("[T, n] -> { S[t, i] : 0 < t < T and 0 <= i <= t }",
     "every instance but the first iteration of t",
     lambda whole: whole - ends(whole, 0, last=False)),
    ("[T, n] -> { S[t, i] : 0 <= t < T and i = t }", "only the last iteration of i",
     lambda whole: ends(whole, 1, last=True)),
    ("[T, n] -> { S[t, i] : 0 <= t < T and 0 <= i <= t and (t < T - 1 or i < t) }",
     "every instance but the last one",
     lambda whole: whole - {max(whole)}),
    ("[T, n] -> { S[t, i] : 0 <= t < T and 0 <= i <= t and t >= 2 }",
     "the instances where t >= 2",
     lambda whole: {p for p in whole if p[0] >= 2}),
]


@pytest.mark.parametrize("part, phrase, expected", CASES, ids=[c[1] for c in CASES])
def test_the_phrase_names_the_enumerated_shape(part, phrase, expected):
    assert coverage_phrase(isl.Set(part), WHOLE) == phrase
    for T in range(1, 6):
        sizes = {"T": T, "n": 3}
        assert points(isl.Set(part), sizes) == expected(points(WHOLE, sizes))


def test_elements_are_named_by_rows_and_columns():
    whole = isl.Set("[m, n] -> { B[a0, a1] : 0 <= a0 < m and 0 <= a1 < n }")
    part = isl.Set("[m, n] -> { B[i0, i1] : 0 < i0 < m and 0 <= i1 < n }")
    assert coverage_phrase(part, whole, Units.elements("B", 2)) == \
        "every element of B but the first row"
    row = isl.Set("[n] -> { x[i0] : 0 < i0 < n }")
    assert coverage_phrase(row, isl.Set("[n] -> { x[a0] : 0 <= a0 < n }"),
                           Units.elements("x", 1)) == "every element of x but the first one"


def test_a_piece_of_several_parts_is_not_described_by_one_condition():
    part = isl.Set("[T, n] -> { S[t, i] : 0 <= i <= t and (t = 0 or t = 3) }")
    assert coverage_phrase(part, WHOLE) == "some of the instances"


def test_the_context_decides_what_every_means():
    """Without its context (d > 0), layernorm's recorder set would differ
    from the statement's domain at d <= 0, where it is empty."""
    whole = isl.Set("[n, d] -> { S[i] : 0 <= i < n }")
    part = isl.Set("[n, d] -> { S[i] : d > 0 and 0 <= i < n }")
    assert coverage_phrase(part, whole) == "the instances where d > 0"
    assert coverage_phrase(part, whole, context=isl.Set("[n, d] -> { : d > 0 }")) == \
        "every instance"


@pytest.mark.parametrize("name, words", [
    ("neural_ode", "S2 reads s[j] at line 22: overwritten by S0 at line 17, S1 at line 19, "
                   "recorded for every instance but the last iteration of t ("),
    ("rnn", "S3's partials use the value it writes, h[t + 1][j] at line 19: never "
            "overwritten later"),
    ("adi", "S23 records them as it writes them (line 46), for every instance of S23 but "
            "the last iteration of t ("),
    ("trmm", "before the kernel runs, for every element of B but the first row ("),
    ("layernorm", "S3 records them as it writes them (line 17), for every instance of S3 "
                  "but the last iteration of i ("),
    ("lu", "S1 reads A[i][j] at line 14: overwritten by S1 at line 14, recorded for every "
           "instance ("),
])
def test_the_tape_plan_of_an_example_says_it_in_words(name, words):
    kernel = example(name)
    assert any(words in line for line in polyad.grad(kernel).tape.explain(kernel))


def test_the_words_agree_with_the_recorded_points_of_neural_ode():
    """neural_ode's last step (t = nt - 1) is the only one not recording
    s[j] for S2: after it, nothing overwrites s ("every instance but the last
    iteration of t")."""
    kernel = example("neural_ode")
    entry = polyad.grad(kernel).tape.entry("S2", kernel.statement("S2").reads[1].symbol)
    assert entry.access.text == "s[j]"
    domain = kernel.statement("S2").domain
    for sizes in ({"nt": 3, "nh": 5}, {"nt": 1, "nh": 2}):
        whole = points(domain, sizes)
        assert points(entry.instances, sizes) == whole - ends(whole, 0, last=True)
