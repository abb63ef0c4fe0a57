"""What the CLI shows: kernels, plans and check results as text and JSON.

This is the presentation layer, above codegen: expressions are shown in the
C form codegen prints.
"""

from __future__ import annotations

import islpy as isl

from polyad.codegen.cexpr import CExpressionPrinter
from polyad.model import dataflow
from polyad.model.kernel import Kernel, Statement
from polyad.program.budget import plan_memory, rerun_text
from polyad.tape.revolve import minimal_advances, repetitions
from polyad.tape.snapshots import snapshot_state

_SOURCE_NAMES = CExpressionPrinter(lambda symbol: symbol.name)


def expression_text(statement: Statement) -> str:
    """The right-hand side as C, references as written in the source.

    >>> import polyad
    >>> k = polyad.parse("void f(int n, double a, double x[n]) "
    ...                  "{ for (int i = 0; i < n; i++) x[i] += a * x[i]; }")
    >>> expression_text(k.statements[0])
    'x[i] + a * x[i]'
    """
    return _SOURCE_NAMES.print(statement.expr)


def kernel_summary(kernel: Kernel) -> dict:
    """The model as plain data: the JSON of ``polyad show --json``."""
    smap = dataflow.schedule_map(kernel.schedule)
    statements = []
    for s in kernel.statements:
        statements.append({
            "name": s.name,
            "line": s.location.line,
            "domain": str(s.domain),
            "schedule": str(smap.intersect_domain(isl.UnionSet.from_set(s.domain))),
            "write": str(s.write.relation),
            "reads": [str(a.relation) for a in s.reads],
            "expr": expression_text(s),
        })
    summary = {
        "name": kernel.name,
        "params": list(kernel.params),
        "context": str(kernel.context),
        "arrays": [{"name": a.name, "shape": list(a.extent_texts()),
                    "dtype": a.dtype, "role": a.role} for a in kernel.arrays],
        "statements": statements,
    }
    if kernel.assumed is not None:
        summary["assumed"] = str(kernel.assumed)
    if kernel.notes:
        summary["notes"] = list(kernel.notes)
    return summary


def format_kernel(kernel: Kernel) -> str:
    """The model for people: ``polyad show``."""
    summary = kernel_summary(kernel)
    lines = [f"kernel {kernel.name} ({kernel.source.path})",
             f"  sizes    {', '.join(kernel.params) or '(none)'}",
             f"  context  {summary['context']}"]
    if "assumed" in summary:
        lines.append(f"  assumed  {summary['assumed']}  (checked by the generated code "
                     "at entry)")
    lines += [f"  note     {note}" for note in summary.get("notes", ())]
    lines.append("  arrays")
    for array in summary["arrays"]:
        shape = "".join(f"[{e}]" for e in array["shape"]) or " scalar"
        lines.append(f"    {array['name']:<10} {array['dtype']}{shape:<20} {array['role']}")
    lines.append("  statements")
    for s, statement in zip(summary["statements"], kernel.statements):
        lines.append(f"    {s['name']}  line {s['line']}: {statement.text}")
        lines.append(f"      domain    {s['domain']}")
        lines.append(f"      schedule  {s['schedule']}")
        if statement.write.is_gather:  # one element, which only the index array says
            lines.append(f"      may write {s['write']}  ({statement.write.text}, a scatter)")
        else:
            lines.append(f"      write     {s['write']}")
        for read, access in zip(s["reads"], statement.reads):
            if access.is_gather:  # every element the index arrays may name
                lines.append(f"      may read  {read}  ({access.text}, a gather)")
            else:
                lines.append(f"      read      {read}")
        lines.append(f"      value     {s['expr']}")
    return "\n".join(lines)


