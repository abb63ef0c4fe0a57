"""`make bench`: every example through `polyad bench`, the peers beside it,
and the tables and plot in bench/out/.

    python bench/run.py [--dataset small|medium|large] [--threads 1] [--out bench/out]

polyad's variants are timed by `polyad bench --json` (its C drivers); JAX is
timed here, on the same inputs and seeds, compile time apart; Enzyme, when
ENZYME_PLUGIN and CLANG are set, is built as a shared library with the
signature of polyad's gradient and timed by `polyad bench`'s own driver.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import polyad  # noqa: E402
from polyad.tools.bench import FLOAT_AGREEMENT, bench_inputs, reference_gradient  # noqa: E402
from polyad.files import write_atomically  # noqa: E402
from polyad.program.derived import derivative_names  # noqa: E402
from polyad.program.ir import ADJOINT_SUFFIX  # noqa: E402
from polyad.check.verify import relative_error  # noqa: E402

JAX_PORTS, jax = {}, None


def load_jax(threads: int) -> None:
    """Import JAX (an optional benchmark dependency, the `bench` extra) with
    XLA's CPU thread pools sized like the C variants': XLA reads its flags once,
    at import, so this runs before the first import."""
    global JAX_PORTS, jax
    if threads == 1:
        os.environ["XLA_FLAGS"] = " ".join(filter(None, [
            os.environ.get("XLA_FLAGS", ""), "--xla_cpu_multi_thread_eigen=false",
            "intra_op_parallelism_threads=1"]))
    try:
        from peers.jax_ports import PORTS
        import jax as jax_module
    except ImportError:  # pragma: no cover - depends on the machine
        print("JAX not installed: no JAX column (pip install .[bench])")
        return
    JAX_PORTS, jax = PORTS, jax_module

try:  # matplotlib too
    import matplotlib  # noqa: E402
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: E402
except ImportError:  # pragma: no cover
    plt = None

from peers.enzyme import enzyme_available, enzyme_variant  # noqa: E402
from dgemm import dgemm_gflops  # noqa: E402
from memory_report import entry, memory_summary, memory_table, xla_temp_bytes  # noqa: E402

POLYAD_VARIANTS = ("stack", "exact", "auto")
PEER_AGREEMENT = 1e-8
#: A float kernel's peer sums in float32 in its own order (polyad's bench
#: allows its own variants as much: polyad.tools.bench.FLOAT_AGREEMENT).
FLOAT_PEER_AGREEMENT = FLOAT_AGREEMENT


def run_polyad(example: Path, dataset: str, threads: int, repeat: int) -> dict:
    command = [sys.executable, "-m", "polyad.cli", "bench", str(example), "--dataset", dataset,
               "--threads", str(threads), "--repeat", str(repeat), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def run_jax(name: str, kernel, sizes: dict, repeat: int, reference: dict) -> dict:
    if name not in JAX_PORTS:
        return {"name": "jax", "available": False, "reason": "no JAX port of this kernel"}
    adjoint = polyad.grad(kernel)
    values, seeds = bench_inputs(kernel, sizes, 0, adjoint.of)
    adjoint_names = derivative_names(kernel, ADJOINT_SUFFIX)
    plain_seeds = {name: seeds[adjoint_names[name]] for name in adjoint.of}
    fn, args, unpack = JAX_PORTS[name].make(sizes, values, plain_seeds)
    start = time.perf_counter()
    result = jax.block_until_ready(fn(*args))
    compile_s = time.perf_counter() - start
    gradient = unpack(result)
    error = max(relative_error(gradient[n], reference[n]) for n in reference)
    single = any(a.dtype == "float" for a in kernel.arrays)
    if error > (FLOAT_PEER_AGREEMENT if single else PEER_AGREEMENT):
        return {"name": "jax", "available": True, "verified": False,
                "max_rel_err_vs_exact": error}
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        seconds.append(time.perf_counter() - start)
    return {"name": "jax", "available": True, "verified": True, "median_s":
            statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds),
            "compile_s": compile_s, "max_rel_err_vs_exact": error,
            "xla_temp_bytes": xla_temp_bytes(fn, args)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--only", nargs="*", help="example names (default: all)")
    parser.add_argument("--no-analysis", action="store_true",
                        help="skip the simulated-cache analysis of the tape layouts")
    parser.add_argument("--from-json", metavar="RESULTS_JSON",
                        help="measure nothing: write the tables and plot again from a "
                             "results.json of an earlier run")
    args = parser.parse_args()
    if args.from_json:
        earlier = json.loads(Path(args.from_json).read_text())
        args.dataset, args.threads = earlier["dataset"], earlier["threads"]
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_outputs(earlier["kernels"], earlier["analyses"], out, args,
                      date=earlier["date"], machine_name=earlier["machine"],
                      dgemm=earlier.get("dgemm"))
        print("\n".join((summary(earlier["kernels"]), schedule_summary(earlier["kernels"]),
                         blas_summary(earlier["kernels"], earlier.get("dgemm")),
                         layout_summary(earlier["kernels"], earlier["analyses"]),
                         memory_summary(earlier["kernels"]))))
        return 0
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    load_jax(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    examples = sorted((ROOT / "examples").glob("*.c"))
    if args.only:
        examples = [e for e in examples if e.stem in args.only]
    rows = []
    started = time.time()
    dgemm = dgemm_gflops(args.threads)
    print(f"this machine's dgemm: {dgemm_text(dgemm)}", flush=True)
    for example in examples:
        kernel = polyad.parse(example)
        result = run_polyad(example, args.dataset, args.threads, args.repeat)
        sizes = result["sizes"]
        reference = reference_gradient(kernel, sizes)
        peers = [run_jax(example.stem, kernel, sizes, args.repeat, reference)]
        if enzyme_available():
            peers.append(enzyme_variant(kernel, sizes, args.repeat, args.threads, reference))
        else:
            peers.append({"name": "enzyme", "available": False,
                          "reason": "set ENZYME_PLUGIN and CLANG (docs/benchmarks.md)"})
        primal = next(v for v in result["variants"] if v["name"] == "primal")["median_s"]
        stack = next((v.get("median_s") for v in result["variants"] if v["name"] == "stack"),
                     None)
        for peer in peers:
            if peer.get("median_s"):
                peer["ratio_to_primal"] = peer["median_s"] / primal
                peer["speedup_vs_stack"] = stack / peer["median_s"] if stack else None
        result["peers"] = peers
        rows.append(result)
        print(f"  {example.stem:<12} " + "  ".join(
            f"{v['name']} {v['ratio_to_primal']:.2f}" if v.get("ratio_to_primal")
            else f"{v['name']} -" for v in result["variants"][1:] + peers), flush=True)
    analyses = []
    if not args.no_analysis:
        scale = 1 if args.dataset == "small" else ANALYSIS_SCALE
        print(f"\ntape layouts in a simulated cache (polyad analyze, small sizes x {scale}):")
        for example in examples:
            if polyad.grad(polyad.parse(example)).tape.records:
                analyses.append(run_analysis(example, scale))
                print("  " + analysis_line(analyses[-1]), flush=True)
    write_outputs(rows, analyses, out, args, dgemm=dgemm)
    written = ["results.csv", "results.md"] + (["results.png"] if plt is not None else []) \
        + ["results.json"]
    print(f"\nwrote {', '.join(f'{out}/{name}' for name in written)} "
          f"in {time.time() - started:.0f} s")
    print(summary(rows))
    print(schedule_summary(rows))
    print(blas_summary(rows, dgemm))
    print(layout_summary(rows, analyses))
    print(memory_summary(rows))
    return 0


#: ``polyad analyze`` runs on the small sizes times this (for medium and
#: large): big enough that the stack tape outgrows a 32 KiB cache, small
#: enough for a trace enumerated in Python (about 2.5 minutes for all).
ANALYSIS_SCALE = 3
ANALYZED_LAYOUTS = ("stack", "regions", "stream")


def run_analysis(example: Path, scale: int) -> dict:
    """``polyad analyze --json`` of the stack baseline and the layouts."""
    kernel = polyad.parse(example)
    sizes = {name: value * scale for name, value in kernel.sizes("small").items()}
    command = [sys.executable, "-m", "polyad.cli", "analyze", str(example), "--json"]
    command += [f"--layout={layout}" for layout in ANALYZED_LAYOUTS]
    command += [f"-D{name}={value}" for name, value in sizes.items()]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    result = json.loads(done.stdout)
    return {"kernel": example.stem, "sizes": sizes,
            "layouts": {entry["layout"]: entry for entry in result["layouts"]}}


def on_chip_ratio(analysis: dict) -> float | None:
    """On-chip bytes the stack needs over the best of regions and stream."""
    stack = analysis["layouts"]["stack"]["on_chip_bytes_for_tape"]
    best = min((analysis["layouts"][name]["on_chip_bytes_for_tape"] or 0)
               for name in ANALYZED_LAYOUTS[1:])
    return stack / best if stack and best else None


def analysis_line(analysis: dict) -> str:
    layouts = analysis["layouts"]
    ratio = on_chip_ratio(analysis)
    return (f"{analysis['kernel']:<12} tape " + " / ".join(
        f"{name} {layouts[name]['tape_bytes']:,}" for name in ANALYZED_LAYOUTS)
        + " B; on-chip for <1% tape misses " + " / ".join(
        f"{layouts[name]['on_chip_bytes_for_tape'] or 0:,}" for name in ANALYZED_LAYOUTS)
        + (f" B ({ratio:.1f}x less than stack)" if ratio else " B"))


#: PolyBench's dense linear algebra and stencil kernels (and the CNN layer,
#: a stencil over channels): the suite the schedule goal is stated on.
DENSE_AND_STENCILS = ("atax", "bicg", "gemm", "gemver", "gesummv", "k2mm", "k3mm", "mvt",
                      "symm", "syr2k", "syrk", "trmm", "adi", "conv2d", "fdtd_2d", "heat_3d",
                      "jacobi_1d", "jacobi_2d", "seidel_2d")

def schedule_summary(rows: list[dict]) -> str:
    """The schedule goal: auto's speed-up over the plain reversal (exact)
    on the dense linear algebra and stencil kernels, and where it is slower
    beyond the spread of the timings (its fastest call slower than exact's
    median: identical code differs by 10% between rounds on a shared
    machine)."""
    speedups, slower = [], []
    for row in rows:
        exact, auto = entry(row, "exact"), entry(row, "auto")
        if not exact.get("median_s") or not auto.get("median_s"):
            continue
        if row["kernel"] in DENSE_AND_STENCILS:
            speedups.append(exact["median_s"] / auto["median_s"])
        if auto.get("min_s", auto["median_s"]) > exact["median_s"]:
            slower.append(f"{row['kernel']} ({exact['median_s'] / auto['median_s']:.2f}x)")
    if not speedups:
        return "auto over exact: n/a"
    return (f"auto over exact (the plain reversal): median speed-up "
            f"{statistics.median(speedups):.2f}x on {len(speedups)} dense linear algebra and "
            "stencil kernels; slower beyond the timing spread (its fastest call slower "
            "than exact's median) on: " + (", ".join(slower) or "none"))


#: The kernels whose work is matrix products: their GFLOP/s are on the page
#: beside this machine's dgemm.
CONTRACTIONS = ("gemm", "k2mm", "k3mm", "mlp", "syrk", "syr2k", "symm", "trmm", "atax",
                "bicg", "mvt", "gemver", "gesummv")


def dgemm_text(dgemm: dict | None) -> str:
    if not dgemm or "numpy_gflop_per_s" not in dgemm:
        return "not measured" + (f" ({dgemm['error']})" if dgemm and "error" in dgemm else "")
    text = f"numpy {dgemm['numpy_gflop_per_s']:.1f} GFLOP/s"
    if dgemm.get("scipy_openblas32_gflop_per_s"):
        text += (f", scipy-openblas32 (what generated code calls) "
                 f"{dgemm['scipy_openblas32_gflop_per_s']:.1f} GFLOP/s")
    environment = " ".join(f"{k}={v}" for k, v in sorted(dgemm.get("openblas_env", {})
                                                          .items()))
    return text + f" at n={dgemm['n']}" + (f" ({environment})" if environment else "")


def _gflops(row: dict, name: str) -> float | None:
    """GFLOP/s of a variant or peer: the exact gradient's work (or the
    primal's) per second."""
    found = entry(row, name)
    if found.get("gflop_per_s"):
        return found["gflop_per_s"]
    flops = entry(row, "exact").get("flops")
    return flops / found["median_s"] / 1e9 if flops and found.get("median_s") else None


