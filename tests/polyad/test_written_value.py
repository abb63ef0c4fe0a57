"""Partials through the written value (issue 11, polyad.ad.outputs): the
reverse sweep of ``y = tanh(u)`` uses ``1 - y*y`` with y read from memory
(or recorded as written) instead of calling tanh again.

Oracles: ``verify.check_gradient`` (the original C compiled by the system
compiler, bitwise against the forward sweeps; the plain reverse-mode
interpreter, which differentiates with sympy and shares nothing with the
derivative table; central finite differences of the original C; the
dot-product test between tangent and adjoint code), on small and odd sizes;
the generated C text for the calls its reverse sweep makes; tape sizes
counted by hand from the kernels' loops.
"""

from __future__ import annotations

import random
import re

import islpy as isl
import pytest
import sympy

import polyad
from polyad import api
from polyad.ad.derivatives import derivative
from polyad.ad.outputs import outer_form
from polyad.check import verify
from polyad.check.interpreter import as_sympy
from polyad.model.expr import MATH, evaluated
from polyad.tape.plan import plan_tape

from tests.conftest import example

ORACLES = ("primal vs original C", "interpreter", "dot product", "finite differences")

# One statement per form, each out of place, over odd sizes.
FORMS = {
    "tanh": "y[i][j] = tanh(a * x[i][j] + b[j]);",
    "exp": "y[i][j] = exp(0.5 * x[i][j] - b[j]);",
    "sqrt": "y[i][j] = sqrt(1.0 + x[i][j] * x[i][j] * b[j] * b[j]);",
    "logistic": "y[i][j] = 1.0 / (1.0 + exp(-(a * x[i][j] + b[j])));",
    "logistic-int": "y[i][j] = 1 / (1 + exp(b[j] - x[i][j]));",
}

TWO_D = """\
#include <math.h>
void f(int n, int m, double a, double x[n][m], double b[m], double y[n][m]) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++)
      BODY
}
"""

IN_PLACE = """\
#include <math.h>
void f(int n, double w[n], double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = FUNCTION(x[i] + w[i]);
}
"""

# The partial for w[i] is f'(u) * x[i]: the old x[i] stays recorded.
IN_PLACE_PRODUCT = """\
#include <math.h>
void f(int n, double w[n], double x[n]) {
  for (int i = 0; i < n; i++)
    x[i] = tanh(w[i] * x[i]);
}
"""

# x is overwritten at every step but the last: the written value is gone
# by the reverse sweep for t < nt - 1, and so is the operand x[i].
STEPS = """\
#include <math.h>
void f(int nt, int n, double w[n], double x[n]) {
  for (int t = 0; t < nt; t++)
    for (int i = 0; i < n; i++)
      x[i] = tanh(x[i] + w[i]);
}
"""

# exp's value y[i] is overwritten by the third statement, which records
# nothing, and its operand never: the argument form (exp called again)
# records nothing.
OVERWRITTEN = """\
#include <math.h>
void f(int n, double x[n], double y[n], double z[n]) {
  for (int i = 0; i < n; i++) {
    y[i] = exp(x[i]);
    z[i] = y[i] + 1.0;
    y[i] = 3.0 * x[i];
  }
}
"""

# As above, but the overwriting statement reads y[i] and records it
# (y[i] * y[i] overwrites what it reads): exp's partial reads that tape.
SHARED = """\
#include <math.h>
void f(int n, double x[n], double y[n]) {
  for (int i = 0; i < n; i++) {
    y[i] = exp(x[i]);
    y[i] = y[i] * y[i] + x[i];
  }
}
"""

LOGISTIC_FLOAT = """\
#include <math.h>
void f(int n, float x[n], float y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = 1.0f / (1.0f + expf(-x[i]));
}
"""

# tanh computed in double, stored rounded to float: y is not tanh(u).
ROUNDED = """\
#include <math.h>
void f(int n, double x[n], float y[n]) {
  for (int i = 0; i < n; i++)
    y[i] = tanh(x[i]);
}
"""


def _all_ok(result):
    names = " | ".join(c["oracle"] for c in result["checks"])
    assert all(oracle in names for oracle in ORACLES), names
    assert result["verdict"] == "ok", result["checks"]


def _reverse_sweep(source: str) -> str:
    """The generated function's text after its forward sweep (from the
    first adjoint statement on)."""
    return source[source.index("/* adjoint of line"):]


def _calls(text: str, function: str) -> int:
    """Calls of ``function`` in C text, its comments (which quote the
    source line) left out."""
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return len(re.findall(rf"(?<!\w){function}\(", code))


