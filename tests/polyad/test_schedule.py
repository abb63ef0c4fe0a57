"""Schedule primitives: what each does to the loops, its trace round trip,
and the ScheduleError of an illegal use. Oracles: the structure of the
schedule and of the generated C; for correctness, the interpreter, the
dot-product test and finite differences through verify.check_gradient."""

from __future__ import annotations

import ctypes
import ctypes.util
import re

import islpy as isl
import numpy as np
import pytest

import polyad
from polyad import api
from polyad.check import verify
from polyad.errors import ScheduleError
from polyad.model.kernel import maps_of
from polyad.schedule.auto import skewed as is_skewed
from polyad.schedule.schedule import Schedule
from tests.conftest import EXAMPLES, example


def _kernel(body: str, params: str = "int n, double x[n], double y[n], double z[n]"):
    return polyad.parse(f"void k({params}) {{\n#pragma scop\n{body}\n#pragma endscop\n}}")


def _loops(schedule: Schedule) -> dict[str, tuple[str, ...]]:
    return {str(r.loop): tuple(map(str, r.annotations)) for r in schedule.loops()}


def _checked(target, schedule: Schedule) -> None:
    """The scheduled gradient passes every oracle, and the trace replays."""
    replayed = Schedule.replay(target.schedule(), schedule.to_json())
    assert replayed.flat.is_equal(schedule.flat)
    assert replayed.annotations == schedule.annotations
    kernel = target.kernel
    result = verify.check_gradient(kernel, kernel.sizes(), wrt=target.wrt, of=target.of,
                                   strategy=target.strategy,
                                   schedule=lambda base: Schedule.replay(base,
                                                                         schedule.to_json()))
    assert all(c["ok"] for c in result["checks"]), result["checks"]


GEMM = example("gemm")


def test_tile_makes_tile_loops():
    adjoint = polyad.grad(GEMM)
    tiled = adjoint.schedule().tile(["S1_b.k", "S1_b.j"], [4, 5])
    assert {"S1_b.k_tile", "S1_b.j_tile", "S1_b.k", "S1_b.j"} <= set(_loops(tiled))
    plain = api.generate_c(adjoint).count("for (")
    assert api.generate_c(adjoint, tiled).count("for (") == plain + 2
    _checked(adjoint, tiled)


def test_tile_refuses_a_nest_that_is_not_permutable():
    # Gauss-Seidel in place: A[i][j] needs A[i-1][j+1] of the same sweep, a
    # dependence of distance (1, -1) that rectangular tiles would break.
    seidel = example("seidel_2d")
    with pytest.raises(ScheduleError, match="violate a dependence: S0"):
        api.schedule(seidel).tile(["S0.i", "S0.j"], [4, 4])


def test_tile_refuses_loops_that_are_not_perfectly_nested():
    with pytest.raises(ScheduleError, match="perfectly nested"):
        polyad.grad(GEMM).schedule().tile(["S0_b.i", "S1_b.k"], [4, 4])


def test_interchange_reorders_loops():
    adjoint = polyad.grad(GEMM)
    swapped = adjoint.schedule().interchange(["S1_b.k", "S1_b.j"], ["S1_b.j", "S1_b.k"])
    depths = {str(r.loop): r.depth for r in swapped.loops()}
    assert depths["S1_b.j"] < depths["S1_b.k"]
    _checked(adjoint, swapped)


def test_interchange_refuses_to_break_a_dependence():
    with pytest.raises(ScheduleError, match="line 1[0-9]: A\\[i\\]\\[j\\]"):
        api.schedule(example("seidel_2d")).interchange(["S0.i", "S0.j"], ["S0.j", "S0.i"])


def test_fuse_and_distribute_are_inverse_on_an_independent_pair():
    kernel = _kernel("for (int i = 0; i < n; i++) y[i] = x[i] * x[i];\n"
                     "for (int i = 0; i < n; i++) z[i] = y[i] * 2.0;")
    adjoint = polyad.grad(kernel, wrt=["x"], of=["z"])
    schedule = adjoint.schedule()
    fused = schedule.fuse("S1_b.i", "S0_b.i")
    names = [r.instructions for r in fused.loops() if r.sweep == "reverse"]
    assert ("S0_b", "S1_b") in names
    _checked(adjoint, fused)
    split = fused.distribute("S1_b.i")
    assert [r.instructions for r in split.loops() if r.sweep == "reverse"] == [
        ("S1_b",), ("S0_b",)]


