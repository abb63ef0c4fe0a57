"""One kernel's gradient against its primal and JAX, as one short table (the
last step of `make demo`).

    python bench/compare.py examples/rnn.c [--dataset medium] [--repeat 10]

polyad's primal and gradient variants are timed by `polyad bench`'s C
drivers (polyad.tools.bench); JAX, when it is installed, as `make bench`
times it (bench/run.py: `jax.jit(jax.grad)` of the port in
bench/peers/jax_ports.py, on the same inputs and seeds, its gradient checked
against polyad's first, compile time apart). Without JAX the table says so
and has no JAX row.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path

import polyad
from polyad.tools.bench import bench, reference_gradient

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("primal", "stack", "exact", "auto")
LABELS = {"primal": "primal: the C kernel at -O3",
          "stack": "gradient, stack tape (as Enzyme, Tapenade)",
          "exact": "gradient, exact tape",
          "auto": "gradient, exact tape, auto schedule",
          "jax": "JAX: jit(grad) of a port (XLA)"}


def load_run_module():
    """bench/run.py as a module: its JAX loading and timing."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kernel", help="C file of an example (its stem names the JAX port)")
    parser.add_argument("--dataset", default="medium", help="size preset (default medium)")
    parser.add_argument("--repeat", type=int, default=10, help="timed calls (default 10)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    run = load_run_module()
    with contextlib.redirect_stdout(io.StringIO()):  # the table says it when JAX is absent
        run.load_jax(threads=1)
    kernel = polyad.parse(args.kernel)
    sizes = kernel.sizes(args.dataset)
    result = bench(kernel, sizes, variants=VARIANTS, repeat=args.repeat)
    rows = {v["name"]: v for v in result["variants"]}
    primal = rows["primal"]["median_s"]
    shown = " ".join(f"{k}={v}" for k, v in sizes.items())
    print(f"{kernel.name} at {shown} ({args.dataset}), 1 thread, median of "
          f"{args.repeat} calls")
    print(f"  {'':<44} {'ms':>8} {'/ primal':>9}")
    for name in VARIANTS:
        row = rows[name]
        if not row.get("median_s"):
            print(f"  {LABELS[name]:<44} {'not timed':>8}  "
                  f"({row.get('not_applicable') or 'gradient differs from exact'})")
            continue
        print(f"  {LABELS[name]:<44} {row['median_s'] * 1e3:>8.3f} "
              f"{row['median_s'] / primal:>9.2f}")
    stem = Path(args.kernel).stem
    if run.jax is None:
        print(f"  {LABELS['jax']:<44} JAX is not installed here: no JAX row "
              "(pip install '.[bench]')")
        return 0
    if stem not in run.JAX_PORTS:
        print(f"  {LABELS['jax']:<44} no JAX port of {stem} in bench/peers/jax_ports.py")
        return 0
    peer = run.run_jax(stem, kernel, sizes, args.repeat, reference_gradient(kernel, sizes))
    if not peer.get("verified"):
        print(f"  {LABELS['jax']:<44} its gradient differs from polyad's by "
              f"{peer.get('max_rel_err_vs_exact', float('nan')):.3g}: not timed")
        return 1
    exact = rows["exact"].get("median_s")
    print(f"  {LABELS['jax']:<44} {peer['median_s'] * 1e3:>8.3f} "
          f"{peer['median_s'] / primal:>9.2f}   (compiling took {peer['compile_s']:.2f} s, "
          "not timed)")
    if exact:
        faster = "faster" if exact < peer["median_s"] else "slower"
        ratio = max(exact, peer["median_s"]) / min(exact, peer["median_s"])
        print(f"  polyad's exact gradient is {ratio:.1f}x {faster} than JAX's here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
