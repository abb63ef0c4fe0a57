"""Int size parameters fixed when the file is parsed (``-D inc=1``).

A BLAS-style kernel takes a stride as an argument (``x[i * incx]``), which
is a product of two variables, not affine. Given a value for ``incx`` (the
CLI's ``-D``, the API's ``fix=``), the frontend uses that constant in such a
place only: a parameter every use of which is affine stays a parameter, so
that sizes given to a run do not specialise the generated code. A fixed
parameter stays in the signature; the kernel's context (what every
generated function checks at entry, returning the status 1 otherwise)
holds it at its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import islpy as isl

from polyad.errors import SourceLocation


@dataclass(frozen=True)
class Fixed:
    """A parameter fixed to ``value``, first needed at ``location`` by
    ``construct`` (the C text that is not affine otherwise)."""

    name: str
    value: int
    location: SourceLocation
    construct: str


class Fixing:
    """The values offered for int parameters, and those taken so far (the
    walk of a kernel fills it in, in source order)."""

    def __init__(self, offered: Mapping[str, int] | None = None):
        self.offered = {name: int(value) for name, value in (offered or {}).items()}
        self.fixed: dict[str, Fixed] = {}

    def constant(self, value: isl.PwAff, location: SourceLocation,
                 construct: str) -> isl.PwAff | None:
        """``value`` with the offered parameters it involves at their
        values, when that makes it a constant (those parameters are then
        fixed); None when it does not, or involves none."""
        names = [name for name in involved_parameters(value) if name in self.offered]
        if not names:
            return None
        constant = value.gist_params(self._values(value.get_space(), names))
        if not constant.is_cst():
            return None
        for name in names:
            if name not in self.fixed:
                self.fixed[name] = Fixed(name, self.offered[name], location, construct)
        return constant

    def factors(self, left: isl.PwAff, right: isl.PwAff, location: SourceLocation,
                construct: str) -> tuple[isl.PwAff, isl.PwAff] | None:
        """The factors of a product of two non-constant values with one of
        them made constant by fixing parameters: the one whose parameters
        are fixed already, else the right one (``i * inc``), else the left
        (``inc * i``); None when neither can be."""
        def already(value):
            names = involved_parameters(value)
            return bool(names) and all(name in self.fixed for name in names)
        order = (right, left) if already(right) or not already(left) else (left, right)
        for value in order:
            constant = self.constant(value, location, construct)
            if constant is not None:
                return (left, constant) if value is right else (constant, right)
        return None

    def context(self, params: list[str]) -> isl.Set:
        """The parameter set over ``params`` where each fixed parameter has
        its value."""
        space = isl.Space.create_from_names(isl.DEFAULT_CONTEXT, set=[], params=params)
        return self._values(space, list(self.fixed))

    def notes(self) -> tuple[str, ...]:
        """What fixing each parameter means, in sentences for ``polyad show``."""
        return tuple(
            f"{f.name} fixed to {f.value} (-D {f.name}={f.value}): {f.construct} at line "
            f"{f.location.line} is affine only for a constant {f.name}; the generated "
            f"code keeps the argument and returns the status 1 for another value"
            for f in self.fixed.values())

    def _values(self, space: isl.Space, names: list[str]) -> isl.Set:
        result = isl.Set.universe(space.params())
        for name in names:
            position = result.find_dim_by_name(isl.dim_type.param, name)
            result = result.fix_val(isl.dim_type.param, position,
                                    isl.Val(self.offered[name]))
        return result


def involved_parameters(value: isl.PwAff) -> list[str]:
    """The parameters (int sizes) an affine function depends on.

    >>> involved_parameters(isl.PwAff("[n, inc] -> { [i] -> [(i * 2 + inc)] }"))
    ['inc']
    """
    return [value.get_dim_name(isl.dim_type.param, d)
            for d in range(value.dim(isl.dim_type.param))
            if value.involves_dims(isl.dim_type.param, d, 1)]


def fix_hint(operands: tuple[isl.PwAff, ...], advice: str) -> str:
    """``advice``, and for the first of ``operands`` that is a function of
    size parameters only the -D that would make it constant."""
    for value in operands:
        names = involved_parameters(value)
        if names and not value.involves_dims(isl.dim_type.in_, 0,
                                             value.dim(isl.dim_type.in_)):
            name = names[0]
            return (f"{advice}; {name} is an int size parameter: fix it with -D "
                    f"{name}=VALUE (polyad.parse(..., fix={{'{name}': VALUE}}); the "
                    f"generated code then checks {name} at entry)")
    return advice
