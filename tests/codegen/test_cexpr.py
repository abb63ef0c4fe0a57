"""The C expression printer (codegen/cexpr.py).

Two oracles:

* exactness: random unevaluated expression trees, built with the frontend's
  own helpers, are printed to C, compiled with ``-O0 -ffp-contract=off`` and
  run; each value must be bitwise the double that an independent Python
  evaluator of the same tree gives (IEEE doubles, same association order,
  C's int/double typing). A missing parenthesis, a reordered operand or a
  printed ``--`` changes some value.
* precedence: golden strings, checked by hand against C's precedence table.
"""

from __future__ import annotations

import ctypes
import math
import os
import struct

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyad.codegen.build import shared_library
from polyad.codegen.cexpr import CExpressionPrinter
from polyad.frontend.values import add, divide, multiply, negate, subtract
from polyad.model.expr import MATH, integer_symbol, select, to_double

SYMBOLS = sympy.symbols("a b c", real=True)
a, b, c = SYMBOLS
i, n = integer_symbol("i"), integer_symbol("n")
PRINT = CExpressionPrinter(lambda symbol: symbol.name).print


def F(x: float) -> sympy.Float:
    return sympy.Float(x, precision=53)


# --- the independent evaluator ------------------------------------------------

class Unspecified(Exception):
    """C leaves this value open (fmin and fmax of zeros of both signs), or
    the compiler does: GCC folds ``0.0 - fabs(x)`` and ``-fabs(x) + 0.0``
    to ``-fabs(x)`` even at -O0, a zero of the other sign at x = 0 (the
    original kernel, compiled by the same GCC, folds alike)."""


def evaluate(expr, env: dict) -> tuple[object, str]:
    """(value, C type) of an unevaluated tree: Python ints for C ints,
    numpy float64 for doubles, one IEEE operation per tree node."""
    if isinstance(expr, sympy.Symbol):
        return np.float64(env[expr.name]), "double"
    if isinstance(expr, sympy.Integer):
        return int(expr), "int"
    if isinstance(expr, sympy.Float):
        return np.float64(float(expr)), "double"
    if isinstance(expr, sympy.Add):
        value, kind = _fold(expr.args, env, lambda x, y: x + y)
        if value == 0 and any(isinstance(a, sympy.Float) and a.is_zero for a in expr.args):
            raise Unspecified("the sign of a zero sum with a 0.0 literal")
        return value, kind
    if isinstance(expr, sympy.Mul):
        args = expr.args
        if len(args) == 2 and isinstance(args[1], sympy.Pow) and args[1].exp == -1:
            (x, tx), (y, ty) = evaluate(args[0], env), evaluate(args[1].base, env)
            assert "double" in (tx, ty), "integer division is never built"
            return np.float64(x) / np.float64(y), "double"
        if len(args) == 2 and args[0] == -1 and isinstance(args[0], sympy.Integer):
            x, tx = evaluate(args[1], env)
            return -x, tx
        return _fold(args, env, lambda x, y: x * y)
    if isinstance(expr, select):
        condition = truth(expr.args[0], env)
        (x, tx), (y, ty) = evaluate(expr.args[1], env), evaluate(expr.args[2], env)
        kind = "double" if "double" in (tx, ty) else "int"
        value = x if condition else y
        return (np.float64(value) if kind == "double" else value), kind
    name = getattr(expr.func, "__name__", "")
    if name == "to_double":
        x, tx = evaluate(expr.args[0], env)
        assert tx == "int"
        return np.float64(x), "double"
    unary = {"sqrt": np.sqrt, "fabs": np.fabs}
    binary = {"fmin": np.fmin, "fmax": np.fmax}
    if name in unary:
        x, _ = evaluate(expr.args[0], env)
        return unary[name](np.float64(x)), "double"
    if name in binary:
        (x, _), (y, _) = evaluate(expr.args[0], env), evaluate(expr.args[1], env)
        if x == 0 and y == 0 and math.copysign(1, x) != math.copysign(1, y):
            raise Unspecified(f"the sign of {name}(0.0, -0.0)")
        return binary[name](np.float64(x), np.float64(y)), "double"
    raise AssertionError(f"evaluator has no rule for {sympy.srepr(expr)}")


