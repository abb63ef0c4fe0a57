"""Checking generated code against oracles that share none of its code.

``check_gradient`` returns one record per oracle, ``{"oracle", "verdict",
"ok", "max_rel_err", "tolerance", "detail"}``, and an overall ``verdict``:

- ``ok``: every oracle agrees within a tolerance derived from the numerics at
  these inputs (a condition estimate, a finite-difference error estimate);
- ``wrong gradient``: an oracle disagrees by more than that tolerance;
- ``ill-conditioned``: the tolerance itself is too large to tell a right
  gradient from a wrong one at these inputs (the estimate is reported);
- ``bad inputs``: the original kernel computes a NaN or an infinity on the
  inputs, so no oracle is run; the first statement that did is named.

A kernel with nothing to differentiate is refused (UsageError).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from polyad import codegen
from polyad.ad.activity import floating_inputs, floating_outputs
from polyad.ad.adjoint import grad, jvp
from polyad.errors import UsageError
from polyad.check.inputs import InitKind, check_init, random_inputs
from polyad.check.interpreter import Interpreter
from polyad.program.derived import derivative_names
from polyad.program.tangent import tangent_program
from polyad.model.kernel import Kernel, fix_sizes
from polyad.check.oracles import (CONDITION_LIMIT, MEANINGFUL, VERDICT_ILL,  # noqa: F401
                            VERDICT_OK, VERDICT_WRONG, check_dot, check_finite_differences,
                            check_forward_sweeps, compare_with_interpreter, condition_of,
                            inner, overall_verdict, precision_of, relative_error)
from polyad.program.ir import ADJOINT_SUFFIX, TANGENT_SUFFIX, primal_program
from polyad.schedule.marks import Library
from polyad.schedule.rounding import forward_roundings
from polyad.schedule.schedule import Schedule
from polyad.schedule.tree import marks_in
from polyad.program.targets import load_schedule, program_of
from polyad.tape.plan import count_points

#: The oracles ``check_gradient`` can run, in the order it runs them.
ORACLES = ("primal", "interpreter", "dot", "fd")
#: The verdict when the original kernel computes NaN or inf on the inputs.
VERDICT_BAD_INPUTS = "bad inputs"

#: The interpreter runs in Python (about 40 us per statement instance for
#: the gradient): beyond this many instances it runs at reduced sizes, and
#: says so.
INTERPRETER_BUDGET = 60_000
SECONDS_PER_INSTANCE = 4e-5
#: Searching for the first non-finite value runs the interpreter forward
#: only (about 20 us per instance); beyond this many instances polyad does
#: not search, and says so.
SEARCH_BUDGET = 500_000


def kernel_inputs(kernel: Kernel, sizes: Mapping[str, int], seed: int,
                  given: Mapping[str, object] | None = None,
                  init: Mapping[str, InitKind] | None = None) -> dict[str, object]:
    """Inputs for a run: random ones, then the file's init function, then
    the kinds of ``init`` (``--init``), then ``given`` arrays (``--inputs``):
    each later source wins. Precondition: ``check_init(kernel, init)``."""
    values = random_inputs(kernel, sizes, seed)
    _, function = codegen.compile_original(kernel)
    if function is not None:
        values.update(function(**values))
    if init:
        chosen = random_inputs(kernel, sizes, seed, init=init)
        values.update({name: chosen[name] for name in init})
    if given:
        values.update(given)
    return values


def check_primal(kernel: Kernel, values: Mapping[str, object]) -> dict:
    """Oracle: the user's function compiled by the system compiler. The
    regenerated primal must give bitwise identical outputs."""
    original, _ = codegen.compile_original(kernel)
    generated = codegen.compile_program(primal_program(kernel))
    expected = original(**values)
    got = generated(**values)
    worst, differing = 0.0, []
    for name, value in expected.items():
        if not np.array_equal(np.asarray(value), np.asarray(got[name]), equal_nan=True):
            differing.append(name)
            worst = max(worst, relative_error(got[name], value))
    return {"oracle": "original C (bitwise)", "max_rel_err": worst, "ok": not differing,
            "detail": f"outputs differ: {', '.join(differing)}" if differing
            else f"{len(expected)} arrays identical"}


def refuse_nothing_to_differentiate(kernel: Kernel, wrt=None, of=None) -> None:
    """Raise UsageError when the kernel has no floating-point output (or
    input) to differentiate: a check would compare zeros with zeros."""
    hint = ("write the result into an array argument or return it (C discards "
            "what a kernel assigns to a scalar parameter such as 'double loss': "
            "declare 'double *loss' and assign '*loss', or 'double loss[1]' and "
            "'loss[0]')")
    if of is None and not floating_outputs(kernel) or of is not None and not list(of):
        raise UsageError(f"nothing to differentiate: no floating-point output in "
                         f"{kernel.name}; {hint}")
    if wrt is None and not floating_inputs(kernel) or wrt is not None and not list(wrt):
        raise UsageError(f"nothing to differentiate: no floating-point input in "
                         f"{kernel.name} (a double array or scalar argument it reads)")


def _random_like(kernel: Kernel, names, sizes, rng) -> dict[str, object]:
    result = {}
    for name in names:
        array = kernel.array(name)
        result[name] = (float(rng.standard_normal()) if array.is_scalar
                        else rng.standard_normal(array.shape(sizes)))
        if array.dtype == "float":
            result[name] = (float(np.float32(result[name])) if array.is_scalar
                            else result[name].astype(np.float32))
    return result


def instance_count(kernel: Kernel, sizes: Mapping[str, int]) -> int:
    """Statement instances of the kernel at the sizes."""
    return sum(count_points(s.domain, sizes) for s in kernel.statements)


def reduced_sizes(kernel: Kernel, sizes: Mapping[str, int], budget: int) -> dict[str, int]:
    """Sizes with at most ``budget`` instances: ``sizes`` themselves if they
    fit, else the file's small preset if it fits, else every size scaled
    down alike (within the kernel's context). Precondition: sizes are valid."""
    if instance_count(kernel, sizes) <= budget:
        return dict(sizes)
    candidates = []
    if "small" in kernel.source.presets:
        candidates.append(kernel.sizes("small"))
    factor = 1.0
    for _ in range(40):
        factor *= 0.8
        candidates.append({p: max(1, int(v * factor)) for p, v in sizes.items()})
    for candidate in candidates:
        if all(candidate[p] <= sizes[p] for p in sizes) and not fix_sizes(
                kernel.context, candidate).is_empty() and 0 < instance_count(kernel, candidate) <= budget:
            return candidate
    return dict(sizes)




def _checked_oracles(oracles) -> tuple[str, ...]:
    chosen = tuple(oracles)
    unknown = [o for o in chosen if o not in ORACLES]
    if unknown or not chosen:
        raise UsageError(f"unknown oracle {', '.join(unknown) or '(none given)'} (choose "
                         f"among {', '.join(ORACLES)})")
    return chosen


def _nonfinite(kernel: Kernel, values: Mapping[str, object], outputs: Mapping[str, object],
               say: Callable[[str], None]) -> dict | None:
    """Where the original kernel's run on ``values`` stops being finite:
    None if every input and output is finite, else a record naming the
    input element, or the first statement (with its source line) that
    computed a NaN or an infinity and the values it read."""
    hint = INPUTS_HINT
    for array in kernel.arrays:
        if array.storage != "parameter" or not array.is_float or array.name not in values:
            continue
        data = np.asarray(values[array.name], dtype=float)
        bad = np.argwhere(~np.isfinite(data))
        if bad.size:
            where = array.name + "".join(f"[{i}]" for i in bad[0])
            return {"input": array.name, "statement": None, "line": None,
                    "message": f"input {where} is {data[tuple(bad[0])]}", "hint": hint}
    broken = [name for name, value in outputs.items()
              if not np.all(np.isfinite(np.asarray(value, dtype=float)))]
    if not broken:
        return None
    return _first_nonfinite(kernel, values, broken, say)


#: What a check tells the user to do about inputs that overflow.
INPUTS_HINT = ("give inputs the kernel is meant for: --init NAME=KIND (spd, "
               "diagonally-dominant, positive, normal, uniform:LO:HI, orthogonal, int:LO:HI), "
               "a polyad-init function named in the file, or --inputs FILE.npz")


def _first_nonfinite(kernel: Kernel, values: Mapping[str, object], broken: list[str],
                     say: Callable[[str], None]) -> dict | None:
    """The record of the first statement instance that computes a NaN or an
    infinity from finite values. ``broken``: the outputs that are not finite;
    when there are none, None unless an intermediate overflowed (a value
    overwritten later, so the outputs are finite and their derivatives are
    not: 0 * inf)."""
    hint = INPUTS_HINT
    record = {"input": None, "statement": None, "line": None, "outputs": broken,
              "hint": hint}
    count = instance_count(kernel, {p: int(values[p]) for p in kernel.params})
    if count > SEARCH_BUDGET and not broken:
        return None
    if count > SEARCH_BUDGET:
        record["message"] = (f"the original C computes NaN or inf in {', '.join(broken)} "
                             f"(the first statement was not searched: {count} instances; "
                             "check at smaller sizes to find it)")
        return record
    say(f"finding the first non-finite value ({count} statement instances)")
    found = Interpreter(kernel).first_nonfinite(values)
    if found is None:
        if not broken:
            return None
        record["message"] = (f"the original C computes NaN or inf in {', '.join(broken)}")
        return record
    sources = inputs_reaching(kernel, found.statement)
    record.update(statement=found.statement.name, line=found.statement.location.line,
                  instance=dict(zip(found.statement.iterators, found.instance)),
                  reads={text: value for text, value in found.reads}, inputs=sources,
                  message=found.describe() + (f"; it depends on the input "
                                              f"{', '.join(sources)}" if sources else "")
                  + ("" if broken else "; the outputs are finite (the value is overwritten "
                     "later), but reverse-mode derivatives through it are NaN (0 * inf)"))
    return record


def _first_singular(kernel: Kernel, values: Mapping[str, object],
                    say: Callable[[str], None]) -> dict | None:
    """The record of the first statement instance whose partial derivative
    is not finite at these inputs (the primal being finite): the gradient is
    undefined there, NaN or inf whatever computes it. None if there is none
    or the kernel is too large to search."""
    count = instance_count(kernel, {p: int(values[p]) for p in kernel.params})
    if count > SEARCH_BUDGET:
        return None
    say(f"finding the first non-finite partial derivative ({count} statement instances)")
    found = Interpreter(kernel).first_singular(values)
    if found is None:
        return None
    sources = inputs_reaching(kernel, found.statement)
    return {"input": None, "statement": found.statement.name,
            "line": found.statement.location.line, "outputs": [], "hint": INPUTS_HINT,
            "instance": dict(zip(found.statement.iterators, found.instance)),
            "reads": {text: value for text, value in found.reads}, "inputs": sources,
            "message": found.describe() + "; the outputs are finite, but the derivative "
            "is undefined at these inputs, so the gradient holds NaN or inf (0 * inf)"
            + (f"; it depends on the input {', '.join(sources)}" if sources else "")}


def inputs_reaching(kernel: Kernel, statement) -> list[str]:
    """The floating-point arguments whose values can flow into a statement:
    the arrays it reads, and through every statement writing one of them,
    what that statement reads (array by array, an over-approximation)."""
    writers: dict[str, list] = {}
    for other in kernel.statements:
        writers.setdefault(other.write.array, []).append(other)
    seen, pending, found = set(), [statement], set()
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        for access in current.reads:
            array = kernel.array(access.array)
            if array.storage == "parameter" and array.is_float and array.role in (
                    "input", "inout"):
                found.add(array.name)
            pending += writers.get(access.array, [])
    return [a.name for a in kernel.arrays if a.name in found]


def check_gradient(kernel: Kernel, sizes: Mapping[str, int], *, wrt=None, of=None,
                   strategy: str = "exact", seed: int = 0,
                   given: Mapping[str, object] | None = None,
                   schedule: "str | Callable[[Schedule], Schedule] | None" = None,
                   layout: str | None = None, scratchpad: int | None = None,
                   init: Mapping[str, InitKind] | None = None,
                   oracles=ORACLES, progress: Callable[[str], None] | None = None,
                   blas: bool = True, every: int | None = None,
                   memory_budget: int | None = None, snapshots: int | None = None) -> dict:
    """Compile the adjoint and tangent of a kernel and check them against
    the original C (bitwise primal), the interpreter, finite differences of
    the original C, and each other (dot-product test); ``oracles`` picks
    some of ORACLES, ``progress`` receives a line before each slow step;
    ``blas=False`` keeps an ``auto`` schedule free of BLAS calls; ``every``:
    the checkpoint layout's segment; ``snapshots``: its binomial snapshots
    (revolve) instead; ``memory_budget`` (bytes) lets the
    budget choose the layout (Adjoint.with_memory_budget).

    Precondition: ``sizes`` are valid sizes of the kernel. Raises UsageError
    for a kernel with nothing to differentiate or a bad ``init``.
    """
    say = progress or (lambda text: None)
    oracles = _checked_oracles(oracles)
    precision = precision_of(kernel)
    refuse_nothing_to_differentiate(kernel, wrt, of)
    init = dict(init or {})
    check_init(kernel, init)
    sizes = dict(sizes)

    def adjoint_at(at_sizes):
        adjoint = grad(kernel, wrt, of, strategy)
        if memory_budget is not None:
            return adjoint.with_memory_budget(memory_budget, at_sizes)
        if layout is not None:
            adjoint = adjoint.with_layout(layout, scratchpad, sizes=at_sizes, every=every,
                                          snapshots=snapshots)
        return adjoint

    adjoint = adjoint_at(sizes)
    values = kernel_inputs(kernel, sizes, seed, given, init)
    original, _ = codegen.compile_original(kernel)
    chosen = schedule(adjoint.schedule()) if callable(schedule) else load_schedule(
        adjoint, schedule, blas=blas)
    result = {"kernel": kernel.name, "sizes": dict(sizes),
              "tape_bytes": adjoint.tape.bytes(sizes), "strategy": strategy,
              "layout": adjoint.layout, "schedule": _schedule_name(schedule, chosen),
              "checkpoint_every": adjoint.checkpoint_every,
              "checkpoint_snapshots": adjoint.checkpoint_snapshots, "memory_budget": memory_budget,
              "wrt": list(adjoint.wrt), "of": list(adjoint.of),
              "init": {name: str(kind) for name, kind in init.items()}}
    with np.errstate(all="ignore"):
        say("running the original C")
        expected = original(**values)
        bad = _nonfinite(kernel, values, expected, say)
        if bad is not None:
            return {**result, "verdict": VERDICT_BAD_INPUTS, "nonfinite": bad, "checks": []}
        say("compiling the adjoint and the tangent")
        adjoint_program = program_of(adjoint, chosen)
        # One compiler run for both (make fuzz spent a third of its time in cc).
        adjoint_fn, tangent_fn = codegen.compile_programs(
            [adjoint_program, tangent_program(jvp(kernel, adjoint.wrt))])
        b = derivative_names(kernel, ADJOINT_SUFFIX)
        d = derivative_names(kernel, TANGENT_SUFFIX)
        rng = np.random.default_rng(seed + 1)
        seeds = _random_like(kernel, adjoint.of, sizes, rng)
        directions = _random_like(kernel, adjoint.wrt, sizes, rng)

        def gradient_at(at_values, function=adjoint_fn, at_seeds=seeds):
            out = function(**at_values, **{b[n]: at_seeds[n] for n in adjoint.of})
            return {name: out[b[name]] for name in adjoint.wrt}

        reverse = adjoint_fn(**values, **{b[name]: seeds[name] for name in adjoint.of})
        gradient = {name: reverse[b[name]] for name in adjoint.wrt}
        forward = tangent_fn(**values, **{d[name]: directions[name] for name in adjoint.wrt})
        say("estimating the condition of the gradient")
        condition = condition_of(kernel, gradient_at, values, gradient, seed)
        result["condition_estimate"] = condition
        checks = []
        if "primal" in oracles:
            # The layout may print the calls' nests as loops (layers does).
            roundings = forward_roundings(chosen) if chosen is not None else ()
            if not any(isinstance(mark, Library) for mark in marks_in(adjoint_program.schedule)):
                roundings = tuple(r for r in roundings if r != "blas")
            checks.append(check_forward_sweeps(expected, reverse, forward,
                                               roundings=roundings, precision=precision))
        if "interpreter" in oracles:
            checks.append(_check_interpreter(
                kernel, sizes, adjoint_at, schedule, blas,
                values, seeds, gradient, condition, seed, given, init, say, result))
        projected, projected_cancel = inner(seeds, {n: forward[d[n]] for n in adjoint.of})
        pulled, pulled_cancel = inner(gradient, directions)
        if "dot" in oracles:
            checks.append(check_dot(projected, projected_cancel, pulled, pulled_cancel,
                                    condition, precision))
        if "fd" in oracles:
            say("finite differences of the original C")
            # A float kernel's own rounding would drown the differences:
            # they are taken of its copy computing in double.
            differenced = (codegen.compile_original(kernel, widened=True)[0]
                           if any(a.dtype == "float" for a in kernel.arrays) else original)
            checks.append(_finite_differences(differenced, values, adjoint, seeds,
                                              directions, pulled, condition))
    verdict = overall_verdict(checks, condition, precision)
    if verdict == VERDICT_WRONG:
        # An oracle fails where the kernel's derivative is undefined: an
        # intermediate overflowed and was overwritten (0 * inf in the sweep).
        with np.errstate(all="ignore"):
            overflowed = _first_nonfinite(kernel, values, [], say)
            if overflowed is None and not all(np.all(np.isfinite(np.asarray(g, dtype=float)))
                                              for g in gradient.values()):
                overflowed = _first_singular(kernel, values, say)
        if overflowed is not None:
            return {**result, "verdict": VERDICT_BAD_INPUTS, "nonfinite": overflowed,
                    "checks": checks}
    return {**result, "verdict": verdict, "checks": checks}


def _check_interpreter(kernel, sizes, adjoint_at, schedule, blas, values, seeds, gradient,
                       condition, seed, given, init, say, result) -> dict:
    """The gradient against the reverse-mode interpreter; at reduced sizes
    (recorded in ``result["interpreter_sizes"]``) when the sizes have more
    than INTERPRETER_BUDGET instances and the inputs are random."""
    count = instance_count(kernel, sizes)
    at = dict(sizes) if given else reduced_sizes(kernel, sizes, INTERPRETER_BUDGET)
    note = ""
    if at != sizes:
        adjoint = adjoint_at(at)
        chosen = schedule(adjoint.schedule()) if callable(schedule) else load_schedule(
            adjoint, schedule, blas=blas)
        function = codegen.compile_program(program_of(adjoint, chosen))
        values = kernel_inputs(kernel, at, seed, None, init)
        rng = np.random.default_rng(seed + 1)
        seeds = _random_like(kernel, adjoint.of, at, rng)
        b = derivative_names(kernel, ADJOINT_SUFFIX)

        def gradient_at(at_values):
            out = function(**at_values, **{b[n]: seeds[n] for n in adjoint.of})
            return {name: out[b[name]] for name in adjoint.wrt}

        gradient = gradient_at(values)
        condition = condition_of(kernel, gradient_at, values, gradient, seed)
        shown = " ".join(f"{k}={v}" for k, v in at.items())
        note = f"; at reduced sizes {shown} ({count} instances are too many to interpret)"
        result["interpreter_sizes"] = at
    instances = instance_count(kernel, at)
    say(f"reverse-mode interpreter: {instances} statement instances"
        + (f" (about {instances * SECONDS_PER_INSTANCE:.0f} s)" if instances > 100_000 else ""))
    _, reference = Interpreter(kernel).gradient(values, seeds, tuple(gradient))
    return compare_with_interpreter(gradient, reference, condition, note,
                                    precision_of(kernel))


def _finite_differences(original, values, adjoint, seeds, directions, pulled,
                        condition) -> dict:
    """Finite differences of the original C along ``directions``."""
    def phi(step: float) -> float:
        shifted = dict(values)
        for name in adjoint.wrt:
            shifted[name] = np.asarray(values[name], dtype=float) + step * np.asarray(
                directions[name])
        outputs = original(**shifted)
        return inner(seeds, {name: outputs[name] for name in adjoint.of})[0]

    def largest(arrays) -> float:
        return max([float(np.max(np.abs(arrays[n]))) for n in adjoint.wrt
                    if np.size(arrays[n])] + [0.0]) or 1.0

    outputs = original(**values)
    size_of_sum = sum(float(np.sum(np.abs(np.asarray(seeds[n]) * np.asarray(outputs[n]))))
                      for n in adjoint.of)
    return check_finite_differences(phi, largest(values), largest(directions), size_of_sum,
                                    pulled, condition, precision_of(adjoint.kernel))


def _schedule_name(spec, chosen: Schedule | None) -> str:
    if chosen is None or not chosen.trace:
        return "none"
    if isinstance(spec, str):
        return spec
    return " ".join(step.primitive for step in chosen.trace)
