"""C declarations of a program's function and buffers: sizes as C
expressions (isl's printer), array declarators, the prototype."""

from __future__ import annotations

import islpy as isl

from polyad.codegen.prelude import renamed_helper_calls
from polyad.program.ir import Buffer, Program


def pw_aff_text(pa: isl.PwAff, context: isl.Set,
                helpers: dict[str, str] | None = None) -> str:
    """C text of a piecewise affine expression in the size parameters;
    ``helpers`` renames the min/max/floord macros isl's printer calls."""
    build = isl.AstBuild.from_context(context)
    text = build.expr_from_pw_aff(pa.gist_params(context)).to_C_str()
    return renamed_helper_calls(text, helpers) if helpers else text


def buffer_declarator(buffer: Buffer, context: isl.Set, *, parameter: bool,
                      helpers: dict[str, str] | None = None) -> str:
    """``double A[restrict n][m]`` (a parameter) or the pointer-to-VLA form of
    a heap local, ``double (*A)[m]``."""
    extents = [pw_aff_text(e, context, helpers) for e in buffer.extents]
    if not extents:
        return f"{buffer.dtype} *restrict {buffer.name}" if buffer.by_pointer \
            else f"{buffer.dtype} {buffer.name}"
    if parameter:
        dims = f"[restrict {extents[0]}]" + "".join(f"[{e}]" for e in extents[1:])
        return f"{buffer.dtype} {buffer.name}{dims}"
    inner = "".join(f"[{e}]" for e in extents[1:])
    return f"{buffer.dtype} (*restrict {buffer.name}){inner}" if inner \
        else f"{buffer.dtype} *restrict {buffer.name}"


def byte_size_text(buffer: Buffer, context: isl.Set,
                   helpers: dict[str, str] | None = None) -> str:
    extents = "".join(f"[{pw_aff_text(e, context, helpers)}]" for e in buffer.extents)
    return f"sizeof({buffer.dtype}{extents})"


#: What a generated function returns: it ran, or it refused sizes outside
#: the kernel's context (its assumptions, positive extents) and touched
#: nothing, or it refused an index array holding a value outside an array it
#: subscripts (a gather, ``x[col[k]]``) and touched nothing, or it refused
#: an index array stated injective (``#pragma polyad injective(perm)``, a
#: scatter ``y[perm[i]] = e`` writes through it) holding a value twice and
#: touched nothing.
STATUS_RAN, STATUS_OUTSIDE, STATUS_INDEX, STATUS_INJECTIVE = 0, 1, 2, 3


def entry_condition(context: isl.Set, helpers: dict[str, str] | None = None) -> str | None:
    """The C condition on the sizes that holds exactly in ``context`` (a
    parameter set), or None when it holds everywhere.

    >>> entry_condition(isl.Set("[n] -> { : n % 5 = 0 and n >= 2 }"))
    'n >= 2 && n % 5 == 0'
    """
    context = context.coalesce()
    if context.is_equal(isl.Set.universe(context.get_space())):
        return None
    build = isl.AstBuild.from_context(isl.Set.universe(context.get_space()))
    text = build.expr_from_set(context).to_C_str()
    return renamed_helper_calls(text, helpers) if helpers else text


def signature(program: Program, helpers: dict[str, str] | None = None) -> str:
    """The C prototype of the program's function, which returns its status
    (``STATUS_RAN`` or ``STATUS_OUTSIDE``)."""
    params = []
    for argument in program.arguments:
        if argument.kind == "size":
            params.append(f"int {argument.name}")
        else:
            params.append(buffer_declarator(program.buffer(argument.name),
                                            program.context, parameter=True,
                                            helpers=helpers))
    return f"int {program.name}({', '.join(params) or 'void'})"