def blas_summary(rows: list[dict], dgemm: dict | None) -> str:
    """GFLOP/s of the contraction kernels with and without BLAS calls, and
    this machine's dgemm."""
    lines = [f"GFLOP/s of the contraction kernels (this machine's dgemm: {dgemm_text(dgemm)}):",
             f"  {'kernel':<10} {'primal':>7} {'exact':>7} {'auto':>7} {'no-blas':>7} "
             f"{'jax':>7}  blas calls  auto over auto-no-blas"]
    speedups = []
    for row in rows:
        if row["kernel"] not in CONTRACTIONS:
            continue
        values = [_gflops(row, name) for name in ("primal", "exact", "auto", "auto-no-blas",
                                                  "jax")]
        auto, plain = entry(row, "auto"), entry(row, "auto-no-blas")
        speedup = plain["median_s"] / auto["median_s"] \
            if auto.get("median_s") and plain.get("median_s") else None
        if speedup:
            speedups.append(speedup)
        lines.append(f"  {row['kernel']:<10} " + " ".join(
            f"{v:7.1f}" if v else f"{'n/a':>7}" for v in values)
            + f"  {auto.get('blas_calls', 0):>10}  "
            + (f"{speedup:.2f}x" if speedup else "n/a"))
    if speedups:
        lines.append(f"  median speed-up of BLAS calls over loops: "
                     f"{statistics.median(speedups):.2f}x over {len(speedups)} kernels")
    return "\n".join(lines)


