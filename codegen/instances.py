"""The C statements of one instruction instance, at one place of the AST.

The emitter walks isl's AST; at each user node it holds the C text of every
reference and iterator (:class:`InstanceTexts`, built when isl generated the
node) and asks :func:`instance_lines` for the statements: popped tape values
first, then one line per assignment of the instruction's body. What the
emitter decided around the node (register accumulators, atomic buffers, the
counters of sequential buffers, trace instrumentation) reaches it through
:class:`InstanceScope`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import islpy as isl
import sympy

from polyad.codegen.astexpr import AstExprPrinter
from polyad.codegen.cexpr import CExpressionPrinter, negated
from polyad.model.expr import value_type
from polyad.program.ir import Buffer, Instruction, Reference


@dataclass(frozen=True)
class InstanceTexts:
    """C text of each reference and iterator at one place in the AST."""

    instruction: str
    references: dict
    iterators: dict


class InstanceScope(Protocol):
    """What :func:`instance_lines` reads of the emitter around a node."""

    buffers: dict[str, Buffer]
    accumulators: dict[str, str]
    counters: dict[str, tuple[str, ...]]
    atomic: frozenset[str]
    trace: bool
    printer: AstExprPrinter
    block_local: Callable[[str], str]
    #: C name of each math function called in its vector version here
    math_names: dict[str, str]

    def reference_text(self, buffer: Buffer, expr) -> str: ...

    def traced(self, kind: str, buffer: str, index: str) -> str: ...


def instance_lines(scope: InstanceScope, instruction: Instruction,
                   texts: InstanceTexts) -> list[str]:
    """The C statements of one instance of ``instruction`` (one line each).

    Precondition: ``texts`` was built for this instruction at this node, and
    every sequential buffer the instruction pushes or pops has its counters
    in ``scope.counters``."""
    names: dict[sympy.Symbol, str] = {}
    # The C type of each symbol's value, for the types of locals and of
    # the constants the printer makes up.
    types: dict[sympy.Symbol, str] = {
        symbol: _value_dtype(scope.buffers[reference.buffer].dtype)
        for symbol, reference in instruction.references.items()}
    for symbol, expr in texts.references.items():
        buffer = scope.buffers[instruction.references[symbol].buffer]
        text = scope.reference_text(buffer, expr)
        names[symbol] = scope.accumulators.get(text, text)
    iterators = {name: scope.printer.text(expr) for name, expr in texts.iterators.items()}
    lines = []
    for symbol, reference in instruction.references.items():
        if reference.relation is None and not reference.push:
            local = scope.block_local(f"_pop{len(lines)}")
            index = _popped(scope.buffers[reference.buffer], scope.counters[reference.buffer])
            if scope.trace:
                at = scope.block_local(f"_pop{len(lines)}_at")
                lines.append(f"const long {at} = {index};")
                lines.append(scope.traced("r", reference.buffer, at))
                index = at
            lines.append(f"const {scope.buffers[reference.buffer].dtype} {local} = "
                         f"{reference.buffer}[{index}];")
            names[symbol] = local

    def name_of(symbol: sympy.Symbol) -> str:
        if symbol in names:
            return names[symbol]
        if symbol.name in iterators:
            text = iterators[symbol.name]
            return text if text.isidentifier() else f"({text})"
        return symbol.name

    def type_of(symbol: sympy.Symbol) -> str:
        if symbol in types:
            return types[symbol]
        return "int" if symbol.is_integer else "double"

    printer = CExpressionPrinter(name_of, scope.math_names, type_of)
    declared: set[sympy.Symbol] = set()
    locals_ = {a.target for a in instruction.body
               if a.target not in instruction.references}
    for assignment in instruction.body:
        op, value = assignment.op, assignment.value
        if scope.trace:
            for symbol, reference in instruction.references.items():
                if symbol in value.free_symbols and symbol not in locals_ \
                        and reference.relation is not None:
                    lines.append(scope.traced("r", reference.buffer,
                                              _offset(scope, names[symbol], reference)))
        if op == "+=" and negated(value) is not None:
            op, value = "-=", negated(value)
        dtype = "float" if value_type(value, type_of) == "float" else "double"
        value = printer.print(value)
        target = assignment.target
        reference = instruction.references.get(target)
        if reference is not None and reference.push:
            index = _pushed(scope.buffers[reference.buffer], scope.counters[reference.buffer])
            if scope.trace:
                pushed = scope.block_local(f"_push{len(lines)}")
                lines.append(f"const long {pushed} = {index};")
                index = pushed
                lines.append(scope.traced("w", reference.buffer, index))
            lines.append(f"{reference.buffer}[{index}] = {value};")
        elif reference is not None:
            if scope.trace:
                lines.append(scope.traced("u" if assignment.op == "+=" else "w",
                                          reference.buffer,
                                          _offset(scope, name_of(target), reference)))
            if op != "=" and reference.buffer in scope.atomic:
                lines.append("#pragma omp atomic")
            lines.append(f"{name_of(target)} {op} {value};")
        elif target in declared:
            lines.append(f"{_local_name(target)} {op} {value};")
        else:
            declared.add(target)
            names[target] = _local_name(target)
            types[target] = dtype
            lines.append(f"{dtype} {_local_name(target)} = {value};")
    return lines


def instances_under(node: isl.AstNode) -> list[InstanceTexts]:
    """The texts of the statement instances under a node (each user node's
    annotation carries them)."""
    kind = node.get_type()
    if kind == isl.ast_node_type.user:
        return [node.get_annotation().get_user()]
    if kind == isl.ast_node_type.block:
        children = node.block_get_children()
        return [i for k in range(children.n_ast_node())
                for i in instances_under(children.get_at(k))]
    if kind == isl.ast_node_type.for_:
        return instances_under(node.for_get_body())
    if kind == isl.ast_node_type.if_:
        found = instances_under(node.if_get_then_node())
        return found + (instances_under(node.if_get_else_node())
                        if node.if_has_else_node() else [])
    if kind == isl.ast_node_type.mark:
        return instances_under(node.mark_get_node())
    return []


def comment_text(text: str) -> str:
    """``text`` made safe inside a C block comment: no ``*/`` to end it early,
    no ``/*`` for -Wcomment to warn about (source lines may hold comments)."""
    return text.replace("*/", "* /").replace("/*", "/ *")


def _offset(scope: InstanceScope, text: str, reference: Reference) -> str:
    """The element index of a reference, as C (for traces)."""
    buffer = scope.buffers[reference.buffer]
    if not buffer.extents:
        return "0"
    return f"(long)(({buffer.dtype} *)&{text} - ({buffer.dtype} *){buffer.name})" \
        if buffer.dtype in ("double", "float") \
        else f"(long)(&{text} - ({buffer.dtype} *){buffer.name})"


def _value_dtype(dtype: str) -> str:
    """The C type of a value read from a buffer of element type ``dtype``
    (integers and recorded outcomes are ints in arithmetic)."""
    return dtype if dtype in ("float", "double") else "int"


def _pushed(buffer: Buffer, counters: tuple[str, ...]) -> str:
    """The index expression of the next write to a sequential buffer, whose
    counters are ``(top,)`` or, for a FIFO, ``(written, read)``."""
    if buffer.sequence == "fifo":
        return f"{counters[0]}++"
    return f"--{counters[0]}" if buffer.sequence == "stream" else f"{counters[0]}++"


def _popped(buffer: Buffer, counters: tuple[str, ...]) -> str:
    """The index expression of the next read of a sequential buffer."""
    if buffer.sequence == "fifo":
        return f"{counters[1]}++"
    return f"{counters[0]}++" if buffer.sequence == "stream" else f"--{counters[0]}"


def _local_name(symbol: sympy.Symbol) -> str:
    name = symbol.name
    if name.isidentifier():
        return name
    return "_" + "".join(c if c.isalnum() else "_" for c in name)
