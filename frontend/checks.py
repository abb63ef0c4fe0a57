"""The checks and conclusions that need the whole kernel, run after the walk.

The walk refuses a construct at its place; what only the complete model can
tell is decided here: the sizes for which the kernel is defined, accesses
outside their arrays, reads of locals never written, and each array's role
(input, output, inout, temporary) from the values it is read before any
write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import islpy as isl

from polyad.errors import KernelError
from polyad.frontend.declarations import Variable
from polyad.frontend.messages import declaration_text, describe_outside
from polyad.model import dataflow
from polyad.model.kernel import Array, Param, Statement, maps_of, union_of_maps


def sizes_with_positive_extents(function: str, sizes: isl.Set,
                                variables: Mapping[str, Variable]) -> isl.Set:
    """The size values in ``sizes`` (a parameter set) for which every array
    has a positive extent: C99 VLAs of size zero or less are undefined.
    Raises a KernelError naming ``function`` when there are none."""
    context = sizes
    one = isl.PwAff.val_on_domain(context, isl.Val(1))
    for variable in variables.values():
        for extent in variable.extents:
            context = context & extent.ge_set(one)
    if context.is_empty():
        raise KernelError(None, f"array extents of {function} that are "
                          "never positive", "check the declared sizes", verb="")
    return context


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
                "fix the loop bounds or the subscript so it stays inside the array",
                verb="out-of-bounds")


def reads_of_initial_values(statements: Sequence[Statement], schedule: isl.Schedule,
                            context: isl.Set) -> isl.UnionMap:
    """The read accesses (instance -> element) that, in the order of
    ``schedule`` and for the sizes in ``context``, find the value the element
    had when the kernel started."""
    reads = union_of_maps(a.relation for s in statements for a in s.reads)
    writes = union_of_maps(s.write.relation for s in statements)
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
