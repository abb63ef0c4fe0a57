"""Binomial checkpointing (revolve) of time loops (issue 13).

The action schedule is checked by simulating it (which step's state memory
and each slot hold) against the rules of a reversal, and its counts against
Griewank's closed forms; the C function computing it at run time against
the Python one. Gradients: every oracle of polyad check.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections import Counter

import pytest

import polyad
from polyad.codegen.revolve import kind_number, revolve_function
from polyad.tape.revolve import (ACTION_KINDS, binomial, minimal_advances, repetitions,
                                 revolve_actions)
from tests.conftest import EXAMPLES, ROOT, example


def _simulate(actions, steps: int, slots: int) -> Counter:
    """Run the schedule on a model of memory (the step whose state it holds)
    and the slots; assert every rule of a reversal; return how often each
    step is advanced. Oracle: the definition of the actions, no code of
    polyad.tape.revolve."""
    kinds = [a.kind for a in actions]
    assert kinds[0] == "pre" and kinds[-1] == "end" and kinds.count("middle") == 1
    memory, held, advanced, reversed_ = 0, {}, Counter(), []
    tape = None  # the step whose tape is recorded
    for action in actions:
        if action.kind == "advance":
            assert memory == action.lo < action.hi <= steps
            advanced.update(range(action.lo, action.hi))
            memory = action.hi
        elif action.kind == "takeshot":
            assert memory == action.lo and 0 <= action.slot < slots
            held[action.slot] = action.lo
        elif action.kind == "restore":
            assert held.get(action.slot) == action.lo
            memory = action.lo
        elif action.kind == "record":
            assert memory == action.lo
            tape, memory = action.lo, action.lo + 1
        elif action.kind == "reverse":
            assert tape == action.lo  # the tape of this very step
            reversed_.append(action.lo)
            tape = None
        elif action.kind == "middle":
            assert memory == steps  # the forward sweep has run every step
    assert reversed_ == list(range(steps - 1, -1, -1))
    return advanced


@pytest.mark.parametrize("slots", [1, 2, 3, 4, 7])
def test_the_schedule_reverses_every_step_once_within_the_slots_and_the_binomial_bound(slots):
    """For T = 0..120: each step's reverse once, last step first, right
    after its own record; no slot beyond ``slots``; each step advanced at
    most r times, r the smallest with binomial(s + r, s) >= T; the advances
    total Griewank's minimum r*T - binomial(s + r, r - 1)."""
    for steps in range(0, 121):
        actions = revolve_actions(steps, slots)
        advanced = _simulate(actions, steps, slots)
        if steps <= 1:
            assert not advanced
            continue
        r = repetitions(steps, slots)
        assert binomial(slots + r, slots) >= steps > binomial(slots + r - 1, slots)
        assert max(advanced.values()) == r
        assert sum(advanced.values()) == minimal_advances(steps, slots) \
            == r * steps - binomial(slots + r, r - 1)


def test_the_bound_itself():
    """Hand-checked values: one slot reruns from the start (T - 1 times the
    first step), T slots advance each step once."""
    assert sum(_simulate(revolve_actions(7, 1), 7, 1).values()) == 6 + 5 + 4 + 3 + 2 + 1
    assert sum(_simulate(revolve_actions(7, 7), 7, 7).values()) == 6
    assert repetitions(20, 3) == 3 and binomial(6, 3) == 20


def test_the_c_function_computes_the_same_table(tmp_path):
    """codegen's C function (compiled by the system compiler) against
    revolve_actions, for 1..6 slots and 0..60 steps, from first step 1."""
    source = tmp_path / "revolve.c"
    source.write_text("#include <stdlib.h>\n" + revolve_function("table_of").replace(
        "static long table_of(", "long table_of("))
    library = tmp_path / "revolve.so"
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O1", "-o",
                    str(library), str(source)], check=True)
    function = ctypes.CDLL(str(library)).table_of
    function.restype = ctypes.c_long
    for slots in range(1, 7):
        for steps in range(0, 61):
            count = function(None, 1, steps, slots)
            table = (ctypes.c_int * (4 * count))()
            assert function(table, 1, steps, slots) == count
            expected = [(kind_number(a.kind), a.lo + 1 if a.kind not in ("pre", "middle", "end")
                         else 0, a.hi + 1 if a.kind not in ("pre", "middle", "end") else 0,
                         a.slot) for a in revolve_actions(steps, slots)]
            got = [tuple(table[4 * i: 4 * i + 4]) for i in range(count)]
            assert got == expected, (slots, steps)
    assert len(ACTION_KINDS) == 8


