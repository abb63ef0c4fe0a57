"""Parse a kernel file: preprocess, run pycparser, pick the function, build."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from pycparser import c_ast, c_parser
from pycparser.c_parser import ParseError

from polyad.frontend.assume import option_assumption, pragma_assumptions
from polyad.frontend.builder import KernelBuilder
from polyad.frontend.injective import pragma_injective
from polyad.frontend.fixing import Fixing
from polyad.frontend.globals import used_globals, with_global_parameters
from polyad.frontend.inline import with_helpers_inlined
from polyad.frontend.pointers import with_pointers_lowered
from polyad.frontend.preprocess import located_error, node_location, preprocess
from polyad.frontend.results import with_scalar_results
from polyad.frontend.switches import with_switches_lowered
from polyad.errors import KernelError, PolyadError, SourceLocation, UsageError
from polyad.model.kernel import Kernel, KernelSource
from polyad.program.names import HEADER_MACROS, RUNTIME_FUNCTIONS

_PARSE_ERROR = re.compile(r"^(.*?):(\d+):(\d+): (.*)$")
_SIZES = re.compile(r"polyad-sizes:\s*([^\n*]*)")
_INIT = re.compile(r"polyad-init:\s*([A-Za-z_]\w*)")


class _LocatingParser(c_parser.CParser):
    """pycparser names only the file for some syntax errors ("Invalid
    expression"); report the position of the token it stopped at instead."""

    def _parse_error(self, msg, coord):
        if not hasattr(coord, "line"):
            try:
                token = self._peek()
                coord = self._tok_coord(token) if token is not None else coord
            except AttributeError:  # a pycparser without these internals
                pass
        super()._parse_error(msg, coord)


def parse_kernel(text: str, path: str | None = None, function: str | None = None,
                 assume: tuple[str, ...] = (), fix: Mapping[str, int] | None = None) -> Kernel:
    """The model of one function of a C file.

    ``text`` is the file's content; ``path`` (for messages and relative
    includes) defaults to ``<kernel>``. ``function`` picks the function; by
    default the only one, or the one holding ``#pragma scop``. ``assume``:
    conditions on the sizes the kernel may rely on, as ``--assume`` gives
    them, added to the file's ``#pragma polyad assume`` lines. ``fix``:
    values of int size parameters (``-D inc=1``), taken only where a
    product or division would not be affine otherwise (``x[i * inc]``, see
    :mod:`~polyad.frontend.fixing`).
    """
    display = path or "<kernel>"
    include_dir = os.path.dirname(os.path.abspath(path)) if path else None
    pre = preprocess(text, display, include_dir)
    try:
        ast = _LocatingParser().parse(pre.text, filename=display)
    except ParseError as error:
        raise _syntax_error(str(error), pre) from None
    except AssertionError as error:  # pycparser's lexer asserts on some input
        raise PolyadError(f"{display}: cannot parse: {error}") from None
    funcdef = _choose_function(ast, function, display)
    _refuse_reserved_names(funcdef, pre)
    assumptions = pragma_assumptions(pre, ast, funcdef) + [
        option_assumption(condition) for condition in assume]
    injective = pragma_injective(pre, ast, funcdef)
    # An inlined helper may use a global: inline before collecting them.
    funcdef = with_pointers_lowered(pre, ast, with_switches_lowered(
        pre, with_helpers_inlined(pre, ast, funcdef)))
    globals_ = used_globals(pre, ast, funcdef)
    funcdef, returned = with_scalar_results(
        pre, funcdef, frozenset(re.findall(r"[A-Za-z_]\w*", text)))
    funcdef = with_global_parameters(funcdef, globals_)
    source = KernelSource(path=display, text=text, function=funcdef.decl.name,
                          presets=size_presets(text), init_function=init_function(text),
                          returned=returned, globals=tuple(g.name for g in globals_))
    return KernelBuilder(pre, funcdef, source, _file_scope(ast), tuple(assumptions),
                         Fixing(fix), injective).build()


def with_restrict_parameters(text: str, path: str | None = None,
                             function: str | None = None) -> str:
    """The file's text with ``restrict`` on every array and pointer parameter
    of the kernel function: what polyad assumes of its arguments (no two
    alias), written out for tools that assume only what the C says (the
    Enzyme peer of the benchmark). Arguments as for :func:`parse_kernel`.

    >>> print(with_restrict_parameters("void f(int n, double x[n], double *y) {}"))
    void f(int n, double x[restrict n], double *restrict y) {}
    """
    display = path or "<kernel>"
    include_dir = os.path.dirname(os.path.abspath(path)) if path and path != "<kernel>" else None
    pre = preprocess(text, display, include_dir)
    try:
        ast = _LocatingParser().parse(pre.text, filename=display)
    except ParseError as error:
        raise _syntax_error(str(error), pre) from None
    funcdef = _choose_function(ast, function, display)
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (line, column, text to insert)
    for param in funcdef.decl.type.args.params if funcdef.decl.type.args else ():
        declarator = getattr(param, "type", None)
        if isinstance(declarator, c_ast.ArrayDecl) and "restrict" not in declarator.dim_quals:
            kind = "array"
        elif isinstance(declarator, c_ast.PtrDecl) and "restrict" not in declarator.quals:
            kind = "pointer"
        else:
            continue
        location = node_location(pre, param.coord)
        line = lines[location.line - 1] if location.line <= len(lines) else ""
        column = location.col - 1
        if kind == "pointer":  # pycparser's anchor is the '*'
            start = line.find(param.name, column)
            if start >= 0 and not line[column:start].replace("*", "").strip():
                column = start
        if line[column:column + len(param.name)] != param.name:
            raise UsageError(f"{location}: cannot write restrict on parameter {param.name} "
                             "(its declaration comes from a macro)")
        if kind == "pointer":
            edits.append((location.line, column, "restrict "))
            continue
        after = column + len(param.name)
        bracket = line.find("[", after)
        if bracket < 0 or line[after:bracket].strip():
            raise UsageError(f"{location}: cannot write restrict on parameter {param.name} "
                             "(its dimensions are not written after its name)")
        edits.append((location.line, bracket + 1, "restrict "))
    for line_number, column, insertion in sorted(edits, reverse=True):
        line = lines[line_number - 1]
        lines[line_number - 1] = line[:column] + insertion + line[column:]
    return "".join(lines)


def _refuse_reserved_names(funcdef: c_ast.FuncDef, pre) -> None:
    """The kernel's function, parameters and locals may not take a name the
    generated C needs: a library function it calls (whether or not the
    kernel calls it) or a macro of a header it includes."""
    for decl in _declarations(funcdef):
        if decl.name in RUNTIME_FUNCTIONS:
            raise located_error(pre, decl, f"name {decl.name}",
                                f"the generated C calls the C library's {decl.name}, which "
                                "this name would hide; rename it", verb="reserved")
        if decl.name in HEADER_MACROS:
            raise located_error(pre, decl, f"name {decl.name}",
                                f"{decl.name} is a macro of the C headers the generated "
                                "code includes; rename it", verb="reserved")


def _declarations(node: c_ast.Node):
    """Every declaration in a node, the node itself included."""
    if isinstance(node, c_ast.Decl) and node.name:
        yield node
    for _, child in node.children():
        yield from _declarations(child)


def _syntax_error(message: str, pre) -> KernelError:
    hint = "polyad reads C99; check the statement near here"
    match = _PARSE_ERROR.match(message)
    if not match:
        if "end of input" in message.lower():
            lines = pre.source_lines or ("",)
            number = max((i for i, line in enumerate(lines, 1) if line.strip()), default=1)
            location = SourceLocation(pre.display_name, number,
                                      len(lines[number - 1].rstrip()) + 1)
            return KernelError(location, "C syntax: unexpected end of file",
                               "a brace or a semicolon is missing", verb="invalid")
        return KernelError(None, f"C syntax ({message})", verb="invalid")
    location = pre.locate(int(match.group(2)), int(match.group(3)))
    unmodelled = _unmodelled_type(pre, location)
    if unmodelled is not None:
        return unmodelled
    detail = match.group(4).strip()
    before = re.match(r"before:?\s*(.*)$", detail)
    if before:
        detail = f"unexpected '{before.group(1)}'"
    elif detail:
        detail = detail[0].lower() + detail[1:]
    return KernelError(location, f"C syntax: {detail}", hint, verb="invalid")


#: Floating types of compilers' extensions that pycparser does not know (a
#: syntax error to it), named in the error instead.
_UNMODELLED_TYPES = re.compile(r"\b(_Float16|_Float32x?|_Float64x?|_Float128|__fp16|__bf16|"
                               r"__float128|__float80)\b")


def _unmodelled_type(pre, location: SourceLocation) -> KernelError | None:
    """The error naming an extended floating type on the line of a syntax
    error, at or before its column; None when there is none."""
    lines = pre.source_lines or ()
    if not 1 <= location.line <= len(lines):
        return None
    found = [m for m in _UNMODELLED_TYPES.finditer(lines[location.line - 1])
             if m.start() < location.col]
    if not found:
        return None
    word = found[-1]
    return KernelError(SourceLocation(location.file, location.line, word.start() + 1),
                       f"type {word.group(1)}", "polyad computes in double or float: "
                       "declare it double or float")


def _choose_function(ast: c_ast.FileAST, function: str | None, display: str) -> c_ast.FuncDef:
    functions = [node for node in ast.ext if isinstance(node, c_ast.FuncDef)]
    names = [f.decl.name for f in functions]
    if function is not None:
        for candidate in functions:
            if candidate.decl.name == function:
                return candidate
        raise UsageError(f"{display} has no function {function!r} "
                         f"(it defines {', '.join(names) or 'none'})")
    if len(functions) == 1:
        return functions[0]
    if not functions:
        raise UsageError(f"{display} defines no function")
    marked = [f for f in functions if _has_scop(f.body)]
    if len(marked) == 1:
        return marked[0]
    # Functions another one names are helpers (inlined), not kernels; of
    # the rest, a static one is a helper not used yet.
    used = {name for f in functions for name in _free_names(f)}
    for candidates in ([f for f in functions if f.decl.name not in used],
                       [f for f in functions if f.decl.name not in used
                        and "static" not in f.decl.storage]):
        if len(candidates) == 1:
            return candidates[0]
    raise UsageError(f"{display} defines {', '.join(names)}; choose the kernel with "
                     "--function NAME (or mark its region with #pragma scop)")


def _file_scope(ast: c_ast.FileAST) -> dict[str, str]:
    """Variables and enum constants the user's file declares outside any
    function (name -> what it is), for precise errors when a kernel uses one."""
    names: dict[str, str] = {}
    for node in ast.ext:
        if not isinstance(node, c_ast.Decl):
            continue
        for enum in _enums(node):
            for item in (enum.values.enumerators if enum.values else []):
                names[item.name] = "enum constant"
        if node.name and not isinstance(node.type, c_ast.FuncDecl):
            names[node.name] = "global variable"
    return names


def _enums(node):
    if isinstance(node, c_ast.Enum):
        yield node
    for _, child in node.children():
        yield from _enums(child)


def _free_names(funcdef: c_ast.FuncDef) -> set[str]:
    """The names a function's body uses that it does not declare itself."""
    def walk(node, kind):
        if isinstance(node, kind):
            yield node.name
        for _, child in node.children():
            yield from walk(child, kind)
    return set(walk(funcdef.body, c_ast.ID)) - set(walk(funcdef, c_ast.Decl))


def _has_scop(node) -> bool:
    if isinstance(node, c_ast.Pragma) and node.string.strip() == "scop":
        return True
    return any(_has_scop(child) for _, child in node.children())


def size_presets(text: str) -> dict[str, dict[str, int]]:
    """Named size sets from a ``polyad-sizes:`` comment line.

    >>> size_presets("/* polyad-sizes: small n=8 m=4; medium n=400 m=300 */")
    {'small': {'n': 8, 'm': 4}, 'medium': {'n': 400, 'm': 300}}
    """
    match = _SIZES.search(text)
    presets: dict[str, dict[str, int]] = {}
    if not match:
        return presets
    for group in match.group(1).split(";"):
        words = group.split()
        if not words:
            continue
        presets[words[0]] = {name: int(value) for name, value in
                             (w.split("=", 1) for w in words[1:] if "=" in w)}
    return presets


def init_function(text: str) -> str | None:
    """The initialisation function named by a ``polyad-init:`` comment."""
    match = _INIT.search(text)
    return match.group(1) if match else None
