"""File-scope arrays and scalars the kernel uses, as parameters of the model.

``double W[N][N];`` declared outside the kernel and used in it becomes a
parameter named as in the source, after the function's own: on a copy of
pycparser's tree, its declaration is appended to the function's parameter
list, so the rest of the frontend sees an ordinary parameter. The generated
functions take it as an argument; the wrapper of the original C
(:func:`polyad.codegen.compile.compile_original`) copies it into the global
before the call and out after (``KernelSource.globals`` names them).
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from polyad.frontend.declarations import classify_declaration
from polyad.frontend.preprocess import Preprocessed, located_error
from polyad.model.kernel import FLOAT_TYPES


def used_globals(pre: Preprocessed, ast: c_ast.FileAST,
                 funcdef: c_ast.FuncDef) -> list[c_ast.Decl]:
    """The file-scope variable declarations, in file order, whose name the
    kernel's body uses and neither a parameter nor a local declares. A
    ``const`` global, an int scalar (a size: pass it as a parameter or
    ``#define`` it), or a scalar the kernel assigns is refused at its use."""
    declared = {decl.name for decl in _nodes(funcdef, c_ast.Decl) if decl.name}
    used = {node.name: node for node in reversed(list(_nodes(funcdef.body, c_ast.ID)))}
    assigned = {node.lvalue.name for node in _nodes(funcdef.body, c_ast.Assignment)
                if isinstance(node.lvalue, c_ast.ID)}
    found, seen = [], set()
    for node in ast.ext:
        if isinstance(node, c_ast.FuncDef) and node.decl.name == funcdef.decl.name:
            break  # funcdef may be a rewritten copy of the node
        if not isinstance(node, c_ast.Decl) or not node.name or node.name in seen \
                or isinstance(node.type, c_ast.FuncDecl) or "typedef" in node.storage:
            continue
        name = node.name
        if name not in used or name in declared:
            continue
        seen.add(name)
        kind, dtype, _ = classify_declaration(pre, node)
        use = used[name]
        if "const" in node.quals or "extern" in node.storage:
            raise located_error(pre, use, f"use of the {'const' if 'const' in node.quals else 'extern'} "
                                f"global {name}", "pass it as a parameter, or #define "
                                "its constants")
        if kind == "scalar" and dtype not in FLOAT_TYPES:
            raise located_error(pre, use, f"use of the global {dtype} {name}",
                                "pass sizes as int parameters of the kernel and "
                                "constants as #define")
        if kind == "scalar" and name in assigned:
            raise located_error(pre, use, f"assignment to the global scalar {name}",
                                "write results to arrays (or a double *out parameter)")
        found.append(node)
    return found


def with_global_parameters(funcdef: c_ast.FuncDef, globals_: list[c_ast.Decl]) -> c_ast.FuncDef:
    """A copy of ``funcdef`` whose parameter list ends with the declarations
    ``globals_`` (``funcdef`` itself when there are none)."""
    if not globals_:
        return funcdef
    funcdef = copy.copy(funcdef)
    decl = copy.copy(funcdef.decl)
    function = copy.copy(decl.type)
    params = list(function.args.params) if function.args is not None else []
    params = [p for p in params if not isinstance(p, c_ast.Typename)]  # f(void)
    parameters = []
    for node in globals_:
        parameter = copy.deepcopy(node)
        parameter.storage, parameter.init = [], None
        parameters.append(parameter)
    function.args = c_ast.ParamList(params + parameters,
                                    coord=function.args.coord if function.args else decl.coord)
    decl.type = function
    funcdef.decl = decl
    return funcdef


def _nodes(node, kind):
    if isinstance(node, kind):
        yield node
    for _, child in node.children():
        yield from _nodes(child, kind)
