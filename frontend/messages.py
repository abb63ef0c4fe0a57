"""The text of the frontend's error messages that is built from isl values.

An out-of-bounds error names the first offending instance and the sizes at
which it happens ('instance S0[i = n] touches A[n] for n >= 1'); these
helpers turn isl points, affine functions and parameter sets into that text.
They build words only and decide nothing about whether a kernel is accepted.
"""

from __future__ import annotations

import re

import islpy as isl
from pycparser import c_ast


def article(noun: str) -> str:
    """The indefinite article for ``noun`` (by its first letter only).

    >>> article("array extent"), article("loop bound")
    ('an', 'a')
    """
    return "an" if noun[:1] in "aeiou" else "a"


def file_scope_hint(name: str) -> str:
    """The advice for a use of ``name``, which is declared outside the
    kernel function (a global variable, a function)."""
    return ("polyad models the kernel function's parameters and locals only: "
            f"pass {name} as a parameter (sizes as int, constants as #define)")


def declaration_text(name: str, extents: tuple[isl.PwAff, ...]) -> str:
    """An array as declared, its extents functions of the sizes: 'A[n][m + 1]'.

    >>> declaration_text("A", (isl.PwAff("[n] -> { [(n)] }"),))
    'A[n]'
    """
    return name + "".join(f"[{pw_aff_text(e)}]" for e in extents)


def pw_aff_text(pa: isl.PwAff) -> str:
    """The formula of an affine function of the sizes, as isl prints it.

    Precondition: ``pa`` has one piece (with more, the text runs from the
    first piece's formula to the last one's).

    >>> pw_aff_text(isl.PwAff("[n] -> { [(n + 1)] }"))
    '1 + n'
    """
    text = str(pa)
    match = re.search(r"\[\((.*)\)\]", text)
    return match.group(1) if match else text


def describe_point(point: isl.Point) -> str:
    """'instance S1[i = 4] with n = 4 touches A[4]' for a point of a wrapped
    access relation (statement instance -> array element)."""
    space = point.get_space()
    params = [f"{space.get_dim_name(isl.dim_type.param, d)} = "
              f"{point.get_coordinate_val(isl.dim_type.param, d).to_python()}"
              for d in range(space.dim(isl.dim_type.param))]
    values = [point.get_coordinate_val(isl.dim_type.set, d).to_python()
              for d in range(space.dim(isl.dim_type.set))]
    unwrapped = space.unwrap()
    n_in = unwrapped.dim(isl.dim_type.in_)
    names = [unwrapped.get_dim_name(isl.dim_type.in_, d) or f"i{d}" for d in range(n_in)]
    instance = ", ".join(f"{n} = {v}" for n, v in zip(names, values[:n_in]))
    element = "".join(f"[{v}]" for v in values[n_in:])
    stmt = unwrapped.get_tuple_name(isl.dim_type.in_)
    array = unwrapped.get_tuple_name(isl.dim_type.out)
    where = f" with {', '.join(params)}" if params else ""
    return f"instance {stmt}[{instance}]{where} touches {array}{element}"


def describe_outside(outside: isl.Map) -> str:
    """The first instance of a statement that touches an element outside its
    array, for every size at which that happens when isl can say it with
    one affine formula ('instance S0[i = n] touches A[n] for n > 0'), else
    at sample sizes ('instance S0[i = 4] with n = 4 touches A[4]').

    Precondition: ``outside`` (instance -> element) is not empty.

    >>> describe_outside(isl.Map("[n] -> { S0[i] -> A[i] : i = n and n > 0 }"))
    'instance S0[i = n] touches A[n] for n > 0'
    """
    wrapped = outside.wrap()
    try:
        first = wrapped.lexmin_pw_multi_aff()
        pieces = []
        first.foreach_piece(lambda where, values: pieces.append((where, values)))
    except isl.Error:  # pragma: no cover - isl could not compute it
        pieces = []
    if len(pieces) == 1:
        where, values = pieces[0]
        texts = [aff_text(values.get_at(d)) for d in range(values.dim(isl.dim_type.out))]
        if all(t is not None for t in texts):
            space = wrapped.get_space().unwrap()
            n_in = space.dim(isl.dim_type.in_)
            names = [space.get_dim_name(isl.dim_type.in_, d) or f"i{d}"
                     for d in range(n_in)]
            instance = ", ".join(f"{n} = {t}" for n, t in zip(names, texts[:n_in]))
            element = "".join(f"[{t}]" for t in texts[n_in:])
            when = condition_text(where)
            return (f"instance {space.get_tuple_name(isl.dim_type.in_)}[{instance}] "
                    f"touches {space.get_tuple_name(isl.dim_type.out)}{element}"
                    + (f" for {when}" if when else ""))
    return describe_point(wrapped.sample_point())


