"""polyad: fast, verified gradients of affine loop kernels.

>>> import polyad
>>> kernel = polyad.parse("examples/gemm.c")          # doctest: +SKIP
"""

from polyad import model  # noqa: F401  (first: frontend and codegen build on it)
from polyad.api import parse
from polyad.errors import (CompileError, KernelError, PolyadError, ScheduleError,
                           UsageError)
from polyad.model import Array, Kernel, Statement

__all__ = ["parse", "Kernel", "Array", "Statement", "PolyadError", "KernelError",
           "UsageError", "CompileError", "ScheduleError"]
