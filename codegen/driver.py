"""Benchmark drivers: C programs that time one function of a shared library.

A driver loads the library (dlopen), reads the function's arguments from a
file written by :func:`write_inputs` (sizes, scalars, then each array as a
byte count and its bytes), keeps a pristine copy of every array, and times
``repeat`` calls with the monotonic clock, restoring the arrays before each
call outside the timed region (a kernel updates its in-out arrays). It
prints one JSON object: the seconds of each call and the peak resident set
size of the process.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

from polyad.codegen.binding import NUMPY_TYPES, ArgumentSpec
from polyad.codegen.build import executable
from polyad.errors import CompileError

_C_TYPES = {"size": "int", "scalar": "double"}
_STATUS_CHECK = """
    if (status != 0) {
      fprintf(stderr, "the function refused its sizes (status %d): they are outside "
              "the kernel's assumptions\\n", status);
      return 3;
    }"""


def driver_source(specs: tuple[ArgumentSpec, ...], status: bool = True) -> str:
    """The C source of a driver for functions with this signature; with
    ``status``, functions returning an int status (generated ones), and a
    call that does not return 0 ends the driver with exit code 3."""
    parameters = ", ".join(s.dtype if s.kind == "scalar" else _C_TYPES.get(s.kind, "void *")
                           for s in specs) or "void"
    declarations, reads, arguments, copies = [], [], [], []
    for index, spec in enumerate(specs):
        if spec.kind == "size":
            declarations.append(f"  long long size{index}; int arg{index};")
            reads.append(f"  must(fread(&size{index}, 8, 1, in) == 1); "
                         f"arg{index} = (int)size{index};")
        elif spec.kind == "scalar":
            # Scalars come as 8-byte doubles, converted to the parameter's type.
            declarations.append(f"  double value{index}; {spec.dtype} arg{index};")
            reads.append(f"  must(fread(&value{index}, 8, 1, in) == 1); "
                         f"arg{index} = ({spec.dtype})value{index};")
        else:
            declarations.append(f"  long long bytes{index}; void *arg{index}, *pristine{index};")
            reads.append(f"  must(fread(&bytes{index}, 8, 1, in) == 1);\n"
                         f"  arg{index} = malloc(bytes{index} ? bytes{index} : 1);\n"
                         f"  pristine{index} = malloc(bytes{index} ? bytes{index} : 1);\n"
                         f"  must(fread(pristine{index}, 1, bytes{index}, in) == "
                         f"(size_t)bytes{index});")
            copies.append(f"    memcpy(arg{index}, pristine{index}, bytes{index});")
        arguments.append(f"arg{index}")
    return f"""/* polyad benchmark driver (generated). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef {"int" if status else "void"} (*function_t)({parameters});

static void must(int ok) {{ if (!ok) {{ fprintf(stderr, "bad input file\\n"); exit(2); }} }}

/* Peak resident set size from /proc (getrusage's ru_maxrss would include
   the parent's before exec). */
static long long peak_rss_bytes(void) {{
  FILE *status = fopen("/proc/self/status", "r");
  char line[256];
  long long kilobytes = -1;
  while (status && fgets(line, sizeof line, status))
    if (sscanf(line, "VmHWM: %lld kB", &kilobytes) == 1) break;
  if (status) fclose(status);
  return kilobytes < 0 ? -1 : kilobytes * 1024;
}}

static double now(void) {{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}}

int main(int argc, char **argv) {{
  if (argc != 6) {{ fprintf(stderr, "usage: driver LIB SYMBOL INPUTS REPEAT WARMUP\\n"); return 2; }}
  void *library = dlopen(argv[1], RTLD_NOW);
  if (!library) {{ fprintf(stderr, "%s\\n", dlerror()); return 2; }}
  function_t function = (function_t)dlsym(library, argv[2]);
  if (!function) {{ fprintf(stderr, "%s\\n", dlerror()); return 2; }}
  FILE *in = fopen(argv[3], "rb");
  if (!in) {{ perror(argv[3]); return 2; }}
  int repeat = atoi(argv[4]), warmup = atoi(argv[5]);
{chr(10).join(declarations)}
{chr(10).join(reads)}
  fclose(in);
  double *seconds = malloc(sizeof(double) * (repeat > 0 ? repeat : 1));
  for (int run = -warmup; run < repeat; run++) {{
{chr(10).join(copies)}
    double start = now();
    {"int status = " if status else ""}function({", ".join(arguments)});
    double stop = now();{_STATUS_CHECK if status else ""}
    if (run >= 0) seconds[run] = stop - start;
  }}
  printf("{{\\"seconds\\": [");
  for (int run = 0; run < repeat; run++) printf("%s%.9e", run ? ", " : "", seconds[run]);
  printf("], \\"peak_rss_bytes\\": %lld}}\\n", peak_rss_bytes());
  return 0;
}}
"""


def write_inputs(path: str | os.PathLike, specs: tuple[ArgumentSpec, ...],
                 prepared: Mapping[str, object]) -> None:
    """The driver's input file for prepared arguments (see CompiledFunction.prepare)."""
    with open(path, "wb") as stream:
        for spec in specs:
            value = prepared[spec.name]
            if spec.kind == "size":
                stream.write(np.int64(value).tobytes())
            elif spec.kind == "scalar":
                stream.write(np.float64(value).tobytes())
            else:
                data = np.ascontiguousarray(value, dtype=NUMPY_TYPES[spec.dtype]).tobytes()
                stream.write(np.int64(len(data)).tobytes())
                stream.write(data)


def time_function(library: Path, symbol: str, specs: tuple[ArgumentSpec, ...],
                  prepared: Mapping[str, object], *, repeat: int, warmup: int = 1,
                  threads: int | None = None, status: bool = True) -> dict:
    """Run a driver on a function: ``{"seconds": [...], "peak_rss_bytes": n}``;
    ``status`` as for :func:`driver_source`."""
    program = executable(driver_source(specs, status))
    environment = dict(os.environ)
    if threads is not None:
        # OpenBLAS sizes its thread pool when it loads, before generated
        # code sets its count to OpenMP's (codegen.blas): the same number.
        environment["OMP_NUM_THREADS"] = environment["OPENBLAS_NUM_THREADS"] = str(threads)
    with tempfile.TemporaryDirectory(prefix="polyad-bench-") as directory:
        inputs = Path(directory) / "inputs.bin"
        write_inputs(inputs, specs, prepared)
        done = subprocess.run([str(program), str(library), symbol, str(inputs), str(repeat),
                               str(warmup)], capture_output=True, text=True,
                              env=environment, timeout=3600)
    if done.returncode != 0:
        raise CompileError(f"benchmark driver failed on {symbol}: {done.stderr.strip()}")
    return json.loads(done.stdout)