def aff_text(aff: isl.Aff) -> str | None:
    """'n - 1' for an affine function of the parameters with integer
    coefficients and no divisions; None for any other.

    >>> aff_text(isl.Aff("[n, m] -> { [(2*m - n - 1)] }"))
    '-n + 2*m - 1'
    >>> aff_text(isl.Aff("[n] -> { [(floor(n/2))] }")) is None
    True
    """
    if aff.dim(isl.dim_type.div) or any(
            not aff.get_coefficient_val(isl.dim_type.in_, d).is_zero()
            for d in range(aff.dim(isl.dim_type.in_))):
        return None
    terms = []
    for d in range(aff.dim(isl.dim_type.param)):
        value = aff.get_coefficient_val(isl.dim_type.param, d)
        if value.is_zero():
            continue
        if not value.is_int():
            return None
        coefficient = int(value.to_python())
        name = aff.get_dim_name(isl.dim_type.param, d)
        term = name if abs(coefficient) == 1 else f"{abs(coefficient)}*{name}"
        terms.append(("-" if coefficient < 0 else "+", term))
    constant = aff.get_constant_val()
    if not constant.is_int():
        return None
    constant = int(constant.to_python())
    if constant or not terms:
        terms.append(("-" if constant < 0 else "+", str(abs(constant))))
    sign, first = terms[0]
    text = ("-" if sign == "-" else "") + first
    for sign, term in terms[1:]:
        text += f" {sign} {term}"
    return text


def condition_text(where: isl.Set) -> str:
    """The constraints of a parameter set as text, '' for all sizes.

    >>> condition_text(isl.Set("[n] -> { : n >= 1 }"))
    'n > 0'
    >>> condition_text(isl.Set("[n] -> { : }"))
    ''
    """
    if where.plain_is_universe():
        return ""
    text = str(where.remove_redundancies())
    match = re.search(r"\{\s*:\s*(.*?)\s*\}\s*$", text)
    return match.group(1) if match else ""


def unusable_name(name: str, what: str, int_locals, loop_iterators, variables: dict,
                  file_scope: dict, searched=frozenset()) -> tuple[str, str] | None:
    """Why ``name`` (not an iterator in scope, not a size) cannot be used
    in an affine ``what``: the construct and the advice of the error, or
    None for a name a value expression may use; ``searched``: the indices
    found by a search (frontend/searches.py)."""
    where = f"in {article(what)} {what}"
    if what == "array extent" and name in int_locals:
        return (f"array extent using {name}", "the extents of a local array may "
                "use int size parameters only: declare it with the largest size")
    if name in loop_iterators:
        return (f"use of loop iterator {name} outside its loop ({where})",
                f"{name} has a value only inside its for loop; after the loop, "
                f"write its last value as an expression of the sizes")
    if name in int_locals:
        return (f"use of int local {name} {where}",
                f"{name} has no value polyad follows: give it one in its "
                f"declaration (int {name} = i + 1;), affine in iterators and sizes")
    variable = variables.get(name)
    if name in searched:
        return (f"use of {name}, an index found by a search, {where}",
                f"its value depends on data: use it only as a whole subscript "
                f"(x[{name}]) or in values")
    if variable is not None:
        kind = (f"{variable.dtype} scalar" if not variable.extents
                else f"{variable.dtype} array")
        return (f"non-affine {what}: '{name}' is a {kind}",
                "bounds and subscripts may use only loop iterators, int size "
                "parameters and integer constants")
    if name in file_scope:
        return (f"use of the {file_scope[name]} {name} {where}",
                file_scope_hint(name))
    if what == "value expression":
        return None
    return (f"use of undeclared {name} {where}", "declare it as an int size "
            "parameter of the function or as a loop iterator")


#: Statements the region refuses: C node type -> (construct, advice).
REFUSED_STATEMENTS = {
    c_ast.While: ("while loop", "write a for loop with affine bounds"),
    c_ast.DoWhile: ("do-while loop", "write a for loop with affine bounds"),
    c_ast.Break: ("break", "loops must run their whole affine range; "
                           "use a value select c ? a : b for data-dependent choices"),
    c_ast.Continue: ("continue", "guard the statements with an affine if instead"),
    c_ast.Goto: ("goto", "use structured for loops and if"),
    c_ast.Label: ("label", "use structured for loops and if"),
    c_ast.Return: ("return inside the modelled region", "only a function's last statement "
                   "may return (return e; for a double result): let the region run to its end"),
    c_ast.FuncCall: ("function call statement",
                     "only assignments are modelled; math functions go in expressions"),
}
