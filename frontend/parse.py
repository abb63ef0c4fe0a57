"""Parse a kernel file: preprocess, run pycparser, pick the function, build."""

from __future__ import annotations

import os
import re

from pycparser import c_ast, c_parser
from pycparser.c_parser import ParseError

from frontend.builder import KernelBuilder
from frontend.preprocess import preprocess
from polyad.errors import KernelError, PolyadError, SourceLocation, UsageError
from polyad.model import Kernel, KernelSource

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


def parse_kernel(text: str, path: str | None = None, function: str | None = None) -> Kernel:
    """The model of one function of a C file.

    ``text`` is the file's content; ``path`` (for messages and relative
    includes) defaults to ``<kernel>``. ``function`` picks the function; by
    default the only one, or the one holding ``#pragma scop``.
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
    source = KernelSource(path=display, text=text, function=funcdef.decl.name,
                          presets=size_presets(text), init_function=init_function(text))
    return KernelBuilder(pre, funcdef, source).build()


def _syntax_error(message: str, pre) -> KernelError:
    match = _PARSE_ERROR.match(message)
    if not match:
        return KernelError(None, f"C syntax ({message})", verb="invalid")
    location = pre.locate(int(match.group(2)), int(match.group(3)))
    detail = match.group(4)
    detail = detail.replace("before:", "before").strip()
    return KernelError(location, f"C syntax: {detail}",
                       "polyad reads C99; check the statement near here", verb="invalid")


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
    raise UsageError(f"{display} defines {', '.join(names)}; choose the kernel with "
                     "--function NAME (or mark its region with #pragma scop)")


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
