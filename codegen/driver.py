"""Benchmark drivers: C programs that time one function of a shared library.

A driver loads the library (dlopen), reads the function's arguments from a
file written by :func:`write_inputs` (sizes, scalars, then each array as a
byte count and its bytes), keeps a pristine copy of every array, and times
``repeat`` calls with the monotonic clock, restoring the arrays before each
call outside the timed region (a kernel updates its in-out arrays). After
the timed calls it makes one more, untimed, counting the heap bytes the
call allocates beyond what the driver held before it (its peak: tapes,
snapshots, workspaces freed before it returns included; see
HEAP_COUNTER). It prints one JSON object: the seconds of each call, that
peak and the peak resident set size of the process.
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


#: C that counts the heap bytes in use and their peak, by defining malloc
#: and its family in the driver. The dynamic linker binds the calls of
#: every library the driver loads (the generated code, OpenBLAS, libgomp)
#: to these definitions, which forward to glibc's own entry points
#: (``__libc_malloc``, ...), so only the count changes. Each block counts
#: its ``malloc_usable_size``, added when allocated and subtracted when
#: freed: exact for the blocks handed out (the request rounded up to
#: glibc's 16-byte granule, to a page for the mmap'd large ones), blind to
#: glibc's own free lists and arenas, which ``mallinfo2()`` would mix in,
#: and it sees the peak inside one call, which totals taken before and
#: after it would miss. Updates are atomic: OpenMP's and OpenBLAS's
#: threads allocate too. Where the C library is not glibc, or a sanitizer
#: replaces the allocator (its blocks are not glibc's: the wrappers would
#: hand ASan's free glibc's blocks), nothing is counted and the driver
#: reports null.
HEAP_COUNTER = """
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define POLYAD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) \\
    || __has_feature(memory_sanitizer)
#define POLYAD_SANITIZED 1
#endif
#endif
#if defined(__GLIBC__) && !defined(POLYAD_SANITIZED) && !defined(POLYAD_NO_HEAP_COUNT)
#include <errno.h>
#include <malloc.h>
#define POLYAD_HEAP_COUNTED 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static long long heap_in_use, heap_peak;

static void *counted(void *block) {
  if (block) {
    long long now = __atomic_add_fetch(&heap_in_use, (long long)malloc_usable_size(block),
                                       __ATOMIC_RELAXED);
    long long peak = __atomic_load_n(&heap_peak, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&heap_peak, &peak, now, 1,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      ;
  }
  return block;
}

static void uncount(void *block) {
  if (block)
    __atomic_sub_fetch(&heap_in_use, (long long)malloc_usable_size(block), __ATOMIC_RELAXED);
}

void *malloc(size_t bytes) { return counted(__libc_malloc(bytes)); }
void *calloc(size_t count, size_t bytes) { return counted(__libc_calloc(count, bytes)); }
void free(void *block) { uncount(block); __libc_free(block); }
void *memalign(size_t alignment, size_t bytes) {
  return counted(__libc_memalign(alignment, bytes));
}
void *aligned_alloc(size_t alignment, size_t bytes) {
  return counted(__libc_memalign(alignment, bytes));
}
void *valloc(size_t bytes) { return counted(__libc_valloc(bytes)); }
void *pvalloc(size_t bytes) { return counted(__libc_pvalloc(bytes)); }

void *realloc(void *block, size_t bytes) {
  size_t before = block ? malloc_usable_size(block) : 0;
  void *moved = __libc_realloc(block, bytes);
  if (!moved && bytes)  /* failed: the block is untouched */
    return NULL;
  __atomic_sub_fetch(&heap_in_use, (long long)before, __ATOMIC_RELAXED);
  return counted(moved);
}

void *reallocarray(void *block, size_t count, size_t bytes) {
  if (bytes && count > (size_t)-1 / bytes) { errno = ENOMEM; return NULL; }
  return realloc(block, count * bytes);
}

int posix_memalign(void **out, size_t alignment, size_t bytes) {
  if (alignment % sizeof(void *) || (alignment & (alignment - 1)) || !alignment)
    return EINVAL;
  void *block = __libc_memalign(alignment, bytes);
  if (!block) return ENOMEM;
  *out = counted(block);
  return 0;
}

/* Restart the peak at the bytes in use now, which it returns. */
static long long heap_mark(void) {
  long long now = __atomic_load_n(&heap_in_use, __ATOMIC_RELAXED);
  __atomic_store_n(&heap_peak, now, __ATOMIC_RELAXED);
  return now;
}

static long long heap_peak_since(long long mark) {
  return __atomic_load_n(&heap_peak, __ATOMIC_RELAXED) - mark;
}
#else
static long long heap_mark(void) { return 0; }
static long long heap_peak_since(long long mark) { (void)mark; return -1; }
#endif
"""


def driver_source(specs: tuple[ArgumentSpec, ...], status: bool = True,
                  count_heap: bool = True) -> str:
    """The C source of a driver for functions with this signature; with
    ``status``, functions returning an int status (generated ones), and a
    call that does not return 0 ends the driver with exit code 3; without
    ``count_heap`` the driver leaves malloc alone and reports a null peak
    (for a sanitizer's driver, whose runtime replaces the allocator)."""
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
{"" if count_heap else "#define POLYAD_NO_HEAP_COUNT 1"}
{HEAP_COUNTER}
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
  /* The counted call, after the warm-up (OpenBLAS's and OpenMP's one-time
     set-up is not the gradient's) and outside the timed ones. */
{chr(10).join(copies)}
  long long mark = heap_mark();
  {"int status = " if status else ""}function({", ".join(arguments)});{_STATUS_CHECK if status else ""}
  long long extra = heap_peak_since(mark);
  printf("{{\\"seconds\\": [");
  for (int run = 0; run < repeat; run++) printf("%s%.9e", run ? ", " : "", seconds[run]);
  printf("], \\"peak_extra_bytes\\": ");
  if (extra < 0) printf("null"); else printf("%lld", extra);
  printf(", \\"peak_rss_bytes\\": %lld}}\\n", peak_rss_bytes());
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
    """Run a driver on a function: ``{"seconds": [...], "peak_extra_bytes":
    n, "peak_rss_bytes": n}`` (``peak_extra_bytes`` None where the heap is
    not counted); ``status`` as for :func:`driver_source`."""
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
