"""The modelled region of a kernel function's body.

The region is what lies between ``#pragma scop`` and ``#pragma endscop`` in
the function body itself; without the pragmas, everything after the leading
declarations. Declarations before the region are modelled too (they declare
the locals); after it only a bare ``return;`` may follow.
"""

from __future__ import annotations

from pycparser import c_ast

from polyad.frontend.affine import describe
from polyad.frontend.preprocess import Preprocessed, located_error


def split_region(pre: Preprocessed, items: list) -> tuple[list, list]:
    """The declarations before the region and the region, from the block
    items of the function body. Raises a located KernelError for a misplaced,
    repeated or unmatched pragma, or a statement outside the region."""
    for item in items:
        for _, child in item.children():
            nested = _scop_pragma(child)
            if nested is not None:
                raise located_error(pre, nested, f"#pragma {nested.string.strip()} inside "
                                    "a block", "put #pragma scop and #pragma endscop "
                                    "around statements of the function body itself")
    marks = [i for i, item in enumerate(items) if isinstance(item, c_ast.Pragma)
             and item.string.strip() in ("scop", "endscop")]
    if not marks:
        prologue = []
        for item in items:
            if not isinstance(item, c_ast.Decl):
                break
            prologue.append(item)
        return prologue, items[len(prologue):]
    begins = [i for i in marks if items[i].string.strip() == "scop"]
    ends = [i for i in marks if items[i].string.strip() == "endscop"]
    hint = "mark one region with #pragma scop ... #pragma endscop"
    if len(begins) > 1 or len(ends) > 1:
        extra = begins[1] if len(begins) > 1 else ends[1]
        raise located_error(pre, items[extra],
                            f"second #pragma {items[extra].string.strip()}", hint)
    if not ends:
        raise located_error(pre, items[begins[0]], "#pragma scop without #pragma endscop",
                            hint)
    if not begins:
        raise located_error(pre, items[ends[0]], "#pragma endscop without #pragma scop",
                            hint)
    if ends[0] < begins[0]:
        raise located_error(pre, items[ends[0]], "#pragma endscop before #pragma scop",
                            hint)
    before, region, after = (items[:begins[0]], items[begins[0] + 1:ends[0]],
                             items[ends[0] + 1:])
    for item in before:
        if not isinstance(item, c_ast.Decl):
            raise located_error(pre, item,
                                f"statement before #pragma scop ({describe(item)})",
                                "only declarations may precede the region")
    for item in after:
        if not (isinstance(item, c_ast.Return) and item.expr is None):
            raise located_error(pre, item,
                                f"statement after #pragma endscop ({describe(item)})",
                                "put all computation inside the region")
    return before, region


def _scop_pragma(node) -> c_ast.Pragma | None:
    """The first #pragma scop or endscop in ``node``, if any."""
    if isinstance(node, c_ast.Pragma) and node.string.strip() in ("scop", "endscop"):
        return node
    for _, child in node.children():
        found = _scop_pragma(child)
        if found is not None:
            return found
    return None