def _written(adjoint) -> dict[str, bool]:
    return {s.statement.name: s.output is not None for s in adjoint.statements}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_through_every_oracle(form):
    kernel = polyad.parse(TWO_D.replace("BODY", FORMS[form]))
    adjoint = polyad.grad(kernel)
    assert _written(adjoint) == {"S0": True}
    assert not adjoint.tape.entries  # y is never overwritten: read from memory
    function = "tanh" if form == "tanh" else "sqrt" if form == "sqrt" else "exp"
    assert _calls(_reverse_sweep(api.generate_c(adjoint)), function) == 0
    for sizes in ({"n": 3, "m": 5}, {"n": 1, "m": 1}, {"n": 4, "m": 7}):
        _all_ok(verify.check_gradient(kernel, sizes))


@pytest.mark.parametrize("function", ["tanh", "exp", "sqrt"])
def test_in_place_update_records_nothing(function):
    """x[i] = f(x[i] + w[i]) overwrites its operand: the argument form
    recorded x[i] for every instance, the written form reads x[i] after."""
    kernel = polyad.parse(IN_PLACE.replace("FUNCTION", function))
    adjoint = polyad.grad(kernel)
    assert _written(adjoint) == {"S0": True} and not adjoint.tape.entries
    assert polyad.grad(kernel, strategy="stack").tape.entries  # the baseline still records
    assert _calls(_reverse_sweep(api.generate_c(adjoint)), function) == 0
    for n in (1, 6):
        _all_ok(verify.check_gradient(kernel, {"n": n}))
        _all_ok(verify.check_gradient(kernel, {"n": n}, schedule="auto"))


def test_in_place_product_keeps_its_operand_recorded():
    """x[i] = tanh(w[i] * x[i]): w's partial (1 - y*y) * x[i] reads the x[i]
    the statement overwrites, recorded as before; no tanh call."""
    kernel = polyad.parse(IN_PLACE_PRODUCT)
    adjoint = polyad.grad(kernel)
    assert _written(adjoint) == {"S0": True}
    assert [e.access.text for e in adjoint.tape.entries] == ["x[i]"]
    assert _calls(_reverse_sweep(api.generate_c(adjoint)), "tanh") == 0
    _all_ok(verify.check_gradient(kernel, {"n": 5}))


def test_overwritten_output_is_recorded_instead_of_the_operand():
    """Over nt steps the argument form records x[i] at every instance (the
    statement overwrites its operand): nt * n values; the written form
    records y where a later step overwrites it, (nt - 1) * n values, and
    reads the last step's from memory."""
    kernel = polyad.parse(STEPS)
    adjoint = polyad.grad(kernel)
    assert _written(adjoint) == {"S0": True}
    (entry,) = adjoint.tape.entries
    assert entry.writer == entry.statement == "S0"
    sizes = {"nt": 4, "n": 5}
    assert adjoint.tape.values(sizes) == (4 - 1) * 5
    # the argument form, 1 - tanh(x + w)^2, needs the x[i] read (overwritten
    # by its own instance) at each of them
    assert plan_tape(kernel, {"S0": (kernel.statement("S0").self_read(),)}).values(sizes) \
        == 4 * 5
    assert _calls(_reverse_sweep(api.generate_c(adjoint)), "tanh") == 0
    assert any("as it writes it" in line for line in adjoint.tape.explain(kernel))
    for sizes in ({"nt": 3, "n": 5}, {"nt": 1, "n": 1}):
        _all_ok(verify.check_gradient(kernel, sizes))
    for layout, every in (("stream", None), ("checkpoint", 2), ("regions", None)):
        _all_ok(verify.check_gradient(kernel, {"nt": 5, "n": 3}, layout=layout, every=every))
    _all_ok(verify.check_gradient(kernel, {"nt": 5, "n": 3}, layout="checkpoint",
                                  snapshots=2))
    _all_ok(verify.check_gradient(kernel, {"nt": 5, "n": 3}, layout="layers",
                                  scratchpad=256))
    _all_ok(verify.check_gradient(kernel, {"nt": 4, "n": 3}, schedule="auto"))


def test_overwritten_output_falls_back_to_the_argument_form():
    """Recording exp's overwritten value would cost n values where the
    argument form records none: exp is called again in the reverse sweep."""
    kernel = polyad.parse(OVERWRITTEN)
    adjoint = polyad.grad(kernel)
    assert _written(adjoint) == {"S0": False, "S1": False, "S2": False}
    assert not adjoint.tape.entries
    assert _calls(_reverse_sweep(api.generate_c(adjoint)), "exp") == 1
    for n in (1, 7):
        _all_ok(verify.check_gradient(kernel, {"n": n}))


@pytest.mark.parametrize("text, sizes", [(SHARED, {"n": 7}),
                                         (SHARED, {"n": 1}),
                                         ("softmax", {"n": 3, "m": 5}),
                                         ("softmax", {"n": 1, "m": 1})])
