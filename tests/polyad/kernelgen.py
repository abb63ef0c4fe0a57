"""A hypothesis strategy for random valid kernels, as C text.

Kernels have loop nests up to depth 3 with rectangular, triangular (below
or above an outer iterator) and reversed affine bounds, several statements,
in-place updates, chained assignments, scalar results (through a pointer
or returned), overwrites of values that partial
derivatives need, scalar recurrences (reset in a loop, or carried across
iterations and across loop nests), time loops that swap two buffers, a
read-only scalar parameter, selects, nonlinear operators and ``if`` on data
(around one or two assignments, with or without ``else``, the condition
sometimes joined to an affine one or to a second data test) and int locals
with an affine value used in a subscript (``{ int q = i - 1; B[q + 1] = ...; }``);
``B`` is sometimes a file-scope global ``double B[8];`` (a parameter of the
generated code; its constant extent implies the assumption ``n <= 8``); some
kernels are in single precision (every ``double`` a ``float``, ``0.5f``
literals, ``sinf``) or mixed (``A`` and ``D`` float, the rest double); a
last loop sometimes calls a static helper of the file (one ``return``, a
helper with statements and a loop of its own, or one writing through its
array argument, passed a row ``D[i]``) or reads through a pointer into an
array (``double *p = &B[1];``, a row pointer ``double *row = C[i];``); a
loop sometimes strides by an int parameter ``w`` that ``-D`` fixes to 1 or
2 (``A[i * w]`` with ``i * w < n``, or ``i += w``; :func:`fixed_sizes`
reads the value off the kernel's text); and a block sometimes searches
for an argmax (``if (E[i] > E[kmax]) kmax = i;`` or with a running maximum
``best``) and reads ``E[kmax]`` through the index found. Every
subscript stays in bounds by construction: arrays have extent n in each
dimension, loops run within 1 <= v < n - 1, and subscripts add an offset in
{-1, 0, 1} to an iterator.

Each identifier (the function, the size, the arrays, the scalars, the
iterators) keeps its plain name or takes one from :data:`GENERATED_NAMES`,
the names polyad itself generates, so that random kernels also check that
generated names never capture the kernel's (issue 12).
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

ARRAYS = {"A": 1, "B": 1, "C": 2, "D": 2}
#: Plain identifiers of the generated text, which a kernel may rename.
PLAIN_NAMES = ("k", "n", "alpha", "A", "B", "C", "D", "s", "i", "j", "kk", "t")
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
UNARY = ["sin", "cos", "tanh", "sqrt1", "log1", "exp_small", "fabs", "square", "root"]
#: A read-only scalar parameter of every kernel (differentiated like an input).
PARAMETER = "alpha"
#: How a kernel gives its results: in its arrays only, also through a
#: ``double *out`` (``*out`` and ``out[0]``), or also by ``return e;``.
RESULTS = ("arrays", "arrays", "pointer", "return")
#: The constant extent of B when it is a global (the fuzz sizes are below it).
GLOBAL_EXTENT = 8
#: The kernel's floating types: all double, all float (``0.5f``, ``sinf``),
#: or A and D float in a double kernel.
PRECISIONS = ("double", "double", "double", "double", "float", "mixed")
_FLOAT_MATH = ("sqrt", "exp", "log", "sin", "cos", "tanh", "pow", "fabs", "fmin", "fmax")


def in_precision(text: str, precision: str) -> str:
    """A kernel's text (plain names) in a precision of :data:`PRECISIONS`."""
    if precision == "float":
        text = re.sub(r"\bdouble\b", "float", text)
        text = re.sub(r"\b(%s)\(" % "|".join(_FLOAT_MATH), r"\1f(", text)
        return re.sub(r"(?<![\w.])(\d+\.\d+)(?![\w.])", r"\1f", text)
    if precision == "mixed":
        return re.sub(r"\bdouble (A|D)\[n\]", r"float \1[n]", text)
    return text


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
        return draw(st.sampled_from(["0.5", "2.0", "1.25", "3", PARAMETER]))
    left = draw(expression(iterators, scalars, depth + 1))
    if kind == "unary":
        function = draw(st.sampled_from(UNARY))
        if function == "sqrt1":
            return f"sqrt({left} * {left} + 1.0)"
        if function == "log1":
            return f"log({left} * {left} + 1.0)"
        if function == "exp_small":
            return f"exp(0.25 * {left})"
        if function == "square":
            return f"pow({left}, 2.0)"
        if function == "root":
            return f"sqrt(fabs({left}) + 1.0)"
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
def chained(draw, iterators: list[str]) -> str:
    """``A[..] = C[..] = value;``: two arrays written with one value."""
    first, second = draw(st.permutations(list(ARRAYS)))[:2]
    targets = [name + "".join(f"[{draw(subscript(iterators))}]" for _ in range(ARRAYS[name]))
               for name in (first, second)]
    return f"{targets[0]} = {targets[1]} = {draw(expression(iterators, []))};"


