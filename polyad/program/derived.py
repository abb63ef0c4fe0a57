"""What adjoint and tangent lowering share: derivative names, references of
instructions to buffers at a statement's accesses, and bodies with common
subexpressions shared."""

from __future__ import annotations

import itertools

import islpy as isl
import sympy

from polyad.model.kernel import Access, Kernel, maps_of
from polyad.program.ir import Assignment, Reference, access_reference
from polyad.program.names import NameSupply, kernel_identifiers
from polyad.schedule.tree import flat_schedule


def derivative_names(kernel: Kernel, suffix: str) -> dict[str, str]:
    """The name of each array's derivative (``A`` -> ``A_b``), made unique
    against the kernel's own names by repeating the suffix (in a kernel with
    arrays ``x`` and ``x_b``, ``x_b_b`` and ``x_b_b_b``), in the kernel's
    order of arrays. The generated functions' arguments and every report of
    adjoint or tangent names use these."""
    taken = set(kernel_identifiers(kernel))
    names = {}
    for array in kernel.arrays:
        name = array.name + suffix
        while name in taken:
            name += suffix
        taken.add(name)
        names[array.name] = name
    return names


def instance_relation(access_relation: isl.Map, instruction: str) -> isl.Map:
    """An access relation with its domain named after an instruction."""
    return access_relation.set_tuple_name(isl.dim_type.in_, instruction)


def instance_reference(buffer: str, access: Access, instruction: str) -> Reference:
    """The reference of an instruction to ``buffer`` at a statement's access."""
    return access_reference(buffer, access).renamed(instruction)


def derivative_symbol(access: Access, derivative: str, mark: str = "") -> sympy.Symbol:
    """The symbol of the derivative of an accessed element: named after the
    derivative buffer (``A_b[i][k]``, ``s_b``), so that it never meets a
    kernel scalar's read symbol; ``mark`` tells a written tangent apart."""
    return sympy.Symbol(derivative + access.text[len(access.array):] + mark, real=True)


def generated_supply(kernel: Kernel, *derived: dict[str, str]) -> NameSupply:
    """The names taken before lowering adds its own: the kernel's and its
    derivatives'."""
    supply = NameSupply.of(kernel_identifiers(kernel))
    for names in derived:
        supply = supply.taking(names.values())
    return supply


def flat_by_statement(kernel: Kernel) -> dict[str, isl.Map]:
    """Each statement's map in the kernel's flat schedule."""
    return {m.get_tuple_name(isl.dim_type.in_): m
            for m in maps_of(flat_schedule(kernel.schedule))}


def cse_body(updates: list[tuple[sympy.Symbol, str, sympy.Expr]],
              supply: NameSupply) -> tuple[Assignment, ...]:
    """Assignments with common subexpressions shared in ``_t`` locals."""
    values = [value for _, _, value in updates]
    temporaries = (sympy.Symbol(supply.fresh(f"_t{k}"), real=True) for k in itertools.count())
    replacements, reduced = sympy.cse(values, symbols=temporaries)
    body = [Assignment(symbol, "=", value) for symbol, value in replacements]
    body += [Assignment(target, op, value)
             for (target, op, _), value in zip(updates, reduced)]
    return tuple(body)