def layout_summary(rows: list[dict], analyses: list[dict]) -> str:
    """The tape-layout goals: speed-up over stack on the taped kernels, the
    part of it the layout alone gives (over exact), and on-chip memory."""
    taped = [r for r in rows if entry(r, "exact").get("tape_bytes")]
    lines = [f"tape layouts over the {len(taped)} kernels with a tape:"]
    for name in ("regions", "stream"):
        over_stack = [entry(r, name).get("speedup_vs_stack") for r in taped]
        over_exact = [entry(r, "exact").get("median_s", 0) / entry(r, name)["median_s"]
                      for r in taped if entry(r, name).get("median_s")]
        over_stack = [x for x in over_stack if x]
        if over_stack:
            lines.append(f"  {name:<8} median speed-up over stack {statistics.median(over_stack):.2f}x"
                         f", over exact (the layout alone) "
                         f"{statistics.median(over_exact):.2f}x")
    ratios = [x for x in map(on_chip_ratio, analyses) if x]
    if ratios:
        lines.append(f"  on-chip memory for <1% tape read misses, stack over the best layout: "
                     f"median {statistics.median(ratios):.1f}x less "
                     f"({sum(x >= 5 for x in ratios)} of {len(ratios)} kernels at least 5x)")
    return "\n".join(lines)


