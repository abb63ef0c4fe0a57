"""Enzyme as a peer: the original kernel differentiated by __enzyme_autodiff.

Enabled when ENZYME_PLUGIN (a ClangEnzyme-<N>.so) and CLANG (a clang of the
same LLVM version) are set; see docs/benchmarks.md. The wrapper has the
signature of polyad's gradient function (kernel arguments, then X_b for each
array differentiated), so polyad's own driver times it and polyad's exact
gradient checks it. Scalars are passed to Enzyme as constants: only array
gradients are compared.

The kernel is handed to Enzyme with ``restrict`` on every array parameter
(:func:`polyad.frontend.parse.with_restrict_parameters`): polyad assumes its
arguments do not alias, and without the qualifier Enzyme must assume they may,
recording every read it could otherwise recompute (its gemm gradient was 85x
the primal so).
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import tempfile
from pathlib import Path

from polyad import codegen
from polyad.codegen.binding import CompiledFunction
from polyad.codegen.compile import argument_specs
from polyad.codegen.driver import time_function
from polyad.codegen.declarations import (STATUS_OUTSIDE, STATUS_RAN, entry_condition,
                                         signature)
from polyad.frontend.parse import with_restrict_parameters
from polyad.ad.adjoint import grad
from polyad.tools.bench import bench_inputs
from polyad.program.lowering import adjoint_program
from polyad.check.verify import relative_error

SYMBOL = "polyad_enzyme_gradient"


def enzyme_available() -> bool:
    plugin, clang = os.environ.get("ENZYME_PLUGIN"), os.environ.get("CLANG")
    return bool(plugin and clang and Path(plugin).exists())


def wrapper_source(kernel) -> str:
    """The original file, its array parameters ``restrict``, plus a function
    calling __enzyme_autodiff on the kernel."""
    adjoint = grad(kernel)
    program = adjoint_program(adjoint)
    differentiated = set(adjoint.wrt) | set(adjoint.of)
    arguments = []
    for param in kernel.signature:
        array = kernel.array(param.name) if param.kind != "size" else None
        if array is not None and not array.is_scalar and param.name in differentiated:
            arguments += ["enzyme_dup", param.name, f"{param.name}_b"]
        else:
            arguments += ["enzyme_const", param.name]
    entry = signature(program).replace(f"int {program.name}(", f"int {SYMBOL}(", 1)
    condition = entry_condition(program.context)
    # The same status as polyad's gradient: sizes outside the kernel's
    # assumptions are refused before Enzyme's code touches anything.
    refuse = (f"  if (!({condition}))\n    return {STATUS_OUTSIDE};\n"
              if condition is not None else "")
    original = with_restrict_parameters(kernel.source.text, kernel.source.path, kernel.name)
    return (original + "\n\nextern void __enzyme_autodiff(void *, ...);\n"
            "extern int enzyme_dup, enzyme_const;\n"
            f"{entry}\n{{\n{refuse}  __enzyme_autodiff((void *){kernel.name}, "
            f"{', '.join(arguments)});\n  return {STATUS_RAN};\n}}\n")


def enzyme_variant(kernel, sizes: dict, repeat: int, threads: int, reference: dict) -> dict:
    """Build, check and time Enzyme's gradient of the kernel."""
    if kernel.source.globals:  # Enzyme would need the globals' shadows too
        return {"name": "enzyme", "available": False,
                "reason": "the kernel uses globals (" + ", ".join(kernel.source.globals) + ")"}
    adjoint = grad(kernel)
    program = adjoint_program(adjoint)
    directory = Path(tempfile.mkdtemp(prefix="polyad-enzyme-"))
    source, library = directory / "enzyme.c", directory / "enzyme.so"
    source.write_text(wrapper_source(kernel))
    flags = shlex.split(os.environ.get("CFLAGS", codegen.build.DEFAULT_CFLAGS))
    command = [os.environ["CLANG"], *flags, "-fPIC", "-shared",
               f"-fplugin={os.environ['ENZYME_PLUGIN']}", "-o", str(library), str(source), "-lm"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"name": "enzyme", "available": False,
                "reason": "build failed: " + done.stderr.strip().splitlines()[-1]}
    function = CompiledFunction(library, SYMBOL, argument_specs(program), program.context)
    values, seeds = bench_inputs(kernel, sizes, 0, adjoint.of)
    out = function(**values, **seeds)
    arrays = [n for n in reference if not kernel.array(n).is_scalar]
    error = max((relative_error(out[f"{n}_b"], reference[n]) for n in arrays), default=0.0)
    if error > 1e-8:
        return {"name": "enzyme", "available": True, "verified": False,
                "max_rel_err_vs_exact": error}
    run = time_function(library, SYMBOL, function.arguments,
                        function.prepare({**values, **seeds}), repeat=repeat, threads=threads)
    seconds = run["seconds"]
    return {"name": "enzyme", "available": True, "verified": True,
            "median_s": statistics.median(seconds), "min_s": min(seconds),
            "max_s": max(seconds), "peak_rss_bytes": run["peak_rss_bytes"],
            "peak_extra_bytes": run.get("peak_extra_bytes"),
            "max_rel_err_vs_exact": error}
