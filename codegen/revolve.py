"""C text of a program run by an action table (polyad.program.ir.Driver).

The table is polyad.tape.revolve's schedule, computed at run time by a C
function printed here (the number of steps is a size): the same recursion
and the same split as :func:`polyad.tape.revolve.revolve_actions`, whose
output tests/polyad/test_revolve.py compares with this function's. Each
entry is four ints: the kind (its index in ACTION_KINDS), lo, hi, slot;
lo and hi are steps of the loop (the first step added).
"""

from __future__ import annotations

from typing import NamedTuple

from polyad.program.ir import Driver
from polyad.tape.revolve import ACTION_KINDS

_KIND = {kind: index for index, kind in enumerate(ACTION_KINDS)}

_TEMPLATE = """
/* Binomial checkpointing (revolve): the schedule of actions. */
static long long NAME_binomial(int slots, int reps)
{
  if (slots < 0 || reps < 0)
    return 0;
  long long value = 1;
  for (int i = 1; i <= reps; i++)
    value = value * (slots + i) / i;
  return value;
}

static int NAME_repetitions(int length, int slots)
{
  int reps = 0;
  while (NAME_binomial(slots, reps) < length)
    reps++;
  return reps;
}

static int NAME_split(int length, int c)
{
  int r = NAME_repetitions(length, c);
  long long advance;
  if (length <= NAME_binomial(c, r - 1) + NAME_binomial(c - 2, r - 1))
    advance = NAME_binomial(c, r - 2);
  else if (length >= NAME_binomial(c, r) - NAME_binomial(c - 3, r))
    advance = NAME_binomial(c, r - 1);
  else
    advance = length - NAME_binomial(c - 1, r - 1) - NAME_binomial(c - 2, r - 1);
  return advance < 1 ? 1 : (int)advance;
}

static long NAME_put(int *table, long n, int kind, int lo, int hi, int slot)
{
  if (table) {
    table[4 * n] = kind;
    table[4 * n + 1] = lo;
    table[4 * n + 2] = hi;
    table[4 * n + 3] = slot;
  }
  return n + 1;
}

static long NAME_reverse(int *table, long n, int first, int lo, int hi, int slot, int slots,
                         int fresh)
{
  while (hi > lo) {
    if (!fresh)
      n = NAME_put(table, n, RESTORE, first + lo, first + lo, slot);
    fresh = 0;
    if (hi - lo == 1) {
      n = NAME_put(table, n, RECORD, first + lo, first + lo, 0);
      return NAME_put(table, n, REVERSE, first + lo, first + lo, 0);
    }
    if (slot == slots - 1) {
      n = NAME_put(table, n, ADVANCE, first + lo, first + hi - 1, 0);
      n = NAME_put(table, n, RECORD, first + hi - 1, first + hi - 1, 0);
      n = NAME_put(table, n, REVERSE, first + hi - 1, first + hi - 1, 0);
      hi -= 1;
      continue;
    }
    int middle = lo + NAME_split(hi - lo, slots - slot);
    n = NAME_put(table, n, ADVANCE, first + lo, first + middle, 0);
    n = NAME_put(table, n, TAKESHOT, first + middle, first + middle, slot + 1);
    n = NAME_reverse(table, n, first, middle, hi, slot + 1, slots, 1);
    hi = middle;
  }
  return n;
}

/* The actions reversing steps first..first+steps-1 with slots snapshots
   into table (4 ints each; NULL: only count them); returns their number.
   The first record is followed by the middle part (after the loop). */
static long NAME(int *table, int first, int steps, int slots)
{
  long n = NAME_put(table, 0, PRE, 0, 0, 0);
  if (steps >= 1) {
    n = NAME_put(table, n, TAKESHOT, first, first, 0);
    long start = n;
    long end = NAME_reverse(table, n, first, 0, steps, 0, slots, 1);
    /* The middle goes right after the first record: shift the rest by one. */
    long record = start;
    while (!table ? 0 : table[4 * record] != RECORD)
      record++;
    if (table) {
      for (long i = end; i > record + 1; i--)
        for (int j = 0; j < 4; j++)
          table[4 * i + j] = table[4 * (i - 1) + j];
      NAME_put(table, record + 1, MIDDLE, 0, 0, 0);
    }
    n = end + 1;
  } else {
    n = NAME_put(table, n, MIDDLE, 0, 0, 0);
  }
  return NAME_put(table, n, END, 0, 0, 0);
}
"""


def revolve_function(name: str) -> str:
    """The C function ``name(table, first, steps, slots)`` filling the
    action table (and its helpers, named ``name_...``)."""
    text = _TEMPLATE.replace("NAME", name)
    for kind, index in _KIND.items():
        text = text.replace(kind.upper(), str(index))
    return text


def kind_number(kind: str) -> int:
    """The number of an action kind in the table."""
    return _KIND[kind]


class DriverNames(NamedTuple):
    """The C names a driver introduces (fresh in the program)."""

    function: str
    table: str
    count: str
    action: str


def driver_head(driver: Driver, names: DriverNames, first: str, steps: str,
                comments: bool) -> list[tuple[int, str]]:
    """(depth, line) of the driver up to its first case: the table, the loop
    over it, the action's parameters, the switch."""
    arguments = f"{first}, {steps}, {driver.slots}"
    lines = [(1, f"/* binomial checkpointing with {driver.slots} snapshot slots: the "
                 "actions, computed for these sizes */")] if comments else []
    lines += [(1, f"long {names.count} = {names.function}(0, {arguments});"),
              (1, f"int *{names.table} = malloc(4 * {names.count} * sizeof(int));"),
              (1, f"{names.function}({names.table}, {arguments});"),
              (1, f"for (long {names.action} = 0; {names.action} < {names.count}; "
                  f"{names.action}++) {{")]
    for index, name in enumerate(driver.parameters):
        lines += [(2, f"const int {name} = {names.table}[4 * {names.action} + {index + 1}];"),
                  (2, f"(void){name};")]
    return lines + [(2, f"switch ({names.table}[4 * {names.action}]) {{")]


def driver_tail(names: DriverNames) -> list[tuple[int, str]]:
    """(depth, line) closing the switch and the loop, freeing the table."""
    return [(2, "}"), (1, "}"), (1, f"free({names.table});")]
