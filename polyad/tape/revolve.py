"""Binomial checkpointing (Griewank and Walther's revolve): the action schedule.

Reversing ``steps`` steps of a time loop with ``slots`` snapshot slots, the
schedule takes snapshots on the way forward, and in the reverse sweep
restores one, advances from it (reruns steps without recording), takes
further snapshots, and records and reverses one step at a time, last step
first. With the split below, every step is advanced at most ``r`` times,
``r`` the smallest number with ``binomial(slots + r, slots) >= steps``, and
the advances total ``r * steps - binomial(slots + r, r - 1)``: the minimum
(Griewank, "Achieving logarithmic growth of temporal and spatial complexity
in reverse automatic differentiation", 1992; Griewank and Walther, TOMS 26,
2000).

The schedule is a value: a tuple of :class:`Action`, steps counted from 0
(the loop's first step). Codegen prints a C function computing the same
table at run time, the number of steps being a size (codegen/revolve.py);
``tests/polyad/test_revolve.py`` holds the two to each other.

>>> [str(a) for a in revolve_actions(3, 2)]  # doctest: +NORMALIZE_WHITESPACE
['pre', 'takeshot 0 at 0', 'advance 0..1', 'takeshot 1 at 1', 'advance 1..2',
 'record 2', 'middle', 'reverse 2', 'restore 1 at 1', 'record 1', 'reverse 1',
 'restore 0 at 0', 'record 0', 'reverse 0', 'end']
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kinds of action, in the numbering the C table uses. ``pre``: the
#: forward sweep before the loop; ``advance``: steps lo..hi-1 without
#: recording; ``takeshot``/``restore``: the state at step lo into/from slot
#: ``slot``; ``record``: step lo with its tape; ``middle``: the forward sweep
#: after the loop, then its reverse; ``reverse``: the reverse of step lo;
#: ``end``: the reverse sweep before the loop and the finish.
ACTION_KINDS: tuple[str, ...] = ("pre", "advance", "takeshot", "restore", "record",
                                 "middle", "reverse", "end")


@dataclass(frozen=True)
class Action:
    """One action of a revolve schedule (see :data:`ACTION_KINDS`)."""

    kind: str
    lo: int = 0
    hi: int = 0
    slot: int = 0

    def __str__(self) -> str:
        if self.kind == "advance":
            return f"advance {self.lo}..{self.hi}"
        if self.kind in ("takeshot", "restore"):
            return f"{self.kind} {self.slot} at {self.lo}"
        if self.kind in ("record", "reverse"):
            return f"{self.kind} {self.lo}"
        return self.kind


def binomial(n: int, k: int) -> int:
    """binomial(n, k), 0 outside 0 <= k <= n."""
    if k < 0 or k > n:
        return 0
    result = 1
    for i in range(1, k + 1):
        result = result * (n - k + i) // i
    return result


def repetitions(steps: int, slots: int) -> int:
    """The smallest r with binomial(slots + r, slots) >= steps: how often, at
    most, revolve advances one step (0 for at most one step).
    Precondition: slots >= 1.

    >>> repetitions(20, 3), repetitions(7, 7), repetitions(7, 1)
    (3, 1, 6)
    """
    r = 0
    while binomial(slots + r, slots) < steps:
        r += 1
    return r


def minimal_advances(steps: int, slots: int) -> int:
    """The fewest step evaluations without recording any schedule with
    ``slots`` slots needs: r * steps - binomial(slots + r, r - 1)."""
    if steps <= 1:
        return 0
    r = repetitions(steps, slots)
    return r * steps - binomial(slots + r, r - 1)


def split(length: int, checkpoints: int) -> int:
    """Steps to advance before the next snapshot, reversing ``length`` >= 2
    steps with ``checkpoints`` >= 2 slots (one holding the first step's
    state): revolve's choice (Griewank and Walther, TOMS 2000), which keeps
    the advances minimal. With r = repetitions(length, c) and
    b(c, r) = binomial(c + r, c), the left part holds at most b(c, r - 1)
    steps (reversed with c slots, r - 1 repetitions), the right part at most
    b(c - 1, r) (c - 1 slots, r repetitions)."""
    c, r = checkpoints, repetitions(length, checkpoints)

    def b(slots: int, reps: int) -> int:
        return binomial(slots + reps, slots) if slots >= 0 and reps >= 0 else 0
    if length <= b(c, r - 1) + b(c - 2, r - 1):
        advance = b(c, r - 2)
    elif length >= b(c, r) - b(c - 3, r):
        advance = b(c, r - 1)
    else:
        advance = length - b(c - 1, r - 1) - b(c - 2, r - 1)
    return max(1, advance)


def revolve_actions(steps: int, slots: int) -> tuple[Action, ...]:
    """The actions reversing ``steps`` steps with ``slots`` snapshot slots,
    including the parts of the program before and after the loop (``pre``,
    ``middle``, ``end``). Precondition: slots >= 1."""
    if slots < 1:
        raise ValueError(f"revolve needs a snapshot slot, not {slots}")
    actions = [Action("pre")]
    if steps >= 1:
        actions.append(Action("takeshot", 0, 0, 0))
        _reverse(actions, 0, steps, 0, slots, fresh=True)
        first = next(i for i, a in enumerate(actions) if a.kind == "record")
        actions.insert(first + 1, Action("middle"))
    else:
        actions.append(Action("middle"))
    actions.append(Action("end"))
    return tuple(actions)


def action_count(steps: int, slots: int) -> int:
    """How many actions the schedule has (its C table holds 4 ints each)."""
    return len(revolve_actions(steps, slots))


def _reverse(actions: list[Action], lo: int, hi: int, slot: int, slots: int,
             fresh: bool) -> None:
    """Reverse steps lo..hi-1, the state at lo being in ``slot`` (and in
    memory when ``fresh``), the slots above it free. A stack of what is
    left to reverse, not recursion: as deep as the slots."""
    pending = [(lo, hi, slot, fresh)]
    while pending:
        lo, hi, slot, fresh = pending.pop()
        if hi <= lo:
            continue
        if not fresh:
            actions.append(Action("restore", lo, lo, slot))
        if hi - lo == 1:
            actions += [Action("record", lo, lo), Action("reverse", lo, lo)]
        elif slot == slots - 1:  # no free slot: advance from lo to the last step
            actions += [Action("advance", lo, hi - 1), Action("record", hi - 1, hi - 1),
                        Action("reverse", hi - 1, hi - 1)]
            pending.append((lo, hi - 1, slot, False))
        else:
            middle = lo + split(hi - lo, slots - slot)
            actions += [Action("advance", lo, middle),
                        Action("takeshot", middle, middle, slot + 1)]
            pending += [(lo, middle, slot, False), (middle, hi, slot + 1, True)]
