"""Code generation: programs to C text, C to loaded shared libraries.

It knows C text, the isl AST generator, the system compiler, the build cache
and the ctypes/numpy calling layer; it never decides what to compute.
"""

from polyad.codegen.binding import ArgumentSpec, CompiledFunction
from polyad.codegen.build import shared_library
from polyad.codegen.compile import compile_original, compile_program, compile_programs
from polyad.codegen.emit import generate

__all__ = ["generate", "compile_program", "compile_programs", "compile_original", "shared_library",
           "CompiledFunction", "ArgumentSpec"]