def test_overwritten_output_read_from_the_tape_of_its_reader(text, sizes):
    """The statement overwriting exp's value reads and records it (its own
    partial needs it): exp's partial reads that tape, nothing more is
    recorded, exp is not called again. softmax: Y[i][j] /= sum records the
    Y[i][j] = exp(...) it overwrites."""
    kernel = example(text) if text == "softmax" else polyad.parse(text)
    adjoint = polyad.grad(kernel)
    exp = kernel.statements[0 if text == SHARED else 3]
    assert exp.text.startswith(("y[i] = exp", "Y[i][j] = exp")), exp.text
    (entry,) = [e for e in adjoint.tape.entries if e.statement == exp.name]
    assert entry.written and entry.shares and not entry.count(sizes)
    assert entry.lookup.is_equal(isl.Map(
        str(exp.domain.identity()).replace(f"-> {exp.name}", f"-> {entry.shares[0]}")))
    assert _calls(_reverse_sweep(api.generate_c(adjoint)), "exp") == 0
    _all_ok(verify.check_gradient(kernel, sizes))
    for layout in ("stack", "stream", "regions"):
        _all_ok(verify.check_gradient(kernel, sizes, layout=layout))
    _all_ok(verify.check_gradient(kernel, sizes, schedule="auto"))


def test_a_value_rounded_on_its_store_keeps_the_argument_form():
    kernel = polyad.parse(ROUNDED)
    adjoint = polyad.grad(kernel)
    assert _written(adjoint) == {"S0": False}
    assert _calls(_reverse_sweep(api.generate_c(adjoint)), "tanh") >= 1
    _all_ok(verify.check_gradient(kernel, {"n": 5}))


def test_float_logistic_in_float():
    kernel = polyad.parse(LOGISTIC_FLOAT)
    adjoint = polyad.grad(kernel)
    assert _written(adjoint) == {"S0": True}
    reverse = _reverse_sweep(api.generate_c(adjoint))
    assert _calls(reverse, "expf") == 0 and "double" not in reverse
    _all_ok(verify.check_gradient(kernel, {"n": 9}))


@pytest.mark.parametrize("name, function", [
    ("rnn", "tanh"), ("mlp", "tanh"), ("mlp_float", "tanhf")])
def test_examples_call_tanh_only_in_the_forward_sweep(name, function):
    """rnn's h[t + 1][j] = tanh(s) and mlp's in-place y = tanh(y): the
    generated gradient calls tanh once (the forward sweep's; under auto
    its vector version, vector_tanh), in the default and the auto
    schedule, and records nothing for it."""
    kernel = example(name)
    adjoint = polyad.grad(kernel)
    assert not adjoint.tape.entries
    for schedule in (None, adjoint.schedule().auto()):
        source = api.generate_c(adjoint, schedule)
        body = source[source.index(f"int {name}_b("):]
        assert _calls(body, rf"\w*{function}") >= 1, schedule
        assert _calls(_reverse_sweep(body), rf"\w*{function}") == 0, schedule
    assert _calls(_reverse_sweep(api.generate_c(adjoint)), function) == 0


@pytest.mark.parametrize("name", ["rnn", "mlp_float"])
def test_examples_pass_every_oracle(name):
    """mlp_float judges the float gradient at float's tolerance."""
    kernel = example(name)
    _all_ok(verify.check_gradient(kernel, kernel.sizes("small")))
    _all_ok(verify.check_gradient(kernel, kernel.sizes("small"), schedule="auto"))


@pytest.mark.parametrize("text", sorted(FORMS.values()))
def test_outer_form_partial_is_the_derivative(text):
    """q(F(u)) * du/dr against sympy's derivative of the right-hand side,
    at random points (sympy's own functions, not polyad's table)."""
    kernel = polyad.parse(TWO_D.replace("BODY", text))
    value = evaluated(kernel.statements[0].expr)
    inner, q = outer_form(value)
    symbols = sorted(value.free_symbols, key=str)
    reads = [s for s in symbols if not s.is_integer]
    rng = random.Random(1)
    for read in reads:
        ours = as_sympy(q(value) * derivative(inner, read))
        reference = as_sympy(value).diff(read)
        for _ in range(3):
            point = {s: rng.uniform(0.2, 1.5) for s in symbols}
            assert abs(float(ours.subs(point)) - float(reference.subs(point))) < 1e-12


def test_outer_form_refuses_other_shapes():
    u = sympy.Symbol("u", real=True)
    assert outer_form(2 * MATH["tanh"](u)) is None      # not the whole right-hand side
    assert outer_form(MATH["log"](u)) is None           # 1/u is no function of log(u)
    assert outer_form(1 / (2 + MATH["exp"](u))) is None  # not the logistic
