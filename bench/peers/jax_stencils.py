"""JAX ports of the stencil and time-stepping examples (see jax_ports.py
for what a port is and computes)."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from .jax_registry import dot as _dot, port

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