def _fold(args, env, operation):
    value, kind = evaluate(args[0], env)
    for arg in args[1:]:
        other, other_kind = evaluate(arg, env)
        if "double" in (kind, other_kind):
            value, kind = operation(np.float64(value), np.float64(other)), "double"
        else:
            value = operation(value, other)
    if kind == "int":
        assert -2**31 <= value < 2**31, "C int overflow: generator too large"
    return value, kind


_COMPARE = {sympy.StrictLessThan: lambda x, y: x < y, sympy.LessThan: lambda x, y: x <= y,
            sympy.StrictGreaterThan: lambda x, y: x > y,
            sympy.GreaterThan: lambda x, y: x >= y,
            sympy.Eq: lambda x, y: x == y, sympy.Ne: lambda x, y: x != y}


def truth(condition, env) -> bool:
    if type(condition) in _COMPARE:
        (x, _), (y, _) = evaluate(condition.args[0], env), evaluate(condition.args[1], env)
        return bool(_COMPARE[type(condition)](x, y))
    if isinstance(condition, sympy.And):
        return all(truth(arg, env) for arg in condition.args)
    if isinstance(condition, sympy.Or):
        return any(truth(arg, env) for arg in condition.args)
    if isinstance(condition, sympy.Not):
        return not truth(condition.args[0], env)
    raise AssertionError(f"evaluator has no rule for condition {condition}")


# --- random trees, typed as the frontend types them ---------------------------

_DOUBLE_LEAVES = st.one_of(
    st.sampled_from(SYMBOLS),
    st.sampled_from([0.1, 0.5, 1.0, 2.0, 3.0, 1e-3, 1e16, 0.0, 1.0 / 3.0]).map(F),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(F),
).map(lambda e: (e, "double"))
_INT_LEAVES = st.integers(-9, 9).map(lambda k: (sympy.Integer(k), "int"))


def _extend(children):
    def binary(operation):
        def build(pair):
            (x, tx), (y, ty) = pair
            kind = "double" if "double" in (tx, ty) else "int"
            if operation is divide and kind == "int":
                operation_ = multiply  # the frontend folds or refuses int / int
            else:
                operation_ = operation
            return operation_(x, y), kind
        return st.tuples(children, children).map(build)

    def as_double(pair):
        x, kind = pair
        return (x if kind == "double" else to_double(x)), "double"

    relation = st.tuples(st.sampled_from(list(_COMPARE)), children, children).map(
        lambda t: t[0](t[1][0], t[2][0], evaluate=False))
    condition = st.one_of(
        relation,
        st.tuples(relation, relation).map(lambda p: sympy.And(*p, evaluate=False)),
        st.tuples(relation, relation).map(lambda p: sympy.Or(*p, evaluate=False)),
        relation.map(lambda r: sympy.Not(r, evaluate=False)))

    def choose(t):
        cond, (x, tx), (y, ty) = t
        return (select(cond, x, y, evaluate=False),
                "double" if "double" in (tx, ty) else "int")

    return st.one_of(
        binary(add), binary(subtract), binary(multiply), binary(divide),
        children.map(lambda p: (negate(p[0]), p[1])),
        children.map(lambda p: (MATH["sqrt"](as_double(p)[0]), "double")),
        children.map(lambda p: (MATH["fabs"](as_double(p)[0]), "double")),
        st.tuples(children, children).map(
            lambda p: (MATH["fmin"](as_double(p[0])[0], as_double(p[1])[0]), "double")),
        st.tuples(children, children).map(
            lambda p: (MATH["fmax"](as_double(p[0])[0], as_double(p[1])[0]), "double")),
        st.tuples(condition, children, children).map(choose),
    )


EXPRESSIONS = st.recursive(st.one_of(_DOUBLE_LEAVES, _INT_LEAVES), _extend, max_leaves=8)

#: Values of (a, b, c): rounding happens, zeros of both signs, cancellation.
ENVIRONMENTS = [(0.1, 0.2, 0.3), (1.0, 3.0, 7.0), (-2.5, 1e-8, 1e8),
                (1.0 / 3.0, 2.0 / 3.0, -5.0 / 7.0), (0.0, -0.0, 1.0), (1e16, 1.0, -1e16)]


def _compile_at_o0(source: str):
    """Build with -O0 -ffp-contract=off: every operation a separately rounded
    IEEE double operation."""
    saved = os.environ.get("CFLAGS")
    os.environ["CFLAGS"] = "-O0 -ffp-contract=off"
    try:
        return ctypes.CDLL(str(shared_library(source, what="cexpr test")))
    finally:
        if saved is None:
            del os.environ["CFLAGS"]
        else:
            os.environ["CFLAGS"] = saved


