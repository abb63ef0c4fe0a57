"""Differential testing on random kernels, through every path (hypothesis).

Each random kernel (tests/polyad/kernelgen.py) goes through a random path
(tests/polyad/fuzzpaths.py): the exact or stack tape, every layout, the
default schedule, ``auto`` or random primitives built through the Schedule
API, one or two OpenMP threads. Oracles: the original C compiled by the
system compiler (primal, bitwise), the reverse-mode interpreter (gradient,
1e-9 relative), the dot-product test between the tangent and the adjoint
code (1e-9), and, for a rescheduled tangent, the dot product of its
directional derivative with the interpreter's gradient; a kernel with float
data at the oracles' float tolerances instead (not 'wrong'; 1e-3 for the
rescheduled tangent).

The kernels run in shards, each a hypothesis run of its own seed, so that
pytest-xdist spreads them over the cores. ``make fuzz`` runs thousands
(POLYAD_FUZZ_EXAMPLES, POLYAD_FUZZ_SHARDS); a failure names its shard's
seed (POLYAD_FUZZ_SEED), the path and the kernel.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, note, seed, settings
from hypothesis import strategies as st

from polyad import codegen
from polyad.bounds import BoundExceeded
import polyad
from polyad.check import verify
from polyad.ad.activity import floating_inputs, floating_outputs
from polyad.check.interpreter import Interpreter
from polyad.check.oracles import precision_of
from polyad.codegen.binding import NUMPY_TYPES
from polyad.program.derived import derivative_names
from polyad.program.ir import TANGENT_SUFFIX
from polyad.model.gathers import gathers
from tests.polyad.fuzzpaths import paths, set_threads
from tests.polyad.kernelgen import fixed_sizes, kernels

EXAMPLES = int(os.environ.get("POLYAD_FUZZ_EXAMPLES", "200"))
SHARDS = int(os.environ.get("POLYAD_FUZZ_SHARDS", "16"))
FIRST_SEED = int(os.environ.get("POLYAD_FUZZ_SEED", "0"))
#: Shrinking a failing kernel can take hypothesis many minutes (each try
#: compiles C): the suite reports the kernel as found, POLYAD_FUZZ_SHRINK=1
#: asks for the smallest one.
PHASES = tuple(Phase) if os.environ.get("POLYAD_FUZZ_SHRINK") else (
    Phase.explicit, Phase.generate)
TOLERANCE = 1e-9
#: A float kernel's scheduled tangent against the interpreter (in double).
FLOAT_TOLERANCE = 1e-3
#: Where each shard writes the case it is about to run: generated code that
#: crashes the process (a heap overflow) leaves its kernel and path there.
CURRENT = Path(os.environ.get("POLYAD_FUZZ_LOG", Path(tempfile.gettempdir()) / "polyad-fuzz"))


@pytest.fixture(autouse=True, scope="module")
def _quick_compiles():
    """-O1 compiles faster; bitwise comparisons use the same flags on both sides."""
    saved = os.environ.get("CFLAGS")
    os.environ["CFLAGS"] = "-O1 -ffp-contract=off"
    yield
    if saved is None:
        del os.environ["CFLAGS"]
    else:
        os.environ["CFLAGS"] = saved
    set_threads(1)


def _inner(a: dict, b: dict) -> float:
    return float(sum(np.vdot(np.asarray(a[k], float).ravel(), np.asarray(b[k], float).ravel())
                     for k in a))


def check_random_kernel(text: str, path, n: int, log: Path | None = None) -> None:
    note(f"path: {path}")
    if log is not None:
        log.write_text(f"/* n={n} {path} */\n{text}")
    fixed = fixed_sizes(text)
    kernel = polyad.parse(text, fix=fixed)
    # check refuses a kernel with nothing to differentiate (tested elsewhere).
    assume(floating_outputs(kernel) and floating_inputs(kernel))
    sizes = {**{size: n for size in kernel.params}, **fixed}  # kernelgen may rename n
    values = verify.kernel_inputs(kernel, sizes, seed=n)
    original, _ = codegen.compile_original(kernel)
    outputs = original(**values)
    assume(all(np.all(np.isfinite(v)) and np.max(np.abs(v)) < 1e6 for v in outputs.values()))
    # Temporaries too: a dead local that overflowed (s *= s) makes 0 * inf
    # in its adjoint, which no oracle can judge.
    final, _ = Interpreter(kernel).gradient(values, {}, ())
    assume(all(np.all(np.isfinite(v)) and np.max(np.abs(v), initial=0.0) < 1e6
               for v in final.values()))
    # Likewise an intermediate value that overflows and dies (s = s * s in
    # a loop, then s overwritten): its adjoint is 0 * inf, NaN in the
    # generated reverse sweep, while the derivative, which finite
    # differences and the tangent agree on, is finite (make fuzz, seed 5,
    # shard 3). Reverse mode cannot be judged there (limitations.md).
    assume(Interpreter(kernel).first_nonfinite(values) is None)
    # The layers layout refuses gathers (an argmax's reads through its index).
    assume(not (path.layout == "layers" and gathers(kernel)))
    set_threads(path.threads)
    # The default order needs no Schedule (building one for it costs a
    # dependence analysis and changes nothing: program_of ignores it).
    try:
        result = verify.check_gradient(kernel, sizes, strategy=path.strategy, seed=n,
                                       schedule=None if path.schedule == "none" else path.build,
                                       layout=path.layout, snapshots=path.snapshots)
    except BoundExceeded:
        # A path past isl's bounds is refused with exit 2 and advice, by
        # design (a checkpointed nest of three loops printed with two
        # threads, seed 4): no gradient to judge.
        assume(False)
    checks = {c["oracle"]: c for c in result["checks"]}
    primal = [c for name, c in checks.items() if name.startswith("primal vs original C")]
    assert primal and primal[0]["ok"], checks
    gradients = [checks["reverse-mode interpreter"], checks["dot product <w, J v> = <J^T w, v>"]]
    if precision_of(kernel).name == "double":
        assert all(c["max_rel_err"] <= TOLERANCE for c in gradients), checks
    else:
        # In float, the oracles' own tolerances (float's precision at the
        # condition estimate); a gradient float cannot resolve is no error.
        assert all(c["verdict"] != "wrong" for c in gradients), checks
    if path.schedule != "none":
        _check_scheduled_tangent(kernel, sizes, values, path)


def _check_scheduled_tangent(kernel, sizes, values, path) -> None:
    """The tangent in the same kind of schedule: <w, J v> from it against
    <J^T w, v> from the interpreter's gradient."""
    tangent = polyad.jvp(kernel)
    base = polyad.api.schedule(tangent)
    schedule = base.auto() if path.schedule == "auto" else path.build(base)
    function = polyad.compile(tangent, schedule=schedule)
    rng = np.random.default_rng(n_seed := min(sizes.values()) + 7)
    shape = lambda name: kernel.array(name).shape(sizes)  # noqa: E731
    numpy = lambda name: NUMPY_TYPES[kernel.array(name).dtype]  # noqa: E731
    directions = {name: rng.standard_normal(shape(name)).astype(numpy(name))
                  for name in tangent.wrt}
    outputs = [a.name for a in kernel.arrays if a.is_float and a.role in ("output", "inout")
               and a.storage == "parameter"]
    weights = {name: rng.standard_normal(shape(name)) for name in outputs}
    d = derivative_names(kernel, TANGENT_SUFFIX)
    forward = function(**values, **{d[name]: directions[name] for name in tangent.wrt})
    _, gradient = Interpreter(kernel).gradient(values, weights, tangent.wrt)
    projected = _inner(weights, {name: forward[d[name]] for name in outputs})
    pulled = _inner(gradient, directions)
    scale = max(abs(projected), abs(pulled), 1e-300)
    tolerance = TOLERANCE if precision_of(kernel).name == "double" else FLOAT_TOLERANCE
    assert abs(projected - pulled) <= tolerance * scale + 1e-300, (n_seed, projected, pulled)


def _shard_test(shard_seed: int, count: int):
    @seed(shard_seed)
    @settings(max_examples=count, deadline=None, database=None, derandomize=False,
              phases=PHASES,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(text=kernels(), path=paths(), n=st.integers(4, 6))
    def run(text, path, n):
        check_random_kernel(text, path, n, CURRENT / f"shard-{shard_seed}.c")
    return run


@pytest.mark.parametrize("shard", range(SHARDS))
def test_random_kernels(shard):
    """POLYAD_FUZZ_EXAMPLES kernels in all, this shard's share of them."""
    count = EXAMPLES // SHARDS + (1 if shard < EXAMPLES % SHARDS else 0)
    shard_seed = FIRST_SEED * 100_000 + shard
    CURRENT.mkdir(parents=True, exist_ok=True)
    try:
        _shard_test(shard_seed, count)()
    except BaseException as error:
        error.add_note(f"reproduce: POLYAD_FUZZ_SEED={FIRST_SEED} POLYAD_FUZZ_SHARDS={SHARDS} "
                       f"POLYAD_FUZZ_EXAMPLES={EXAMPLES}, shard {shard} (hypothesis seed "
                       f"{shard_seed}); a crash leaves its case in {CURRENT}")
        raise
