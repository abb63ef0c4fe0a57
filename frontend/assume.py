"""Assumptions on the sizes: ``#pragma polyad assume COND`` and ``--assume``.

A condition is C over the int size parameters (``n % 5 == 0 && n >= 2``,
``||``, ``!``, comparisons, affine arithmetic with division and remainder by
constants). It is parsed by pycparser as an expression and lowered by
:class:`~polyad.frontend.affine.AffineTranslator` to an isl set over the
parameters; the builder intersects the kernel's context with it. Anything
non-affine, or naming anything but a size parameter, is refused at its
file, line and column (for ``--assume``, in the option's text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import islpy as isl
from pycparser import c_ast, c_parser
from pycparser.c_parser import ParseError

from polyad.errors import KernelError, SourceLocation
from polyad.frontend.affine import AffineTranslator, Scope
from polyad.frontend.pragmas import polyad_pragmas
from polyad.frontend.preprocess import Preprocessed, located_error, node_location

#: what follows ``#pragma`` in an assumption
_VERB = re.compile(r"^\s*polyad\s+assume\b\s*")
_PRAGMA = re.compile(r"#\s*pragma\s+polyad\s+assume\b\s*")
_WHAT = "assumption"


@dataclass(frozen=True)
class Assumption:
    """One condition as written: its C text and where the text starts.

    ``pre`` maps positions of the condition back to the user's text (the
    kernel file, or the ``--assume`` option)."""

    text: str
    line: int
    column: int
    pre: Preprocessed


def option_assumption(text: str) -> Assumption:
    """An assumption given on the command line or to ``parse(assume=...)``;
    errors name the option's text.

    >>> option_assumption("n >= 2").pre.display_name
    "--assume 'n >= 2'"
    """
    display = f"--assume '{text}'"
    pre = Preprocessed(text=text, display_name=display, source_lines=(text,),
                       expanded_lines={})
    return Assumption(text, 1, 1, pre)


def fixed_assumption(name: str, value: int) -> Assumption:
    """The assumption that a size parameter fixed with ``-D`` has its value
    (:mod:`~polyad.frontend.fixing`); errors name the option.

    >>> fixed_assumption("inc", 1).text, fixed_assumption("inc", 1).pre.display_name
    ('inc == 1', '-D inc=1')
    """
    text = f"{name} == {value}"
    pre = Preprocessed(text=text, display_name=f"-D {name}={value}", source_lines=(text,),
                       expanded_lines={})
    return Assumption(text, 1, 1, pre)


def pragma_assumptions(pre: Preprocessed, ast: c_ast.FileAST,
                       funcdef: c_ast.FuncDef) -> list[Assumption]:
    """The ``#pragma polyad assume`` lines at file scope before ``funcdef``
    and anywhere inside it, in source order. A ``#pragma polyad`` verb
    polyad does not know is refused (:func:`~polyad.frontend.pragmas.polyad_pragmas`)."""
    found = []
    unmapped = replace(pre, expanded_lines={})  # columns are the source's own
    for pragma in polyad_pragmas(pre, ast, funcdef, "assume"):
        location = node_location(pre, pragma)
        line = pre.code_line(location.line)
        match = _PRAGMA.search(line)
        if match is not None:
            text, column = line[match.end():].rstrip(), match.end() + 1
        else:  # from a macro (_Pragma): the preprocessed text, at the pragma
            text, column = _VERB.sub("", pragma.string).strip(), location.col
        if not text:
            raise located_error(pre, pragma, "#pragma polyad assume without a condition",
                                "write #pragma polyad assume n % 4 == 0 (a condition "
                                "on the int size parameters)", verb="invalid")
        found.append(Assumption(text, location.line, column, unmapped))
    return found


def assumed_sizes(assumptions: list[Assumption], sizes: list[str],
                  function: str) -> isl.Set:
    """The set of size values where every assumption holds, over the
    parameters ``sizes`` (the universe for none). Raises a located
    KernelError for a condition that is not C, not affine, or names anything
    but a size parameter of ``function``."""
    scope = Scope.outermost(sizes)
    result = scope.universe()
    for assumption in assumptions:
        expression = _expression(assumption)
        translator = AffineTranslator(assumption.pre, _explanation(sizes, function))
        result = result & translator.condition(expression, scope, _WHAT)
    return result


def _explanation(sizes: list[str], function: str):
    named = ", ".join(sizes) or "none"

    def explain(name: str, what: str) -> tuple[str, str]:
        return (f"use of {name} in an assumption",
                f"an assumption may name only the int size parameters of {function} "
                f"({named}) and integer constants")
    return explain


def _expression(assumption: Assumption) -> c_ast.Node:
    """The condition parsed as a C expression whose coordinates are those
    of its text in the user's file (or option)."""
    probe = (f"void polyad_assume_probe(void) {{\n#line {assumption.line} "
             f"\"{assumption.pre.display_name}\"\n"
             f"{' ' * (assumption.column - 1)}{assumption.text};\n}}\n")
    try:
        ast = c_parser.CParser().parse(probe, filename=assumption.pre.display_name)
    except ParseError as error:
        detail = str(error).rsplit(": ", 1)[-1]
        raise KernelError(SourceLocation(assumption.pre.display_name, assumption.line,
                                         assumption.column),
                          f"assumption '{assumption.text}': C syntax: {detail}",
                          "write a C condition on the int size parameters, e.g. "
                          "n % 4 == 0 && n >= 8", verb="invalid") from None
    items = ast.ext[0].body.block_items or []
    if len(items) != 1 or isinstance(items[0], (c_ast.Decl, c_ast.Compound)):
        raise KernelError(SourceLocation(assumption.pre.display_name, assumption.line,
                                         assumption.column),
                          f"assumption '{assumption.text}'",
                          "write one C condition on the int size parameters",
                          verb="invalid")
    return items[0]
