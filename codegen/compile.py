"""Programs and original kernels to callable functions."""

from __future__ import annotations

import os
import re
from dataclasses import replace

from polyad.codegen.binding import ArgumentSpec, CompiledFunction, pin_runtime
from polyad.codegen.blas import blas_library
from polyad.codegen.build import GENERATED_CODE_FLAGS, shared_library
from polyad.codegen.gathers import index_check_lines, distinct_indices
from polyad.codegen.declarations import (STATUS_OUTSIDE, STATUS_RAN, entry_condition,
                                         signature)
from polyad.codegen.emit import calls_library, generate, uses_openmp
from polyad.codegen.sanitize import SanitizedFunction, sanitizing
from polyad.model.expr import FLOAT_MATH
from polyad.model.kernel import Kernel
from polyad.program.names import NameSupply
from polyad.program.ir import Program, primal_program


def argument_specs(program: Program) -> tuple[ArgumentSpec, ...]:
    """How each argument of the program's C function is passed."""
    specs = []
    for argument in program.arguments:
        if argument.kind == "size":
            specs.append(ArgumentSpec(argument.name, "size", "int"))
            continue
        buffer = program.buffer(argument.name)
        if buffer.is_scalar:
            kind = "pointer" if buffer.by_pointer else "scalar"
        else:
            kind = "array"
        specs.append(ArgumentSpec(buffer.name, kind, buffer.dtype, buffer.extents,
                                  buffer.optional))
    return tuple(specs)


def compile_program(program: Program) -> CompiledFunction:
    """Generate, compile (cached) and load a program's C function; with
    OpenMP only when the code has a parallel or simd loop or calls BLAS
    (whose thread count is OpenMP's), linked with OpenBLAS only when it
    calls it; with $POLYAD_SANITIZE set, every call first runs under the
    sanitizers (codegen.sanitize)."""
    source = generate(program)
    openmp, blas = uses_openmp(program), calls_library(program)
    library = shared_library(source, openmp=openmp, blas=blas, extra_flags=GENERATED_CODE_FLAGS)
    if blas:
        pin_runtime(blas_library().path)
    if sanitizing():
        return SanitizedFunction(library, program.name, argument_specs(program),
                                 program.context, source, openmp=openmp, blas=blas)
    return CompiledFunction(library, program.name, argument_specs(program),
                            program.context, source)


def compile_programs(programs) -> tuple[CompiledFunction, ...]:
    """:func:`compile_program` of each program, in order, with one compiler
    run per kind of build (OpenMP or not, OpenBLAS or not) instead of one
    per program: each program is its own translation unit of one library,
    compiled with exactly the flags it gets alone, so its code is the same.
    Programs of one name, and sanitized runs, are compiled one by one."""
    programs = tuple(programs)
    names = [program.name for program in programs]
    if sanitizing() or len(set(names)) != len(names):
        return tuple(compile_program(program) for program in programs)
    groups: dict[tuple[bool, bool], list[int]] = {}
    for position, program in enumerate(programs):
        groups.setdefault((uses_openmp(program), calls_library(program)), []).append(position)
    sources = [generate(program) for program in programs]
    compiled: dict[int, CompiledFunction] = {}
    for (openmp, blas), positions in groups.items():
        library = shared_library(tuple(sources[p] for p in positions) if len(positions) > 1
                                 else sources[positions[0]], openmp=openmp, blas=blas,
                                 extra_flags=GENERATED_CODE_FLAGS)
        if blas:
            pin_runtime(blas_library().path)
        for p in positions:
            compiled[p] = CompiledFunction(library, programs[p].name,
                                           argument_specs(programs[p]),
                                           programs[p].context, sources[p])
    return tuple(compiled[p] for p in range(len(programs)))


def _source_supply(kernel: Kernel) -> NameSupply:
    """Every identifier of the user's file taken (the wrappers are compiled
    with all of it)."""
    return NameSupply.of(re.findall(r"[A-Za-z_]\w*", kernel.source.text))


def _helper_macros(helpers: dict[str, str]) -> str:
    """The min, max and floord macros isl's printed conditions call, under
    names free in the user's file."""
    return (f"#define {helpers['min']}(x, y) ((x) < (y) ? (x) : (y))\n"
            f"#define {helpers['max']}(x, y) ((x) > (y) ? (x) : (y))\n"
            f"#define {helpers['floord']}(n, d) (((n) < 0) ? -((-(n) + (d) - 1) / (d)) "
            ": (n) / (d))\n")


def _global_copies(kernel: Kernel, supply: NameSupply, wrappers: list[str]) -> tuple[str, str]:
    """The wrapper's statements copying its arguments into the kernel's
    globals and (arrays) back out, and the declarations they need, added to
    ``wrappers``. Inside a wrapper a global's name is its parameter: the
    global is reached through an address taken outside."""
    copy_in, copy_out = [], []
    if kernel.source.globals:
        wrappers.append("#include <string.h>")
    for name in kernel.source.globals:
        address = supply.fresh(f"polyad_global_{name}")
        size = supply.fresh(f"polyad_bytes_{name}")
        supply = supply.taking([address, size])
        wrappers.append(f"static void *const {address} = (void *)&{name};\n"
                        f"static const size_t {size} = sizeof {name};")
        if kernel.array(name).is_scalar:
            copy_in.append(f"  memcpy({address}, &{name}, {size});\n")
        else:
            copy_in.append(f"  memcpy({address}, {name}, {size});\n")
            copy_out.append(f"  memcpy({name}, {address}, {size});\n")
    return "".join(copy_in), "".join(copy_out)


