"""Tape planning: which forward values the reverse sweep must find recorded.

The reverse sweep runs after the whole forward sweep and reads primal memory
as the forward sweep left it. A value a partial derivative needs can be read
from memory at reverse time exactly when no instance at or after the reading
one (in forward order) writes that location. For every needed read, isl
computes the instances whose location is overwritten later; only those record
the value (strategy ``exact``). Strategy ``stack`` records every needed value
of every instance, as Enzyme and Tapenade do without this analysis; it is the
baseline benchmarks compare against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import islpy as isl
import sympy

from polyad.model import dataflow
from polyad.model.gathers import scattered_arrays
from polyad.tape.phrases import (DECISION_BYTES, decision_phrase, decision_sentence,
                                 reading_phrase, record_sentence, recording_phrase)
from polyad.errors import KernelError, UsageError
from polyad.model.kernel import (ELEMENT_BYTES, Access, Kernel, fix_sizes, maps_of, sets_of)

STRATEGIES = ("exact", "stack")


@dataclass(frozen=True)
class RecordKey:
    """Names one record that several reads may share: the values ``source``
    writes into ``array`` (``source`` empty: the values ``array`` holds on
    entry). ``reader`` (statement, symbol) makes the record one read's own.
    """

    source: str
    array: str
    reader: tuple[str, str] | None = None


@dataclass(frozen=True)
class TapeEntry:
    """One read whose value is recorded, and for which instances.

    ``overwriters`` names the statements that overwrite the location later
    (empty for the ``stack`` strategy, which does not ask). The value is
    recorded by the reading instances, or, when many readers share the value
    one instance of another statement wrote (``mean`` of a row read by every
    element of it), once by that ``writer`` right after it writes: ``lookup``
    maps each reading instance to its writer, ``records`` are the recording
    instances (of the writer, or the readers themselves). When the shared
    values are the kernel's inputs (no instance wrote them: trmm's ``B[k][j]``,
    read by every row above k before row k is updated), they are recorded
    ``on_entry``, once per element before the forward sweep: ``lookup`` maps
    each reading instance to its element, ``records`` are the elements.
    When another entry's reader already records every value this one needs
    (durbin's ``y[k - i - 1]``, read in the same iteration by ``sum += r[..]
    * y[i]``), this one ``shares`` that entry's tape: ``lookup`` maps each
    reading instance to the other's reading instance, and nothing more is
    recorded. ``dtype`` is the recorded value's C type (its array's), which
    its tape holds. ``written``: the value is the one the statement itself
    wrote (polyad.tape.written), recorded by it or shared.
    A read whose values come from several sources (the
    previous time step's writer, and the kernel's input at the first step)
    is split into one entry per source, ``piece`` 0, 1, ...; entries with one
    ``record`` key (polyad.tape.sharing) write and read a single record: its
    writer records each value once, whichever reads need it.
    """

    statement: str
    access: Access
    instances: isl.Set
    overwriters: tuple[str, ...]
    dtype: str = "double"
    writer: str = ""
    lookup: isl.Map | None = None
    recorded: isl.Set | None = None
    on_entry: bool = False
    shares: tuple[str, sympy.Symbol] | None = None
    written: bool = False
    record: RecordKey | None = None
    piece: int = 0

    @property
    def symbol(self) -> sympy.Symbol:
        return self.access.symbol

    @property
    def key(self) -> tuple[str, sympy.Symbol, int]:
        """Tells the entries of a plan apart (a read split by source has
        one per piece)."""
        return (self.statement, self.symbol, self.piece)

    @property
    def records(self) -> isl.Set:
        """The instances that record the value."""
        return self.recorded if self.recorded is not None else self.instances

    @property
    def recorder(self) -> str:
        """The statement whose instances record the value."""
        return self.writer or self.statement

    def count(self, sizes: Mapping[str, int]) -> int:
        """How many values it records at the given sizes."""
        return count_points(self.records, sizes)


@dataclass(frozen=True)
class Decision:
    """The outcome of a comparison recorded instead of the values compared.

    The partials of ``statement`` use ``replaced`` (reads whose locations
    are overwritten later) only inside the select condition ``condition``
    (``text`` as the source writes it), so the forward sweep records whether
    it held, one byte per instance of ``instances`` (where a replaced read
    is overwritten later; elsewhere every operand is still in memory and the
    reverse sweep recomputes the comparison). ``operands`` are all the reads
    it compares. See polyad.tape.decisions; :attr:`recorded` is what the
    forward sweep evaluates.
    """

    statement: str
    condition: sympy.Basic
    text: str
    operands: tuple[Access, ...]
    replaced: tuple[TapeEntry, ...]
    instances: isl.Set
    compared: sympy.Basic | None = None

    @property
    def recorded(self) -> sympy.Basic:
        """What the forward record evaluates: ``compared``, the statement's
        own unevaluated condition when it has one (so that the recorded
        outcome is the branch the primal took, bit for bit), else
        ``condition``."""
        return self.compared if self.compared is not None else self.condition

    def count(self, sizes: Mapping[str, int]) -> int:
        """How many outcomes it records at the given sizes."""
        return count_points(self.instances, sizes)


@dataclass(frozen=True)
class NeededValue:
    """A value the reverse sweep needs that is read from memory;
    ``written``: the value the statement itself wrote (its partials are a
    function of it), not one it read."""

    statement: str
    access: Access
    written: bool = False


@dataclass(frozen=True)
class TapePlan:
    """What the forward sweep records for the reverse sweep, and why."""

    strategy: str
    entries: tuple[TapeEntry, ...]
    from_memory: tuple[NeededValue, ...]
    decisions: tuple[Decision, ...] = ()
    stepwise: bool = False

    @property
    def records(self) -> bool:
        """Whether the forward sweep records anything (values or outcomes)."""
        return bool(self.entries or self.decisions)

    def entry(self, statement: str, symbol: sympy.Symbol) -> TapeEntry | None:
        """The (first piece of the) entry of a statement's read."""
        for entry in self.entries:
            if entry.statement == statement and entry.symbol == symbol:
                return entry
        return None

    def recording(self) -> tuple[TapeEntry, ...]:
        """The entries that record, one per record: an entry sharing another
        one's record (same :attr:`TapeEntry.record`) is left out."""
        seen, kept = set(), []
        for entry in self.entries:
            if entry.record is not None:
                if entry.record in seen:
                    continue
                seen.add(entry.record)
            kept.append(entry)
        return tuple(kept)

    def reads(self) -> int:
        """How many distinct reads record (a read split by source counts once)."""
        return len({(entry.statement, entry.symbol) for entry in self.entries})

    def values(self, sizes: Mapping[str, int]) -> int:
        """The number of values recorded at the given sizes."""
        return sum(entry.count(sizes) for entry in self.recording())

    def outcomes(self, sizes: Mapping[str, int]) -> int:
        """The number of comparison outcomes recorded at the given sizes."""
        return sum(decision.count(sizes) for decision in self.decisions)

    def bytes(self, sizes: Mapping[str, int]) -> int:
        """Bytes recorded at the given sizes: 8 per double value, 4 per
        float, 1 per comparison outcome."""
        return sum(ELEMENT_BYTES[entry.dtype] * entry.count(sizes)
                   for entry in self.recording()) \
            + DECISION_BYTES * self.outcomes(sizes)

    def explain(self, kernel: Kernel) -> list[str]:
        """One sentence per decision; which instances record a value is said
        in words (:func:`polyad.model.coverage.coverage_phrase`) with the isl
        set beside it.

        e.g. "S3 reads s at line 19: overwritten by S0 at line 14, ...,
        recorded for every instance but the last one ([nt, nh, nx] -> {
        S3[t, j] : ... })".
        """
        lines, explained = [], set()
        for entry in self.entries:
            where = f"{entry.statement}{_uses(entry.written)} {entry.access.text} at line " \
                    f"{entry.access.location.line}"
            by = ", ".join(f"{name} at line {kernel.statement(name).location.line}"
                           for name in entry.overwriters)
            if entry.written and entry.writer:
                lines.append(f"{where}: overwritten by {by or 'the stack strategy'}, so it "
                             f"records it as it writes it, for "
                             f"{recording_phrase(entry, kernel)} ({entry.records})")
            elif entry.record is not None:
                if entry.record not in explained:
                    explained.add(entry.record)
                    lines.append(record_sentence(
                        [e for e in self.entries if e.record == entry.record], kernel))
            elif entry.overwriters and entry.writer:
                written = kernel.statement(entry.writer).location.line
                lines.append(f"{where}: overwritten by {by}; its readers share values, so "
                             f"{entry.writer} records them as it writes them (line "
                             f"{written}), for {recording_phrase(entry, kernel)} "
                             f"({entry.records})")
            elif entry.overwriters and entry.shares:
                other = self.entry(*entry.shares)
                lines.append(f"{where}: overwritten by {by}; {other.statement} records the same "
                             f"values ({other.access.text} at line "
                             f"{other.access.location.line}), read from its tape, for "
                             f"{reading_phrase(entry, kernel)} ({entry.instances})")
            elif entry.overwriters and entry.on_entry:
                lines.append(f"{where}: overwritten by {by}; its readers share the values "
                             f"{entry.access.array} holds on entry, so they are recorded once, "
                             f"before the kernel runs, for {recording_phrase(entry, kernel)} "
                             f"({entry.records})")
            elif entry.overwriters:
                lines.append(f"{where}: overwritten by {by}, recorded for "
                             f"{reading_phrase(entry, kernel)} ({entry.instances})")
            else:
                lines.append(f"{where}: recorded for every instance (stack strategy; "
                             f"{entry.instances})")
        lines += [decision_sentence(decision, kernel) for decision in self.decisions]
        for value in self.from_memory:
            lines.append(f"{value.statement}{_uses(value.written)} {value.access.text} at "
                         f"line {value.access.location.line}: never overwritten later, "
                         "read from memory in the reverse sweep")
        return lines

    def summary(self, kernel: Kernel) -> tuple[str, ...]:
        """What is recorded, one line per recorded read after a headline,
        for a summary (``print(adjoint)``); :meth:`explain` gives the
        reasons.

        e.g. ("records 1 of the 5 reads whose values the reverse sweep needs
        (the other 4 from memory):", "s (read at line 19) for every instance
        but the last one").
        """
        memory = len(self.from_memory)
        outcomes = tuple(f"the outcome of {d.text} (line "
                         f"{d.operands[0].location.line}) for "
                         f"{decision_phrase(d, kernel)}, 1 byte each" for d in self.decisions)
        if self.decisions and not self.entries:
            return (f"records {len(self.decisions)} comparison outcome"
                    f"{'s' if len(self.decisions) != 1 else ''} instead of the values "
                    "compared:", *outcomes)
        if not self.entries:
            return ("records nothing: " + ("every value the reverse sweep needs is read "
                                           "from memory" if memory else
                                           "the reverse sweep needs no primal value"),)
        if self.strategy == "stack":
            return (f"records all {len(self.entries)} values its partials use, at every "
                    "instance (stack strategy):",
                    *(f"{e.access.text} (read at line {e.access.location.line})"
                      for e in self.entries))
        lines = []
        for entry in self.entries:
            read = f"{entry.access.text} (read at line {entry.access.location.line})"
            if entry.written:
                read = f"{entry.access.text} (written at line {entry.access.location.line})"
            if entry.record is not None and entry.record.reader is None:
                source = f"the values {entry.writer} writes" if entry.writer else \
                    f"the values {entry.access.array} holds on entry"
                lines.append(f"{read} from one record of {source} (each value recorded "
                             f"once), for {reading_phrase(entry, kernel)}")
            elif entry.writer:
                lines.append(f"{read} as {entry.writer} writes it, for "
                             f"{recording_phrase(entry, kernel)}")
            elif entry.shares:
                lines.append(f"{read} from {entry.shares[0]}'s tape, for "
                             f"{reading_phrase(entry, kernel)}")
            elif entry.on_entry:
                lines.append(f"{read} once on entry, for {recording_phrase(entry, kernel)}")
            else:
                lines.append(f"{read} for {reading_phrase(entry, kernel)}")
        count = self.reads()
        head = (f"records {count} of the {count + memory} reads whose values the reverse "
                f"sweep needs (the other {memory} from memory):" if memory else
                f"records all {count} reads whose values the reverse sweep needs:")
        if outcomes:
            head = head[:-1] + f", and {len(outcomes)} comparison outcome" \
                f"{'s' if len(outcomes) != 1 else ''} instead of values compared:"
        return (head, *lines, *outcomes)