def test_fuse_refuses_to_read_before_write():
    kernel = _kernel("for (int i = 0; i < n; i++) y[i] = x[i] * x[i];\n"
                     "for (int i = 0; i < n; i++) z[i] = y[n - 1 - i];")
    with pytest.raises(ScheduleError, match="must run before"):
        api.schedule(kernel).fuse("S0.i", "S1.i")


def test_distribute_refuses_a_loop_carried_cycle():
    kernel = _kernel("for (int i = 1; i < n; i++) {\n y[i] = z[i - 1] * 2.0;\n"
                     " z[i] = y[i] + x[i];\n}")
    with pytest.raises(ScheduleError, match="violate a dependence"):
        api.schedule(kernel).distribute("S0.i")


def test_skew_shifts_a_loop_by_an_outer_one():
    jacobi = example("jacobi_1d")
    adjoint = polyad.grad(jacobi)
    plain = adjoint.schedule()
    skewed = plain.skew("S0_b.i", "S0_b.t", 1)
    instruction = [m for m in maps_of(skewed.flat)
                   if m.get_tuple_name(isl.dim_type.in_) == "S0_b"]
    assert is_skewed(instruction[0]) and not any(is_skewed(m) for m in maps_of(plain.flat))
    _checked(adjoint, skewed)
    with pytest.raises(ScheduleError, match="not outside"):
        adjoint.schedule().skew("S0_b.t", "S0_b.i", 1)


def test_unroll_and_vectorize_emit_pragmas():
    schedule = api.schedule(GEMM).unroll("S1.k", 4).vectorize("S1.j")
    code = api.generate_c(GEMM, schedule)
    assert "#pragma GCC unroll 4" in code and "#pragma omp simd" in code
    api.compile(GEMM, schedule=schedule)  # GCC takes both (on one loop it takes neither)
    with pytest.raises(ScheduleError, match="already marked unroll"):
        api.schedule(GEMM).unroll("S1.j", 4).vectorize("S1.j")
    with pytest.raises(ScheduleError, match="at least 1"):
        api.schedule(GEMM).unroll("S1.j", 0)
    with pytest.raises(ScheduleError, match="not an innermost loop"):
        api.schedule(GEMM).vectorize("S1.k")


def test_parallel_uses_a_reduction_for_a_scalar_and_refuses_a_race():
    adjoint = polyad.grad(GEMM)
    schedule = adjoint.schedule()
    parallel = schedule.parallel("S1_b.k")
    code = api.generate_c(adjoint, parallel)
    assert "#pragma omp parallel for reduction(+: alpha_b[0:1])" in code
    _checked(adjoint, parallel)
    with pytest.raises(ScheduleError, match="increments of B_b .* meet"):
        schedule.parallel("S1_b.i")
    atomic = schedule.parallel("S1_b.i", atomics=True)
    assert "#pragma omp atomic" in api.generate_c(adjoint, atomic)
    _checked(adjoint, atomic)


def test_parallel_refuses_a_carried_dependence():
    recurrence = polyad.parse("void f(int n, double x[n], double y[n]) "
                              "{ for (int i = 1; i < n; i++) x[i] = 0.5 * x[i - 1] + y[i]; }")
    with pytest.raises(ScheduleError, match="carries a dependence"):
        api.schedule(recurrence).parallel("S0.i")


def test_parallel_refuses_racing_increments_of_the_primal():
    """gemm's C[i][j] += ... over k: an increment (reassociable), but the
    iterations of k would race on C[i][j] without atomics."""
    with pytest.raises(ScheduleError, match="meet"):
        api.schedule(GEMM).parallel("S1.k")


def test_forbidding_reassociation_keeps_increments_in_order():
    adjoint = polyad.grad(GEMM)
    strict = adjoint.schedule(reassociate=False)
    with pytest.raises(ScheduleError, match="reassociation"):
        strict.parallel("S1_b.k")
    with pytest.raises(ScheduleError):
        strict.interchange(["S1_b.k", "S1_b.j"], ["S1_b.j", "S1_b.k"])


