"""Index arrays the user states injective: ``#pragma polyad injective(perm)``.

The pragma (several names allowed, ``injective(perm, col)``) says that the
values of each named int array parameter are pairwise distinct, so that a
write through it (``y[perm[i]] = e``, ``hist[bucket[i]] += e``) touches a
different element at each element of the index array. The builder accepts
such a write (frontend/gathers.py) as a may-write of the whole extent; the
generated code checks the assumption at entry (codegen/gathers.py). A name
that is not an int array parameter of the kernel is refused at its place.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from pycparser import c_ast

from polyad.errors import KernelError, SourceLocation
from polyad.frontend.declarations import Variable
from polyad.frontend.pragmas import polyad_pragmas
from polyad.frontend.preprocess import Preprocessed, located_error, node_location

_PRAGMA = re.compile(r"#\s*pragma\s+polyad\s+injective\b\s*")
_NAMES = re.compile(r"\(\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*\)\s*$")
_NAME = re.compile(r"[A-Za-z_]\w*")
_HINT = ("write #pragma polyad injective(perm) (or injective(perm, col)), naming int "
         "array parameters whose values are pairwise distinct")


@dataclass(frozen=True)
class Injective:
    """One name of a ``#pragma polyad injective(...)`` and where it is written."""

    name: str
    location: SourceLocation


def pragma_injective(pre: Preprocessed, ast: c_ast.FileAST,
                     funcdef: c_ast.FuncDef) -> tuple[Injective, ...]:
    """The names of the ``#pragma polyad injective(...)`` lines at file
    scope before ``funcdef`` and inside it, in source order; a located
    KernelError for a pragma that is not ``injective(name, ...)``."""
    found: list[Injective] = []
    for pragma in polyad_pragmas(pre, ast, funcdef, "injective"):
        location = node_location(pre, pragma)
        line = pre.code_line(location.line)
        start = _PRAGMA.search(line)
        if start is None:  # from a macro (_Pragma): the pragma's place for every name
            text, offset = re.sub(r"^\s*polyad\s+injective", "", pragma.string), None
        else:
            text, offset = line[start.end():].rstrip(), start.end()
        names = _NAMES.match(text.strip())
        if names is None:
            raise located_error(pre, pragma, f"#pragma polyad injective{text.rstrip()}",
                                _HINT, verb="invalid")
        base = offset + (len(text) - len(text.lstrip())) if offset is not None else None
        for match in _NAME.finditer(names.group(1)):
            column = (base + names.start(1) + match.start() + 1 if base is not None
                      else location.col)
            found.append(Injective(match.group(),
                                   SourceLocation(pre.display_name, location.line, column)))
    return tuple(found)


def checked_injective(stated: tuple[Injective, ...], variables: Mapping[str, Variable],
                      sizes: Collection[str], function: str) -> frozenset[str]:
    """The names stated injective, once each; a KernelError at the first
    name that is not an int array parameter of ``function`` (``sizes``: its
    size parameters)."""
    for item in stated:
        variable = variables.get(item.name)
        if item.name in sizes:
            raise KernelError(item.location, f"injective({item.name}): {item.name} is a "
                              "size parameter, not an int array", _HINT, verb="invalid")
        if variable is None:
            raise KernelError(item.location, f"injective({item.name}): {function} has no "
                              f"parameter {item.name}", _HINT, verb="invalid")
        if variable.dtype != "int" or not variable.extents or variable.storage != "parameter":
            what = ("a local" if variable.storage != "parameter" else
                    f"a {variable.dtype} scalar" if not variable.extents else
                    f"a {variable.dtype} array")
            raise KernelError(item.location, f"injective({item.name}): {item.name} is "
                              f"{what}, not an int array parameter", _HINT, verb="invalid")
    return frozenset(item.name for item in stated)
