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

from dataclasses import dataclass
from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)

Sizes = Mapping[str, int]
Arrays = Mapping[str, jnp.ndarray]


@dataclass(frozen=True)
class Port:
    """A kernel's JAX port: ``forward(sizes, inputs) -> outputs``, where
    ``inputs`` holds the ``wrt`` inputs and the ``const`` ones (read but not
    differentiated, or partly carried into an output), and ``outputs`` holds
    at least every ``of`` output."""

    kernel: str
    forward: Callable[[Sizes, Arrays], dict]
    wrt: tuple[str, ...]
    of: tuple[str, ...]
    const: tuple[str, ...] = ()

    def make(self, sizes: Sizes, values: Mapping[str, object],
             seeds: Mapping[str, np.ndarray]):
        """``(fn, args, unpack)``: ``unpack(fn(*args))`` is the gradient."""
        sizes = {k: int(v) for k, v in sizes.items()}
        nw, nc = len(self.wrt), len(self.const)
        scalar = {name: np.ndim(values[name]) == 0 for name in self.wrt}

        def loss(*flat):
            inputs = dict(zip(self.wrt + self.const, flat[:nw + nc]))
            outputs = self.forward(sizes, inputs)
            return sum(jnp.vdot(seed, outputs[name])
                       for name, seed in zip(self.of, flat[nw + nc:]))

        fn = jax.jit(jax.grad(loss, argnums=tuple(range(nw))))
        args = tuple(jnp.asarray(values[name], dtype=jnp.float64)
                     for name in self.wrt + self.const)
        args += tuple(jnp.asarray(seeds[name], dtype=jnp.float64) for name in self.of)

        def unpack(result) -> dict:
            return {name: float(g) if scalar[name] else np.asarray(g)
                    for name, g in zip(self.wrt, result)}

        return fn, args, unpack


PORTS: dict[str, Port] = {}


def port(wrt: str, of: str, const: str = ""):
    """Register the decorated forward function under its name."""
    def register(forward):
        PORTS[forward.__name__] = Port(forward.__name__, forward, tuple(wrt.split()),
                                       tuple(of.split()), tuple(const.split()))
        return forward
    return register


def _dot(a, b):
    return jnp.dot(a, b, precision=lax.Precision.HIGHEST)


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


# --- stencils and time loops --------------------------------------------------

@port(wrt="A B", of="A B")
def jacobi_1d(sz, x):
    third = 0.33333                                   # THIRD in the C file

    def step(t, AB):
        A, B = AB
        B = B.at[1:-1].set(third * (A[:-2] + A[1:-1] + A[2:]))
        A = A.at[1:-1].set(third * (B[:-2] + B[1:-1] + B[2:]))
        return A, B

    A, B = lax.fori_loop(0, sz["tsteps"], step, (x["A"], x["B"]))
    return {"A": A, "B": B}


@port(wrt="A B", of="A B")
def jacobi_2d(sz, x):
    def smooth(A):
        return 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1])

    def step(t, AB):
        A, B = AB
        B = B.at[1:-1, 1:-1].set(smooth(A))
        A = A.at[1:-1, 1:-1].set(smooth(B))
        return A, B

    A, B = lax.fori_loop(0, sz["tsteps"], step, (x["A"], x["B"]))
    return {"A": A, "B": B}


@port(wrt="A B", of="A B")
def heat_3d(sz, x):
    def heat(A):
        c = A[1:-1, 1:-1, 1:-1]
        return (0.125 * (A[2:, 1:-1, 1:-1] - 2.0 * c + A[:-2, 1:-1, 1:-1])
                + 0.125 * (A[1:-1, 2:, 1:-1] - 2.0 * c + A[1:-1, :-2, 1:-1])
                + 0.125 * (A[1:-1, 1:-1, 2:] - 2.0 * c + A[1:-1, 1:-1, :-2])
                + c)

    def step(t, AB):
        A, B = AB
        B = B.at[1:-1, 1:-1, 1:-1].set(heat(A))
        A = A.at[1:-1, 1:-1, 1:-1].set(heat(B))
        return A, B

    A, B = lax.fori_loop(0, sz["tsteps"], step, (x["A"], x["B"]))
    return {"A": A, "B": B}


@port(wrt="A", of="A")
def seidel_2d(sz, x):
    # In place: A[i][j] reads the new A[i-1][*] and A[i][j-1] and the old
    # A[i][j+1] and A[i+1][*], so the C order is kept point by point: loops
    # over t, i, j. The j loop carries row i only (rows i-1 and i+1 are
    # constants there): carrying all of A, each point's adjoint touches all
    # n*n entries (the transpose of a read is a full-size scatter) and the
    # gradient at the medium size takes minutes instead of seconds.
    n = sz["n"]

    def sweep(t, A):
        def row(i, A):
            above, below = A[i - 1], A[i + 1]

            def point(j, r):
                s = sum(jnp.sum(lax.dynamic_slice(v, (j - 1,), (3,))) for v in (above, r, below))
                return r.at[j].set(s / 9.0)

            return A.at[i].set(lax.fori_loop(1, n - 1, point, A[i]))

        return lax.fori_loop(1, n - 1, row, A)

    return {"A": lax.fori_loop(0, sz["tsteps"], sweep, x["A"])}


