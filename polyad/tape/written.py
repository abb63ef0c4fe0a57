"""The values statements wrote, where their partials use them (``1 - y*y``
for ``y = tanh(u)``, polyad.ad.outputs), in the tape plan.

A written value is gone when the reverse sweep runs only where a later
instance writes its element again (isl's dataflow on the kernel's schedule;
the statement's own write made it, so it does not count, unlike a read's).
There it is read from another statement's tape when a reader of it records
it anyway (softmax's ``Y[i][j] /= sum`` records the ``Y[i][j]`` that
``Y[i][j] = exp(...)`` wrote), else recorded by the statement right after
it writes it. A pass over a plan of the reads, as polyad.tape.decisions is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping

import islpy as isl

from polyad.model import dataflow
from polyad.model.gathers import scattered_arrays
from polyad.model.kernel import Access, Kernel, maps_of, sets_of
from polyad.tape.plan import NeededValue, TapeEntry, TapePlan


def overwritten_after_writing(kernel: Kernel, name: str) -> isl.UnionMap:
    """(instance -> later instance writing its element again) pairs of a
    statement: where the value it wrote is gone when the reverse sweep runs.

    >>> import polyad
    >>> k = polyad.parse("void f(int n, double x[n]) { for (int t = 0; t < 2; t++) "
    ...                  "for (int i = 0; i < n; i++) x[i] = tanh(x[i]); }")
    >>> print(overwritten_after_writing(k, "S0").domain())
    [n] -> { S0[t = 0, i] : 0 <= i < n }
    """
    order = dataflow.strict_order(dataflow.schedule_map(kernel.schedule))
    return dataflow.overwritten_later(kernel.statement(name).write.relation, kernel.writes(),
                                      order)


def written_value(kernel: Kernel, name: str, access: Access, strategy: str,
                  entries: Iterable[TapeEntry] = ()) -> TapeEntry | NeededValue:
    """How the reverse sweep of statement ``name`` finds the value it wrote
    (``access``, polyad.ad.outputs.written_access): from memory, from one
    of ``entries`` (reads recorded by their readers) that holds it at every
    instance where it is overwritten, or recorded by the statement (at
    every instance under the stack strategy)."""
    statement, pairs = kernel.statement(name), overwritten_after_writing(kernel, name)
    instances = statement.domain if strategy == "stack" else pairs.domain().coalesce()
    if instances.is_empty():
        return NeededValue(name, access, written=True)
    instances = sets_of(instances)[0] if isinstance(instances, isl.UnionSet) else instances
    by = () if strategy == "stack" else tuple(sorted(
        {m.get_tuple_name(isl.dim_type.out) for m in maps_of(pairs)},
        key=lambda other: kernel.statement(other).location.line))
    entry = TapeEntry(name, access, instances, by, kernel.array(access.array).dtype,
                      written=True)
    if strategy == "exact" and access.array not in scattered_arrays(kernel):
        for other in entries:
            lookup = _holding(kernel, name, instances, other)
            if lookup is not None:
                return replace(entry, shares=(other.statement, other.symbol), lookup=lookup,
                               recorded=instances.subtract(instances))
    lookup = isl.Map.identity(isl.Space.map_from_set(instances.get_space()))
    return replace(entry, writer=name, lookup=lookup.intersect_domain(instances),
                   recorded=instances)


def _holding(kernel: Kernel, name: str, instances: isl.Set,
             other: TapeEntry) -> isl.Map | None:
    """Instance of ``name`` -> the instance of ``other``'s reader whose
    recorded value is the one it wrote, for each of ``instances``; None
    unless there is one for every one of them. The reader's value is the
    one written when isl's exact dataflow makes that write its source."""
    if other.writer or other.on_entry or other.shares or other.written \
            or other.statement == name or other.access.is_gather \
            or other.access.array != kernel.statement(name).write.array:
        return None
    flow = dataflow.value_flow(other.access.relation, other.instances, kernel.writes(),
                               kernel.schedule)
    if flow is None:
        return None
    for source in maps_of(flow.get_must_dependence()):
        if source.get_tuple_name(isl.dim_type.in_) != name:
            continue
        lookup = source.intersect_domain(instances).lexmin().coalesce()
        if lookup.domain().is_equal(instances) and lookup.is_single_valued():
            return lookup
    return None


def record_written(plan: TapePlan, kernel: Kernel, written: Mapping[str, Access]) -> TapePlan:
    """The plan with the value each statement of ``written`` wrote (the
    access its partials read it at) planned by :func:`written_value`.

    Precondition: ``plan`` was planned from the statements' reads only.
    """
    entries, memory = list(plan.entries), list(plan.from_memory)
    for name, access in written.items():
        value = written_value(kernel, name, access, plan.strategy, plan.entries)
        (entries if isinstance(value, TapeEntry) else memory).append(value)
    return replace(plan, entries=tuple(entries), from_memory=tuple(memory))