@st.composite
def data_if(draw, iterators: list[str], scalars: list[str]) -> list[str]:
    """``if (data test) { ... } else { ... }``: if-converted by the frontend;
    the branches may overwrite what the test reads."""
    test = f"{draw(reference(iterators, scalars))} > {draw(expression(iterators, [], 2))}"
    joined = draw(st.sampled_from(["", "", "affine", "data"]))
    if joined == "affine" and iterators:
        test = f"{iterators[-1]} > 1 && {test}"
    elif joined == "data":
        test = f"({test}) || {draw(reference(iterators, []))} < -0.5"
    then = [draw(assignment(iterators, scalars)) for _ in range(draw(st.integers(1, 2)))]
    lines = [f"if ({test}) {{"] + ["  " + line for line in then]
    if draw(st.booleans()):
        lines += ["} else {", "  " + draw(assignment(iterators, scalars))]
    return lines + ["}"]


@st.composite
def loop_header(draw, outer: list[str], iterator: str) -> str:
    kind = draw(st.sampled_from(["up", "up", "reversed"] + (["below", "above"] if outer else [])))
    if kind == "below":
        return f"for (int {iterator} = 1; {iterator} < {draw(st.sampled_from(outer))}; " \
               f"{iterator}++)"
    if kind == "above":
        return f"for (int {iterator} = {draw(st.sampled_from(outer))} + 1; " \
               f"{iterator} < n - 1; {iterator}++)"
    if kind == "reversed":
        return f"for (int {iterator} = n - 2; {iterator} >= 1; {iterator}--)"
    return f"for (int {iterator} = 1; {iterator} < n - 1; {iterator}++)"


@st.composite
def loop_nest(draw, outer: list[str], depth: int, scalars: list[str]) -> list[str]:
    names = ["i", "j", "kk"]
    iterator = names[len(outer)]
    header = draw(loop_header(outer, iterator))
    inner = outer + [iterator]
    body: list[str] = []
    for _ in range(draw(st.integers(1, 2))):
        if depth > 1 and draw(st.booleans()):
            body += draw(loop_nest(inner, depth - 1, scalars))
            continue
        kind = draw(st.integers(0, 9))
        if kind == 0:
            # A scalar recurrence: s is reset, accumulated, then used.
            body.append(f"s = {draw(expression(inner, []))};")
            body.append(f"s += {draw(expression(inner, ['s']))};")
            body.append(f"{draw(reference(inner, []))} = {draw(expression(inner, ['s']))};")
        elif kind == 1:
            # Carried across iterations (and on into later nests).
            body.append(f"s += {draw(expression(inner, []))};")
        elif kind == 2:
            body.append(draw(chained(inner)))
        elif kind == 8:
            body += draw(data_if(inner, scalars))
        elif kind == 9:
            it = draw(st.sampled_from(inner))
            body.append(f"{{ int q = {it} - 1; B[q + 1] = {draw(expression(inner, scalars))}; }}")
        else:
            body.append(draw(assignment(inner, scalars)))
    return [header + " {"] + ["  " + line for line in body] + ["}"]


