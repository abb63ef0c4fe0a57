"""Partials through the value a statement writes (issue 11).

When a statement's whole right-hand side is one of tanh, exp or sqrt applied
to an argument ``u`` (``y[i] = tanh(z)``, or in place ``x[i] = tanh(x[i])``),
the derivative with respect to ``u`` is a function of the value written:
``1 - y*y``, ``y``, ``0.5 / y`` (polyad.ad.derivatives.OUTPUT_RULES). The
reverse sweep then reads ``y`` instead of calling the function again, and
needs none of ``u``'s operands for that factor (they need no tape unless
``du/dr`` itself uses them). These partials are the rule's own, bit for bit:
``y`` is the same rounded ``f(u)`` the argument form computes again. It
holds only where the value is stored in its own type (``float y = tanhf(u)``,
not ``float y = tanh(u)``, where ``y`` is rounded), so a value converted on
its store keeps the argument form.

The logistic ``1 / (1 + exp(w))`` (``1.0`` or ``1``, and float's ``1.0f``
with ``expf``) has derivative ``-y * (1 - y) * dw``: equal in real
arithmetic, not bit for bit; its error is at most about one unit in the
last place of 1 (absolute), the usual form in machine-learning code.

Which form a statement gets (:func:`choose_form`) is decided on the model
by isl's dataflow (polyad.tape.written):

* the written value is never overwritten later: the written form, ``y`` read
  from memory in the reverse sweep;
* else, the written form with ``y`` recorded as the statement writes it,
  only where that records no more: at every instance whose ``y`` is
  overwritten, the argument form records an operand (by its reader) that the
  written form no longer needs;
* else, when the argument form records nothing and another statement's
  tape holds ``y`` wherever it is overwritten (:func:`share_forms`), the
  written form reading that tape;
* else the argument form, as before.

The stack strategy (the baseline without an overwrite analysis) keeps the
argument form.
"""

from __future__ import annotations

from typing import Callable

import islpy as isl
import sympy

from polyad.ad.activity import Differentiated
from polyad.ad.derivatives import OUTPUT_RULES, derivative
from polyad.ad.modes import AdjointStatement
from polyad.model.expr import function_name, value_type
from polyad.model.kernel import ELEMENT_BYTES, Access, Kernel
from polyad.tape.plan import TapeEntry, TapePlan, plan_tape
from polyad.tape.written import overwritten_after_writing, written_value


def outer_form(value: sympy.Expr) -> tuple[sympy.Expr, Callable] | None:
    """``(u, q)`` with ``value == F(u)`` and ``dF/du == q(F(u))``, for a
    value of one of the forms of the module docstring; else None.

    >>> from polyad.model.expr import MATH
    >>> z = sympy.Symbol("z", real=True)
    >>> u, q = outer_form(MATH["tanh"](2 * z))
    >>> u, q(sympy.Symbol("y"))
    (2*z, 1 - y**2)
    """
    name = function_name(value)
    if name in OUTPUT_RULES and len(value.args) == 1:
        return value.args[0], OUTPUT_RULES[name]
    return _logistic(value)


def _logistic(value: sympy.Expr) -> tuple[sympy.Expr, Callable] | None:
    """``1 / (1 + exp(w))`` (times a literal 1.0): ``(w, y -> -y (1 - y))``."""
    if isinstance(value, sympy.Mul) and len(value.args) == 2 and _is_one(value.args[0]):
        value = value.args[1]
    if not (isinstance(value, sympy.Pow) and value.exp == -1
            and isinstance(value.base, sympy.Add) and len(value.base.args) == 2):
        return None
    one, other = sorted(value.base.args, key=lambda a: not a.is_Number)
    if not (_is_one(one) and function_name(other) in ("exp", "expf")):
        return None
    return other.args[0], lambda y: -y * (1 - y)


def _is_one(expr: sympy.Expr) -> bool:
    """A literal 1 (``1``, ``1.0``, ``1.0f``: sympy's Float(1.0) != 1)."""
    return bool(expr.is_Number) and float(expr) == 1.0


def written_access(statement) -> Access:
    """The access of the value a statement wrote: its write's element, with
    a symbol of its own (a self read ``x[i]`` reads the value before)."""
    write = statement.write
    return Access(write.array, write.relation,
                  sympy.Symbol(f"{write.text} as written", real=True), write.location,
                  write.text)


def written_form(argument: AdjointStatement, differentiated: Differentiated,
                 kernel: Kernel) -> AdjointStatement | None:
    """The adjoint statement with its partials through the written value,
    where the right-hand side has a form of :func:`outer_form` and is stored
    in its own type; else None.

    Precondition: ``argument`` is the argument form of ``differentiated``'s
    statement (its partials are ``differentiated``'s)."""
    statement = differentiated.statement
    if statement.write.is_gather:  # a scatter's element is known only at run time
        return None
    form = outer_form(differentiated.value)
    if form is None:
        return None
    types = {a.symbol: kernel.array(a.array).dtype for a in statement.reads}

    def type_of(symbol):
        return types.get(symbol, "int" if symbol.is_integer else "double")

    if value_type(differentiated.value, type_of) != kernel.array(statement.write.array).dtype:
        return None  # stored rounded to another type: y is not f(u)
    inner, partial = form
    output = written_access(statement)
    outer = partial(output.symbol)

    def through(symbol):
        return outer * derivative(inner, symbol)

    own = argument.self_partial
    own_symbol = statement.self_read().symbol if statement.self_read() else None
    return AdjointStatement(
        statement, None if own is None else (own if own == 0 else through(own_symbol)),
        {symbol: through(symbol) for symbol in argument.increments}, output)


def choose_form(argument: AdjointStatement, written: AdjointStatement | None,
                kernel: Kernel, strategy: str) -> AdjointStatement:
    """The written form where it needs no more recorded than the argument
    form (see the module docstring), else the argument form."""
    if written is None or strategy != "exact":
        return argument
    name = argument.statement.name
    overwritten = overwritten_after_writing(kernel, name).domain()
    if overwritten.is_empty():
        return written
    still = {access.symbol for access in written.needed()}
    size = ELEMENT_BYTES[kernel.array(argument.statement.write.array).dtype]
    saved = None
    for entry in plan_tape(kernel, {name: argument.needed()}).entries:
        if entry.writer or entry.on_entry or entry.shares or entry.symbol in still \
                or ELEMENT_BYTES[entry.dtype] < size:
            continue  # shared, still recorded, or narrower than y: saves less than y costs
        saved = entry.instances if saved is None else saved | entry.instances
    if saved is not None and overwritten.is_subset(isl.UnionSet.from_set(saved)):
        return written
    return argument


def share_forms(chosen: tuple[AdjointStatement, ...],
                written: tuple[AdjointStatement | None, ...], kernel: Kernel,
                plan: TapePlan) -> tuple[AdjointStatement, ...]:
    """The statements with the written form taken where :func:`choose_form`
    kept the argument form, that form records nothing, and another
    statement's tape in ``plan`` (of the reads of ``chosen``) holds the
    written value wherever it is overwritten: the reverse sweep reads it
    there instead of calling the function (softmax's exp)."""
    result = list(chosen)
    for index, (statement, alternative) in enumerate(zip(chosen, written)):
        name = statement.statement.name
        if alternative is None or statement.output is not None \
                or any(entry.statement == name for entry in plan.entries):
            continue
        value = written_value(kernel, name, alternative.output, "exact", plan.entries)
        if isinstance(value, TapeEntry) and value.shares:
            result[index] = alternative
    return tuple(result)
