"""Running the system preprocessor and mapping positions back to the source.

The kernel file goes through ``cc -E`` (so ``#include <math.h>``, ``#define``
and comments work); what pycparser then parses is the part that came from the
user's file, with the typedef names of the system headers declared up front so
that declarations using them still parse. The preprocessor collapses spaces
and expands macros, so a column pycparser reports is mapped back to the
original line by matching tokens.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field

from pycparser import c_ast

from polyad.errors import KernelError, PolyadError, SourceLocation

_LINE_MARKER = re.compile(r'^#\s*(?:line\s+)?(\d+)\s+"((?:[^"\\]|\\.)*)"')
_TOKEN = re.compile(
    r"[A-Za-z_]\w*"
    r"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[A-Za-z]*"
    r"|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!=<>]=|\S")
_STDIN = "<stdin>"
#: GNU C spellings that system-header macros (assert, ...) put into the
#: user's code, mapped to C99 that pycparser reads. Preprocessing only.
_GNU_SPELLINGS = ("__extension__=", "__attribute__(x)=", "__asm__(x)=", "__asm(x)=",
                  "__inline=inline", "__inline__=inline", "__restrict=restrict",
                  "__restrict__=restrict", "__const=const", "__volatile__=volatile",
                  "__signed__=signed", "__PRETTY_FUNCTION__=__func__",
                  "__FUNCTION__=__func__")
#: Words that may precede a declaration's type specifier.
QUALIFIERS = frozenset({"const", "volatile", "restrict", "__restrict", "__restrict__",
                        "static", "extern", "register", "auto", "inline", "_Thread_local"})


#: A statement's text is looked for over at most this many source lines.
MAX_STATEMENT_LINES = 20


@dataclass(frozen=True)
class Preprocessed:
    """The text pycparser parses, and the means to map its positions back."""

    text: str
    display_name: str
    source_lines: tuple[str, ...]
    expanded_lines: dict[int, str]
    #: the source lines with comments blanked out, for matching tokens
    code_lines: tuple[str, ...] = field(default=())

    def locate(self, line: int, column: int | None) -> SourceLocation:
        """The original (line, column) of a position in ``text``."""
        column = column or 1
        expanded = self.expanded_lines.get(line)
        if 1 <= line <= len(self.source_lines) and expanded is not None:
            column = _map_column(expanded, self.code_line(line), column)
        return SourceLocation(self.display_name, line, column)

    def code_line(self, line: int) -> str:
        """Source line ``line`` with its comments replaced by spaces."""
        lines = self.code_lines or self.source_lines
        return lines[line - 1] if 1 <= line <= len(lines) else ""

    def preceding(self, location: SourceLocation, words) -> SourceLocation:
        """The location of the words of ``words`` written just before
        ``location`` on its line (skipping blanks and opening parentheses
        between them), or ``location`` itself when none is there.

        Used for the operators of prefix expressions (``-x``, ``*(p + i)``),
        whose pycparser position is that of their operand, and for the
        qualifiers in front of a declaration's type.
        """
        text = self.code_line(location.line)
        start = location.col - 1
        result = location
        while True:
            pos = start
            while pos > 0 and text[pos - 1] in " \t(":
                pos -= 1
            for word in sorted(words, key=len, reverse=True):
                begin = pos - len(word)
                if begin >= 0 and text[begin:pos] == word and not (
                        word[0].isalpha() and begin > 0
                        and (text[begin - 1].isalnum() or text[begin - 1] == "_")):
                    result = SourceLocation(location.file, location.line, begin + 1)
                    start = begin
                    break
            else:
                return result
            if not any(w[0].isalpha() for w in words):
                return result  # one operator, not a run of words

    def source_line(self, line: int) -> str:
        if 1 <= line <= len(self.source_lines):
            return self.source_lines[line - 1]
        return ""

    def statement_text(self, line: int, column: int) -> str:
        """The source of the statement starting at ``line``, ``column`` (from
        1), continued lines joined by one space, up to its ``;`` outside
        parentheses (the whole line when no ``;`` follows within a few lines).

        Precondition: the position is in the user's source (see locate)."""
        first = self.source_line(line)
        if re.fullmatch(r"\s*[A-Za-z_][\w\s*]*", first[:column - 1]):
            column = 1  # a declaration's initialisation: keep its type words
        parts, depth = [], 0
        for number in range(line, min(line + MAX_STATEMENT_LINES, len(self.source_lines)) + 1):
            text = self.source_line(number)
            text = (text[column - 1:] if number == line else text).strip()
            for position, char in enumerate(text):
                depth += {"(": 1, ")": -1}.get(char, 0)
                if char == ";" and depth <= 0:
                    return " ".join(parts + [text[:position + 1]])
            parts.append(text)
        return self.source_line(line).strip()


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
    command += [f"-D{d}" for d in _GNU_SPELLINGS + tuple(defines)] + ["-"]
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
        code_lines=tuple(without_comments(text).splitlines()),
    )


