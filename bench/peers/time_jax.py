"""Compile and run time of the JAX ports' gradients, one run each.

    PYTHONPATH=. python bench/peers/time_jax.py [--preset medium] [kernel ...]

Prints, per kernel: the time to trace and compile the jitted gradient
(``fn.lower(*args).compile()``), the time of one call of the compiled
gradient (the first, after compiling), and the peak resident memory of the
process so far.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import polyad
from bench.peers.jax_ports import PORTS
from polyad.check import verify
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kernels", nargs="*", default=sorted(PORTS))
    parser.add_argument("--preset", default="medium")
    options = parser.parse_args()
    print(f"{'kernel':<12} {'sizes':<44} {'compile s':>9} {'call s':>9} {'peak RSS MB':>11}",
          flush=True)
    for name in options.kernels:
        kernel = polyad.parse(f"examples/{name}.c")
        sizes = kernel.sizes(options.preset)
        values = verify.kernel_inputs(kernel, sizes, seed=0)
        rng = np.random.default_rng(1)
        seeds = {y: rng.standard_normal(kernel.array(y).shape(sizes)) for y in PORTS[name].of}
        fn, args, unpack = PORTS[name].make(sizes, values, seeds)
        start = time.perf_counter()
        compiled = fn.lower(*args).compile()
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        result = compiled(*args)
        for leaf in result:
            leaf.block_until_ready()
        call_s = time.perf_counter() - start
        gradient = unpack(result)
        assert all(np.all(np.isfinite(g)) for g in gradient.values()), name
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        shown = " ".join(f"{k}={v}" for k, v in sizes.items())
        print(f"{name:<12} {shown:<44} {compile_s:9.3f} {call_s:9.3f} {rss:11.0f}", flush=True)


if __name__ == "__main__":
    main()