@st.composite
def time_loop(draw) -> list[str]:
    """A time loop whose steps read one buffer and write the other, then
    back: the state every step overwrites."""
    first, second = draw(st.sampled_from([("A", "B"), ("B", "A")]))
    steps = draw(st.integers(2, 3))
    lines = [f"for (int t = 0; t < {steps}; t++) {{"]
    for source, target in ((first, second), (second, first)):
        stencil = f"{source}[i - 1] + {source}[i] * {draw(expression(['i'], []))} " \
                  f"+ {source}[i + 1]"
        lines += [f"  for (int i = 1; i < n - 1; i++)",
                  f"    {target}[i] = 0.25 * ({stencil});"]
    return lines + ["}"]


@st.composite
def outside_loops(draw) -> str:
    """An expression outside any loop: its constant subscripts are 0, in
    bounds at every size (n >= 1)."""
    return re.sub(r"\[\d+\]", "[0]", draw(expression([], ["s"])))


#: Static helpers the last loop may call, by name (their text uses the
#: kernel's plain names n, s and j, renamed with them: inlining must keep
#: both apart).
HELPERS = {
    "hsq": "static double hsq(double v) { return v * v + 0.5; }",
    "hrow": ("static double hrow(int n, const double *r) {\n  double s = 0.0;\n"
             "  for (int j = 1; j < n - 1; j++)\n    s += r[j] * r[j - 1];\n"
             "  return 0.25 * s;\n}"),
    "hadd": "static void hadd(double *r, int q, double v) { r[q] = r[q] + v; }",
}


@st.composite
def helper_loop(draw) -> tuple[list[str], list[str]]:
    """A loop over i calling a helper or reading through a pointer, and the
    helpers it needs."""
    kind = draw(st.sampled_from(["hsq", "hrow", "hadd", "pointer", "row"]))
    value = draw(expression(["i"], ["s"], 1))
    target = draw(st.sampled_from(["A[i]", "B[i]", "C[i][i]"]))
    if kind == "hsq":
        body, needs = [f"{target} = hsq({value}) * 0.5;"], ["hsq"]
    elif kind == "hrow":
        body, needs = [f"{target} = hrow(n, {draw(st.sampled_from(['C[i]', 'D[i]']))})"
                       f" - {value};"], ["hrow"]
    elif kind == "hadd":
        body, needs = [f"hadd({draw(st.sampled_from(['A', 'B', 'D[i]']))}, i, {value});"], \
            ["hadd"]
    elif kind == "pointer":
        body, needs = ["double *p = &B[1];", f"{target} = p[i - 1] * {value};"], []
    else:
        body, needs = ["double *row = C[i];", f"row[i + 1] = {target} + row[i - 1] * 0.5;"], []
    lines = ["for (int i = 1; i < n - 1; i++) {"] + ["  " + b for b in body] + ["}"]
    return lines, needs