def _uses(written: bool) -> str:
    """How a sentence says what a statement's partials read."""
    return "'s partials use the value it writes," if written else " reads"


def count_points(points: isl.Set, sizes: Mapping[str, int]) -> int:
    """The number of points of a set at fixed sizes.

    isl's ``count_val`` silently returns 0 for a set with a free parameter or
    an unbounded set: every parameter is fixed and boundedness checked first.
    """
    fixed = fix_sizes(points, sizes)
    for d in range(fixed.dim(isl.dim_type.param)):
        name = fixed.get_dim_name(isl.dim_type.param, d)
        if name not in sizes:
            raise UsageError(f"no value given for size parameter {name}")
    if fixed.is_empty():
        return 0
    if not fixed.is_bounded():
        raise UsageError(f"cannot count the unbounded set {points}")
    return int(fixed.count_val().to_python())


def plan_tape(kernel: Kernel, needed: Mapping[str, tuple[Access, ...]],
              strategy: str = "exact") -> TapePlan:
    """The tape plan for the needed reads of each statement.

    ``needed`` maps a statement name to the read accesses (one per symbol)
    whose values its reverse statement uses (the values statements wrote
    are planned by polyad.tape.written).
    """
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown tape strategy {strategy!r} (choose "
                         f"{' or '.join(STRATEGIES)})")
    writes = kernel.writes()
    order = dataflow.order_or_same(dataflow.schedule_map(kernel.schedule))
    entries, from_memory = [], []
    for statement in kernel.statements:
        for access in needed.get(statement.name, ()):
            if strategy == "stack":
                entries.append(TapeEntry(statement.name, access, statement.domain, (),
                                         kernel.array(access.array).dtype))
                continue
            pairs = dataflow.overwritten_later(access.relation, writes, order)
            instances = [s for s in sets_of(pairs.domain()) if not s.is_empty()]
            if not instances:
                from_memory.append(NeededValue(statement.name, access))
                continue
            overwriters = sorted({m.get_tuple_name(isl.dim_type.out)
                                  for m in maps_of(pairs)},
                                 key=lambda name: kernel.statement(name).location.line)
            if access.is_gather:
                raise KernelError(access.location, f"taping {access.text}, read through an "
                                  f"index array and overwritten before the reverse sweep "
                                  f"needs it", "polyad tapes no value read through an index "
                                  "array; write the scatter as y[perm[i]] += e or y[perm[i]] "
                                  "= e with e not reading y")
            entry = TapeEntry(statement.name, access, instances[0].coalesce(),
                              tuple(overwriters), kernel.array(access.array).dtype)
            if access.array not in scattered_arrays(kernel):
                # Who last wrote a value is known only for must-writes: a
                # scatter may write any element (the tape keeps every reader's).
                entry = _recorded_by_writer(entry, writes, kernel.schedule)
                if not entry.writer and not entry.on_entry:
                    entry = _sharing_a_tape(entry, entries, writes, kernel.schedule)
            entries.append(entry)
    return TapePlan(strategy, tuple(entries), tuple(from_memory))


