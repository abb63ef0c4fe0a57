"""Scalar results the way users write a loss: through a pointer or returned.

Both are rewritten, on a copy of pycparser's tree, into what the model
already has, a one-element array (``double out[1]``, docs/kernel-language.md;
``float`` in place of ``double`` throughout for a float result):

- a ``double *out`` parameter used only as ``*out`` or ``out[0]`` becomes
  ``double out[1]`` and every ``*out`` becomes ``out[0]``;
- ``return e;`` as the last statement of a function returning double
  becomes ``result[0] = e;`` with ``double result[1]`` a new last parameter
  (named from the name supply: ``result`` unless the file uses that name).

The builder then models them like any array, so a pointer used otherwise
(``y[i]``, ``p + 1``) and a ``return`` anywhere else stay refused there, at
their place in the source.
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from polyad.frontend.preprocess import Preprocessed, located_error
from polyad.program.names import NameSupply

#: The stem of the output array that holds a returned value.
RESULT_STEM = "result"


def with_scalar_results(pre: Preprocessed, funcdef: c_ast.FuncDef,
                        taken: frozenset[str]) -> tuple[c_ast.FuncDef, str | None]:
    """A copy of ``funcdef`` with one-element pointer parameters as arrays
    and a final ``return e;`` as an assignment to a new output parameter,
    and that parameter's name (None for a void function). ``taken`` holds
    every identifier of the file. Raises a located KernelError for a result
    type other than void or double, or a double function that does not end
    in ``return e;``."""
    funcdef = copy.deepcopy(funcdef)
    params = _parameters(funcdef)
    for index, param in enumerate(params):
        if _one_element_pointer(param, funcdef.body):
            params[index] = _as_one_element_array(param)
            funcdef.body = _rewritten(funcdef.body, _dereference_rewriter(param.name))
            _set_parameters(funcdef, params)
    returned = _returned_type(pre, funcdef)
    if returned is None:
        return funcdef, None
    items = list(funcdef.body.block_items or [])
    # The final return may precede #pragma endscop or follow it.
    statements = [i for i, item in enumerate(items) if not isinstance(item, c_ast.Pragma)]
    last = items[statements[-1]] if statements else None
    if not (isinstance(last, c_ast.Return) and last.expr is not None):
        raise located_error(pre, last if last is not None else funcdef.decl,
                            f"function {funcdef.decl.name} returning {returned} without a "
                            "final return", "end the function with return e; (a kernel "
                            "returns its result from its last statement only)")
    name = NameSupply.of(taken).fresh(RESULT_STEM)
    target = c_ast.ArrayRef(c_ast.ID(name, coord=last.coord),
                            c_ast.Constant("int", "0", coord=last.coord), coord=last.coord)
    assignment = c_ast.Assignment("=", target, last.expr, coord=last.coord)
    del items[statements[-1]]
    # With #pragma endscop before the return, the assignment joins the region.
    ends = [i for i, item in enumerate(items) if isinstance(item, c_ast.Pragma)
            and item.string.strip() == "endscop"]
    at = min(ends[-1] if ends else len(items), statements[-1])
    funcdef.body.block_items = items[:at] + [assignment] + items[at:]
    params.append(_one_element_array(name, returned, last.coord))
    _set_parameters(funcdef, params)
    return funcdef, name


def _parameters(funcdef: c_ast.FuncDef) -> list:
    args = funcdef.decl.type.args
    params = list(args.params) if args is not None else []
    return [p for p in params if not isinstance(p, c_ast.Typename)]  # f(void)


def _set_parameters(funcdef: c_ast.FuncDef, params: list) -> None:
    decl = funcdef.decl.type
    decl.args = c_ast.ParamList(params, coord=decl.args.coord if decl.args else decl.coord)


def _returned_type(pre: Preprocessed, funcdef: c_ast.FuncDef) -> str | None:
    """"double" or "float" for a function returning that, None for void."""
    node = funcdef.decl.type.type
    names = []
    if isinstance(node, c_ast.TypeDecl) and isinstance(node.type, c_ast.IdentifierType):
        names = [n for n in node.type.names if n != "const"]
    if names == ["void"]:
        return None
    if names in (["double"], ["float"]):
        return names[0]
    what = " ".join(names) if names else "a pointer or structure"
    raise located_error(pre, funcdef.decl, f"function {funcdef.decl.name} returning {what}",
                        "a kernel returns void, or a double (or float) computed by its "
                        "last statement, return e;")


def _one_element_pointer(param, body: c_ast.Node) -> bool:
    """Whether ``param`` is a ``double *`` (or ``float *``) every use of which in ``body`` is
    ``*p`` or ``p[0]`` (and there is at least one)."""
    declarator = getattr(param, "type", None)
    if not (isinstance(declarator, c_ast.PtrDecl)
            and isinstance(declarator.type, c_ast.TypeDecl)
            and isinstance(declarator.type.type, c_ast.IdentifierType)
            and [n for n in declarator.type.type.names if n != "const"] in (["double"],
                                                                             ["float"])):
        return False
    uses = list(_uses(body, param.name, None))
    return bool(uses) and all(_is_element(parent, param.name) for parent in uses)


def _uses(node: c_ast.Node, name: str, parent):
    """The parent of every ``ID(name)`` under ``node``."""
    if isinstance(node, c_ast.ID) and node.name == name:
        yield parent
    for _, child in node.children():
        yield from _uses(child, name, node)


def _is_element(parent, name: str) -> bool:
    if isinstance(parent, c_ast.UnaryOp):
        return parent.op == "*"
    return (isinstance(parent, c_ast.ArrayRef) and isinstance(parent.name, c_ast.ID)
            and parent.name.name == name and isinstance(parent.subscript, c_ast.Constant)
            and parent.subscript.type == "int" and parent.subscript.value == "0")


def _dereference_rewriter(name: str):
    def rewrite(node):
        if (isinstance(node, c_ast.UnaryOp) and node.op == "*"
                and isinstance(node.expr, c_ast.ID) and node.expr.name == name):
            return c_ast.ArrayRef(node.expr, c_ast.Constant("int", "0", coord=node.coord),
                                  coord=node.coord)
        return node
    return rewrite


def _rewritten(node: c_ast.Node, rewrite) -> c_ast.Node:
    """``node`` with ``rewrite`` applied bottom up to every node (in place:
    the caller owns the copy)."""
    for slot in node.__slots__:
        if slot in ("coord", "__weakref__"):
            continue
        value = getattr(node, slot, None)
        if isinstance(value, c_ast.Node):
            setattr(node, slot, _rewritten(value, rewrite))
        elif isinstance(value, list):
            setattr(node, slot, [_rewritten(v, rewrite) if isinstance(v, c_ast.Node) else v
                                 for v in value])
    return rewrite(node)


def _as_one_element_array(param: c_ast.Decl) -> c_ast.Decl:
    element = param.type.type
    array = c_ast.ArrayDecl(element, c_ast.Constant("int", "1", coord=param.coord), [],
                            coord=param.type.coord)
    return c_ast.Decl(param.name, param.quals, param.align, param.storage, param.funcspec,
                      array, param.init, param.bitsize, coord=param.coord)


def _one_element_array(name: str, dtype: str, coord) -> c_ast.Decl:
    element = c_ast.TypeDecl(name, [], None, c_ast.IdentifierType([dtype], coord=coord),
                             coord=coord)
    array = c_ast.ArrayDecl(element, c_ast.Constant("int", "1", coord=coord), [], coord=coord)
    return c_ast.Decl(name, [], [], [], [], array, None, None, coord=coord)
