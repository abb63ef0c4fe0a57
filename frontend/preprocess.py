"""Running the system preprocessor and mapping positions back to the source.

The kernel file goes through ``cc -E`` (so ``#include <math.h>``, ``#define``
and comments work); what pycparser then parses is the part that came from the
user's file, with the typedef names of the system headers declared up front so
that declarations using them still parse. The preprocessor collapses spaces
and expands macros, so a column pycparser reports is mapped back to the
original line by matching tokens.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass

from polyad.errors import KernelError, PolyadError, SourceLocation

_LINE_MARKER = re.compile(r'^#\s*(?:line\s+)?(\d+)\s+"((?:[^"\\]|\\.)*)"')
_TOKEN = re.compile(
    r"[A-Za-z_]\w*"
    r"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[A-Za-z]*"
    r"|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!=<>]=|\S")
_STDIN = "<stdin>"


@dataclass(frozen=True)
class Preprocessed:
    """The text pycparser parses, and the means to map its positions back."""

    text: str
    display_name: str
    source_lines: tuple[str, ...]
    expanded_lines: dict[int, str]

    def locate(self, line: int, column: int | None) -> SourceLocation:
        """The original (line, column) of a position in ``text``."""
        column = column or 1
        expanded = self.expanded_lines.get(line)
        if 1 <= line <= len(self.source_lines) and expanded is not None:
            column = _map_column(expanded, self.source_lines[line - 1], column)
        return SourceLocation(self.display_name, line, column)

    def source_line(self, line: int) -> str:
        if 1 <= line <= len(self.source_lines):
            return self.source_lines[line - 1]
        return ""


def compiler() -> list[str]:
    """The system C compiler command (``$CC`` or ``cc``), as argv."""
    return shlex.split(os.environ.get("CC", "cc"))


def preprocess(text: str, display_name: str, include_dir: str | None = None,
               defines: tuple[str, ...] = ()) -> Preprocessed:
    """Run ``cc -E`` on a kernel's text and keep what came from it.

    Errors of the preprocessor (a missing header, say) are reported with the
    preprocessor's own message, which names file, line and column.
    """
    command = compiler() + ["-E", "-x", "c", "-std=c99"]
    if include_dir:
        command += ["-I", include_dir]
    command += [f"-D{d}" for d in defines] + ["-"]
    try:
        done = subprocess.run(command, input=text, capture_output=True,
                              text=True, timeout=60)
    except FileNotFoundError:
        raise PolyadError(f"C compiler {command[0]!r} not found (set CC)") from None
    if done.returncode != 0:
        message = _first_error(done.stderr).replace(_STDIN, display_name)
        raise PolyadError(f"preprocessing failed: {message}")
    user, headers = _split_by_origin(done.stdout)
    prelude = "".join(f"typedef int {name};\n" for name in typedef_names(headers))
    expanded = {}
    for number, content in user:
        expanded[number] = content
    body = [f'#line 1 "{display_name}"\n']
    current = 1
    for number, content in user:
        if number != current:
            body.append(f'#line {number} "{display_name}"\n')
        body.append(content + "\n")
        current = number + 1
    return Preprocessed(
        text=prelude + "".join(body),
        display_name=display_name,
        source_lines=tuple(text.splitlines()),
        expanded_lines=expanded,
    )


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if "error" in line:
            return line.strip()
    return stderr.strip().splitlines()[0] if stderr.strip() else "unknown error"


def _split_by_origin(output: str) -> tuple[list[tuple[int, str]], str]:
    """Lines that came from the main file (with their line numbers), and the
    text that came from headers."""
    user: list[tuple[int, str]] = []
    headers: list[str] = []
    in_main = True
    line_number = 1
    for raw in output.splitlines():
        marker = _LINE_MARKER.match(raw)
        if marker:
            line_number = int(marker.group(1))
            in_main = marker.group(2) == _STDIN
            continue
        if in_main:
            user.append((line_number, raw))
        else:
            headers.append(raw)
        line_number += 1
    return user, "\n".join(headers)


def typedef_names(header_text: str) -> list[str]:
    """The names declared by top-level typedefs in preprocessed header text.

    >>> typedef_names("typedef unsigned long size_t; typedef struct { int a; } pair_t;"
    ...               " typedef void (*handler)(int);")
    ['size_t', 'pair_t', 'handler']
    """
    names: list[str] = []
    depth = 0
    start = 0
    for pos, char in enumerate(header_text):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == ";" and depth == 0:
            declaration = header_text[start:pos]
            start = pos + 1
            name = _typedef_name(declaration)
            if name and name not in names:
                names.append(name)
    return names


def _typedef_name(declaration: str) -> str | None:
    words = declaration.split()
    while words and words[0] in ("__extension__",):
        words = words[1:]
    if not words or words[0] != "typedef":
        return None
    pointer_to_function = re.search(r"\(\s*\*\s*(\w+)\s*\)", declaration)
    if pointer_to_function:
        return pointer_to_function.group(1)
    stripped = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", declaration, flags=re.S)
    stripped = _strip_nested(stripped, "{", "}")
    stripped = re.sub(r"\[[^\]]*\]", " ", stripped)
    stripped = re.sub(r"\([^()]*\)\s*$", " ", stripped.strip())
    identifiers = re.findall(r"[A-Za-z_]\w*", stripped)
    return identifiers[-1] if len(identifiers) >= 3 else None


def _strip_nested(text: str, opening: str, closing: str) -> str:
    result, depth = [], 0
    for char in text:
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
        elif depth == 0:
            result.append(char)
    return "".join(result)


def _map_column(expanded: str, original: str, column: int) -> int:
    """Map a 1-based column of a preprocessed line to the original line by
    finding the same occurrence of the same token there."""
    tokens = [(m.start(), m.group()) for m in _TOKEN.finditer(expanded)]
    target = None
    for index, (start, token) in enumerate(tokens):
        if start <= column - 1 < start + len(token):
            target = index
            break
    if target is None:
        return column
    token = tokens[target][1]
    occurrence = sum(1 for _, t in tokens[:target] if t == token)
    seen = 0
    for match in _TOKEN.finditer(original):
        if match.group() == token:
            if seen == occurrence:
                return match.start() + 1
            seen += 1
    return column


def located_error(pre: Preprocessed, coord, construct: str, hint: str = "",
                  verb: str = "unsupported") -> KernelError:
    """A :class:`KernelError` at a pycparser coordinate."""
    line = getattr(coord, "line", None) or 0
    column = getattr(coord, "column", None)
    return KernelError(pre.locate(line, column), construct, hint, verb=verb)
