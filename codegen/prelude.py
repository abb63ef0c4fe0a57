"""The C text every generated file starts with, and its names.

The prelude defines the helper macros isl's expressions call (``min``,
``max``, ``floord``) and the thread count ``polyad_threads``; the trace
prelude the instrumented build's ``polyad_trace``. These are their usual
names: a program that uses one of them for itself gets the helper under a
fresh name (codegen.emit chooses it), substituted here.
"""

from __future__ import annotations

import re
from typing import Mapping

from polyad.model.expr import MATH_ARITY

#: The helper macros generated code uses, by their usual names; a program
#: whose own names include one gets it under a fresh name.
HELPERS = ("min", "max", "floord", "polyad_threads")

PRELUDE = """\
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define min(x, y) ((x) < (y) ? (x) : (y))
#define max(x, y) ((x) > (y) ? (x) : (y))
#define floord(n, d) (((n) < 0) ? -((-(n) + (d) - 1) / (d)) : (n) / (d))
#ifdef _OPENMP
#include <omp.h>
#define polyad_threads() omp_get_max_threads()
#else
#define polyad_threads() 1
#endif
"""

_HELPER_CALL = re.compile(r"\b(min|max|floord)\(")


def renamed_helper_calls(text: str, helpers: Mapping[str, str]) -> str:
    """isl's C text of an expression with its min/max/floord calls renamed."""
    return _HELPER_CALL.sub(lambda m: helpers.get(m.group(1), m.group(1)) + "(", text)


def with_helper_names(text: str, helpers: Mapping[str, str]) -> str:
    """A prelude with its helper names replaced by the chosen ones
    (``helpers``: usual name -> chosen name)."""
    for usual, chosen in helpers.items():
        if usual != chosen:
            text = re.sub(rf"\b{usual}\b", chosen, text)
    return text


#: The trace prelude's file-scope names, renamed like the helper macros.
TRACE_HELPERS = ("polyad_trace", "polyad_trace_file", "polyad_trace_path")

TRACE_PRELUDE = """\
#include <stdio.h>
/* Address trace of an instrumented build: one line per memory reference. */
static FILE *polyad_trace_file;
static char polyad_trace_path[4096];
static void polyad_trace(char kind, int buffer, long index) {
  const char *path = getenv("POLYAD_TRACE_FILE");
  if (!path) return;
  if (!polyad_trace_file || strcmp(path, polyad_trace_path) != 0) {
    /* A library stays loaded across calls: follow the file asked for now. */
    if (polyad_trace_file) fclose(polyad_trace_file);
    polyad_trace_file = fopen(path, "w");
    strncpy(polyad_trace_path, path, sizeof polyad_trace_path - 1);
  }
  fprintf(polyad_trace_file, "%c %d %ld\\n", kind, buffer, index);
  fflush(polyad_trace_file);
}
"""


#: Where glibc's libmvec has the vector versions of every function of
#: polyad.schedule.marks.VECTOR_MATH (elsewhere the declarations stay scalar).
LIBMVEC_GUARD = ("#if defined __x86_64__ && defined __GLIBC__ && "
                 "(__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35)")


def vector_math_declarations(aliases: dict[str, str]) -> str:
    """Declarations of each ``alias`` as its math function (the same symbol)
    with vector versions (``declare simd``): only calls through the alias,
    in vectorised loops, go to libmvec; other calls stay scalar."""
    lines = []
    for name, alias in aliases.items():
        parameters = ", ".join(["double"] * MATH_ARITY[name])
        lines += [LIBMVEC_GUARD, "#pragma omp declare simd notinbranch", "#endif",
                  f'double {alias}({parameters}) __asm__("{name}");']
    return "".join(line + "\n" for line in lines)
