"""The registry of the JAX ports (bench/peers/jax_ports.py and
jax_stencils.py): a :class:`Port` per kernel, registered by :func:`port`
under the name of its forward function."""

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
    at least every ``of`` output. ``dtype`` is the precision it computes
    in, the kernel's (float32 for a float kernel)."""

    kernel: str
    forward: Callable[[Sizes, Arrays], dict]
    wrt: tuple[str, ...]
    of: tuple[str, ...]
    const: tuple[str, ...] = ()
    dtype: str = "float64"

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
        args = tuple(jnp.asarray(values[name], dtype=_dtype(values[name], self.dtype))
                     for name in self.wrt + self.const)
        args += tuple(jnp.asarray(seeds[name], dtype=self.dtype) for name in self.of)

        def unpack(result) -> dict:
            return {name: float(g) if scalar[name] else np.asarray(g)
                    for name, g in zip(self.wrt, result)}

        return fn, args, unpack


def _dtype(value, dtype: str):
    """The type an input enters the port in: the port's precision, but an
    int array (an index array, ``col`` of ``x[col[k]]``) stays int."""
    return None if np.issubdtype(np.asarray(value).dtype, np.integer) else dtype


PORTS: dict[str, Port] = {}


def port(wrt: str, of: str, const: str = "", dtype: str = "float64"):
    """Register the decorated forward function under its name."""
    def register(forward):
        PORTS[forward.__name__] = Port(forward.__name__, forward, tuple(wrt.split()),
                                       tuple(of.split()), tuple(const.split()), dtype)
        return forward
    return register


def dot(a, b):
    """A matrix product at the full precision of its operands' type."""
    return jnp.dot(a, b, precision=lax.Precision.HIGHEST)
