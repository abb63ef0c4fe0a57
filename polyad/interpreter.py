"""A plain reverse-mode interpreter over the model: the gradient oracle.

It shares nothing with the code under test: no tape planning, no lowering,
no code generation, and not even polyad's derivative table: it enumerates
every statement instance with isl at fixed sizes, runs them in schedule
order in Python while recording each operation's operands on a tape, then
walks the tape backwards with partial derivatives from ``sympy.diff``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import islpy as isl
import numpy as np
import sympy

from polyad.dataflow import schedule_map
from polyad.errors import UsageError
from polyad.expr import MATH, to_double
from polyad.model import Kernel, Statement, fix_sizes, maps_of

# The kernel's C functions as sympy's own, so that sympy.diff knows them.
_AS_SYMPY = {
    MATH["sqrt"]: sympy.sqrt, MATH["exp"]: sympy.exp, MATH["log"]: sympy.log,
    MATH["sin"]: sympy.sin, MATH["cos"]: sympy.cos, MATH["tan"]: sympy.tan,
    MATH["tanh"]: sympy.tanh, MATH["pow"]: sympy.Pow, MATH["fabs"]: sympy.Abs,
    MATH["fmin"]: sympy.Min, MATH["fmax"]: sympy.Max, to_double: lambda x: x,
}
def _nan_outside(function):
    """A math function giving NaN outside its domain, as C's does."""
    def guarded(*args):
        try:
            return function(*args)
        except (ValueError, ZeroDivisionError, OverflowError):
            return math.nan
    return guarded


_NUMERIC = {"sqrt": _nan_outside(math.sqrt), "log": _nan_outside(math.log),
            "exp": _nan_outside(math.exp), "pow": _nan_outside(math.pow),
            "select": lambda condition, then, otherwise: then if condition else otherwise,
            "Heaviside": lambda x, *_: 1.0 if x > 0 else (0.0 if x < 0 else 0.5),
            "sign": lambda x: float(np.sign(x)), "Abs": abs, "Min": min, "Max": max}


def as_sympy(expr: sympy.Basic) -> sympy.Basic:
    """The expression with C math functions replaced by sympy's."""
    if not expr.args:
        return expr
    args = [as_sympy(a) for a in expr.args]
    function = _AS_SYMPY.get(expr.func, expr.func)
    return function(*args)


@dataclass(frozen=True)
class _CompiledStatement:
    statement: Statement
    symbols: tuple[sympy.Symbol, ...]      # read symbols, in access order
    value: object                          # f(reads..., indices...) -> float
    partials: tuple[tuple[int, object], ...]  # (position of read, d f / d read)
    index_names: tuple[str, ...]


