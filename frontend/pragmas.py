"""polyad's pragmas in a kernel file: ``#pragma polyad assume COND``
(:mod:`~polyad.frontend.assume`) and ``#pragma polyad injective(idx, ...)``
(:mod:`~polyad.frontend.injective`), at file scope before the kernel or
anywhere inside it. Another ``#pragma polyad`` verb is refused at its place.
"""

from __future__ import annotations

from pycparser import c_ast

from polyad.frontend.preprocess import Preprocessed, located_error

#: the verbs of ``#pragma polyad``
VERBS = ("assume", "injective")


def polyad_pragmas(pre: Preprocessed, ast: c_ast.FileAST, funcdef: c_ast.FuncDef,
                   verb: str) -> list[c_ast.Pragma]:
    """The ``#pragma polyad VERB`` nodes at file scope before ``funcdef``
    and anywhere inside it, in source order; a located KernelError for a
    ``#pragma polyad`` with a verb not in :data:`VERBS`."""
    pragmas = []
    for node in ast.ext:
        if node is funcdef:
            break
        if isinstance(node, c_ast.Pragma):
            pragmas.append(node)
    pragmas.extend(_pragmas_in(funcdef.body))
    found = []
    for pragma in pragmas:
        words = pragma.string.replace("(", " (").split()
        if not words or words[0] != "polyad":
            continue
        said = words[1] if len(words) > 1 else ""
        if said not in VERBS:
            raise located_error(pre, pragma, f"#pragma polyad {said}".rstrip(),
                                "polyad's pragmas are #pragma polyad assume CONDITION "
                                "(a condition on the int size parameters) and #pragma "
                                "polyad injective(idx) (an index array whose values are "
                                "pairwise distinct)", verb="unknown")
        if said == verb:
            found.append(pragma)
    return found


def _pragmas_in(node):
    if isinstance(node, c_ast.Pragma):
        yield node
    for _, child in node.children():
        yield from _pragmas_in(child)
