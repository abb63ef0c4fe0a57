"""A hypothesis strategy for random valid kernels, as C text.

Kernels have loop nests up to depth 3 with rectangular and triangular affine
bounds, several statements, in-place updates, overwrites of values that
partial derivatives need, scalar recurrences and nonlinear operators. Every
subscript stays in bounds by construction: arrays have extent n in each
dimension, loops run over 1 <= v < n - 1 (or 1 <= v < u for an outer u), and
subscripts add an offset in {-1, 0, 1} to an iterator.

Each identifier (the function, the size, the arrays, the scalar, the
iterators) keeps its plain name or takes one from :data:`GENERATED_NAMES`,
the names polyad itself generates, so that random kernels also check that
generated names never capture the kernel's (issue 12).
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

ARRAYS = {"A": 1, "B": 1, "C": 2, "D": 2}
#: Plain identifiers of the generated text, which a kernel may rename.
PLAIN_NAMES = ("k", "n", "A", "B", "C", "D", "s", "i", "j", "kk")
#: Names of every family polyad generates: isl iterators, tapes and their
#: counters, accumulators, block locals, the seed, CSE locals, record and
#: copy symbols, helper macros, outlined functions, derivative names, the
#: interpreter's reads, statement names.
GENERATED_NAMES = (
    "c0", "c1", "c2", "c3", "c4", "_g", "_t0", "_t1", "_acc0", "_acc1", "_pop0", "_pop1",
    "_push0", "_tape0", "_written", "_on_entry", "_value0", "_stream0", "_source",
    "_target", "tape_S0_0", "tape_S1_0", "stack_S0", "stack_S1_top", "stream_S0",
    "region_S0", "keep_S0_S1_0", "scratch0_A_0", "min", "max", "floord",
    "polyad_threads", "polyad_helpers", "polyad_trace", "k_loop0", "k_b_loop0",
    "A_b", "A_d", "s_b", "s_d", "read0", "read1", "S0", "S1_b")

UNARY = ["sin", "cos", "tanh", "sqrt1", "log1", "exp_small", "fabs"]


@st.composite
def subscript(draw, iterators: list[str]) -> str:
    if not iterators:
        return str(draw(st.integers(0, 2)))
    iterator = draw(st.sampled_from(iterators))
    offset = draw(st.sampled_from([-1, 0, 0, 1]))
    return iterator if offset == 0 else f"{iterator} {'+' if offset > 0 else '-'} {abs(offset)}"


@st.composite
def reference(draw, iterators: list[str], scalars: list[str]) -> str:
    choices = list(ARRAYS) + scalars
    name = draw(st.sampled_from(choices))
    if name in scalars:
        return name
    return name + "".join(f"[{draw(subscript(iterators))}]" for _ in range(ARRAYS[name]))


@st.composite
def expression(draw, iterators: list[str], scalars: list[str], depth: int = 0) -> str:
    if depth >= 3:
        kind = draw(st.sampled_from(["ref", "ref", "const"]))
    else:
        leaf_weight = 3 if depth >= 2 else 1
        kind = draw(st.sampled_from(["ref"] * leaf_weight * 2 + ["const"] * leaf_weight
                                    + ["binary", "binary", "unary", "select", "minmax"]))
    if kind == "ref":
        return draw(reference(iterators, scalars))
    if kind == "const":
        return draw(st.sampled_from(["0.5", "2.0", "1.25", "3"]))
    left = draw(expression(iterators, scalars, depth + 1))
    if kind == "unary":
        function = draw(st.sampled_from(UNARY))
        if function == "sqrt1":
            return f"sqrt({left} * {left} + 1.0)"
        if function == "log1":
            return f"log({left} * {left} + 1.0)"
        if function == "exp_small":
            return f"exp(0.25 * {left})"
        return f"{function}({left})"
    right = draw(expression(iterators, scalars, depth + 1))
    if kind == "select":
        return f"({left} > {right} ? {left} : {right})"
    if kind == "minmax":
        return f"{draw(st.sampled_from(['fmin', 'fmax']))}({left}, {right})"
    op = draw(st.sampled_from(["+", "-", "*", "*", "/"]))
    if op == "/":
        return f"({left}) / (1.5 + {right} * {right})"
    return f"({left} {op} {right})"


@st.composite
def assignment(draw, iterators: list[str], scalars: list[str]) -> str:
    target = draw(reference(iterators, scalars))
    op = draw(st.sampled_from(["=", "=", "+=", "-=", "*="]))
    value = draw(expression(iterators, scalars))
    return f"{target} {op} {value};"


@st.composite
def loop_nest(draw, outer: list[str], depth: int, scalars: list[str]) -> list[str]:
    names = ["i", "j", "kk"]
    iterator = names[len(outer)]
    if outer and draw(st.booleans()):
        header = f"for (int {iterator} = 1; {iterator} < {draw(st.sampled_from(outer))}; " \
                 f"{iterator}++)"
    else:
        header = f"for (int {iterator} = 1; {iterator} < n - 1; {iterator}++)"
    inner = outer + [iterator]
    body: list[str] = []
    for _ in range(draw(st.integers(1, 2))):
        if depth > 1 and draw(st.booleans()):
            body += draw(loop_nest(inner, depth - 1, scalars))
        elif draw(st.integers(0, 3)) == 0:
            # A scalar recurrence: s is reset, accumulated, then used.
            body.append(f"s = {draw(expression(inner, []))};")
            body.append(f"s += {draw(expression(inner, ['s']))};")
            body.append(f"{draw(reference(inner, []))} = {draw(expression(inner, ['s']))};")
        else:
            body.append(draw(assignment(inner, scalars)))
    return [header + " {"] + ["  " + line for line in body] + ["}"]


@st.composite
def kernels(draw) -> str:
    """C text of a random valid kernel ``void k(int n, double A[n], ...)``."""
    statements: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        statements += draw(loop_nest([], draw(st.integers(1, 3)), ["s"]))
    body = "\n".join("  " + line for line in statements)
    text = ("void k(int n, double A[n], double B[n], double C[n][n], double D[n][n])\n"
            "{\n  double s = 0.0;\n#pragma scop\n" + body + "\n#pragma endscop\n}\n")
    # Distinct names: each keeps its own or takes the next unused generated one.
    pool = iter(draw(st.permutations(GENERATED_NAMES)))
    names = {plain: next(pool) if draw(st.booleans()) else plain for plain in PLAIN_NAMES}
    renamed = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: names.get(m.group(0), m.group(0)), text)
    return "#include <math.h>\n" + renamed