def variant_columns(rows: list[dict]) -> list[str]:
    names = []
    for row in rows:
        for v in row["variants"][1:] + row["peers"]:
            if v["name"] not in names:
                names.append(v["name"])
    return names


def summary(rows: list[dict]) -> str:
    lines = ["median gradient/primal ratio per variant:"]
    for name in variant_columns(rows):
        ratios = [entry(r, name).get("ratio_to_primal") for r in rows]
        ratios = [x for x in ratios if x]
        if ratios:
            lines.append(f"  {name:<8} {statistics.median(ratios):6.2f}  (over {len(ratios)} "
                         f"kernels, worst {max(ratios):.2f})")
        else:
            lines.append(f"  {name:<8}    n/a")
    return "\n".join(lines)


def write_outputs(rows: list[dict], analyses: list[dict], out: Path, args,
                  date: str | None = None, machine_name: str | None = None,
                  dgemm: dict | None = None) -> None:
    """results.json, .csv, .md and .png of a run (``date`` and
    ``machine_name`` default to today's and this machine's)."""
    date, machine_name = date or time.strftime("%Y-%m-%d"), machine_name or machine()
    columns = variant_columns(rows)
    write_atomically(out / "results.json", json.dumps(
        {"dataset": args.dataset, "threads": args.threads, "machine": machine_name,
         "date": date, "kernels": rows, "analyses": analyses, "dgemm": dgemm},
        indent=2))
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["kernel", "sizes", "variant", "median_s", "min_s", "max_s",
                     "ratio_to_primal", "speedup_vs_stack", "tape_bytes", "extra_bytes",
                     "peak_extra_bytes", "xla_temp_bytes", "verified"])
    for row in rows:
        sizes = " ".join(f"{k}={v}" for k, v in row["sizes"].items())
        for v in row["variants"] + row["peers"]:
            writer.writerow([row["kernel"], sizes, v["name"], v.get("median_s"),
                             v.get("min_s"), v.get("max_s"), v.get("ratio_to_primal"),
                             v.get("speedup_vs_stack"), v.get("tape_bytes"),
                             v.get("extra_bytes"), v.get("peak_extra_bytes"),
                             v.get("xla_temp_bytes"), v.get("verified", v.get("available"))])
    write_atomically(out / "results.csv", table.getvalue())
    header = ["kernel", "sizes", "primal ms"] + [f"{c} ×primal (×stack)" for c in columns] \
        + ["tape exact / stack (bytes)"]
    lines = [f"Dataset {args.dataset}, {args.threads} thread(s), {machine_name}, "
             f"{date}. Ratio = gradient time / original kernel time; "
             "(×stack) = speed-up over the stack tape; n/a = not available.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        sizes = " ".join(f"{k}={v}" for k, v in row["sizes"].items())
        cells = [row["kernel"], sizes, f"{entry(row, 'primal')['median_s'] * 1e3:.3g}"]
        for name in columns:
            found = entry(row, name)
            if found.get("ratio_to_primal"):
                speed = found.get("speedup_vs_stack")
                cells.append(f"{found['ratio_to_primal']:.2f}"
                             + (f" ({speed:.1f})" if speed else ""))
            elif found.get("verified") is False:
                cells.append("WRONG")
            else:
                cells.append("n/a")
        cells.append(f"{entry(row, 'exact').get('tape_bytes', 0):,} / "
                     f"{entry(row, 'stack').get('tape_bytes', 0):,}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "```", summary(rows), schedule_summary(rows), blas_summary(rows, dgemm),
              layout_summary(rows, analyses), memory_summary(rows), "```"]
    lines += memory_table(rows)
    if analyses:
        lines += ["", "Tape layouts in a simulated cache (`polyad analyze`): tape bytes, and the "
                  "on-chip memory (a fully associative LRU cache) that keeps the reverse "
                  "sweep's tape read misses under 1%.", "",
                  "| kernel | sizes | " + " | ".join(f"{n} tape B" for n in ANALYZED_LAYOUTS)
                  + " | " + " | ".join(f"{n} on-chip B" for n in ANALYZED_LAYOUTS)
                  + " | stack / best |", "|" + "---|" * (3 + 2 * len(ANALYZED_LAYOUTS))]
        for analysis in analyses:
            layouts = analysis["layouts"]
            ratio = on_chip_ratio(analysis)
            lines.append("| " + " | ".join(
                [analysis["kernel"], " ".join(f"{k}={v}" for k, v in analysis["sizes"].items())]
                + [f"{layouts[n]['tape_bytes']:,}" for n in ANALYZED_LAYOUTS]
                + [f"{layouts[n]['on_chip_bytes_for_tape'] or 0:,}" for n in ANALYZED_LAYOUTS]
                + [f"{ratio:.1f}" if ratio else "n/a"]) + " |")
    write_atomically(out / "results.md", "\n".join(lines) + "\n")
    plot(rows, columns, out / "results.png", args)


def plot(rows: list[dict], columns: list[str], path: Path, args) -> None:
    if plt is None:
        print("matplotlib not installed: no plot (pip install .[bench])")
        return
    kernels = [r["kernel"] for r in rows]
    width = 0.8 / max(len(columns), 1)
    figure, axes = plt.subplots(figsize=(max(10, len(kernels) * 0.6), 5))
    for k, name in enumerate(columns):
        values = [entry(r, name).get("ratio_to_primal") or np.nan for r in rows]
        axes.bar(np.arange(len(kernels)) + k * width, values, width, label=name)
    axes.set_yscale("log")
    axes.axhline(1.0, color="black", linewidth=0.5)
    axes.set_xticks(np.arange(len(kernels)) + width * (len(columns) - 1) / 2)
    axes.set_xticklabels(kernels, rotation=60, ha="right")
    axes.set_ylabel("gradient time / original kernel time (log)")
    axes.set_title(f"polyad gradients and peers, {args.dataset}, {args.threads} thread(s)")
    axes.legend()
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=120)
    plt.close(figure)
    write_atomically(path, image.getvalue())


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{model}, {os.cpu_count()} cores"


if __name__ == "__main__":
    sys.exit(main())
