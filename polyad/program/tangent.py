"""Tangent mode to a program: each varied statement's tangent just before it."""

from __future__ import annotations

import sympy

from polyad.ad.modes import TangentMode
from polyad.model.kernel import union_of_maps
from polyad.program.derived import (cse_body, derivative_names, derivative_symbol,
                                    flat_by_statement, generated_supply, instance_reference)
from polyad.program.ir import (TANGENT_SUFFIX, Argument, Buffer, Instruction, Program,
                               kernel_buffers, kernel_arguments, primal_instruction)
from polyad.schedule.tree import padded, renamed, tree_from_flat, with_suffix


def tangent_program(tangent: TangentMode) -> Program:
    """The C function computing the primal outputs and their tangents.

    Arguments: the kernel's, then ``X_d`` for each ``wrt`` input (tangent in)
    and each floating-point output (tangent out; zeroed on entry unless it is
    also a ``wrt`` input), in signature order.
    """
    kernel = tangent.kernel
    names = derivative_names(kernel, TANGENT_SUFFIX)
    supply = generated_supply(kernel, names)
    varied = tangent.activity.varied
    outputs = {a.name for a in kernel.arrays if a.is_float and a.storage == "parameter"
               and a.role in ("output", "inout")}
    buffers = kernel_buffers(kernel)
    arguments = kernel_arguments(kernel)
    for array in kernel.arrays:
        name = names[array.name]
        if array.name in tangent.wrt or array.name in outputs:
            arguments.append(Argument(name, "buffer"))
            buffers.append(Buffer(name, array.dtype, array.extents, "argument",
                                  optional=True, zeroed=array.name not in tangent.wrt,
                                  purpose=f"tangent of {array.name}"))
        elif array.name in varied:
            buffers.append(Buffer(name, array.dtype, array.extents, "local", zeroed=True,
                                  purpose=f"tangent of {array.name}"))
    flat = flat_by_statement(kernel)
    instructions, schedule = [], []
    for statement in kernel.statements:
        instructions.append(primal_instruction(statement))
        schedule.append(with_suffix(flat[statement.name], 1))
    for tangent_statement in tangent.statements:
        statement = tangent_statement.statement
        name = f"{statement.name}{TANGENT_SUFFIX}"
        references = {access.symbol: instance_reference(access.array, access, name)
                      for access in statement.read_accesses().values()}
        written = derivative_symbol(statement.write, names[statement.write.array], "'")
        references[written] = instance_reference(names[statement.write.array], statement.write, name)
        accesses = statement.read_accesses()
        total = sympy.Integer(0)
        for symbol, partial in tangent_statement.partials.items():
            access = accesses[symbol]
            direction = derivative_symbol(access, names[access.array])
            references[direction] = instance_reference(names[access.array], access, name)
            total += partial * direction
        instructions.append(Instruction(
            name, statement.domain.set_tuple_name(name), references,
            cse_body([(written, "=", total)], supply),
            comment=f"tangent of line {statement.location.line}: {statement.text}",
            line=statement.location.line))
        schedule.append(renamed(with_suffix(flat[statement.name], 0), name))
    return Program(
        name=f"{kernel.name}{TANGENT_SUFFIX}", arguments=tuple(arguments),
        buffers=tuple(buffers), instructions=tuple(instructions),
        schedule=tree_from_flat(union_of_maps(padded(schedule))),
        context=kernel.context, source=kernel.source.path,
        flat=union_of_maps(padded(schedule)))
