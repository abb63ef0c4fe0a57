"""Triangular products: the tuned triangular routines against a masked dgemm.

    python bench/triangular.py [--n 240] [--k 200] [--repeat 30]

Why polyad calls dgemmt and dtrmm for a product over a box cut by a
triangle (docs/benchmarks.md, "Triangular products"): each way of doing the
same product is timed here through the same OpenBLAS that generated code
calls (the scipy-openblas32 wheel, one thread), best of ``--repeat``, at
syrk's medium sizes by default. Masked dgemm is the box product with the
masked matrix copied with zeros outside its triangle (an input), or the
whole box computed (an output, whose other triangle would then be
dropped).
"""

from __future__ import annotations

import argparse
import ctypes
import time

import numpy as np
import scipy_openblas32 as wheel

ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE = 101, 111, 112
UPPER, LOWER, NON_UNIT, UNIT, LEFT = 121, 122, 131, 132, 141


def _library():
    library = ctypes.CDLL(f"{wheel.get_lib_dir()}/lib{wheel.get_library()}.so")
    library.scipy_openblas_set_num_threads(1)
    return library


def _best(function, repeat: int) -> float:
    """The fastest of ``repeat`` calls, in microseconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best * 1e6


def measure(n: int, k: int, repeat: int) -> list[tuple[str, float]]:
    """(what, microseconds) for each way, at C n x n, A n x k."""
    blas = _library()
    d = ctypes.c_double
    p = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    rng = np.random.default_rng(0)
    a, b = rng.random((n, k)), rng.random((n, k))
    c, t = rng.random((n, n)), rng.random((n, n))
    out, work = np.zeros((n, k)), np.empty((n, k))

    def masked_input():
        masked = np.tril(t)
        blas.scipy_cblas_dgemm(ROW_MAJOR, NO_TRANSPOSE, NO_TRANSPOSE, n, k, n, d(1.0),
                               p(masked), n, p(a), k, d(1.0), p(out), k)

    def triangular_input():
        np.copyto(work, a)
        blas.scipy_cblas_dtrmm(ROW_MAJOR, LEFT, LOWER, NO_TRANSPOSE, NON_UNIT, n, k, d(1.0),
                               p(t), n, p(work), k)
        np.add(out, work, out=out)

    return [
        ("output C(lower) += A A^T: dgemm of the whole box", _best(lambda: blas.scipy_cblas_dgemm(
            ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE, n, n, k, d(1.0), p(a), k, p(a), k, d(1.0),
            p(c), n), repeat)),
        ("output C(lower) += A A^T: dsyrk", _best(lambda: blas.scipy_cblas_dsyrk(
            ROW_MAJOR, LOWER, NO_TRANSPOSE, n, k, d(1.0), p(a), k, d(1.0), p(c), n), repeat)),
        ("output C(lower) += A A^T: dgemmt", _best(lambda: blas.scipy_cblas_dgemmt(
            ROW_MAJOR, LOWER, NO_TRANSPOSE, TRANSPOSE, n, k, d(1.0), p(a), k, p(a), k, d(1.0),
            p(c), n), repeat)),
        ("output C(lower) += A B^T + B A^T: dsyr2k", _best(lambda: blas.scipy_cblas_dsyr2k(
            ROW_MAJOR, LOWER, NO_TRANSPOSE, n, k, d(1.0), p(a), k, p(b), k, d(1.0), p(c), n),
            repeat)),
        ("output C(lower) += A B^T + B A^T: two dgemmt", _best(lambda: [
            blas.scipy_cblas_dgemmt(ROW_MAJOR, LOWER, NO_TRANSPOSE, TRANSPOSE, n, k, d(1.0),
                                    p(x), k, p(y), k, d(1.0), p(c), n)
            for x, y in ((a, b), (b, a))], repeat)),
        ("input X += L(T) A: masked dgemm (T copied with zeros)", _best(masked_input, repeat)),
        ("input X += L(T) A: A copied, dtrmm, added", _best(triangular_input, repeat)),
        ("in place B := (I + sL(T)) B: dtrmm, unit diagonal", _best(lambda: blas.scipy_cblas_dtrmm(
            ROW_MAJOR, LEFT, LOWER, NO_TRANSPOSE, UNIT, n, k, d(1.0), p(t), n, p(work), k),
            repeat)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=240)
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    print(f"n={args.n} k={args.k}, one thread, best of {args.repeat} (microseconds)")
    for what, micros in measure(args.n, args.k, args.repeat):
        print(f"  {micros:9.1f}  {what}")


if __name__ == "__main__":
    main()