@st.composite
def kernels(draw) -> str:
    """C text of a random valid kernel ``void k(int n, double alpha, double A[n], ...)``."""
    statements: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 5)) == 0:
            statements += draw(time_loop())
        else:
            statements += draw(loop_nest([], draw(st.integers(1, 3)), ["s"]))
    # Distinct names: each keeps its own or takes the next unused generated one.
    pool = iter(draw(st.permutations(GENERATED_NAMES)))
    names = {plain: next(pool) if draw(st.booleans()) else plain for plain in PLAIN_NAMES}
    # Drawn last, so that the kernels drawn before scalar results keep their seeds.
    result, after, parameters = draw(st.sampled_from(RESULTS)), "", ""
    if result == "pointer":
        parameters = ", double *out"
        statements += [f"*out = {draw(outside_loops())};",
                       "for (int i = 1; i < n - 1; i++)",
                       f"  out[0] += {draw(expression(['i'], ['s']))};"]
    elif result == "return":
        after = f"  return {draw(outside_loops())};\n"
    # B is sometimes a file-scope global of constant extent (drawn last too):
    # a parameter of the generated code, and the assumption n <= GLOBAL_EXTENT.
    is_global = draw(st.integers(0, 3)) == 3  # the simplest draw (0) keeps B a parameter
    # A helper call or a pointer (drawn last too), before the results.
    helpers: list[str] = []
    if draw(st.integers(0, 2)) == 2:
        lines, helpers = draw(helper_loop())
        at = len(statements) - (3 if result == "pointer" else 0)
        statements[at:at] = lines
    # Single precision (drawn last too): every double a float, or some
    # arrays float in a double kernel (mixed arithmetic, C's conversions).
    precision = draw(st.sampled_from(PRECISIONS))
    if precision == "mixed" and helpers:
        precision = "double"  # helpers take double pointers to the arrays
    # A loop strided by an int parameter w that -D fixes (drawn last too):
    # w multiplies the iterator (a product, affine once w is a constant) or
    # is the loop's step.
    stride = draw(st.sampled_from([None, None, None, None, None, 1, 2]))
    if stride is not None:
        # (its values read only the strided elements: the loop runs at n = 1)
        value = draw(st.sampled_from(["s", PARAMETER, "sin(A[i * w])", "A[i * w] * s"]))
        loop = draw(st.sampled_from([
            ["for (int i = 0; i * w < n; i++)", f"  A[i * w] = A[i * w] * 0.5 + {value};"],
            ["for (int i = 0; i < n; i += w)",
             f"  B[i] += A[i] * {value.replace(' * w', '')};"]]))
        at = len(statements) - (3 if result == "pointer" else 0)
        statements[at:at] = loop
    # A search on data (drawn last too): an argmax's index, read through in
    # a gather from E, an array only this loop reads.
    search = draw(st.sampled_from([None] * 6 + ["compare", "running"]))
    if search is not None:
        value = draw(st.sampled_from(["s", PARAMETER, "A[0]"]))
        if search == "compare":
            block = ["int kmax = 0;", "for (int i = 1; i < n; i++)",
                     "  if (E[i] > E[kmax]) kmax = i;", f"A[0] += E[kmax] * {value};"]
        else:
            block = ["double best = A[0];", "int kmax = 0;", "for (int i = 1; i < n; i++)",
                     "  if (A[i] > best) { best = A[i]; kmax = i; }",
                     f"A[0] += E[kmax] * best * {value};"]
        at = len(statements) - (3 if result == "pointer" else 0)
        statements[at:at] = ["{"] + ["  " + line for line in block] + ["}"]
    body = "\n".join("  " + line for line in statements)
    text = ((f"/* fixed w={stride} */\n" if stride is not None else "")
            + ("double B[%d];\n" % GLOBAL_EXTENT if is_global else "")
            + "".join(HELPERS[h] + "\n" for h in helpers)
            + f"{'double' if result == 'return' else 'void'} k(int n, "
            f"{'' if stride is None else 'int w, '}double {PARAMETER}, "
            f"double A[n], {'' if is_global else 'double B[n], '}double C[n][n], "
            f"double D[n][n]{'' if search is None else ', double E[n]'}{parameters})\n"
            "{\n  double s = 0.0;\n#pragma scop\n" + body + "\n#pragma endscop\n"
            + after + "}\n")
    text = in_precision(text, precision)
    renamed = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: names.get(m.group(0), m.group(0)), text)
    return "#include <math.h>\n" + renamed


def fixed_sizes(text: str) -> dict[str, int]:
    """The int parameters a kernel of :func:`kernels` needs fixed (its
    ``/* fixed w=2 */`` line), as ``polyad.parse(text, fix=...)`` takes them.

    >>> fixed_sizes("/* fixed w=2 */\\nvoid k(int n, int w) {}")
    {'w': 2}
    """
    return {name: int(value) for name, value in re.findall(r"/\* fixed (\w+)=(-?\d+) \*/", text)}
