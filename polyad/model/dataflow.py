"""Exact dataflow on isl union maps: dependences and "overwritten later".

Pure isl helpers; they know nothing of kernels, only of reads, writes and an
execution order given as a schedule tree or a flat (padded) schedule map.
"""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl


@dataclass(frozen=True)
class Dependences:
    """Exact dependences between statement instances.

    ``flow`` relates each write to the reads that get its value (read after
    write), ``anti`` each read to the later writes of its location (write
    after read), ``output`` each write to later writes of its location.
    ``initial_reads`` are the read accesses whose value comes from before the
    kernel (instance -> element).
    """

    flow: isl.UnionMap
    anti: isl.UnionMap
    output: isl.UnionMap
    initial_reads: isl.UnionMap

    def all(self) -> isl.UnionMap:
        """Every dependence, as one union map source -> sink."""
        return self.flow.union(self.anti).union(self.output)


def dependences(reads: isl.UnionMap, writes: isl.UnionMap,
                schedule: isl.Schedule, may_writes: isl.UnionMap | None = None
                ) -> Dependences:
    """Flow dependences by isl's exact dataflow, anti and output dependences
    by memory-based analysis (every later write of a read location).
    ``may_writes`` (a scatter's, ``y[perm[i]]``) may write each element of
    their relation: sources that kill no earlier value, so the flow is then
    isl's may-dependence, and the initial reads those that may find an
    initial value.

    Where isl's dataflow fails (it does on some strided loops counting down),
    flow dependences are memory based too: every earlier write of a read
    location, a superset that is still safe for legality checks.

    >>> s = isl.Schedule('{ domain: "{ S[i] : 0 <= i < 4 }", '
    ...                  'child: { schedule: "[{ S[i] -> [(i)] }]" } }')
    >>> d = dependences(isl.UnionMap("{ S[i] -> A[i - 1] }"), isl.UnionMap("{ S[i] -> A[i] }"), s)
    >>> print(d.flow)
    { S[i] -> S[i' = 1 + i] : 0 <= i <= 2 }
    """
    domain = schedule.get_domain()
    reads = reads.intersect_domain(domain)
    must = writes.intersect_domain(domain)
    may = (must.subtract(must) if may_writes is None
           else may_writes.intersect_domain(domain))
    writes = must.union(may)
    order = strict_order(schedule_map(schedule))
    anti = reads.apply_range(writes.reverse()).intersect(order)
    output = writes.apply_range(writes.reverse()).intersect(order)
    try:
        flow_info = (isl.UnionAccessInfo.from_sink(reads)
                     .set_must_source(must)
                     .set_may_source(may)
                     .set_schedule(schedule)
                     .compute_flow())
        flow = flow_info.get_may_dependence()
        initial = flow_info.get_may_no_source()
    except isl.Error:
        flow = writes.apply_range(reads.reverse()).intersect(order)
        initial = initial_reads(reads, must, order)
    return Dependences(flow=flow, anti=anti, output=output, initial_reads=initial)


def initial_reads(reads: isl.UnionMap, writes: isl.UnionMap,
                  order: isl.UnionMap) -> isl.UnionMap:
    """The read accesses (instance -> element) of values from before the
    kernel: no instance executed earlier (``order``: earlier -> later)
    writes that element.

    >>> order = isl.UnionMap("{ S[i] -> S[j] : 0 <= i < j < 4 }")
    >>> print(initial_reads(isl.UnionMap("{ S[i] -> A[i - 1] : 0 <= i < 4 }"),
    ...                     isl.UnionMap("{ S[i] -> A[i] : 0 <= i < 4 }"), order))
    { S[i = 0] -> A[-1] }
    """
    written_before = order.reverse().apply_range(writes)
    return reads.subtract(reads.intersect(written_before))


def schedule_map(schedule: isl.Schedule) -> isl.UnionMap:
    """The flat schedule map of a tree, restricted to its domain (the padded
    map: every statement's image has the same number of dimensions)."""
    return schedule.get_map().intersect_domain(schedule.get_domain())


def strict_order(smap: isl.UnionMap) -> isl.UnionMap:
    """Pairs (a, b) of instances with a executed strictly before b."""
    return smap.lex_lt_union_map(smap)


def order_or_same(smap: isl.UnionMap) -> isl.UnionMap:
    """Pairs (a, b) with a executed before b or a = b."""
    return smap.lex_le_union_map(smap)


def overwritten_later(read: isl.Map, writes: isl.UnionMap,
                      order_or_same_instance: isl.UnionMap) -> isl.UnionMap:
    """The (read instance -> writing instance) pairs where a location read by
    ``read`` is written at or after the reading instance.

    A statement that writes what it read (``A[i] = A[i] * A[i]``) overwrites
    its own read: its pair (s, s) is included, since the write follows the
    read inside the instance.
    """
    same_location = isl.UnionMap.from_map(read).apply_range(writes.reverse())
    return same_location.intersect(order_or_same_instance)


def value_flow(read: isl.Map, instances: isl.Set, sources: isl.UnionMap,
               schedule: isl.Schedule) -> isl.UnionFlow | None:
    """isl's exact dataflow of ``read`` at ``instances`` (reading instance
    -> its last source among the must-``sources``, and the instances no
    source reaches); None where isl's dataflow fails (it does on a few
    strided loops), so that callers keep their safe choice."""
    sink = isl.UnionMap.from_map(read.intersect_domain(instances))
    try:
        return (isl.UnionAccessInfo.from_sink(sink).set_must_source(sources)
                .set_schedule(schedule).compute_flow())
    except isl.Error:
        return None