@port(wrt="ex ey hz fict", of="ex ey hz")
def fdtd_2d(sz, x):
    def step(fields, source):
        ex, ey, hz = fields
        ey = ey.at[0, :].set(source)
        ey = ey.at[1:, :].add(-0.5 * (hz[1:, :] - hz[:-1, :]))
        ex = ex.at[:, 1:].add(-0.5 * (hz[:, 1:] - hz[:, :-1]))
        hz = hz.at[:-1, :-1].add(-0.7 * (ex[:-1, 1:] - ex[:-1, :-1] + ey[1:, :-1] - ey[:-1, :-1]))
        return (ex, ey, hz), None

    (ex, ey, hz), _ = lax.scan(step, (x["ex"], x["ey"], x["hz"]), x["fict"])
    return {"ex": ex, "ey": ey, "hz": hz}


@port(wrt="u", of="u v", const="v")
def adi(sz, x):
    tsteps, n = sz["tsteps"], sz["n"]
    dx = dy = 1.0 / n
    dt = 1.0 / tsteps
    mul1 = 2.0 * dt / (dx * dx)
    mul2 = 1.0 * dt / (dy * dy)
    a, b = -mul1 / 2.0, 1.0 + mul1
    c = a
    d, e = -mul2 / 2.0, 1.0 + mul2
    f = d

    def thomas(rhs, lo, diag, up):
        """Solve the tridiagonal systems of every column of rhs[j, i] (j the
        implicit direction), with the boundary value 1.0 at both ends: the
        forward elimination p, q and the back substitution, each a scan over j."""
        def eliminate(pq, r):
            p, q = pq
            den = lo * p + diag
            p, q = -up / den, (r - lo * q) / den
            return (p, q), (p, q)

        ones = jnp.ones(rhs.shape[1])
        _, (ps, qs) = lax.scan(eliminate, (0.0 * ones, ones), rhs)

        def substitute(nxt, pq):
            value = pq[0] * nxt + pq[1]
            return value, value

        _, values = lax.scan(substitute, ones, (ps, qs), reverse=True)
        return values                                  # [j, i] for j = 1 .. n-2

    def step(t, uv):
        u, v = uv
        # column sweep: for column i of v, solve along j; reads u[j][i-1 .. i+1]
        rhs = -d * u[1:-1, :-2] + (1.0 + 2.0 * d) * u[1:-1, 1:-1] - f * u[1:-1, 2:]
        v = v.at[0, 1:-1].set(1.0).at[-1, 1:-1].set(1.0)
        v = v.at[1:-1, 1:-1].set(thomas(rhs, a, b, c))
        # row sweep: for row i of u, solve along j; reads v[i-1 .. i+1][j]
        rhs = -a * v[:-2, 1:-1] + (1.0 + 2.0 * a) * v[1:-1, 1:-1] - c * v[2:, 1:-1]
        u = u.at[1:-1, 0].set(1.0).at[1:-1, -1].set(1.0)
        u = u.at[1:-1, 1:-1].set(thomas(rhs.T, d, e, f).T)
        return u, v

    u, v = lax.fori_loop(0, tsteps, step, (x["u"], x["v"]))
    return {"u": u, "v": v}


# --- nonlinear time stepping (issue 13's examples) ---------------------------------

@port(wrt="nu u", of="u v", const="v")
def burgers_1d(sz, x):
    dt, dx = 0.001, 0.1                               # DT and DX in the C file

    def step(t, uv):
        u, v = uv
        mid = u[1:-1]
        v = v.at[1:-1].set(mid - dt / dx * mid * (mid - u[:-2])
                           + x["nu"] * dt / (dx * dx) * (u[2:] - 2.0 * mid + u[:-2]))
        return u.at[1:-1].set(v[1:-1]), v

    u, v = lax.fori_loop(0, sz["tsteps"], step, (x["u"], x["v"]))
    return {"u": u, "v": v}


@port(wrt="D u", of="u v", const="v")
def reaction_diffusion_2d(sz, x):
    dt = 0.05                                         # DT in the C file

    def step(t, uv):
        u, v = uv
        c = u[1:-1, 1:-1]
        laplacian = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4.0 * c
        v = v.at[1:-1, 1:-1].set(c + dt * (x["D"] * laplacian + c * (1.0 - c)))
        return u.at[1:-1, 1:-1].set(v[1:-1, 1:-1]), v

    u, v = lax.fori_loop(0, sz["tsteps"], step, (x["u"], x["v"]))
    return {"u": u, "v": v}


@port(wrt="W b h", of="h")
def neural_ode(sz, x):
    W, b = x["W"], x["b"]

    def step(t, h):
        return h + 0.05 * jnp.tanh(_dot(W, h) + b)    # DT in the C file

    return {"h": lax.fori_loop(0, sz["nt"], step, x["h"])}
