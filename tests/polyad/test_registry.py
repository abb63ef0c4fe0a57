"""The tape layout registry is the one list of layouts: unknown names are
refused with the known ones named, and the command line, the bench, lowering
and the docs offer exactly its entries.

Oracles: the registry's own entries (LAYOUT_NAMES, each Layout's fields)
held against what other parts build from them independently: argparse's
parsers, the lowered programs' buffers, the bench's variant list and the
markdown of docs/cli.md and docs/how-it-works.md.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import polyad
from polyad.cli import build_parser
from polyad.errors import UsageError
from polyad.program.lowering import adjoint_program
from polyad.tape.registry import (LAYOUT_NAMES, LAYOUTS, SCRATCHPAD_LAYOUTS, Layout,
                                  implied_strategy, layout_named)
from polyad.tools.bench import VARIANTS
from tests.conftest import example

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"


def _refusal(call) -> str:
    with pytest.raises(UsageError) as error:
        call()
    return str(error.value)


@pytest.mark.parametrize("refuse", [
    lambda: layout_named("heap"),
    lambda: polyad.grad(example("lu")).with_layout("heap"),
    lambda: adjoint_program(polyad.grad(example("lu")), layout="heap"),
], ids=["layout_named", "with_layout", "adjoint_program"])
def test_an_unknown_layout_is_refused_naming_every_known_one(refuse):
    message = _refusal(refuse)
    assert "'heap'" in message
    assert re.search(r"\(choose (.*)\)", message).group(1).split(", ") == list(LAYOUT_NAMES)


def _layout_options(parser: argparse.ArgumentParser):
    """Every ``--layout`` option of the parser and its subcommands, by command."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, subparser in action.choices.items():
                found.update({f"{command} {k}".strip(): v
                              for k, v in _layout_options(subparser).items()})
        elif "--layout" in action.option_strings:
            found[""] = action
    return found


def test_the_cli_offers_exactly_the_registry_layouts():
    options = _layout_options(build_parser())
    assert {"grad", "check", "analyze"} <= set(options)
    for command, action in options.items():
        assert tuple(action.choices) == LAYOUT_NAMES, command
        if command != "analyze":  # analyze's help says "a layout to analyse"
            for layout in LAYOUTS:
                assert f"{layout.name} ({layout.description}" in action.help, command


def test_the_bench_has_a_variant_per_layout():
    assert set(LAYOUT_NAMES) <= set(VARIANTS)
    assert VARIANTS == ("primal", "stack", "exact", "auto", "auto-no-blas", "regions", "stream",
                        "layers", "checkpoint")


def test_the_docs_list_every_layout():
    listed = re.search(r"`--layout ([a-z|]+)`", (DOCS / "cli.md").read_text()).group(1)
    assert tuple(listed.split("|")) == LAYOUT_NAMES
    table = re.findall(r"^\| `([a-z]+)` \|", (DOCS / "how-it-works.md").read_text(),
                       re.MULTILINE)
    assert set(LAYOUT_NAMES) <= set(table)


def test_implied_strategies():
    assert implied_strategy("stack") == "stack"
    assert [implied_strategy(name) for name in LAYOUT_NAMES if name != "stack"] == \
        ["exact"] * (len(LAYOUT_NAMES) - 1)
    assert implied_strategy(None) == "exact"


def test_a_scratchpad_is_refused_where_the_layout_takes_none():
    adjoint = polyad.grad(example("lu"))
    for layout in LAYOUTS:
        if layout.scratchpad:
            assert adjoint.with_layout(layout.name, 4096).scratchpad == 4096
        else:
            message = _refusal(lambda: adjoint.with_layout(layout.name, 4096))
            assert all(name in message for name in SCRATCHPAD_LAYOUTS)


def _tape_buffers(program):
    return {(b.name, b.sequence) for b in program.buffers if b.tape}


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_NAMES)
def test_lowering_places_the_tape_as_the_entry_says(layout):
    adjoint = polyad.grad(example("lu"), strategy=layout.strategy)
    placed = _tape_buffers(adjoint_program(adjoint, layout=layout.name))
    assert placed, "lu records values: every layout has tape buffers"
    sequences = {sequence or None for _, sequence in placed}
    assert sequences == {layout.sequence}
    assert any(name.startswith("region_") for name, _ in placed) == layout.structs
    # Rescheduled, a sequence tape becomes the exact layout's boxes.
    rescheduled = _tape_buffers(adjoint_program(adjoint, layout=layout.name,
                                                rescheduled=True))
    baseline = "regions" if layout.structs else "exact"
    assert rescheduled == _tape_buffers(adjoint_program(adjoint, layout=baseline))


def test_an_entry_that_cannot_work_is_refused():
    with pytest.raises(ValueError, match="unknown strategy"):
        Layout("heap", "a heap", strategy="heap")
    with pytest.raises(ValueError, match="by nothing"):
        Layout("heap", "a heap", always_transformed=True)