class Interpreter:
    """Runs a kernel at fixed sizes, forward and in reverse."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self.compiled = {s.name: self._compile(s) for s in kernel.statements}

    def _compile(self, statement: Statement) -> _CompiledStatement:
        accesses = statement.read_accesses()
        symbols = tuple(accesses)
        index_names = statement.iterators + self.kernel.params
        index_symbols = [sympy.Symbol(n, integer=True) for n in index_names]
        # Plain real names for the reads ("A[i - 1]" is no Python name).
        plain = {s: sympy.Symbol(f"read{k}", real=True) for k, s in enumerate(symbols)}
        expr = as_sympy(statement.expr).xreplace(plain)
        symbols = tuple(plain[s] for s in symbols)
        arguments = list(symbols) + index_symbols
        modules = [_NUMERIC, "math"]
        value = _nan_outside(sympy.lambdify(arguments, expr, modules=modules))
        partials = []
        for position, (symbol, access) in enumerate(zip(symbols, accesses.values())):
            if not self.kernel.array(access.array).is_float:
                continue
            partial = sympy.diff(expr, symbol)
            if partial != 0:
                partials.append((position, _nan_outside(
                    sympy.lambdify(arguments, partial, modules=modules))))
        return _CompiledStatement(statement, symbols, value, tuple(partials), index_names)

    def instances(self, sizes: Mapping[str, int]) -> list[tuple[tuple, str, tuple]]:
        """(schedule point, statement, instance) for every instance, in
        execution order."""
        smap = schedule_map(self.kernel.schedule)
        found = []
        for statement in self.kernel.statements:
            relation = fix_sizes(smap.intersect_domain(isl.UnionSet.from_set(
                statement.domain)), sizes)
            for m in maps_of(relation):
                depth = m.dim(isl.dim_type.in_)
                for point in _points(m.wrap()):
                    found.append((point[depth:], statement.name, point[:depth]))
        found.sort()
        return found

    def _locations(self, sizes: Mapping[str, int]) -> dict:
        """(statement, instance) -> [written element, read elements...]."""
        locations: dict = {}
        for statement in self.kernel.statements:
            accesses = [statement.write] + list(statement.read_accesses().values())
            for position, access in enumerate(accesses):
                relation = fix_sizes(access.relation, sizes)
                depth = relation.dim(isl.dim_type.in_)
                for point in _points(relation.wrap()):
                    slots = locations.setdefault((statement.name, point[:depth]),
                                                 [None] * len(accesses))
                    slots[position] = point[depth:]
        return locations

    def memory(self, values: Mapping[str, object], sizes: Mapping[str, int]) -> dict:
        memory = {}
        for array in self.kernel.arrays:
            dtype = np.float64 if array.is_float else np.int64
            shape = array.shape(sizes)
            if array.storage == "parameter":
                if array.name not in values:
                    raise UsageError(f"interpreter: no value for {array.name}")
                memory[array.name] = np.array(values[array.name], dtype=dtype).reshape(shape)
            else:
                memory[array.name] = np.zeros(shape, dtype=dtype)
        return memory

    def _forward(self, values: Mapping[str, object], sizes: Mapping[str, int],
                 tape: list | None, locations: dict):
        """Run every instance in order on fresh memory, appending
        (compiled, slots, operands) to ``tape`` when given; stop at the first
        instance giving a non-finite value from finite reads when
        ``tape`` is None. Returns (memory, first non-finite or None)."""
        memory = self.memory(values, sizes)
        for _, name, instance in self.instances(sizes):
            compiled = self.compiled[name]
            slots = locations[(name, instance)]
            reads = [memory[a.array][slots[1 + k]]
                     for k, a in enumerate(compiled.statement.read_accesses().values())]
            indices = list(instance) + [sizes[p] for p in self.kernel.params]
            result = compiled.value(*reads, *indices)
            if tape is not None:
                tape.append((compiled, slots, reads + indices))
            elif not math.isfinite(result) and all(math.isfinite(r) for r in reads):
                return memory, NonFinite(compiled.statement, instance, float(result),
                                         tuple(zip(_read_texts(compiled.statement, slots),
                                                   map(float, reads))))
            memory[compiled.statement.write.array][slots[0]] = result
        return memory, None

    def first_nonfinite(self, values: Mapping[str, object]) -> "NonFinite | None":
        """The first statement instance, in execution order, that computes
        a NaN or an infinity from finite values (None if there is none).
        Precondition: ``values`` holds every size and argument."""
        sizes = {p: int(values[p]) for p in self.kernel.params}
        with np.errstate(all="ignore"):
            _, found = self._forward(values, sizes, None, self._locations(sizes))
        return found

    def gradient(self, values: Mapping[str, object], seeds: Mapping[str, np.ndarray],
                 wrt: tuple[str, ...]) -> tuple[dict, dict]:
        """(final memory, gradients of ``wrt``) for the given seeds of the
        outputs (outputs without a seed get zero)."""
        with np.errstate(all="ignore"):
            return self._gradient(values, seeds, wrt)

    def _gradient(self, values, seeds, wrt):
        sizes = {p: int(values[p]) for p in self.kernel.params}
        tape: list = []
        memory, _ = self._forward(values, sizes, tape, self._locations(sizes))
        adjoints = {a.name: np.zeros_like(memory[a.name], dtype=np.float64)
                    for a in self.kernel.arrays if a.is_float}
        for name, seed in seeds.items():
            adjoints[name] += np.asarray(seed, dtype=np.float64).reshape(adjoints[name].shape)
        accesses_of = {s.name: list(s.read_accesses().values()) for s in self.kernel.statements}
        for compiled, slots, operands in reversed(tape):
            statement = compiled.statement
            written = adjoints.get(statement.write.array)
            if written is None:
                continue
            seed = float(written[slots[0]])
            written[slots[0]] = 0.0
            if seed == 0.0:
                continue
            accesses = accesses_of[statement.name]
            for position, partial in compiled.partials:
                adjoints[accesses[position].array][slots[1 + position]] += \
                    partial(*operands) * seed
        return memory, {name: adjoints[name] for name in wrt}


@dataclass(frozen=True)
class NonFinite:
    """A statement instance that computed a NaN or an infinity from finite
    reads: the statement, its iterator values, the value and the reads
    (element as text, value)."""

    statement: Statement
    instance: tuple[int, ...]
    value: float
    reads: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        """One sentence: where, what it computed, from which values."""
        where = ", ".join(f"{i}={v}" for i, v in zip(self.statement.iterators,
                                                      self.instance))
        reads = ", ".join(f"{text} = {value:.6g}" for text, value in self.reads)
        return (f"{self.statement.location}: {self.statement.name} "
                f"({self.statement.text.strip()}) gives {self.value} at "
                f"{where or 'its only instance'}" + (f" from {reads}" if reads else ""))


def _read_texts(statement: Statement, slots: list) -> list[str]:
    """The elements a statement instance reads, as ``A[1][2]``."""
    accesses = list(statement.read_accesses().values())
    return [access.array + "".join(f"[{i}]" for i in slots[1 + k])
            for k, access in enumerate(accesses)]


def _points(points: isl.Set) -> list[tuple[int, ...]]:
    if points.is_empty():
        return []
    if not points.is_bounded():
        raise UsageError(f"interpreter: unbounded set {points}")
    dims = points.dim(isl.dim_type.set)
    found: list[tuple[int, ...]] = []

    def visit(point):
        found.append(tuple(int(point.get_coordinate_val(isl.dim_type.set, d).to_python())
                           for d in range(dims)))

    points.foreach_point(visit)
    return found

