"""Partial derivatives of each statement, and which arrays are active.

An array is *varied* when its values depend on a ``wrt`` input, *useful*
when its values influence an ``of`` output; it is *active* when both. Only
active arrays get adjoints (or tangents), so inactive arrays and statements
cost nothing in the derivative code. The analysis is per array, through the
statements' nonzero partial derivatives, to a fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import sympy

from polyad.ad.derivatives import derivative
from polyad.errors import UsageError
from polyad.model.expr import evaluated
from polyad.model.kernel import Kernel, Statement


@dataclass(frozen=True)
class Differentiated:
    """A statement with its evaluated value and the nonzero partial
    derivative of that value with respect to each double read symbol."""

    statement: Statement
    value: sympy.Expr
    partials: Mapping[sympy.Symbol, sympy.Expr]

    def read_arrays(self) -> dict[sympy.Symbol, str]:
        return {a.symbol: a.array for a in self.statement.reads}


def differentiate_statement(statement: Statement, kernel: Kernel) -> Differentiated:
    """The statement's partials (zero ones dropped).

    >>> import polyad
    >>> k = polyad.parse("void f(int n, double a, double x[n]) "
    ...                  "{ for (int i = 0; i < n; i++) x[i] = a * x[i] * x[i]; }")
    >>> sorted(str(p) for p in differentiate_statement(k.statements[0], k).partials.values())
    ['2*a*x[i]', 'x[i]**2']
    """
    value = evaluated(statement.expr)
    partials = {}
    for symbol, access in statement.read_accesses().items():
        if not kernel.array(access.array).is_float:
            continue
        partial = derivative(value, symbol)
        if partial != 0:
            partials[symbol] = partial
    return Differentiated(statement, value, partials)


@dataclass(frozen=True)
class Activity:
    """Which arrays vary with ``wrt`` and which are useful for ``of``."""

    wrt: tuple[str, ...]
    of: tuple[str, ...]
    varied: frozenset[str]
    useful: frozenset[str]

    @property
    def active(self) -> frozenset[str]:
        return self.varied & self.useful


def floating_inputs(kernel: Kernel) -> tuple[str, ...]:
    """Every floating-point input (arrays and scalar parameters)."""
    return tuple(a.name for a in kernel.arrays if a.is_float and a.storage == "parameter"
                 and a.role in ("input", "inout"))


def floating_outputs(kernel: Kernel) -> tuple[str, ...]:
    """Every floating-point output array."""
    return tuple(a.name for a in kernel.arrays if a.is_float and a.storage == "parameter"
                 and a.role in ("output", "inout"))


def checked_names(kernel: Kernel, names: Sequence[str] | None, default: tuple[str, ...],
                  what: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` validated against ``allowed`` (in signature order), or the default."""
    if names is None:
        return default
    chosen = []
    for name in names:
        kernel.array(name)  # unknown names: an error listing the kernel's arrays
        if name not in allowed:
            kind = "input" if what == "wrt" else "output"
            raise UsageError(f"--{what} {name}: {name} is not a floating-point {kind} of "
                             f"{kernel.name} (its floating-point {kind}s are "
                             f"{', '.join(allowed) or 'none'})")
        if name not in chosen:
            chosen.append(name)
    order = [a.name for a in kernel.arrays]
    return tuple(sorted(chosen, key=order.index))


def analyze_activity(kernel: Kernel, statements: Sequence[Differentiated],
                     wrt: tuple[str, ...], of: tuple[str, ...]) -> Activity:
    """Varied and useful arrays, to a fixed point over the statements."""
    varied = set(wrt)
    useful = set(of)
    changed = True
    while changed:
        changed = False
        for d in statements:
            arrays = d.read_arrays()
            target = d.statement.write.array
            if target not in varied and any(arrays[s] in varied for s in d.partials):
                varied.add(target)
                changed = True
            if target in useful:
                for symbol in d.partials:
                    if arrays[symbol] not in useful:
                        useful.add(arrays[symbol])
                        changed = True
    return Activity(wrt, of, frozenset(varied), frozenset(useful))