def without_comments(text: str) -> str:
    """C text with every comment replaced by spaces (newlines kept), so that
    columns stay where they were.

    >>> without_comments('a = 1; /* b\\nc */ d = "/*"; // e')
    'a = 1;     \\n     d = "/*";     '
    """
    out: list[str] = []
    i, n = 0, len(text)
    quote = None
    while i < n:
        char = text[i]
        if quote:
            out.append(char)
            if char == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if char == quote or char == "\n":
                quote = None
            i += 1
            continue
        if char in "\"'":
            quote = char
            out.append(char)
            i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
            continue
        out.append(char)
        i += 1
    return "".join(out)


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
    """Map a 1-based column of a preprocessed line to the original line.

    The token sequences of both lines are aligned (a diff): a token of the
    expanded line that is also in the original maps to its place there; a
    token a macro produced maps to the start of the macro's use.

    >>> _map_column("A[n - 1] = ((A[i]) + (A[i])) + A[i*m];",
    ...             "A[N - 1] = TWICE(A[i]) + A[i*m];", 34)
    28
    """
    tokens = [(m.start(), m.group()) for m in _TOKEN.finditer(expanded)]
    target = None
    for index, (start, token) in enumerate(tokens):
        if column - 1 < start + len(token):
            target = index
            break
    if target is None:
        return column
    originals = [(m.start(), m.group()) for m in _TOKEN.finditer(original)]
    if not originals:
        return column
    matcher = difflib.SequenceMatcher(None, [t for _, t in tokens],
                                      [t for _, t in originals], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if not i1 <= target < i2:
            continue
        if tag == "equal":
            return originals[j1 + target - i1][0] + 1
        if j1 < j2:  # replaced: the macro use that produced these tokens
            return originals[j1][0] + 1
        # tokens without counterpart (more of a macro's expansion): the
        # original token before them is the macro's name or its argument list
        return originals[max(j1 - 1, 0)][0] + 1
    return column


def located_error(pre: Preprocessed, where, construct: str, hint: str = "",
                  verb: str = "unsupported") -> KernelError:
    """A :class:`KernelError` at a pycparser node (its first character in
    the original text) or coordinate."""
    return KernelError(node_location(pre, where), construct, hint, verb=verb)


def node_location(pre: Preprocessed, where) -> SourceLocation:
    """Where a pycparser node starts in the original text: the first
    character of the construct, not pycparser's anchor token (which is the
    declared name for a declaration and the operand for ``-x`` or ``*p``)."""
    if not isinstance(where, c_ast.Node):
        line = getattr(where, "line", None) or 0
        return pre.locate(line, getattr(where, "column", None))
    node = where
    if isinstance(node, c_ast.Pragma) and node.coord is not None:
        location = node_location(pre, node.coord)
        hash_sign = pre.code_line(location.line).find("#")
        if hash_sign >= 0:
            return SourceLocation(location.file, location.line, hash_sign + 1)
        return location
    if isinstance(node, (c_ast.Decl, c_ast.Typename)):
        specifier = node.type
        while specifier is not None and not isinstance(
                specifier, (c_ast.IdentifierType, c_ast.Struct, c_ast.Union, c_ast.Enum)):
            specifier = getattr(specifier, "type", None)
        if specifier is not None and getattr(specifier, "coord", None) is not None:
            location = node_location(pre, specifier.coord)
            return pre.preceding(location, QUALIFIERS | {"struct", "union", "enum"})
    if isinstance(node, c_ast.BinaryOp):
        return node_location(pre, node.left)
    if isinstance(node, c_ast.Assignment):
        return node_location(pre, node.lvalue)
    if isinstance(node, c_ast.ArrayRef):
        return node_location(pre, node.name)
    if isinstance(node, c_ast.FuncCall):
        return node_location(pre, node.name)
    if isinstance(node, c_ast.TernaryOp):
        return node_location(pre, node.cond)
    if isinstance(node, c_ast.InitList) and node.exprs:
        return pre.preceding(node_location(pre, node.exprs[0]), ("{",))
    if isinstance(node, c_ast.ExprList) and node.exprs:
        return node_location(pre, node.exprs[0])
    if isinstance(node, c_ast.UnaryOp) and node.op not in ("sizeof", "_Alignof"):
        operand = node_location(pre, node.expr)
        if node.op in ("p++", "p--"):
            return operand
        return pre.preceding(operand, (node.op,))
    return node_location(pre, node.coord)