def format_check(result: dict) -> str:
    """The table of ``polyad check`` and its verdict line."""
    sizes = " ".join(f"{k}={v}" for k, v in result["sizes"].items())
    lines = [f"check {result['kernel']} at {sizes}"]
    if "strategy" in result:
        lines[0] += f", strategy {result['strategy']}, tape {result['tape_bytes']} bytes"
    if result.get("checkpoint_every"):
        lines[0] += f", layout checkpoint (a snapshot every {result['checkpoint_every']} steps)"
    if result.get("init"):
        lines[0] += ", inputs " + " ".join(f"{k}={v}" for k, v in result["init"].items())
    verdict = result.get("verdict")
    if verdict == "bad inputs" and not result["checks"]:
        bad = result["nonfinite"]
        lines += [f"bad inputs: {bad['message']}; no oracle was run on these values",
                  f"  {bad['hint']}"]
        return "\n".join(lines)
    lines.append(f"  {'oracle':<34} {'max rel err':>12}  result")
    for check in result["checks"]:
        shown = {"ok": "ok", "wrong": "WRONG", "ill-conditioned": "ILL-CONDITIONED"}.get(
            check.get("verdict"), "ok" if check["ok"] else "FAILED")
        lines.append(f"  {check['oracle']:<34} {check['max_rel_err']:>12.3g}  {shown}"
                     f"  ({check['detail']})")
    if verdict == "wrong gradient":
        lines.append("verdict: WRONG GRADIENT (an oracle disagrees beyond the rounding "
                     "and truncation its numerics allow)")
    elif verdict == "ill-conditioned":
        lines.append("verdict: ill-conditioned at these inputs (condition estimate "
                     f"{result.get('condition_estimate', float('nan')):.2g}): the oracles "
                     "cannot tell a right gradient from a wrong one here; try better "
                     "conditioned inputs (--init, --inputs)")
    elif verdict == "ok":
        lines.append("verdict: ok")
    elif verdict == "bad inputs":
        bad = result["nonfinite"]
        lines += [f"verdict: bad inputs: {bad['message']}: the oracles above "
                  "cannot judge the gradient at these inputs", f"  {bad['hint']}"]
    return "\n".join(lines)


def tape_summary(adjoint, stack, sizes: dict) -> dict:
    """The tape plan as data (``polyad show --tape --json``)."""
    kernel = adjoint.kernel
    return {
        "kernel": kernel.name, "sizes": dict(sizes), "strategy": adjoint.strategy,
        "wrt": list(adjoint.wrt), "of": list(adjoint.of),
        "tape_bytes": adjoint.tape.bytes(sizes), "stack_tape_bytes": stack.tape.bytes(sizes),
        "entries": [{"statement": e.statement, "line": e.access.location.line,
                     "read": e.access.text, "instances": str(e.instances),
                     "overwritten_by": list(e.overwriters),
                     "values": e.count(sizes)} for e in adjoint.tape.entries],
        "decisions": [{"statement": d.statement, "line": d.operands[0].location.line,
                       "condition": d.text, "instances": str(d.instances),
                       "replaces": [e.access.text for e in d.replaced],
                       "outcomes": d.count(sizes)} for d in adjoint.tape.decisions],
        "explanations": adjoint.tape.explain(kernel),
        "checkpoint": checkpoint_summary(kernel, sizes),
        "memory_plan": (plan_memory(adjoint, adjoint.memory_budget, sizes).as_data()
                        if adjoint.memory_budget is not None else None),
        "binomial": binomial_summary(adjoint, sizes),
    }


def binomial_summary(adjoint, sizes: dict) -> dict | None:
    """Binomial checkpointing's schedule at these sizes as data (None unless
    the adjoint's checkpoint layout has snapshot slots and a loop to use them)."""
    state = snapshot_state(adjoint.kernel)
    slots = adjoint.checkpoint_snapshots
    if state is None or not slots or adjoint.layout != "checkpoint":
        return None
    steps = state.loop.step_count(sizes)
    advances = minimal_advances(steps, slots)
    return {"slots": slots, "steps": steps, "advances": advances,
            "repetitions": repetitions(steps, slots) if steps > 1 else 0,
            "explanation": f"binomial checkpointing (revolve) with {slots} snapshot slot"
                           f"{'s' if slots != 1 else ''} over {steps} steps: "
                           f"{rerun_text(steps, slots)}"}


def checkpoint_summary(kernel, sizes: dict) -> dict | None:
    """The snapshot state of the kernel's time loop as data (None when no
    outermost loop overwrites state a later step reads)."""
    state = snapshot_state(kernel)
    if state is None:
        return None
    return {"loop": state.loop.iterator, "line": state.loop.line,
            "steps": state.loop.step_count(sizes),
            "state": {name: str(elements) for name, elements in state.state},
            "snapshot_bytes": state.bytes(kernel, sizes),
            "explanation": state.explain(kernel, sizes)}


