"""Code generation: programs to C text, C to loaded shared libraries.

It knows C text, the isl AST generator, the system compiler, the build cache
and the ctypes/numpy calling layer; it never decides what to compute.
"""

from polyad import model  # noqa: F401  (the model this package prints; import it first)
from codegen.binding import ArgumentSpec, CompiledFunction
from codegen.build import shared_library
from codegen.compile import compile_original, compile_program
from codegen.emit import generate

__all__ = ["generate", "compile_program", "compile_original", "shared_library",
           "CompiledFunction", "ArgumentSpec"]