def test_color_makes_a_stencil_adjoint_parallel_without_atomics():
    adjoint = polyad.grad(example("jacobi_1d"))
    schedule = adjoint.schedule()
    with pytest.raises(ScheduleError, match="increments of"):
        schedule.parallel("S1_b.i")
    colored = schedule.color("S1_b.i").parallel("S1_b.i")
    code = api.generate_c(adjoint, colored)
    assert "#pragma omp parallel for\n" in code and "atomic" not in code
    assert "-= 3" in code  # three classes: the stencil reaches one element each side
    # Each parallel loop also comes without a region, for one thread
    # (test_one_and_two_threads_agree runs both).
    assert code.count("if (polyad_threads() > 1) {") == code.count("#pragma omp parallel for")
    _checked(adjoint, colored)


def test_unknown_loops_and_primitives_are_clear_errors():
    schedule = polyad.grad(GEMM).schedule()
    with pytest.raises(ScheduleError, match="loops of S1_b: S1_b.i, S1_b.j, S1_b.k"):
        schedule.loop("S1_b", "q")
    with pytest.raises(ScheduleError, match="no instruction 'S9_b'"):
        schedule.loop("S9_b", "i")
    with pytest.raises(ScheduleError, match="unknown schedule primitive 'spin'"):
        Schedule.replay(schedule, '{"steps": [{"primitive": "spin"}]}')


def test_an_illegal_step_changes_nothing():
    schedule = api.schedule(example("seidel_2d"))
    before = schedule.flat
    with pytest.raises(ScheduleError):
        schedule.interchange(["S0.i", "S0.j"], ["S0.j", "S0.i"])
    assert schedule.flat.is_equal(before) and schedule.trace == ()


@pytest.mark.parametrize("name", ["gemm", "jacobi_2d", "conv2d", "mlp"])
def test_parallel_forward_loops_give_parallel_reverse_loops_without_atomics(name):
    adjoint = polyad.grad(example(name))
    schedule = adjoint.schedule().auto()
    marked = [r for r in schedule.loops()
              if r.sweep == "reverse" and any(str(a).startswith("parallel") for a in r.annotations)]
    assert marked
    assert not any("atomic" in str(a) for r in marked for a in r.annotations)


def test_nested_parallel_loops_reduce_a_local_the_outer_body_takes_by_address():
    """An inner parallel loop inside an outer one's outlined body reduces a
    local scalar adjoint (t_b) the body receives as a pointer: as a section
    ``t_b[0:1]``, which the compiler accepts (``reduction(+: t_b)`` on the
    pointer did not compile; found by make fuzz, seed 11). Oracles: every
    one of check_gradient, at one and at two threads."""
    kernel = polyad.parse("void k(int n, double alpha, double A[n][n], double B[n][n]) {\n"
                          "  double t = 2.0 * alpha;\n"
                          "  for (int i = 0; i < n; i++)\n"
                          "    for (int j = 0; j < n; j++)\n"
                          "      B[i][j] = t * A[i][j];\n}")
    adjoint = polyad.grad(kernel)
    nested = adjoint.schedule().parallel("S1_b.i").parallel("S1_b.j")
    assert "reduction(+: t_b[0:1])" in api.generate_c(adjoint, nested)
    for count in (1, 2):
        _threads(count)
        try:
            _checked(adjoint, nested)
        finally:
            _threads(1)


def _threads(count: int) -> None:
    libgomp = ctypes.CDLL(ctypes.util.find_library("gomp") or "libgomp.so.1")
    libgomp.omp_set_num_threads(count)


@pytest.mark.parametrize("name", ["gemm", "jacobi_2d", "conv2d", "mlp", "lu", "softmax"])
def test_one_and_two_threads_agree(name):
    kernel = example(name)
    adjoint = polyad.grad(kernel)
    function = api.compile(adjoint, adjoint.schedule().auto())
    sizes = kernel.sizes()
    values = verify.kernel_inputs(kernel, sizes, seed=3)
    rng = np.random.default_rng(4)
    seeds = {f"{n}_b": rng.standard_normal(kernel.array(n).shape(sizes)) for n in adjoint.of}
    results = []
    for count in (1, 2):
        _threads(count)
        results.append(function(**values, **seeds))
    _threads(1)
    for name_b in (f"{n}_b" for n in adjoint.wrt):
        one, two = np.asarray(results[0][name_b]), np.asarray(results[1][name_b])
        assert np.allclose(one, two, rtol=1e-12, atol=1e-12 * np.max(np.abs(one))), name_b


