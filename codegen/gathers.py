"""References at an AST node as C text: isl's access expressions for affine
references, and gathers through index arrays (``x[col[k]]``), whose
gathered subscripts are the index array's element as written."""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl

from polyad.codegen.astexpr import AstExprPrinter
from polyad.codegen.declarations import STATUS_INDEX, STATUS_INJECTIVE, pw_aff_text
from polyad.program.ir import Program, Reference


def access_expr(reference: Reference, iterator_map: isl.PwMultiAff,
                build: isl.AstBuild) -> isl.AstExpr:
    """isl's access expression of an affine reference at an AST node
    (``iterator_map``: the node's iterators to the instruction's)."""
    relation = reference.relation.set_tuple_name(isl.dim_type.out, reference.buffer)
    index = isl.PwMultiAff.from_map(relation).pullback_pw_multi_aff(iterator_map)
    return build.access_from_pw_multi_aff(index)


@dataclass(frozen=True)
class Gathered:
    """A gather at an AST node: its buffer and one isl expression per
    subscript (the index array's element where it is gathered), printed
    once the loops around the node are known (a loop printed counting down
    renames its iterator)."""

    buffer: str
    subscripts: tuple[isl.AstExpr, ...]

    def text(self, printer: AstExprPrinter) -> str:
        """``x[col[k]]``."""
        return self.buffer + "".join(f"[{printer.text(e)}]" for e in self.subscripts)


def gathered(reference: Reference, iterator_map: isl.PwMultiAff,
             build: isl.AstBuild) -> Gathered:
    """A gather reference at an AST node: each gathered subscript the index
    array's element, each other one isl's affine expression (the relation is
    exact in those dimensions)."""
    relation = reference.relation
    rank = relation.dim(isl.dim_type.out)
    subscripts = []
    for dim, index in enumerate(reference.gather):
        if index is not None:
            subscripts.append(access_expr(index, iterator_map, build))
            continue
        alone = relation.project_out(isl.dim_type.out, dim + 1, rank - dim - 1) \
            .project_out(isl.dim_type.out, 0, dim)
        value = isl.PwMultiAff.from_map(alone).get_pw_aff(0)
        subscripts.append(build.expr_from_pw_aff(value.pullback_pw_multi_aff(iterator_map)))
    return Gathered(reference.buffer, tuple(subscripts))


def index_bounds(program: Program) -> list[tuple[str, str, isl.PwAff]]:
    """(index buffer, gathered buffer, extent) for each extent a gather of
    ``program`` subscripts through an index argument, once each (a local
    index, an argmax's k, has values the frontend proved inside)."""
    found: list[tuple[str, str, isl.PwAff]] = []
    seen: set[tuple[str, str]] = set()
    for instruction in program.instructions:
        for reference in instruction.references.values():
            for dim, index in enumerate(reference.gather or ()):
                if index is None or program.buffer(index.buffer).kind != "argument":
                    continue
                extent = program.buffer(reference.buffer).extents[dim]
                # An adjoint x_b has x's extents: one check covers both.
                if (index.buffer, extent.to_str()) not in seen:
                    seen.add((index.buffer, extent.to_str()))
                    found.append((index.buffer, reference.buffer, extent))
    return found


def distinct_indices(program: Program) -> list[tuple[str, isl.PwAff]]:
    """(index buffer, extent) for each index argument stated injective
    (``Buffer.distinct``: a scatter ``y[perm[i]] = e`` writes through it),
    with an extent it subscripts, which the bounds check keeps its values
    below."""
    extents: dict[str, isl.PwAff] = {}
    for index, _, extent in index_bounds(program):
        if program.buffer(index).distinct:
            extents.setdefault(index, extent)
    return list(extents.items())


def index_check_lines(program: Program, fresh, helpers: dict[str, str] | None = None
                      ) -> list[tuple[int, str]]:
    """(depth, C line) of the entry check that every element of each index
    buffer is inside the extent it subscripts, returning ``STATUS_INDEX``
    otherwise, and that an index buffer a scatter writes through holds no
    value twice, returning ``STATUS_INJECTIVE`` otherwise, before anything
    is touched (the gathers read through it unchecked). ``fresh`` gives free
    names for the counters and the mark buffer."""
    lines: list[tuple[int, str]] = []
    for index, gathered_buffer, extent in index_bounds(program):
        count, element, q = _elements(program, index, fresh, helpers)
        bound = pw_aff_text(extent, program.context, helpers)
        lines += [(0, f"for (long {q} = 0; {q} < {count}; {q}++)"),
                  (1, f"if ({element} < 0 || {element} >= {bound})"),
                  (2, f"return {STATUS_INDEX};  /* an index in {index} outside "
                      f"{gathered_buffer} */")]
    for index, extent in distinct_indices(program):
        # One mark per element of the written extent, O(extent + elements);
        # the bounds check above keeps every mark inside. Without memory for
        # the marks the check is skipped: the model does not rely on it
        # (a scatter is a may-write), only the user's statement is unchecked.
        count, element, q = _elements(program, index, fresh, helpers)
        bound = pw_aff_text(extent, program.context, helpers)
        marks = fresh("_marks")
        lines += [(0, f"{{  /* #pragma polyad injective({index}): no value twice */"),
                  (1, f"unsigned char *{marks} = calloc((long)({bound}) + 1, 1);"),
                  (1, f"for (long {q} = 0; {marks} && {q} < {count}; {q}++) {{"),
                  (2, f"if ({marks}[{element}]) {{"),
                  (3, f"free({marks});"),
                  (3, f"return {STATUS_INJECTIVE};  /* a value twice in {index} */"),
                  (2, "}"),
                  (2, f"{marks}[{element}] = 1;"),
                  (1, "}"),
                  (1, f"free({marks});"),
                  (0, "}")]
    return lines


def _elements(program: Program, index: str, fresh, helpers) -> tuple[str, str, str]:
    """The element count of index buffer ``index`` as C, its element at a
    fresh flat counter, and that counter."""
    buffer = program.buffer(index)
    count = " * ".join(f"(long)({pw_aff_text(e, program.context, helpers)})"
                       for e in buffer.extents)
    q = fresh("_q")
    return count, f"((const {buffer.dtype} *){index})[{q}]", q
