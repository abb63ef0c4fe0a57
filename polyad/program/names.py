"""Names the generated code introduces, chosen so that they never capture
the kernel's own (hygiene).

Everything polyad creates (tape buffers, the adjoint seed, common
subexpression locals, loop iterators, accumulators, counters, outlined
functions, macros) is named from a *stem* through a :class:`NameSupply` that
knows every name already taken: the kernel's identifiers, the names of the
program being built, C keywords and the library names generated code uses.
A stem that is free is used as it is, so the generated code reads as before
(``c0``, ``tape_S0_0``, ``_acc0``); a taken one gets trailing underscores
until it is free (``c1`` -> ``c1_`` in a kernel with a scalar ``c1``).

Stems never end in an underscore, so two different stems never give the
same name.

>>> supply = NameSupply.of(["c1", "c1_"])
>>> supply.fresh("c0"), supply.fresh("c1")
('c0', 'c1__')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import islpy as isl

from polyad.model.expr import MATH_ARITY
from polyad.model.kernel import Kernel
from polyad.program.ir import Program

#: C99 and C11 keywords, and GNU spellings that -std=gnu99 reserves.
C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for
    goto if inline int long register restrict return short signed sizeof static struct
    switch typedef union unsigned void volatile while _Bool _Complex _Imaginary _Alignas
    _Alignof _Atomic _Generic _Noreturn _Static_assert _Thread_local asm typeof
""".split())

#: Library functions that generated functions call, whatever the kernel
#: calls itself: allocation, zeroing, the OpenMP thread count, BLAS and every math
#: function (derivative rules introduce cos for sin, log for pow, ...). A
#: kernel identifier of this name would hide the function from the generated
#: code, so the frontend refuses it (docs/kernel-language.md).
#: The BLAS functions are those of codegen.blas (OpenBLAS's, prefixed scipy_).
RUNTIME_FUNCTIONS = frozenset({"malloc", "calloc", "free", "memset", "abort",
                               "omp_get_max_threads", "scipy_openblas_set_num_threads"}
                              ) | frozenset(f"scipy_cblas_{letter}{routine}" for letter in "ds"
                                            for routine in ("gemm", "gemv", "dot", "gemmt",
                                                            "trmm", "syr2k", "ger")
                              ) | frozenset(MATH_ARITY)

#: Object-like macros of the headers generated code includes (math.h,
#: stdlib.h, string.h, stdio.h): a kernel identifier of this name would be
#: replaced by the preprocessor in the generated code.
HEADER_MACROS = frozenset("""
    NULL NAN INFINITY HUGE_VAL HUGE_VALF HUGE_VALL FP_NAN FP_INFINITE FP_ZERO
    FP_SUBNORMAL FP_NORMAL FP_ILOGB0 FP_ILOGBNAN FP_FAST_FMA FP_FAST_FMAF FP_FAST_FMAL
    MATH_ERRNO MATH_ERREXCEPT math_errhandling EXIT_SUCCESS EXIT_FAILURE RAND_MAX
    MB_CUR_MAX M_E M_LOG2E M_LOG10E M_LN2 M_LN10 M_PI M_PI_2 M_PI_4 M_1_PI M_2_PI
    M_2_SQRTPI M_SQRT2 M_SQRT1_2 EOF BUFSIZ FILENAME_MAX FOPEN_MAX L_tmpnam TMP_MAX
    SEEK_SET SEEK_CUR SEEK_END stdin stdout stderr
""".split())

#: Names a kernel may not use as identifiers (see RUNTIME_FUNCTIONS, HEADER_MACROS).
RESERVED_FOR_GENERATED_CODE = RUNTIME_FUNCTIONS | HEADER_MACROS


@dataclass(frozen=True)
class NameSupply:
    """The names taken so far; :meth:`fresh` gives one that is not."""

    taken: frozenset[str]

    @staticmethod
    def of(names: Iterable[str]) -> "NameSupply":
        """A supply in which ``names`` (and C keywords, library functions and
        header macros) are taken."""
        return NameSupply(frozenset(names) | C_KEYWORDS | RESERVED_FOR_GENERATED_CODE)

    def fresh(self, stem: str) -> str:
        """``stem`` if it is free, else ``stem`` and the fewest trailing
        underscores that make it free. Precondition: ``stem`` is a C
        identifier that does not end in ``_``."""
        assert stem.isidentifier() and not stem.endswith("_"), stem
        name = stem
        while name in self.taken:
            name += "_"
        return name

    def taking(self, names: Iterable[str]) -> "NameSupply":
        """The supply with ``names`` taken as well."""
        return NameSupply(self.taken | frozenset(names))


def kernel_identifiers(kernel: Kernel) -> frozenset[str]:
    """Every identifier of the kernel's model: function, parameters, arrays
    and scalars (local ones too) and loop iterators."""
    names = {kernel.name} | {p.name for p in kernel.signature}
    names |= {a.name for a in kernel.arrays} | set(kernel.params)
    for statement in kernel.statements:
        names |= set(statement.iterators)
    if kernel.source.init_function:
        names.add(kernel.source.init_function)
    return frozenset(names)


def program_identifiers(program: Program) -> frozenset[str]:
    """Every name a program uses: its function, arguments, buffers, size
    parameters, statement iterators and the symbols of its instructions."""
    names = {program.name} | {a.name for a in program.arguments}
    names |= {b.name for b in program.buffers}
    context = program.context
    names |= {context.get_dim_name(isl.dim_type.param, d)
              for d in range(context.dim(isl.dim_type.param))}
    if program.driver is not None:
        names |= set(program.driver.parameters)
    for instruction in program.instructions:
        names |= set(instruction.iterators)
        names |= {s.name for s in instruction.references}
        for assignment in instruction.body:
            names.add(assignment.target.name)
            names |= {s.name for s in assignment.value.free_symbols}
    return frozenset(n for n in names if n and n.isidentifier())
