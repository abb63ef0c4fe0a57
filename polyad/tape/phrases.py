"""The tape plan's explanations in words: which instances record a value
or an outcome, and why (for :meth:`polyad.tape.plan.TapePlan.explain` and
its summary). The entries and decisions are polyad.tape.plan's values,
which import this module, so they are not named in annotations here."""

from __future__ import annotations

from polyad.model.coverage import Units, coverage_phrase
from polyad.model.kernel import Kernel

#: Bytes of one recorded comparison outcome (a Decision), per instance.
DECISION_BYTES = 1


def record_sentence(pieces: list, kernel: Kernel) -> str:
    """Why the pieces of reads sharing one record (same
    :attr:`TapeEntry.record`) are recorded, and by whom.

    e.g. "5 reads (S0's u[i-1][j] at line 6, ...) share one record of the
    values S1 writes: S1 records them as it writes them (line 11), for ...".
    """
    first = pieces[0]
    reads = []
    for piece in pieces:
        read = f"{piece.statement}'s {piece.access.text} at line {piece.access.location.line}"
        if read not in reads:
            reads.append(read)
    overwriters = sorted({name for piece in pieces for name in piece.overwriters},
                         key=lambda name: kernel.statement(name).location.line)
    by = ", ".join(f"{name} at line {kernel.statement(name).location.line}"
                   for name in overwriters)
    looked_up = "; ".join(f"{piece.statement} looks {piece.access.text} up for "
                          f"{reading_phrase(piece, kernel)}" for piece in pieces)
    if first.writer:
        line = kernel.statement(first.writer).location.line
        source = f"the values {first.writer} writes"
        how = f"{first.writer} records them as it writes them (line {line})"
    else:
        source = f"the values {first.access.array} holds on entry"
        how = "they are recorded once, before the kernel runs"
    if first.record.reader is not None:  # one read's own piece
        return (f"{first.statement} reads {first.access.text} at line "
                f"{first.access.location.line}: overwritten by {by}; for "
                f"{reading_phrase(first, kernel)}, it reads {source}: {how}, for "
                f"{recording_phrase(first, kernel)} ({first.records})")
    count = len(reads)
    shared = f"{count} reads ({', '.join(reads)}) share one record of {source}" \
        if count > 1 else f"{reads[0]} needs {source}, each by several instances"
    return (f"{shared}, overwritten by {by}: {how}, for "
            f"{recording_phrase(first, kernel)} ({first.records}); {looked_up}")


def decision_sentence(decision, kernel: Kernel) -> str:
    """Why a comparison's outcome is recorded, and instead of what."""
    line = decision.operands[0].location.line
    replaced = decision.replaced
    overwriters = sorted({name for entry in replaced for name in entry.overwriters},
                         key=lambda name: kernel.statement(name).location.line)
    by = ", ".join(f"{name} at line {kernel.statement(name).location.line}"
                   for name in overwriters)
    reads = ", ".join(entry.access.text for entry in replaced)
    count = len(replaced)
    return (f"{decision.statement} compares {decision.text} at line {line}: its partials "
            f"use {reads} only through the comparison, and {by} overwrite"
            f"{'s' if len(overwriters) == 1 else ''} {'it' if count == 1 else 'them'}; "
            f"recorded: the outcome of {decision.text} ({DECISION_BYTES} byte per instance) "
            f"instead of {count} value{'s' if count != 1 else ''}, for "
            f"{decision_phrase(decision, kernel)} ({decision.instances})")


def decision_phrase(decision, kernel: Kernel) -> str:
    """Which instances record a comparison's outcome, in words (the others
    recompute it from memory)."""
    statement = kernel.statement(decision.statement)
    phrase = coverage_phrase(decision.instances, statement.domain,
                             Units.instances(statement.iterators), kernel.context)
    if decision.instances.is_equal(statement.domain):
        return phrase
    return f"{phrase} (recomputed from memory at the others)"


def reading_phrase(entry, kernel: Kernel) -> str:
    """Which of the reading statement's instances need the value from the
    tape, in words ("every instance but the last iteration of t")."""
    statement = kernel.statement(entry.statement)
    return coverage_phrase(entry.instances, statement.domain,
                           Units.instances(statement.iterators), kernel.context)


def recording_phrase(entry, kernel: Kernel) -> str:
    """Which instances (of the recording statement) or elements (recorded
    on entry) record the value, in words."""
    if entry.on_entry:
        array = kernel.array(entry.access.array)
        return coverage_phrase(entry.records, array.shape_set(),
                               Units.elements(array.name, array.rank), kernel.context)
    statement = kernel.statement(entry.recorder)
    return coverage_phrase(entry.records, statement.domain,
                           Units.instances(statement.iterators, statement.name), kernel.context)