def entry_point_name(kernel: Kernel, function: str) -> str:
    """The exported wrapper of one function of the user's file."""
    return _source_supply(kernel).fresh(f"polyad_entry_{function}")


#: What the widened copy of a float kernel starts with: the headers whose
#: declarations mention float included first (a later #include of them in
#: the user's file is then empty), after which every float is a double and
#: every float math function its double one. Float literals (``0.5f``) keep
#: their value: they are constants of the function.
_WIDENED_PRELUDE = "".join(
    [f"#include <{header}>\n" for header in ("math.h", "stdlib.h", "string.h", "stdio.h",
                                              "stddef.h", "stdint.h")]
    + ["#define float double\n"]
    + [f"#define {name} {double}\n" for name, double in FLOAT_MATH.items()]) + "#line 1\n"


def compile_original(kernel: Kernel, *, widened: bool = False
                     ) -> tuple[CompiledFunction, CompiledFunction | None]:
    """The user's own function (and its ``polyad-init`` function, if the file
    names one), compiled from the original file by the system compiler.
    ``widened``: a copy computing in double where the kernel declares float
    (its float arguments passed as doubles), the function finite differences
    of a float kernel are taken of (its own rounding would drown them).

    Both are called through exported wrappers with the kernel's signature, so
    that ``static`` functions work too; the kernel's wrapper returns the
    status generated functions do, refusing sizes outside the kernel's
    context (its assumptions) before calling it. A kernel that returns its result
    (``kernel.source.returned``) is called without that last parameter, and
    its wrapper stores the returned value in it; the init function takes the
    user's parameters only. The globals the kernel uses
    (``kernel.source.globals``) are arguments of both wrappers, copied into
    the globals before the call and, for arrays, out of them after.
    """
    shape = primal_program(kernel)
    returned = kernel.source.returned
    globals_ = kernel.source.globals
    names = [p.name for p in kernel.signature if p.name != returned and p.name not in globals_]
    functions = [kernel.name] + ([kernel.source.init_function]
                                 if kernel.source.init_function else [])
    wrappers = []
    supply = _source_supply(kernel)
    helpers = {name: supply.fresh(f"polyad_{name}") for name in ("min", "max", "floord")}
    supply = supply.taking(helpers.values())
    condition = entry_condition(kernel.context, helpers)
    if condition is not None:
        wrappers.append(_helper_macros(helpers))
    refuse = (f"  if (!({condition}))\n    return {STATUS_OUTSIDE};\n"
              if condition is not None else "")
    refuse += "".join(f"  {'  ' * depth}{text}\n"
                      for depth, text in index_check_lines(shape, supply.fresh, helpers))
    if distinct_indices(shape):  # the injectivity check's marks; the file may lack stdlib.h
        wrappers.append("void *calloc(__SIZE_TYPE__, __SIZE_TYPE__);\nvoid free(void *);\n")
    copy_in, copy_out = _global_copies(kernel, supply, wrappers)
    for function in functions:
        entry = Program(entry_point_name(kernel, function), shape.arguments, shape.buffers,
                        (), shape.schedule, shape.context)
        stores = returned is not None and function == kernel.name
        callee = function
        if function in names:
            # A parameter of the function's own name would hide it in the
            # wrapper: call it through a pointer declared outside.
            callee = supply.fresh(f"polyad_call_{function}")
            result = kernel.array(returned).dtype if stores else "void"
            wrappers.append(f"static {result} (*const {callee})() "
                            f"= {function};")
        call = f"{callee}({', '.join(names)});"
        if stores:
            call = f"{returned}[0] = {call}"
        check = refuse if function == kernel.name else ""
        wrappers.append(f"{signature(entry)}\n{{\n{check}{copy_in}  {call}\n{copy_out}"
                        f"  return {STATUS_RAN};\n}}\n")
    source = ((_WIDENED_PRELUDE if widened else "") + kernel.source.text
              + "\n\n/* polyad: exported entry points */\n" + "\n".join(wrappers))
    include_dir = (os.path.dirname(os.path.abspath(kernel.source.path))
                   if os.path.exists(kernel.source.path) else None)
    library = shared_library(source, include_dir=include_dir,
                             what=f"the original {kernel.source.path}")
    specs = argument_specs(shape)
    if widened:
        specs = tuple(replace(spec, dtype="double") if spec.dtype == "float" else spec
                      for spec in specs)
    compiled = [CompiledFunction(library, entry_point_name(kernel, f), specs,
                                 kernel.context, source, display_name=f) for f in functions]
    return compiled[0], (compiled[1] if len(compiled) > 1 else None)