def format_tape(adjoint, stack, sizes: dict) -> str:
    """The tape plan for people (``polyad show --tape``)."""
    kernel = adjoint.kernel
    at = " ".join(f"{k}={v}" for k, v in sizes.items())
    lines = [f"tape plan of {kernel.name} ({adjoint.strategy}), wrt {', '.join(adjoint.wrt)}"
             f" of {', '.join(adjoint.of)}"]
    lines += [f"  - {line}" for line in adjoint.tape.explain(kernel)]
    outcomes = adjoint.tape.outcomes(sizes)
    also = f" and {outcomes} comparison outcomes" if adjoint.tape.decisions else ""
    lines.append(f"  at {at}: {adjoint.strategy} records {adjoint.tape.values(sizes)} values"
                 f"{also} ({adjoint.tape.bytes(sizes)} bytes); stack would record "
                 f"{stack.tape.values(sizes)} ({stack.tape.bytes(sizes)} bytes)")
    state = snapshot_state(kernel)
    if state is not None:
        lines.append(f"  {state.explain(kernel, sizes)}")
    if adjoint.memory_budget is not None:
        lines.append(f"  {plan_memory(adjoint, adjoint.memory_budget, sizes).explain()}")
    binomial = binomial_summary(adjoint, sizes)
    if binomial is not None:
        lines.append(f"  {binomial['explanation']}")
    return "\n".join(lines)


def loop_description(program, report) -> str:
    """What a loop of :meth:`Schedule.loops` is in the user's terms, from the
    comments and source lines of the instructions it runs: ``loop k of
    adjoint of line 15: C[i][j] += ...`` for one statement's loop, ``loop t
    around lines 14, 16, 18, 19`` for a loop around several. Precondition:
    ``report.instructions`` are instructions of ``program``.

    >>> import polyad
    >>> k = polyad.parse("examples/gemm.c")                      # doctest: +SKIP
    >>> schedule = polyad.grad(k).schedule()                     # doctest: +SKIP
    >>> loop_description(schedule.program, schedule.loops()[0])  # doctest: +SKIP
    'loop i around lines 12, 15'
    """
    instructions = [program.instruction(name) for name in report.instructions]
    iterator = report.loop.iterator
    families = {instruction.handle for instruction in instructions}
    if len(families) == 1 and instructions[0].comment:
        return f"loop {iterator} of {instructions[0].comment}"
    lines = sorted({instruction.line for instruction in instructions if instruction.line})
    if not lines:
        return f"loop {iterator} of {len(instructions)} copies"
    shown = ", ".join(map(str, lines)) if len(lines) <= 8 else \
        f"{lines[0]} to {lines[-1]} ({len(lines)} statements)"
    return f"loop {iterator} around line{'s' if len(lines) > 1 else ''} {shown}"


def schedule_summary(schedule) -> dict:
    """The loops of a schedule as data (``polyad show --loops --json``);
    ``loop`` is the handle schedule primitives take, ``what`` says which
    loop of the kernel it is (:func:`loop_description`)."""
    return {
        "program": schedule.program.name,
        "steps": [step.to_dict() for step in schedule.trace],
        "loops": [{"loop": str(r.loop), "what": loop_description(schedule.program, r),
                   "sweep": r.sweep, "depth": r.depth,
                   "instructions": list(r.instructions),
                   "annotations": [str(mark) for mark in r.annotations],
                   "parallel": r.parallel, "reason": r.reason} for r in schedule.loops()],
    }


def format_schedule(schedule) -> str:
    """Which loops run in parallel and why the others do not (``polyad show
    --loops``): each loop by its handle (what schedule primitives take,
    ``S1_b.k``) and what it is in the kernel's terms."""
    steps = ", ".join(step.primitive for step in schedule.trace) or "none"
    lines = [f"schedule of {schedule.program.name} (steps: {steps})"]
    sweep = None
    for report in schedule.loops():
        if report.sweep != sweep:
            sweep = report.sweep
            lines.append(f"  {sweep} sweep")
        marks = f" [{', '.join(map(str, report.annotations))}]" if report.annotations else ""
        verdict = "may run in parallel" if report.parallel else "sequential"
        lines.append(f"    {'  ' * max(report.depth - 1, 0)}{report.loop} "
                     f"({loop_description(schedule.program, report)}){marks}: {verdict}: "
                     f"{report.reason}")
    return "\n".join(lines)


