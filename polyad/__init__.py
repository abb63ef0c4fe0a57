"""polyad: fast, verified gradients of affine loop kernels.

>>> import polyad
>>> kernel = polyad.parse("examples/gemm.c")          # doctest: +SKIP
"""

__version__ = "0.1.0"

from polyad.api import compile, generate_c, grad, jvp, parse
from polyad.errors import (CompileError, KernelError, PolyadError, ScheduleError,
                           UsageError)
from polyad.model.kernel import Array, Kernel, Statement
from polyad.schedule.loops import Loop
from polyad.schedule.schedule import Schedule

__all__ = ["parse", "grad", "jvp", "compile", "generate_c", "Kernel", "Array", "Statement", "PolyadError", "KernelError",
           "UsageError", "CompileError", "ScheduleError", "Schedule", "Loop"]
