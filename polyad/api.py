"""The Python API: what users call (``polyad.parse``, ``polyad.compile`` ...)."""

from __future__ import annotations

import os
from pathlib import Path

import codegen
from frontend.parse import parse_kernel
from polyad import verify
from polyad.errors import UsageError
from polyad.model import Kernel
from polyad.program import primal_program


def parse(path_or_text: str | os.PathLike, function: str | None = None) -> Kernel:
    """The polyhedral model of a C kernel, from a file path or C text.

    >>> k = parse("void f(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] *= 2.0; }")
    >>> k.statements[0].text
    'void f(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] *= 2.0; }'
    """
    text = str(path_or_text)
    if isinstance(path_or_text, os.PathLike) or ("\n" not in text and "{" not in text):
        path = Path(path_or_text)
        try:
            content = path.read_text()
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror}") from None
        return parse_kernel(content, str(path), function)
    return parse_kernel(text, None, function)


def primal_c(kernel: Kernel) -> str:
    """C for the kernel regenerated from its model (original schedule)."""
    return codegen.generate(primal_program(kernel))


def compile(kernel: Kernel) -> codegen.CompiledFunction:  # noqa: A001  (the API's verb)
    """The kernel's regenerated C, compiled and loaded: call it with sizes,
    scalars and arrays by name; it returns the arrays after the call.

    >>> k = parse("void f(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] *= 2.0; }")
    >>> compile(k)(n=3, x=[1.0, 2.0, 3.0])["x"].tolist()
    [2.0, 4.0, 6.0]
    """
    return codegen.compile_program(primal_program(kernel))


def check_primal(kernel: Kernel, sizes: dict, seed: int = 0) -> dict:
    """Regenerated primal against the original C, on random inputs."""
    values = verify.kernel_inputs(kernel, sizes, seed)
    return {"kernel": kernel.name, "sizes": sizes,
            "checks": [verify.check_primal(kernel, values)]}