# --- gather ---------------------------------------------------------------------

def _loop_bodies(code: str) -> list[str]:
    """The body of every ``for`` loop of generated C, braces balanced."""
    bodies = []
    for start in (m.end() for m in re.finditer(r"for \([^)]*\) \{", code)):
        depth, end = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(code[end], 0)
            end += 1
        bodies.append(code[start:end - 1])
    return bodies


def test_gather_turns_a_scattered_stencil_adjoint_into_a_gather():
    """Oracles (through _checked): the reverse-mode interpreter, central
    differences and the dot-product test; and the trace replays."""
    adjoint = polyad.grad(example("jacobi_1d"))
    gathered = adjoint.schedule().gather("S1_b", "B")
    assert gathered.rewrites == (("gather", "S1_b", "B_b"),)
    assert {"S1_b_gather0", "S1_b_gather1", "S1_b_gather2", "S1_b_rest"} <= {
        i.name for i in gathered.program.instructions}
    code = api.generate_c(adjoint, gathered)
    # Three increments of one element per iteration, the boundary peeled off:
    # the steady-state loop has no guard.
    steady = [body for body in _loop_bodies(code)
              if body.count("B_b[c1 - 1] +=") == 3 and "for (" not in body]
    assert steady and all("if (" not in body for body in steady), code
    _checked(adjoint, gathered)


@pytest.mark.parametrize("name", ["jacobi_2d", "heat_3d", "fdtd_2d"])
def test_auto_gathers_stencil_adjoints_and_stays_exact(name):
    """Oracles (through _checked): the reverse-mode interpreter, central
    differences and the dot-product test."""
    adjoint = polyad.grad(example(name))
    schedule = adjoint.schedule().auto()
    assert schedule.rewrites and all(kind == "gather" for kind, _, _ in schedule.rewrites)
    # auto's trace holds the concrete primitives it applied (_checked replays it).
    primitives = [step.primitive for step in schedule.trace]
    assert primitives[:len(schedule.rewrites)] == ["gather"] * len(schedule.rewrites)
    assert "reorder" in primitives and "auto" not in primitives
    _checked(adjoint, schedule)


def test_gather_refuses_what_would_change_the_gradient():
    with pytest.raises(ScheduleError, match="uses A_b other than by incrementing it"):
        api.schedule(polyad.grad(example("seidel_2d"))).gather("S0_b", "A")
    with pytest.raises(ScheduleError, match="through two or more references"):
        polyad.grad(GEMM).schedule().gather("S1_b", "C")
    # A stencil whose neighbours are overwritten: the values come from a tape,
    # read in the order it was written, so its parts cannot move.
    kernel = _kernel("for (int t = 0; t < n; t++) {\n"
                     "  for (int i = 1; i < n - 1; i++) y[i] = x[i - 1] * x[i + 1];\n"
                     "  for (int i = 1; i < n - 1; i++) x[i] = y[i];\n}")
    schedule = polyad.grad(kernel).schedule()
    with pytest.raises(ScheduleError, match="is split in parts"):
        schedule.gather("S0_b", "x")
    taped = [i.name for i in schedule.program.instructions
             if i.name.startswith("S0_b") and i.name != "S0_b"]
    for part in taped:
        with pytest.raises(ScheduleError, match="reads a tape|no loop of"):
            schedule.gather(part, "x")
    assert schedule.auto().rewrites == ()


