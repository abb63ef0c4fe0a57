"""JAX ports of polyad's examples (examples/<name>.c), the JAX peer of the benchmark.

Each kernel is written as a JAX user would write it: vectorised ``jnp``
expressions where the loop nest is a matrix product, a stencil or a row-wise
reduction, ``lax.scan`` / ``lax.fori_loop`` where a loop carries a value
from one iteration to the next (time steps, recurrences, in-place sweeps).
Every port computes what the C kernel computes: same boundaries, same time
steps, same in-place semantics (only the order of floating-point additions
may differ).

``PORTS[name].make(sizes, values, seeds)`` returns ``(fn, args, unpack)``:
``fn(*args)`` is the jitted ``jax.grad`` of ``sum_Y sum(seeds[Y] * Y)``
(``Y`` over polyad's default ``of`` outputs, their values after the kernel)
with respect to polyad's default ``wrt`` inputs (their values before it), and
``unpack(fn(*args))`` names the gradients as polyad does (scalars as float).

Sizes are static: they come from ``sizes`` (Python ints) and fix the shapes
and trip counts, so every loop has a static trip count and reverse mode works
(``jax.grad`` cannot differentiate a ``fori_loop`` whose bounds are traced,
which is why triangular inner loops run over the full range with a mask).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax

from .jax_registry import PORTS, Port, dot as _dot, port  # noqa: F401

# --- dense linear algebra -------------------------------------------------

@port(wrt="alpha beta C A B", of="C")
def gemm(sz, x):
    return {"C": x["alpha"] * _dot(x["A"], x["B"]) + x["beta"] * x["C"]}


@port(wrt="A x", of="y")
def atax(sz, x):
    A = x["A"]
    return {"y": _dot(A.T, _dot(A, x["x"]))}


@port(wrt="A p r", of="s q")
def bicg(sz, x):
    A = x["A"]
    return {"s": _dot(A.T, x["r"]), "q": _dot(A, x["p"])}


@port(wrt="alpha beta A B x", of="y")
def gesummv(sz, x):
    return {"y": x["alpha"] * _dot(x["A"], x["x"]) + x["beta"] * _dot(x["B"], x["x"])}


@port(wrt="A x1 x2 y1 y2", of="x1 x2")
def mvt(sz, x):
    A = x["A"]
    return {"x1": x["x1"] + _dot(A, x["y1"]), "x2": x["x2"] + _dot(A.T, x["y2"])}


@port(wrt="alpha beta A u1 v1 u2 v2 w x y z", of="A w x")
def gemver(sz, x):
    A = x["A"] + jnp.outer(x["u1"], x["v1"]) + jnp.outer(x["u2"], x["v2"])
    xx = x["x"] + x["beta"] * _dot(A.T, x["y"]) + x["z"]
    w = x["w"] + x["alpha"] * _dot(A, xx)
    return {"A": A, "x": xx, "w": w}


@port(wrt="alpha beta A B C D", of="D")
def k2mm(sz, x):
    tmp = x["alpha"] * _dot(x["A"], x["B"])
    return {"D": x["beta"] * x["D"] + _dot(tmp, x["C"])}


@port(wrt="A B C D", of="G")
def k3mm(sz, x):
    return {"G": _dot(_dot(x["A"], x["B"]), _dot(x["C"], x["D"]))}


@port(wrt="alpha beta C A B", of="C")
def symm(sz, x):
    # C[k][j] for k < i is updated at iteration i, after row k was set: the
    # net effect is C := beta*C + alpha*S*B with S the symmetric matrix whose
    # lower triangle is A's (the upper triangle of A is never read).
    A = x["A"]
    S = jnp.tril(A) + jnp.tril(A, -1).T
    return {"C": x["beta"] * x["C"] + x["alpha"] * _dot(S, x["B"])}


@port(wrt="alpha beta C A", of="C")
def syrk(sz, x):
    n = sz["n"]
    lower = jnp.tril(jnp.ones((n, n), dtype=bool))
    A, C = x["A"], x["C"]
    return {"C": jnp.where(lower, x["beta"] * C + x["alpha"] * _dot(A, A.T), C)}


@port(wrt="alpha beta C A B", of="C")
def syr2k(sz, x):
    n = sz["n"]
    lower = jnp.tril(jnp.ones((n, n), dtype=bool))
    A, B, C = x["A"], x["B"], x["C"]
    update = x["alpha"] * (_dot(B, A.T) + _dot(A, B.T))
    return {"C": jnp.where(lower, x["beta"] * C + update, C)}


@port(wrt="alpha A B", of="B")
def trmm(sz, x):
    # B[k][j] for k > i is still the input when row i is computed, and the
    # diagonal of A is not read (unit lower triangular).
    B = x["B"]
    return {"B": x["alpha"] * (B + _dot(jnp.tril(x["A"], -1).T, B))}


# --- factorisations and solves (inherently sequential) ---------------------

@port(wrt="A", of="A")
def lu(sz, x):
    n = sz["n"]
    idx = jnp.arange(n)

    def row(i, A):
        # L part, j < i: a forward substitution along row i (each entry uses
        # the entries left of it, already divided), a scan over the columns
        # of A whose k loop is a dot product; U part, j >= i: one
        # vector-matrix product with the rows k < i. The scan runs over all n
        # columns, masked to j < i (a trip count of i would be a while loop,
        # which jax.grad refuses), and takes the columns as xs (indexing A
        # inside the loop, each step's adjoint would add into all of A).
        def left(r, col):
            j, a_j, a_jj = col
            s = _dot(jnp.where(idx < j, r, 0.0), a_j)
            return r.at[j].set(jnp.where(j < i, (r[j] - s) / a_jj, r[j])), None

        r, _ = lax.scan(left, A[i], (idx, A.T, jnp.diagonal(A)))
        u = r - _dot(jnp.where(idx < i, r, 0.0), A)
        return A.at[i].set(jnp.where(idx >= i, u, r))

    return {"A": lax.fori_loop(0, n, row, x["A"])}


@port(wrt="A", of="A")
def cholesky(sz, x):
    n = sz["n"]
    idx = jnp.arange(n)

    def row(i, A):
        def left(r, prev):
            j, a_j = prev
            s = r[j] - _dot(jnp.where(idx < j, r, 0.0), a_j)
            return r.at[j].set(jnp.where(j < i, s / a_j[j], r[j])), None

        r, _ = lax.scan(left, A[i], (idx, A))
        off = jnp.where(idx < i, r, 0.0)
        return A.at[i].set(r.at[i].set(jnp.sqrt(r[i] - _dot(off, off))))

    return {"A": lax.fori_loop(0, n, row, x["A"])}


@port(wrt="L b", of="x")
def trisolv(sz, x):
    n = sz["n"]
    idx = jnp.arange(n)
    L, b = x["L"], x["b"]

    def step(xs, row):
        i, l_i, b_i = row
        return xs.at[i].set((b_i - _dot(l_i, jnp.where(idx < i, xs, 0.0))) / l_i[i]), None

    xs, _ = lax.scan(step, jnp.zeros(n), (idx, L, b))
    return {"x": xs}


@port(wrt="r", of="y")
def durbin(sz, x):
    n = sz["n"]
    idx = jnp.arange(n)
    r = x["r"]

    def step(k, carry):
        y, alpha, beta = carry
        before = idx < k
        back = (k - 1 - idx) % n                      # i -> k-i-1, for i < k
        beta = (1.0 - alpha * alpha) * beta
        s = _dot(jnp.where(before, r[back], 0.0), y)
        alpha = -(r[k] + s) / beta
        y = jnp.where(before, y + alpha * y[back], y).at[k].set(alpha)
        return y, alpha, beta

    y0 = jnp.zeros(n).at[0].set(-r[0])
    y, _, _ = lax.fori_loop(1, n, step, (y0, -r[0], jnp.float64(1.0)))
    return {"y": y}


@port(wrt="A", of="A R Q", const="R")
def gramschmidt(sz, x):
    m, n = sz["m"], sz["n"]
    cols = jnp.arange(n)

    def step(k, carry):
        A, R, Q = carry
        rkk = jnp.sqrt(_dot(A[:, k], A[:, k]))
        q = A[:, k] / rkk
        right = cols > k
        rk = _dot(q, A)                                # R[k][j] = q . A[:, j]
        R = R.at[k].set(jnp.where(right, rk, R[k])).at[k, k].set(rkk)
        A = A - jnp.where(right, jnp.outer(q, rk), 0.0)
        return A, R, Q.at[:, k].set(q)

    A, R, Q = lax.fori_loop(0, n, step, (x["A"], x["R"], jnp.zeros((m, n))))
    return {"A": A, "R": R, "Q": Q}


# --- dynamic programming ---------------------------------------------------

@port(wrt="path", of="path")
def floyd_warshall(sz, x):
    # Step k relaxes every pair through k at once. The C kernel updates in
    # place, but step k leaves row and column k as they are (path[k][k] > 0),
    # so reading them before the step reads what C reads; where the select
    # keeps path[i][j], jnp.where sends its adjoint there, as C's does.
    def step(k, path):
        through = path[:, k][:, None] + path[k, :][None, :]
        return jnp.where(path < through, path, through)

    return {"path": lax.fori_loop(0, sz["n"], step, x["path"])}


# --- statistics and ML layers -----------------------------------------------

@port(wrt="data", of="data cov")
def covariance(sz, x):
    n = sz["n"]
    data = x["data"]
    data = data - jnp.sum(data, axis=0) / n
    return {"data": data, "cov": _dot(data.T, data) / (n - 1.0)}


@port(wrt="data", of="data corr")
def correlation(sz, x):
    m, n = sz["m"], sz["n"]
    fn, eps = float(n), 0.1
    data = x["data"]
    mean = jnp.sum(data, axis=0) / fn
    stddev = jnp.sqrt(jnp.sum((data - mean) ** 2, axis=0) / fn)
    stddev = jnp.where(stddev <= eps, 1.0, stddev)
    data = (data - mean) / (np.sqrt(fn) * stddev)
    corr = jnp.where(jnp.eye(m, dtype=bool), 1.0, _dot(data.T, data))
    return {"data": data, "corr": corr}


@port(wrt="X", of="Y")
def softmax(sz, x):
    X = x["X"]
    e = jnp.exp(X - jnp.max(X, axis=1, keepdims=True))
    return {"Y": e / jnp.sum(e, axis=1, keepdims=True)}


@port(wrt="X gamma beta", of="Y")
def layernorm(sz, x):
    X = x["X"]
    mean = jnp.mean(X, axis=1, keepdims=True)
    var = jnp.mean((X - mean) ** 2, axis=1, keepdims=True)
    return {"Y": (X - mean) / jnp.sqrt(var + 1e-5) * x["gamma"] + x["beta"]}


@port(wrt="W bias x", of="y")
def mlp(sz, x):
    return {"y": jnp.tanh(_dot(x["x"], x["W"].T) + x["bias"])}


@port(wrt="W bias x", of="y", dtype="float32")
def mlp_float(sz, x):
    """mlp in float32, as a JAX user writes a layer (jax_enable_x64 is on
    for the others: float32 inputs keep this one in single precision)."""
    return {"y": jnp.tanh(_dot(x["x"], x["W"].T) + x["bias"])}


@port(wrt="W bias x", of="y")
def relu(sz, x):
    pre = _dot(x["x"], x["W"].T) + x["bias"]
    return {"y": jnp.where(pre < 0.0, 0.0, pre)}


@port(wrt="in", of="out")
def maxpool(sz, x):
    nc, h, w = sz["nc"], sz["h"], sz["w"]
    return {"out": jnp.max(x["in"].reshape(nc, h, 2, w, 2), axis=(2, 4))}


@port(wrt="W bias in", of="out")
def conv2d(sz, x):
    out = lax.conv_general_dilated(x["in"][None], x["W"], window_strides=(1, 1),
                                   padding="VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                   precision=lax.Precision.HIGHEST)[0]
    return {"out": out + x["bias"][:, None, None]}


@port(wrt="Wh Wx b x h", of="h")
def rnn(sz, x):
    Wh, h = x["Wh"], x["h"]
    drive = _dot(x["x"], x["Wx"].T) + x["b"]          # input terms of every step

    def step(state, d):
        state = jnp.tanh(_dot(Wh, state) + d)
        return state, state

    _, states = lax.scan(step, h[0], drive)
    return {"h": h.at[1:].set(states)}


# --- gathers through index arrays ----------------------------------------

@port(wrt="w E", of="out", const="idx")
def embedding_bag(sz, x):
    """Rows gathered by ``E[idx]`` (JAX scatters their gradient back)."""
    rows = x["E"][x["idx"]]                            # [nb, nl, nd]
    return {"out": jnp.einsum("bl,bld->bd", x["w"], rows, precision=lax.Precision.HIGHEST)}


@port(wrt="val x", of="y", const="col")
def spmv_ell(sz, x):
    return {"y": jnp.sum(x["val"] * x["x"][x["col"]], axis=1)}


# The stencil and time-loop ports register themselves on import.
from . import jax_stencils  # noqa: E402,F401
