"""The checks and conclusions that need the whole kernel, run after the walk.

The walk refuses a construct at its place; what only the complete model can
tell is decided here: the sizes for which the kernel is defined, accesses
outside their arrays, reads of locals never written, and each array's role
(input, output, inout, temporary) from the values it is read before any
write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import islpy as isl

from polyad.errors import KernelError, SourceLocation
from polyad.frontend.declarations import Variable
from polyad.frontend.messages import declaration_text, describe_outside
from polyad.model import dataflow
from polyad.model.kernel import (Access, Array, Param, Statement, constraints_text, maps_of,
                                 union_of_maps)


def sizes_with_positive_extents(function: str, sizes: isl.Set,
                                variables: Mapping[str, Variable],
                                assumptions: Sequence = ()) -> isl.Set:
    """The size values in ``sizes`` (a parameter set: the assumed sizes)
    for which every array has a positive extent: C99 VLAs of size zero or
    less are undefined. Raises a KernelError naming ``function`` when there
    are none (at the first of ``assumptions`` when they are why)."""
    context = sizes
    one = isl.PwAff.val_on_domain(context, isl.Val(1))
    for variable in variables.values():
        for extent in variable.extents:
            context = context & extent.ge_set(one)
    if context.is_empty():
        if assumptions:
            first = assumptions[0]
            raise KernelError(SourceLocation(first.pre.display_name, first.line,
                                             first.column),
                              f"assumptions of {function} that no sizes satisfy"
                              " (with every array extent positive)",
                              "state conditions that some sizes meet", verb="")
        raise KernelError(None, f"array extents of {function} that are "
                          "never positive", "check the declared sizes", verb="")
    return context


@dataclass(frozen=True)
class RestrictedModel:
    """The statements and schedule under the kernel's context; ``assumed``
    is what the assumptions (stated, and implied by constant extents)
    allow, None when there are none; ``notes`` say what was left out or
    assumed without being stated."""

    context: isl.Set
    statements: tuple[Statement, ...]
    schedule: isl.Schedule
    notes: tuple[str, ...]
    assumed: isl.Set | None


def restricted_model(function: str, assumed: isl.Set, assumptions: Sequence,
                     variables: Mapping[str, Variable], statements: Sequence[Statement],
                     schedule: isl.Schedule) -> RestrictedModel:
    """The model of ``function`` under its context: the ``assumed`` sizes
    (a parameter set from ``assumptions``) with positive extents and, for
    arrays of constant extents (``double A[N][N]`` with loops to ``n``), the
    sizes whose accesses stay inside them; statements that never run there
    left out (:func:`statements_that_run`)."""
    assumed = assumed.params()
    context = sizes_with_positive_extents(function, assumed, variables, assumptions)
    implied, notes = sizes_inside_constant_extents(statements, variables, context)
    restricting = bool(assumptions) or implied is not None
    if implied is not None:
        context, assumed = context & implied, assumed & implied
    kept, schedule, dropped = statements_that_run(statements, schedule, context,
                                                  assumed if restricting else None)
    return RestrictedModel(context, kept, schedule, tuple(notes) + dropped,
                           assumed if restricting else None)


def sizes_inside_constant_extents(statements: Sequence[Statement],
                                  variables: Mapping[str, Variable],
                                  context: isl.Set) -> tuple[isl.Set | None, list[str]]:
    """The sizes in ``context`` for which every access to an array of
    constant extents stays inside it, with a note saying what that assumes;
    (None, []) when no such access leaves its array, or when one leaves it
    at every size where its statement runs (then :func:`check_bounds`
    reports it)."""
    allowed, arrays, leaving = context, [], []
    for statement in statements:
        for access in (statement.write, *statement.reads):
            variable = variables[access.array]
            if not variable.extents or not all(e.is_cst() for e in variable.extents):
                continue
            outside = access.relation.intersect_params(context).subtract_range(
                _shape_set(variable).align_params(access.relation.get_space()))
            if outside.is_empty():
                continue
            allowed = allowed.subtract(outside.domain().params())
            leaving.append(statement)
            if access.array not in arrays:
                arrays.append(access.array)
    if not arrays or any(s.domain.intersect_params(allowed).is_empty() for s in leaving):
        return None, []  # an access outside for every size at which it runs
    allowed = _simplest_inside(allowed, context, leaving)
    declared = ", ".join(declaration_text(a, variables[a].extents) for a in arrays)
    return allowed, [f"assumed {constraints_text(allowed.gist(context))}, implied by the "
                     f"constant extents of {declared} (at larger sizes the loops would "
                     "access outside them); the generated code checks it"]


def _simplest_inside(allowed: isl.Set, context: isl.Set, leaving) -> isl.Set:
    """``allowed``, or a simpler convex part of it to state and check: the
    hull of the sizes in ``allowed`` at which the statements ``leaving``
    all run, less each constraint that is not needed to stay inside
    ``allowed`` (``n <= 100 and m <= 100`` rather than the exact union,
    whose other pieces are sizes at which those loops do nothing)."""
    running = context
    for statement in leaving:
        running = running & statement.domain.params()
    core = (allowed & running).coalesce()
    if core.is_empty():
        return allowed.coalesce()
    constraints = list(core.polyhedral_hull().get_constraints())
    for constraint in list(constraints):
        rest = [c for c in constraints if c is not constraint]
        candidate = isl.BasicSet.universe(core.get_space())
        for c in rest:
            candidate = candidate.add_constraint(c)
        if (context & isl.Set.from_basic_set(candidate)).is_subset(allowed):
            constraints = rest
    simple = isl.BasicSet.universe(core.get_space())
    for c in constraints:
        simple = simple.add_constraint(c)
    result = context & isl.Set.from_basic_set(simple)
    return result if result.is_subset(allowed) else allowed.coalesce()


def statements_that_run(statements: Sequence[Statement], schedule: isl.Schedule,
                        context: isl.Set, assumed: isl.Set | None
                        ) -> tuple[tuple[Statement, ...], isl.Schedule, tuple[str, ...]]:
    """The statements with an instance for some sizes in ``context``, their
    domains and accesses restricted to the ``assumed`` sizes (when the
    kernel states assumptions), the schedule on those domains, and a note
    for each statement left out because it never runs. Raises a KernelError
    when no statement runs."""
    kept, notes = [], []
    for statement in statements:
        if statement.domain.intersect_params(context).is_empty():
            notes.append(f"{statement.name} at line {statement.location.line} "
                         f"({statement.text}) never runs"
                         + ("" if statement.domain.is_empty() else " under the assumptions")
                         + ": left out of the model")
            continue
        if assumed is not None:
            statement = _restricted(statement, assumed)
        kept.append(statement)
    if not kept:
        raise KernelError(statements[0].location, "kernel whose statements never run"
                          + (" under the assumptions" if assumed is not None else ""),
                          "check the loop bounds and the assumptions", verb="nothing to model:")
    if len(kept) < len(statements) or assumed is not None:
        domain = isl.UnionSet.from_set(kept[0].domain)
        for statement in kept[1:]:
            domain = domain.union(isl.UnionSet.from_set(statement.domain))
        schedule = schedule.intersect_domain(domain)
    return tuple(kept), schedule, tuple(notes)


def _restricted(statement: Statement, assumed: isl.Set) -> Statement:
    def access(a: Access) -> Access:
        return replace(a, relation=a.relation.intersect_params(assumed))
    return replace(statement, domain=statement.domain.intersect_params(assumed),
                   write=access(statement.write),
                   reads=tuple(access(a) for a in statement.reads))


def check_bounds(statements: Sequence[Statement], variables: Mapping[str, Variable],
                 context: isl.Set) -> None:
    """Raise an out-of-bounds KernelError at the first access, in statement
    order and the write before the reads, that touches an element outside
    its array for some sizes in ``context``; it names the first such
    instance. Precondition: ``variables`` holds every array accessed."""
    shapes = {v.name: _shape_set(v) for v in variables.values()}
    for statement in statements:
        for access in (statement.write, *statement.reads):
            outside = access.relation.intersect_params(context).subtract_range(
                shapes[access.array].align_params(access.relation.get_space()))
            if outside.is_empty():
                continue
            example = describe_outside(outside)
            declared = declaration_text(access.array, variables[access.array].extents)
            raise KernelError(
                access.location, f"access {access.text} outside {declared}: {example}",
                "fix the loop bounds or the subscript so it stays inside the array "
                "(or state what the sizes satisfy: #pragma polyad assume ...)",
                verb="out-of-bounds")


def reads_of_initial_values(statements: Sequence[Statement], schedule: isl.Schedule,
                            context: isl.Set) -> isl.UnionMap:
    """The read accesses (instance -> element) that, in the order of
    ``schedule`` and for the sizes in ``context``, may find the value the
    element had when the kernel started (a scatter, ``y[perm[i]] = e``,
    writes some element of its relation, not each: it hides none)."""
    reads = union_of_maps(a.relation for s in statements for a in s.reads)
    writes = union_of_maps(s.write.relation for s in statements if not s.write.is_gather)
    order = dataflow.strict_order(dataflow.schedule_map(schedule))
    return dataflow.initial_reads(reads.intersect_params(context),
                                  writes.intersect_params(context), order)


def check_uninitialised_locals(statements: Sequence[Statement],
                               variables: Mapping[str, Variable],
                               initial: isl.UnionMap) -> None:
    """Raise a KernelError at the first read of a local that finds no value
    written by the kernel. ``initial`` is :func:`reads_of_initial_values`."""
    for statement in statements:
        for access in statement.reads:
            if variables[access.array].storage != "local":
                continue
            garbage = initial.intersect(isl.UnionMap.from_map(access.relation))
            if not garbage.is_empty():
                raise KernelError(access.location, f"read of {access.text} before any "
                                  "write to it (the local holds garbage there)",
                                  "assign the local before reading it", verb="")


def classify_arrays(signature: Sequence[Param], variables: Mapping[str, Variable],
                    statements: Sequence[Statement],
                    initial: isl.UnionMap) -> tuple[Array, ...]:
    """The kernel's arrays and scalars, parameters in signature order then
    locals in declaration order, each with its role: a local is temporary;
    a parameter array written is inout when some read finds its initial
    value (``initial``, see :func:`reads_of_initial_values`), else output;
    everything else is input."""
    read_initial = {m.get_tuple_name(isl.dim_type.out) for m in maps_of(initial)}
    written = {s.write.array for s in statements}
    arrays = []
    order = [p.name for p in signature if p.kind != "size"] + [
        name for name in variables if variables[name].storage == "local"]
    for name in order:
        variable = variables[name]
        if variable.storage == "local":
            role = "temporary"
        elif name in written and name in read_initial and variable.extents:
            role = "inout"
        elif name in written and variable.extents:
            role = "output"
        else:
            role = "input"
        arrays.append(Array(name, variable.dtype, variable.extents, role,
                            variable.storage))
    return tuple(arrays)


def _shape_set(variable: Variable) -> isl.Set:
    return Array(variable.name, variable.dtype, variable.extents, "", "").shape_set()