def _sharing_a_tape(entry: TapeEntry, earlier: list[TapeEntry], writes: isl.UnionMap,
                    schedule: isl.Schedule) -> TapeEntry:
    """The entry reading an earlier entry's tape, when that entry's readers
    read every value this one needs with no write in between; else the entry
    as it is. isl's dataflow finds, per reading instance, the last access
    that fixed its value, among the writes and the other entry's reads."""
    # A source is told apart from a write by its statement's name: the other
    # reader must not write the array itself.
    writers = {m.get_tuple_name(isl.dim_type.in_) for m in maps_of(writes)
               if m.get_tuple_name(isl.dim_type.out) == entry.access.array}
    for other in earlier:
        if other.writer or other.on_entry or other.shares or other.statement == entry.statement \
                or other.access.array != entry.access.array or other.statement in writers:
            continue
        reads = isl.UnionMap.from_map(other.access.relation.intersect_domain(other.instances))
        flow = dataflow.value_flow(entry.access.relation, entry.instances, writes.union(reads),
                                   schedule)
        if flow is None:
            continue
        sources = [m for m in maps_of(flow.get_must_dependence()) if not m.is_empty()]
        if len(sources) != 1 or sources[0].get_tuple_name(isl.dim_type.in_) != other.statement:
            continue
        lookup = sources[0].reverse().coalesce()
        if lookup.domain().is_equal(entry.instances) and lookup.is_single_valued() \
                and lookup.range().is_subset(other.instances):
            return replace(entry, shares=(other.statement, other.symbol), lookup=lookup,
                           recorded=entry.instances.subtract(entry.instances))
    return entry