def _bits(x: float) -> bytes:
    return b"nan" if math.isnan(x) else struct.pack("<d", x)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EXPRESSIONS, min_size=10, max_size=10))
def test_printed_c_computes_bitwise_what_the_tree_means(trees):
    """Oracle: the Python IEEE evaluator above (independent of the printer)."""
    texts = [PRINT(expr) for expr, _ in trees]
    count = len(texts)
    body = "\n".join(f"    out[k * {count} + {j}] = {text};" for j, text in enumerate(texts))
    source = f"""#include <math.h>
void evaluate_all(int rows, const double *va, const double *vb, const double *vc,
                  double *out)
{{
  for (int k = 0; k < rows; k++) {{
    double a = va[k], b = vb[k], c = vc[k];
{body}
  }}
}}
"""
    library = _compile_at_o0(source)
    rows = len(ENVIRONMENTS)
    columns = [np.array([env[m] for env in ENVIRONMENTS]) for m in range(3)]
    out = np.full(rows * count, 12345.0)
    pointer = ctypes.POINTER(ctypes.c_double)
    library.evaluate_all.argtypes = [ctypes.c_int] + [pointer] * 4
    library.evaluate_all(rows, *[col.ctypes.data_as(pointer) for col in columns],
                         out.ctypes.data_as(pointer))
    with np.errstate(all="ignore"):
        for row, values in enumerate(ENVIRONMENTS):
            env = dict(zip("abc", values))
            for j, (expr, _) in enumerate(trees):
                try:
                    expected = float(evaluate(expr, env)[0])
                except Unspecified:
                    continue
                got = float(out[row * count + j])
                assert _bits(got) == _bits(expected), (
                    f"{texts[j]!r} at a, b, c = {values}: C gives {got!r}, "
                    f"the tree means {expected!r} ({sympy.srepr(expr)})")


# --- precedence: golden strings -----------------------------------------------

def _lt(x, y):
    return sympy.StrictLessThan(x, y, evaluate=False)