def format_bench(result: dict) -> str:
    """The table of ``polyad bench``: per variant the times, the tape
    (planned), the peak extra heap bytes one call allocated (measured; "-"
    where not counted), the GFLOP/s where the kernel's flops are counted
    ("-" otherwise) and the number of BLAS calls its schedule makes."""
    sizes = " ".join(f"{k}={v}" for k, v in result["sizes"].items())
    lines = [f"bench {result['kernel']} at {sizes}, {result['threads']} thread(s)",
             f"  {'variant':<12} {'median ms':>10} {'min':>8} {'max':>8} {'/primal':>8} "
             f"{'vs stack':>9} {'tape bytes':>12} {'peak extra B':>13} {'peak MB':>8} "
             f"{'GFLOP/s':>8} {'BLAS':>5}"]
    for v in result["variants"]:
        if v["verified"] is None:
            lines.append(f"  {v['name']:<12} not applicable: {v['not_applicable']}")
            continue
        if not v["verified"]:
            lines.append(f"  {v['name']:<12} FAILED: gradient differs from exact by "
                         f"{v['max_rel_err_vs_exact']:.3g}")
            continue

        def number(key, scale=1.0, digits=2):
            value = v.get(key)
            return f"{value * scale:.{digits}f}" if value is not None else "-"
        lines.append(f"  {v['name']:<12} {number('median_s', 1e3):>10} {number('min_s', 1e3):>8}"
                     f" {number('max_s', 1e3):>8} {number('ratio_to_primal'):>8} "
                     f"{number('speedup_vs_stack'):>9} {v['tape_bytes']:>12} "
                     f"{number('peak_extra_bytes', 1, 0):>13} "
                     f"{number('peak_rss_bytes', 1e-6, 1):>8} {number('gflop_per_s', 1, 1):>8} "
                     f"{v.get('blas_calls', 0):>5}")
    return "\n".join(lines)


def format_analysis(summary: dict) -> str:
    """The table of ``polyad analyze``."""
    sizes = " ".join(f"{k}={v}" for k, v in summary["sizes"].items())
    first = summary["layouts"][0]
    cache = first["cache"]
    lines = [f"analyze {summary['kernel']} at {sizes}, schedule {summary['schedule']}; "
             f"cache {cache['size']} B, {cache['line']} B lines, {cache['ways']} ways",
             f"  {'layout':<8} {'tape B':>9} {'alloc. B':>9} {'peak live B':>11} "
             f"{'rev. moved B':>12} "
             f"{'tape reads':>10} {'tape miss':>9} {'rev. miss':>9} "
             f"{'on-chip B':>10}"]
    for r in summary["layouts"]:
        on_chip = r["on_chip_bytes_for_tape"]
        lines.append(f"  {r['layout']:<8} {r['tape_bytes']:>9} {r['tape_allocated_bytes']:>9} "
                     f"{r['peak_live_tape_bytes']:>11} "
                     f"{r['reverse_sweep_bytes_moved']:>12} {r['tape_reads']:>10} "
                     f"{r['tape_read_misses']:>9} {r['reverse_sweep_misses']:>9} "
                     f"{on_chip if on_chip is not None else '-':>10}")
    lines.append("  tape B: bytes of the values recorded (as in show --tape and check); "
                 "alloc. B: of the buffers holding them")
    lines.append(f"  on-chip B: the fully associative LRU cache that keeps tape read misses "
                 f"under {first['miss_threshold']:.0%}")
    for r in summary["layouts"]:
        lines.append(f"  reuse distances of {r['layout']} tape reads (lines): "
                     + ", ".join(f"{k}: {v}" for k, v in r["reuse_histogram"].items()))
        for layer in r.get("layers", []):
            lines.append(f"    layer of {', '.join(layer['instructions'])}: "
                         f"{layer['iterations']} iterations, "
                         f"{layer['footprint_bytes']} B in the scratchpad")
    return "\n".join(lines)
