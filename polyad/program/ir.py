"""Programs: what codegen prints, as polyhedral values.

A :class:`Program` is a C function seen polyhedrally: buffers (arguments,
locals, tapes), instructions (a statement domain and a body of assignments
whose memory references are isl maps from instances to buffer elements) and
one isl schedule tree ordering all instances. The primal kernel, the tangent
and the adjoint are all programs; codegen prints any of them the same way.

>>> import polyad
>>> k = polyad.parse("void f(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] *= 2.0; }")
>>> [i.name for i in primal_program(k).instructions]
['S0']
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import islpy as isl
import sympy

from polyad.model.gathers import scatter_indices
from polyad.model.kernel import Access, Kernel, Statement, union_of_sets


#: Names of derivative arrays and functions: ``A_b`` is the adjoint of
#: ``A`` (and ``gemm_b`` the gradient function), ``A_d`` its tangent.
ADJOINT_SUFFIX = "_b"
TANGENT_SUFFIX = "_d"
#: The element type of a buffer of comparison outcomes (polyad.tape.decisions):
#: one byte, 1 where the comparison held.
DECISION_DTYPE = "unsigned char"


@dataclass(frozen=True)
class Buffer:
    """Storage of the generated function.

    ``kind``: ``argument`` (passed by the caller) or ``local`` (allocated by
    the function). A scalar argument (no extents) is passed by value unless
    ``by_pointer``. ``zeroed``: a local starts at zero; an argument is set to
    zero on entry. ``sequence``: the buffer is written and read in order,
    through counters, its extents giving the capacity: ``lifo`` (pushed up
    from the start, popped down), ``stream`` (pushed down from the end, so
    that popping reads up, front to back) or ``fifo`` (pushed and read up).
    ``purpose`` becomes a comment. ``tape`` names the statement whose
    recorded values the buffer holds. ``dtype`` is the C element type
    (:data:`DECISION_DTYPE` for recorded comparison outcomes). ``distinct``:
    an index array stated injective (a scatter writes through it), whose
    values the function checks pairwise distinct on entry.
    """

    name: str
    dtype: str
    extents: tuple[isl.PwAff, ...]
    kind: str
    by_pointer: bool = False
    zeroed: bool = False
    sequence: str = ""
    optional: bool = False
    purpose: str = ""
    tape: str = ""
    distinct: bool = False

    @property
    def is_scalar(self) -> bool:
        return not self.extents

    @property
    def stack(self) -> bool:
        return bool(self.sequence)


@dataclass(frozen=True)
class Reference:
    """A memory reference of an instruction: ``relation`` maps its instances
    to elements of ``buffer``; ``None`` for a push to or pop from a stack.

    A gather (``x[col[k]]``, and its adjoint's ``x_b[col[k]]``) has
    ``gather``: per dimension of the buffer, the reference to the index
    array element that subscripts it, or None where the subscript is affine
    (``relation`` is exact there); ``relation`` is then a may-access (the
    whole extent in the gathered dimensions), which keeps every dependence.
    """

    buffer: str
    relation: isl.Map | None
    push: bool = False
    gather: tuple["Reference | None", ...] | None = None

    def renamed(self, instruction: str) -> "Reference":
        """The reference with its instances named after ``instruction``."""
        gather = None if self.gather is None else tuple(
            None if g is None else g.renamed(instruction) for g in self.gather)
        relation = (None if self.relation is None
                    else self.relation.set_tuple_name(isl.dim_type.in_, instruction))
        return Reference(self.buffer, relation, self.push, gather)


@dataclass(frozen=True)
class Assignment:
    """``target op value``; ``op`` is ``=`` or ``+=``. Symbols of ``value``
    (and ``target``) are references of the instruction, its earlier local
    temporaries, or integer iterators and sizes."""

    target: sympy.Symbol
    op: str
    value: sympy.Expr


@dataclass(frozen=True)
class Instruction:
    """A statement of the generated program: its instances and its body.

    ``comment`` says in the user's terms what it does ("adjoint of line 15:
    ..."); ``line`` is the source line of the kernel statement it comes from
    (its primal, adjoint, tangent or tape write), 0 for work of no one
    statement (a copy into a scratchpad, the gradient added to the caller's).
    """

    name: str
    domain: isl.Set
    references: Mapping[sympy.Symbol, Reference]
    body: tuple[Assignment, ...]
    comment: str = ""
    family: str = ""
    line: int = 0

    @property
    def handle(self) -> str:
        """The name users give it in schedules: instructions split in parts
        (``S3_b0``, ``S3_b1``, by which values come from the tape) share
        their family's name (``S3_b``)."""
        return self.family or self.name

    @property
    def iterators(self) -> tuple[str, ...]:
        return tuple(self.domain.get_dim_name(isl.dim_type.set, d)
                     for d in range(self.domain.dim(isl.dim_type.set)))


@dataclass(frozen=True)
class Argument:
    """One parameter of the generated C function: a size or a buffer."""

    name: str
    kind: str  # "size" or "buffer"


@dataclass(frozen=True)
class Driver:
    """A program run as a loop over a table of actions computed at run time
    (binomial checkpointing, polyad.tape.revolve): each action runs the
    instances of one block, whose domains use the parameters ``lo``, ``hi``
    and ``slot`` the action sets. ``blocks``: action kind -> its instances.
    ``first`` and ``last``: the time loop's first and last step (in the
    sizes); ``slots``: the snapshot slots.
    """

    slots: int
    first: isl.PwAff
    last: isl.PwAff
    lo: str
    hi: str
    slot: str
    blocks: tuple[tuple[str, isl.UnionSet], ...]

    @property
    def parameters(self) -> tuple[str, str, str]:
        return (self.lo, self.hi, self.slot)


@dataclass(frozen=True)
class Program:
    """A generated C function, polyhedrally.

    ``schedule`` is the isl schedule tree codegen prints; ``flat``, when the
    program was built from one, the flat schedule map the tree came from
    (its outermost dimension tells the sweeps apart). ``sizes``: the size
    parameters' values a program is specialized to (its context fixes them;
    the layers layout), empty when it is correct at every size.
    """

    name: str
    arguments: tuple[Argument, ...]
    buffers: tuple[Buffer, ...]
    instructions: tuple[Instruction, ...]
    schedule: isl.Schedule
    context: isl.Set
    source: str = ""
    flat: isl.UnionMap | None = None
    sizes: tuple[tuple[str, int], ...] = ()
    driver: Driver | None = None

    def buffer(self, name: str) -> Buffer:
        for buffer in self.buffers:
            if buffer.name == name:
                return buffer
        raise KeyError(name)

    def instruction(self, name: str) -> Instruction:
        for instruction in self.instructions:
            if instruction.name == name:
                return instruction
        raise KeyError(name)

    def domain(self) -> isl.UnionSet:
        return union_of_sets([i.domain for i in self.instructions],
                             self.context.get_space())


def fingerprint(program: Program) -> str:
    """A short hash of what a schedule of ``program`` depends on: its
    buffers, and its instructions with their domains, references and
    bodies. Two programs with the same fingerprint accept the same traces.
    """
    parts = [program.name]
    parts += [f"{b.name}:{b.dtype}:{[e.to_str() for e in b.extents]}" for b in program.buffers]
    for instruction in program.instructions:
        parts.append(f"{instruction.name}|{instruction.domain.to_str()}")
        parts += [f"{symbol}={reference.buffer}:{reference.relation}:{reference.gather}"
                  for symbol, reference in sorted(instruction.references.items(),
                                                  key=lambda item: str(item[0]))]
        parts += [f"{a.target}{a.op}{a.value}" for a in instruction.body]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def kernel_arguments(kernel: Kernel) -> list[Argument]:
    """The kernel's own parameters, in signature order."""
    return [Argument(p.name, "size" if p.kind == "size" else "buffer")
            for p in kernel.signature]


def kernel_buffers(kernel: Kernel) -> list[Buffer]:
    """The buffers holding the kernel's arrays and scalars as it declares
    them (an array the kernel only writes may be left out by a caller)."""
    distinct = scatter_indices(kernel)
    return [Buffer(a.name, a.dtype, a.extents,
                   "argument" if a.storage == "parameter" else "local",
                   optional=a.role == "output", distinct=a.name in distinct)
            for a in kernel.arrays]


def statement_references(statement: Statement) -> dict[sympy.Symbol, Reference]:
    """The statement's reads and its write, keyed by symbol."""
    references = {access.symbol: access_reference(access.array, access)
                  for access in statement.reads}
    references[write_symbol(statement)] = access_reference(statement.write.array,
                                                           statement.write)
    return references


def access_reference(buffer: str, access: Access) -> Reference:
    """The reference to ``buffer`` at a statement's access (the array's own
    buffer, or its derivative's), with the gather's index references."""
    if not access.is_gather:
        return Reference(buffer, access.relation)
    indices = {index.symbol: index for index in access.indices}
    gather = tuple(None if symbol is None else
                   Reference(indices[symbol].array, indices[symbol].relation)
                   for symbol in access.subscripts)
    return Reference(buffer, access.relation, gather=gather)


def write_symbol(statement: Statement) -> sympy.Symbol:
    """The symbol of the statement's written element (shared with a read of
    the same element written the same way)."""
    own = statement.self_read()
    return own.symbol if own is not None else sympy.Symbol(statement.write.text, real=True)


def primal_instruction(statement: Statement) -> Instruction:
    """The statement as it runs in the original kernel."""
    return Instruction(
        name=statement.name, domain=statement.domain,
        references=statement_references(statement),
        body=(primal_assignment(statement),),
        comment=f"line {statement.location.line}: {statement.text}",
        line=statement.location.line)


def primal_assignment(statement: Statement) -> Assignment:
    """The statement's assignment; ``x = x + e`` (and ``x = e + x``, ``x +=
    e``, ``x -= e``) as the increment ``x += e``, which C evaluates with the
    same one addition (so bitwise the same), but which schedules may keep in
    a register across a loop that does not move ``x`` (a reduction).

    >>> import polyad
    >>> k = polyad.parse("void f(int n, double x[n], double s[1]) "
    ...                  "{ for (int i = 0; i < n; i++) s[0] = s[0] + x[i]; }")
    >>> a = primal_assignment(k.statements[0])
    >>> a.op, a.value
    ('+=', x[i])
    """
    target, expr = write_symbol(statement), statement.expr
    if statement.self_read() is not None and expr.is_Add and len(expr.args) == 2:
        first, second = expr.args
        rest = second if first == target else first if second == target else None
        if rest is not None and target not in rest.free_symbols:
            return Assignment(target, "+=", rest)
    return Assignment(target, "=", expr)


def primal_program(kernel: Kernel) -> Program:
    """The kernel itself as a program, in its original schedule."""
    return Program(
        name=kernel.name,
        arguments=tuple(kernel_arguments(kernel)),
        buffers=tuple(kernel_buffers(kernel)),
        instructions=tuple(primal_instruction(s) for s in kernel.statements),
        schedule=kernel.schedule,
        context=kernel.context,
        source=kernel.source.path,
    )