def _recorded_by_writer(entry: TapeEntry, writes: isl.UnionMap,
                        schedule: isl.Schedule) -> TapeEntry:
    """The entry recorded by the one statement that wrote every value it
    needs, when several readers share a written value (the reading map to
    writers is not injective); else the entry as it is."""
    flow = dataflow.value_flow(entry.access.relation, entry.instances, writes, schedule)
    if flow is None:  # isl's dataflow failed: keep readers
        return entry
    sources = maps_of(flow.get_must_dependence())
    if not sources:
        return _recorded_on_entry(entry)
    if len(sources) != 1:
        return entry
    lookup = sources[0].reverse().coalesce()
    if not lookup.domain().is_equal(entry.instances) or lookup.is_injective() \
            or not lookup.is_single_valued():
        return entry
    return replace(entry, writer=lookup.get_tuple_name(isl.dim_type.out), lookup=lookup,
                   recorded=lookup.range().coalesce())


def _recorded_on_entry(entry: TapeEntry) -> TapeEntry:
    """The entry recorded once per element before the kernel runs, when its
    readers, which read only values the kernel got, share them (the reading
    map to elements is not injective); else the entry as it is."""
    lookup = entry.access.relation.intersect_domain(entry.instances).coalesce()
    if lookup.is_injective() or not lookup.is_single_valued() \
            or lookup.range_tuple_dim() == 0:
        return entry
    for d in range(lookup.dim(isl.dim_type.out)):  # loops of the record on entry need names
        lookup = lookup.set_dim_name(isl.dim_type.out, d, f"i{d}")
    return replace(entry, on_entry=True, lookup=lookup, recorded=lookup.range().coalesce())