# --- gradients -----------------------------------------------------------------
# Oracles: every oracle of polyad check (polyad.check.verify): the original C
# compiled by the system compiler (primal outputs bit for bit), the plain
# reverse-mode interpreter, central finite differences of the original C and
# the dot-product test against the generated tangent.

def _kernel(name: str) -> polyad.Kernel:
    if name == "heat2d":
        return polyad.parse(str(ROOT / "tests" / "kernels" / "heat2d.c"))
    return example(name)


_SIZES = {"heat2d": {"n": 6}, "adi": {"n": 5}, "jacobi_1d": {"n": 7}}
#: One combination of each kernel in make test, the rest in make test-all.
_FAST = {("heat2d", 7, 3), ("adi", 7, 2), ("jacobi_1d", 20, 3)}


def _cases():
    for name in _SIZES:
        for steps in (1, 2, 7, 20):
            for slots in sorted({1, 2, 3, steps}):
                marks = () if (name, steps, slots) in _FAST else pytest.mark.slow
                yield pytest.param(name, steps, slots, marks=marks,
                                   id=f"{name}-T{steps}-s{slots}")


@pytest.mark.parametrize("name, steps, slots", list(_cases()))
def test_binomial_checkpointed_gradient(name, steps, slots):
    """heat2d (r differentiated: a nonlinear tape), adi (two sweeps a step,
    the loop after scalar statements), jacobi_1d at T = 1, 2, 7, 20 steps
    with 1, 2, 3 and T snapshot slots: all four oracles agree."""
    from polyad.check import verify
    result = verify.check_gradient(_kernel(name), {"tsteps": steps, **_SIZES[name]},
                                   layout="checkpoint", snapshots=slots)
    assert result["layout"] == "checkpoint" and result["checkpoint_snapshots"] == slots
    assert result["verdict"] == "ok", result
    assert {c["oracle"] for c in result["checks"]} >= {
        "primal vs original C (bitwise)", "reverse-mode interpreter",
        "dot product <w, J v> = <J^T w, v>", "central finite differences"}
    assert all(c["ok"] for c in result["checks"]), result["checks"]


def test_the_program_runs_the_action_table():
    """The generated C computes the table and switches over the actions;
    its tapes hold one step, its snapshot buffer the slots."""
    from polyad.codegen import generate
    from polyad.program.targets import program_of
    adjoint = polyad.grad(_kernel("heat2d")).with_layout("checkpoint", snapshots=3)
    program = program_of(adjoint)
    assert program.driver is not None and program.driver.slots == 3
    assert [kind for kind, _ in program.driver.blocks] == list(ACTION_KINDS)
    text = generate(program)
    assert "polyad_revolve(0, 0, tsteps, 3)" in text and "switch (actions[4 * action])" in text
    tapes = [b for b in program.buffers if b.name.startswith("tape_")]
    assert tapes and all("one segment of 1 steps" in b.purpose for b in tapes)
    assert "snapshots of u, 3 slots" in [b.purpose for b in program.buffers]


def test_snapshots_are_refused_outside_the_checkpoint_layout(capsys):
    """--snapshots needs --layout checkpoint; 0 snapshots is refused (exit 2,
    no traceback); snapshots and every together are refused in the API."""
    from polyad.cli import main
    from polyad.errors import UsageError
    path = str(ROOT / "examples" / "jacobi_1d.c")
    assert main(["check", path, "--snapshots", "2"]) == 2
    assert "--snapshots applies to --layout checkpoint only" in capsys.readouterr().err
    assert main(["check", path, "--layout", "checkpoint", "--snapshots", "0"]) == 2
    err = capsys.readouterr().err
    assert "positive number of snapshots" in err and "Traceback" not in err
    with pytest.raises(UsageError, match="without a segment length"):
        polyad.grad(example("jacobi_1d")).with_layout("checkpoint", every=2, snapshots=2)


def test_the_cli_checks_a_binomial_checkpointed_gradient(capsys):
    """polyad check --layout checkpoint --snapshots 2 at 9 steps: ok."""
    from polyad.cli import main
    path = str(ROOT / "examples" / "jacobi_1d.c")
    assert main(["check", path, "-D", "tsteps=9", "--layout", "checkpoint",
                 "--snapshots", "2"]) == 0
    assert "ok" in capsys.readouterr().out


# --- the budget ------------------------------------------------------------------