GOLDEN = [
    (subtract(a, subtract(b, c)), "a - (b - c)"),
    (subtract(subtract(a, b), c), "a - b - c"),
    (add(a, add(b, c)), "a + (b + c)"),
    (add(a, negate(b)), "a - b"),  # the same tree as subtract(a, b)
    (subtract(a, negate(b)), "a - -b"),
    (divide(a, multiply(b, c)), "a / (b * c)"),
    (divide(divide(a, b), c), "a / b / c"),
    (divide(a, divide(b, c)), "a / (b / c)"),
    (multiply(a, divide(b, c)), "a * (b / c)"),
    (multiply(divide(a, b), c), "a / b * c"),
    (multiply(add(a, b), c), "(a + b) * c"),
    (multiply(a, add(b, c)), "a * (b + c)"),
    (divide(add(a, b), subtract(b, c)), "(a + b) / (b - c)"),
    (negate(multiply(a, b)), "-(a * b)"),
    (negate(add(a, b)), "-(a + b)"),
    (multiply(a, negate(b)), "a * -b"),
    (divide(a, negate(b)), "a / -b"),
    (multiply(negate(a), b), "-a * b"),
    # a negated negative: "--a" would be C's pre-decrement
    (negate(negate(a)), "-(-a)"),
    (negate(F(-0.5)), "-(-0.5)"),
    (negate(negate(F(0.5))), "-(-0.5)"),
    (subtract(a, F(-0.5)), "a - -0.5"),
    (multiply(F(2.0), a), "2.0 * a"),
    (multiply(F(1e-5), a), "1e-05 * a"),
    (add(a, sympy.Integer(3)), "a + 3"),
    # selects
    (add(select(_lt(a, b), a, b, evaluate=False), c), "(a < b ? a : b) + c"),
    (negate(select(_lt(a, b), a, b, evaluate=False)), "-(a < b ? a : b)"),
    (select(_lt(a, b), a, select(_lt(b, c), b, c, evaluate=False), evaluate=False),
     "a < b ? a : b < c ? b : c"),
    (select(_lt(a, b), select(_lt(b, c), a, b, evaluate=False), c, evaluate=False),
     "a < b ? (b < c ? a : b) : c"),
    (select(_lt(add(a, b), multiply(b, c)), subtract(a, b), negate(c), evaluate=False),
     "a + b < b * c ? a - b : -c"),
    # conditions with && || !
    (select(sympy.And(_lt(a, b), sympy.Not(sympy.Eq(c, F(0.0), evaluate=False),
                                            evaluate=False), evaluate=False), a, b,
            evaluate=False),
     "a < b && !(c == 0.0) ? a : b"),
    (select(sympy.And(sympy.Or(_lt(a, b), _lt(b, c), evaluate=False), _lt(a, c),
                      evaluate=False), a, b, evaluate=False),
     "a < c && (a < b || b < c) ? a : b"),
    (select(sympy.Or(sympy.And(_lt(a, b), _lt(b, c), evaluate=False),
                     sympy.Ne(a, c, evaluate=False), evaluate=False), a, b, evaluate=False),
     "a != c || a < b && b < c ? a : b"),
    (select(sympy.Not(sympy.Or(_lt(a, b), _lt(b, c), evaluate=False), evaluate=False),
            a, b, evaluate=False),
     "!(a < b || b < c) ? a : b"),
    # integer expressions converted to double
    (to_double(i), "(double)i"),
    (to_double(add(i, sympy.Integer(1))), "(double)(i + 1)"),
    (to_double(multiply(i, n)), "(double)(i * n)"),
    (to_double(negate(i)), "(double)(-i)"),
    (multiply(a, to_double(i)), "a * (double)i"),
    (divide(to_double(i), to_double(subtract(n, sympy.Integer(1)))),
     "(double)i / (double)(n - 1)"),
    (negate(to_double(i)), "-(double)i"),
    # math calls
    (MATH["pow"](a, add(b, c)), "pow(a, b + c)"),
    (multiply(MATH["pow"](a, F(2.0)), b), "pow(a, 2.0) * b"),
    (MATH["sqrt"](subtract(a, b)), "sqrt(a - b)"),
    (negate(MATH["exp"](negate(a))), "-exp(-a)"),
    (MATH["fmax"](a, negate(b)), "fmax(a, -b)"),
    (MATH["tanh"](select(_lt(a, b), a, b, evaluate=False)), "tanh(a < b ? a : b)"),
    # evaluated (derivative) expressions: sympy's Pow and Rational
    (sympy.Pow(a, 2), "a * a"),
    (sympy.Pow(a + b, 2, evaluate=False), "(a + b) * (a + b)"),
    (sympy.Pow(a, -1, evaluate=False), "1.0 / a"),
    (sympy.Pow(a, -2, evaluate=False), "1.0 / (a * a)"),
    (sympy.Pow(a, sympy.Rational(1, 2), evaluate=False), "sqrt(a)"),
    (sympy.Pow(a, sympy.Rational(-1, 2), evaluate=False), "1.0 / sqrt(a)"),
    (sympy.Pow(a, 7, evaluate=False), "pow(a, 7)"),
    (sympy.Mul(sympy.Rational(1, 4), a, evaluate=False), "0.25 * a"),
    (sympy.Mul(sympy.Rational(2, 3), a, evaluate=False), "2 * a / 3.0"),
]


@pytest.mark.parametrize("expr, text", GOLDEN, ids=[t for _, t in GOLDEN])
def test_golden_c_text(expr, text):
    """Oracle: strings checked against C's precedence and associativity."""
    assert PRINT(expr) == text


def test_golden_strings_are_themselves_valid_c():
    """Oracle: the C compiler (every golden string must compile as a double
    expression, else the golden file itself is wrong)."""
    lines = "\n".join(f"  r += {text};" for _, text in GOLDEN)
    source = f"""#include <math.h>
double golden(double a, double b, double c, int i, int n)
{{
  double r = 0.0;
{lines}
  return r;
}}
"""
    _compile_at_o0(source)


def test_symbol_names_come_from_the_callback():
    """Oracle: the name_of contract (references print as codegen names them)."""
    printer = CExpressionPrinter(lambda s: {"a": "A[c0][c1]", "b": "(*alpha)"}.get(s.name,
                                                                               s.name))
    assert printer.print(negate(negate(a))) == "-(-A[c0][c1])"
    assert printer.print(multiply(b, subtract(a, c))) == "(*alpha) * (A[c0][c1] - c)"
