"""This machine's dgemm speed, the yardstick of the contraction kernels.

    python bench/dgemm.py [--n 1000] [--threads 1]

prints one JSON object: GFLOP/s (2 n^3 per product, the best of 5) of
numpy's matmul (numpy's own OpenBLAS) and of the scipy-openblas32 library
that polyad's generated code calls (its ``scipy_cblas_dgemm``, through
ctypes). It runs as a fresh process so that OpenBLAS reads the thread
count from OPENBLAS_NUM_THREADS, which it does once, when it loads.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time

import numpy as np

ROW_MAJOR, NO_TRANSPOSE = 101, 111


def _best(call, n: int) -> float:
    call()
    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return 2 * n ** 3 / min(seconds) / 1e9


def measure(n: int) -> dict:
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)), rng.random((n, n))
    c = np.zeros((n, n))
    result = {"n": n, "numpy_gflop_per_s": _best(lambda: a @ b, n),
              "openblas_env": {k: v for k, v in os.environ.items()
                               if k.startswith("OPENBLAS_")}}
    try:
        import scipy_openblas32 as wheel
    except ImportError:  # pragma: no cover - a declared dependency
        return result
    library = ctypes.CDLL(os.path.join(wheel.get_lib_dir(),
                                       f"lib{wheel.get_library()}.so"))
    dgemm = library.scipy_cblas_dgemm
    dgemm.restype = None
    pointer = ctypes.c_void_p
    dgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_double, pointer, ctypes.c_int, pointer,
                                           ctypes.c_int, ctypes.c_double, pointer,
                                           ctypes.c_int]
    result["scipy_openblas32_gflop_per_s"] = _best(lambda: dgemm(
        ROW_MAJOR, NO_TRANSPOSE, NO_TRANSPOSE, n, n, n, 1.0, a.ctypes.data, n,
        b.ctypes.data, n, 0.0, c.ctypes.data, n), n)
    return result


def dgemm_gflops(threads: int, n: int = 1000) -> dict:
    """:func:`measure` in a fresh process with OpenBLAS on ``threads`` threads."""
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads),
                   "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, __file__, "--n", str(n)], capture_output=True,
                          text=True, env=environment, timeout=600)
    if done.returncode != 0:
        return {"n": n, "error": done.stderr.strip()[-500:]}
    return json.loads(done.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if args.threads is not None:
        print(json.dumps(dgemm_gflops(args.threads, args.n)))
    else:
        print(json.dumps(measure(args.n)))