def test_a_budget_below_every_equidistant_plan_takes_binomial_slots():
    """heat2d at tsteps=12 n=10: equidistant snapshots need 9728 bytes at
    least; below that the budget takes the most slots that fit (512 bytes
    of snapshot each, the action table shorter with more of them: 5152
    bytes for one), and what it plans is what the program allocates. Oracle
    for the gradient: the interpreter and the primal."""
    from polyad.check import verify
    from polyad.program.budget import allocated_tape_bytes, plan_memory
    from polyad.program.targets import program_of
    kernel, sizes = _kernel("heat2d"), {"tsteps": 12, "n": 10}
    adjoint = polyad.grad(kernel)
    for budget, slots in ((5152, 1), (5711, 1), (5712, 2), (6300, 3), (9727, 9)):
        plan = plan_memory(adjoint, budget, sizes)
        assert (plan.layout, plan.every, plan.slots) == ("checkpoint", None, slots)
        budgeted = adjoint.with_memory_budget(budget, sizes)
        assert budgeted.checkpoint_snapshots == slots
        assert allocated_tape_bytes(program_of(budgeted), sizes) == plan.bytes <= budget
        assert plan.reruns == minimal_advances(12, slots)
    assert plan_memory(adjoint, 9728, sizes).every == 2
    assert "binomial checkpointing with 2 snapshot slots" in plan_memory(
        adjoint, 5712, sizes).explain()
    result = verify.check_gradient(kernel, sizes, memory_budget=5152,
                                   oracles=("primal", "interpreter"))
    assert result["verdict"] == "ok" and result["checkpoint_snapshots"] == 1


def test_the_smallest_budget_named_is_binomial_with_one_slot(capsys):
    """Below one slot's plan: refused naming exactly that plan's bytes (the
    smallest of all plans), which is then accepted."""
    from polyad.cli import main
    from polyad.errors import UsageError
    kernel, sizes = _kernel("heat2d"), {"tsteps": 7, "n": 10}
    with pytest.raises(UsageError, match="the smallest that works is 4832 bytes .4.7 KiB, "
                                         "binomial checkpointing with one snapshot slot"):
        polyad.grad(kernel, memory_budget=4831, sizes=sizes)
    assert polyad.grad(kernel, memory_budget=4832, sizes=sizes).checkpoint_snapshots == 1
    path = str(ROOT / "tests" / "kernels" / "heat2d.c")
    assert main(["check", path, "-D", "tsteps=7", "--memory-budget", "4831"]) == 2
    assert "smallest that works is 4832 bytes" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_with_two_binomial_snapshots(name):
    """Every example whose outermost loop overwrites state (27 of 36) with
    two snapshot slots at its small size. Oracles: the original C (primal
    bitwise) and the interpreter."""
    from polyad.check import verify
    from polyad.tape.snapshots import snapshot_state
    kernel = example(name)
    if snapshot_state(kernel) is None:
        pytest.skip("no state to snapshot: the checkpoint layout is the exact one")
    result = verify.check_gradient(kernel, kernel.sizes(), layout="checkpoint", snapshots=2,
                                   oracles=("primal", "interpreter"))
    assert result["verdict"] == "ok", result["checks"]


def test_show_tape_explains_the_binomial_schedule(capsys):
    """polyad show --tape (and its JSON) say how many steps rerun and how
    often one step runs at most: 3 slots over 20 steps, 3 * 20 -
    binomial(6, 2) = 45 reruns, r = 3."""
    import json
    from polyad.cli import main
    path = str(ROOT / "examples" / "burgers_1d.c")
    options = ["-D", "tsteps=20", "--layout", "checkpoint", "--snapshots", "3"]
    assert main(["show", "--tape", path, *options]) == 0
    assert ("binomial checkpointing (revolve) with 3 snapshot slots over 20 steps: 45 steps "
            "rerun in the reverse sweep (19 of them recording), none run without recording "
            "more than 3 times") in capsys.readouterr().out
    assert main(["show", "--tape", "--json", path, *options]) == 0
    data = json.loads(capsys.readouterr().out)["binomial"]
    assert (data["slots"], data["steps"], data["advances"], data["repetitions"]) == (3, 20, 45, 3)


@pytest.mark.parametrize("n", [4, 5, 6])
def test_every_snapshot_has_every_slot_revolve_uses(n, monkeypatch):
    """A state that exists from the second step on (k_b_loop0[c - 1]) got
    one slot per such step, fewer than revolve's 3 at n = 5: a
    heap-buffer-overflow the fuzz found. Oracles: all four, with the
    generated code run under AddressSanitizer/UBSan first."""
    from polyad.check import verify
    monkeypatch.setenv("POLYAD_SANITIZE", "1")
    kernel = polyad.parse(str(ROOT / "tests" / "kernels" / "checkpoint_slots.c"))
    result = verify.check_gradient(kernel, {"n": n}, layout="checkpoint", snapshots=3)
    assert result["verdict"] == "ok", result["checks"]