def test_vectorize_accumulates_an_unmoved_element_next_to_moving_ones_that_never_meet_it():
    """symm's k loop increments B_b[i][j] (unmoved) and B_b[k][j] (moving,
    k < i, so never the same element): the first goes to a register, the
    second stays in memory (the refusal where they meet is in the peel
    test). Oracles (through _checked): interpreter, differences, dot product."""
    adjoint = polyad.grad(example("symm"))
    schedule = adjoint.schedule().vectorize("S2_b.k")
    assert ("S2_b.k", "simd:accumulate=alpha_b,B_b") in {
        (str(h), str(kind)) for h, kind in schedule.annotations}
    code = api.generate_c(adjoint, schedule)
    assert re.search(r"B_b\[c0\]\[c1\] \+= _acc\d;", code), code
    assert re.search(r"B_b\[c2\]\[c1\] \+=", code), code
    _checked(adjoint, schedule)


def test_peel_keeps_its_instances_as_an_isl_set_whatever_the_iterators_are_named():
    """make fuzz (seed 4, shard 11): a loop iterator named min, peeled under
    the regions layout, crashed when the layout's program replayed the
    peel from the set's text (isl does not parse min as a name). The set
    stays an isl set. Oracles: every one of check, regions layout."""
    kernel = _kernel("for (int min = 0; min < n; min++)\n  for (int k = 0; k < n; k++)\n"
                     "    for (int j = min; j < n; j++)\n      y[min][j] += x[k][min] * x[k][j];",
                     params="int n, double x[n][n], double y[n][n]")
    regions = polyad.grad(kernel).with_layout("regions")
    peeled = regions.schedule().peel("S0_b.j").vectorize("S0_b.j")
    assert "#pragma omp simd reduction(+: _acc0)" in api.generate_c(regions, peeled)
    result = verify.check_gradient(kernel, {"n": 6}, layout="regions",
                                   schedule=lambda base: base.peel("S0_b.j").vectorize("S0_b.j"))
    assert result["verdict"] == "ok", result["checks"]


def test_peel_splits_off_where_increments_meet_so_the_rest_vectorizes():
    """y[i][j] += x[k][i] * x[k][j] (j >= i), covariance's core: the adjoint
    increments x_b[k][i] and x_b[k][j], equal at j == i. Peeled, the j > i
    iterations accumulate x_b[k][i] in a register. Oracles (through
    _checked): interpreter, differences, dot product; and the trace
    replays."""
    kernel = _kernel("for (int i = 0; i < n; i++)\n  for (int k = 0; k < n; k++)\n"
                     "    for (int j = i; j < n; j++)\n      y[i][j] += x[k][i] * x[k][j];",
                     params="int n, double x[n][n], double y[n][n]")
    adjoint = polyad.grad(kernel)
    schedule = adjoint.schedule()
    with pytest.raises(ScheduleError, match="increments of x_b from different iterations"):
        schedule.vectorize("S0_b.j")
    peeled = schedule.peel("S0_b.j")
    (kind, name, instances), = peeled.rewrites
    assert (kind, name) == ("peel", "S0_b")
    assert instances.is_equal(isl.Set(
        "[n] -> { S0_b[i, k, j] : j = i and 0 <= i < n and 0 <= k < n }"))
    vectorized = peeled.vectorize("S0_b.j")
    assert ("S0_b.j", "simd:accumulate=x_b") in {
        (str(h), str(kind)) for h, kind in vectorized.annotations}
    code = api.generate_c(adjoint, vectorized)
    assert "#pragma omp simd reduction(+: _acc0)" in code
    _checked(adjoint, vectorized)
    # (With BLAS, covariance's triangular products are calls: its loops peel.)
    covariance = polyad.grad(example("covariance")).schedule().auto(blas=False)
    assert [kind for kind, _, _ in covariance.rewrites] == ["peel"]
    # Layers do not stage peeled pieces: auto of a layers adjoint does not
    # peel, and a peeled schedule is refused rather than left to run for
    # minutes.
    layered = polyad.grad(kernel).with_layout("layers")
    assert layered.schedule().auto().rewrites == ()
    with pytest.raises(polyad.UsageError, match="does not stage a peeled schedule"):
        api.program_of(layered, peeled)


def test_peel_refuses_loops_without_a_meeting():
    schedule = polyad.grad(GEMM).schedule()
    with pytest.raises(ScheduleError, match="no increment of an element"):
        schedule.peel("S1_b.j")
    with pytest.raises(ScheduleError, match="not an innermost loop"):
        schedule.peel("S1_b.k")
