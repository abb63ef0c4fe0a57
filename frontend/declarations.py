"""What a C declaration of the kernel declares, and the variables it names.

A parameter or local is an int size (or loop iterator), a double, float or
int scalar, or an array of up to four dimensions with C99 variable-length
extents; any other declaration is refused here, at its place in the source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import islpy as isl
from pycparser import c_ast

from polyad.errors import SourceLocation
from polyad.frontend.affine import describe
from polyad.frontend.preprocess import Preprocessed, located_error
from polyad.model.kernel import ELEMENT_BYTES, FLOAT_TYPES

_SIZE_TYPES = ({"int"}, {"long"}, {"unsigned"}, {"unsigned", "int"}, {"long", "int"},
               {"unsigned", "long"}, {"const", "int"}, {"short"}, {"unsigned", "short"},
               # the integer typedefs of <stddef.h> and <stdint.h>
               {"size_t"}, {"ssize_t"}, {"ptrdiff_t"}, {"int32_t"}, {"int64_t"},
               {"uint32_t"}, {"uint64_t"}, {"intptr_t"}, {"uintptr_t"})
_UNSIGNED_WORDS = {"unsigned", "size_t", "uint32_t", "uint64_t", "uintptr_t"}


@dataclass(frozen=True)
class Variable:
    """An array or scalar the kernel can name (a parameter or a local).

    ``storage`` is "parameter" or "local"; a scalar has no extents.
    """

    name: str
    dtype: str
    extents: tuple[isl.PwAff, ...]
    storage: str
    location: SourceLocation


def is_size_type(names: Iterable[str]) -> bool:
    """Whether a declaration's type words spell an integer type that sizes
    and loop iterators may have.

    >>> is_size_type(["const", "int"]), is_size_type(["size_t"]), is_size_type(["char"])
    (True, True, False)
    """
    return set(names) in _SIZE_TYPES


def is_unsigned_type(names: Iterable[str]) -> bool:
    """Whether a size type's words spell an unsigned type (which wraps
    around below zero, where polyad's model of integers does not).

    >>> is_unsigned_type(["size_t"]), is_unsigned_type(["long"])
    (True, False)
    """
    return bool(set(names) & _UNSIGNED_WORDS)


def classify_declaration(pre: Preprocessed, decl: c_ast.Decl) -> tuple[str, str, list]:
    """(kind, element type, extent nodes) of a declaration: kind is "array"
    or "scalar", the extent nodes those of an array's dimensions (None where
    an extent is left out). Raises a located KernelError for a declaration
    polyad does not model (pointers, long double, five dimensions, ...)."""
    node = decl.type
    dims = []
    while isinstance(node, c_ast.ArrayDecl):
        dims.append(node.dim)
        node = node.type
    if isinstance(node, c_ast.PtrDecl):
        raise located_error(pre, decl, f"pointer {decl.name}",
                            "declare arrays as C99 variable-length arrays, "
                            "double A[n][m]; pointers and aliasing are not modelled "
                            "(a double *p parameter used only as *p or p[0] is one element)")
    if not isinstance(node, c_ast.TypeDecl) or not isinstance(
            node.type, c_ast.IdentifierType):
        raise located_error(pre, decl, f"declaration of {decl.name} ({describe(decl.type)})",
                            "use int sizes, double or float scalars and "
                            "double/float/int/char arrays")
    names = [n for n in node.type.names if n not in ("const", "restrict", "register")]
    dtype = " ".join(names)
    if dims:
        if dtype not in ELEMENT_BYTES:
            raise located_error(pre, decl, f"{dtype} array {decl.name}",
                                "arrays hold double or float (or int/char data never "
                                "differentiated)")
        if len(dims) > 4:
            raise located_error(pre, decl, f"array {decl.name} of {len(dims)} dimensions",
                                "at most 4 dimensions are modelled")
        return "array", dtype, dims
    if dtype in FLOAT_TYPES or is_size_type(names) or dtype in ("int", "char"):
        return "scalar", "int" if is_size_type(names) else dtype, []
    raise located_error(pre, decl, f"{dtype} variable {decl.name}",
                        "polyad computes in double or float: declare it double or float")
