"""A C for loop in the model: its step, the iterations it runs, its band.

The loop ``for (i = lower; condition; i += step)`` runs the iterations from
``lower`` on, a multiple of ``step`` apart, while ``condition`` holds; that is
an isl set only when the condition stays false once it is false, which is
checked here. Who the iterator is (the header's initialisation) is the
builder's business: it knows the kernel's variables.
"""

from __future__ import annotations

import islpy as isl
from pycparser import c_ast

from polyad.frontend.affine import (AffineTranslator, Scope, constant_value, describe,
                                   integer_literal)
from polyad.frontend.preprocess import Preprocessed, located_error, node_location
from polyad.model.kernel import sets_of


def loop_step(pre: Preprocessed, node: c_ast.For, iterator: str,
              affine: AffineTranslator, scope: Scope) -> int:
    """The constant, non-zero step of the loop ``node`` over ``iterator``
    in ``scope``, negative when it counts down (``i++`` is 1, ``i -= 2`` is
    -2, ``i = i + 3`` is 3; ``i += inc`` is 2 with ``inc`` fixed to 2 by
    ``-D``, see :mod:`~polyad.frontend.fixing`). Raises a located
    KernelError for any other increment."""
    nxt = node.next
    target = None
    step = None

    def amount_of(amount) -> int | None:
        if isinstance(amount, c_ast.ID) and amount.name in scope.params:
            fixed = affine.fixing.constant(scope.variable(amount.name),
                                           node_location(pre, amount),
                                           f"loop increment {describe(nxt)}")
            return None if fixed is None else constant_value(fixed)
        return integer_literal(amount) if isinstance(amount, c_ast.Constant) else None

    if isinstance(nxt, c_ast.UnaryOp) and nxt.op in ("p++", "++", "p--", "--"):
        target, step = nxt.expr, (1 if "++" in nxt.op else -1)
    elif isinstance(nxt, c_ast.Assignment) and nxt.op in ("+=", "-="):
        target = nxt.lvalue
        amount = amount_of(nxt.rvalue)
        if amount is not None and amount > 0:
            step = amount if nxt.op == "+=" else -amount
    elif (isinstance(nxt, c_ast.Assignment) and nxt.op == "="
          and isinstance(nxt.rvalue, c_ast.BinaryOp) and nxt.rvalue.op in "+-"
          and isinstance(nxt.rvalue.left, c_ast.ID)
          and nxt.rvalue.left.name == iterator):
        target = nxt.lvalue
        amount = amount_of(nxt.rvalue.right)
        if amount is not None and amount > 0:
            step = amount if nxt.rvalue.op == "+" else -amount
    if not (isinstance(target, c_ast.ID) and target.name == iterator) or step is None:
        offered = [n.name for n in (getattr(nxt, "rvalue", None),
                                    getattr(getattr(nxt, "rvalue", None), "right", None))
                   if isinstance(n, c_ast.ID) and n.name in affine.fixing.offered]
        if offered:
            value = affine.fixing.offered[offered[0]]
            raise located_error(pre, nxt, f"loop increment {describe(nxt)} with "
                                f"{offered[0]} = {value} (-D {offered[0]}={value})",
                                f"a loop steps by a positive constant: give {offered[0]} "
                                "a positive value")
        raise located_error(pre, nxt or node, "loop increment " + (describe(nxt) if nxt else
                                                                   "(none)"),
                            f"step {iterator} by a positive constant: {iterator}++, "
                            f"{iterator}--, {iterator} += c or {iterator} -= c (or by an "
                            f"int size fixed with -D: {iterator} += inc with -D inc=2)")
    return step


def loop_header(node: c_ast.For) -> tuple[str, c_ast.Node]:
    """The iterator and start value of ``for (int i = lower; ...)`` or
    ``for (i = lower; ...)`` (the builder checks the header first)."""
    init = node.init
    if isinstance(init, c_ast.DeclList):
        return init.decls[0].name, init.decls[0].init
    return init.lvalue.name, init.rvalue


def loop_domain(pre: Preprocessed, affine: AffineTranslator, node: c_ast.For, scope: Scope,
                iterator: str, start: c_ast.Node, step: int) -> isl.Set:
    """The iterator values in ``scope`` extended by ``iterator`` that the loop
    ``node`` runs, from ``start`` by ``step`` while its condition holds.

    Precondition: ``step`` is :func:`loop_step` of ``node``. Raises a located
    KernelError for a nested loop over the same iterator, a missing, non-affine
    or resuming condition, or a loop without a bound in its direction.
    """
    if iterator in scope.iterators:
        raise located_error(pre, node, f"loop over {iterator} inside a loop over {iterator}",
                            "give nested loops distinct iterators")
    if node.cond is None:
        raise located_error(pre, node, "for loop without condition",
                            "bound the iterator, e.g. i < n")
    inner = scope.entered(iterator)
    variable = inner.variable(iterator)
    lower = affine.expression(start, inner, "loop bound")
    begin = variable.ge_set(lower) if step > 0 else variable.le_set(lower)
    condition = affine.condition(node.cond, inner, "loop condition")
    domain = inner.domain & begin & condition
    if abs(step) > 1:
        on_stride = variable.sub(lower).mod_val(isl.Val(abs(step)))
        domain = domain & on_stride.eq_set(inner.constant(0))
    _check_loop_condition(pre, node, inner, condition, lower, step)
    if not domain.is_bounded():
        raise located_error(pre, node, f"loop over {iterator} without a bound",
                            f"the condition must bound {iterator} on the side it moves to",
                            verb="unbounded")
    return domain


def loop_band(domain: isl.UnionSet, iterator: str, decreasing: bool) -> isl.MultiUnionPwAff:
    """The partial schedule of a loop: its iterator (negated when it counts
    down) for every statement instance inside it.

    Precondition: every set of ``domain`` has a dimension named ``iterator``.

    >>> str(loop_band(isl.UnionSet("{ S0[i] : 0 <= i < 4 }"), "i", True))
    '[{ S0[i] -> [(-i)] }]'
    """
    union = None
    for s in sets_of(domain):
        space = s.get_space()
        position = space.find_dim_by_name(isl.dim_type.set, iterator)
        piece = isl.PwAff.var_on_domain(isl.LocalSpace.from_space(space),
                                        isl.dim_type.set, position)
        if decreasing:
            piece = piece.neg()
        piece = isl.UnionPwAff.from_pw_aff(piece)
        union = piece if union is None else union.union_add(piece)
    return isl.MultiUnionPwAff.from_union_pw_aff(union)


def wrap_around_cases(affine: AffineTranslator, scope: Scope, iterator: str, start,
                      step: int, domain: isl.Set) -> list[tuple[str, str, isl.Set]]:
    """Where an unsigned iterator would leave the integers polyad models, as
    (construct, hint, the instances where it happens): a start below zero (C
    starts at a huge value instead), or a count down past zero (C wraps around
    and the loop goes on). The caller refuses a case that is not empty once
    the sizes' context is known.

    Precondition: ``domain`` is the loop's domain from :func:`loop_domain`."""
    value = Scope(domain).variable(iterator)
    inner = scope.entered(iterator)
    first = affine.expression(start, inner, "loop bound")
    cases = [(f"unsigned loop iterator {iterator} starting below 0",
              "C starts it at a huge value instead: start at 0 or above, or count with int",
              inner.domain & first.lt_set(inner.constant(0))),
             (f"unsigned loop iterator {iterator} below 0",
              "an unsigned iterator wraps around below 0: count with int",
              domain & value.lt_set(Scope(domain).constant(0)))]
    if step < 0:
        cases.append((f"unsigned loop iterator {iterator} counting down past 0",
                      f"C wraps {iterator} around and the loop goes on: count with int, or "
                      f"stop at {iterator} > 0 and use {iterator} - 1",
                      domain & value.lt_set(Scope(domain).constant(-step))))
    return cases


def _check_loop_condition(pre: Preprocessed, node: c_ast.For, inner: Scope,
                          condition: isl.Set, lower: isl.PwAff, step: int) -> None:
    """The loop runs while the condition holds: a condition that fails and
    then holds again (i != 5, i < 2 || i > 6) would make the set of
    iterations differ from what C executes."""
    space = inner.domain.get_space()
    last = space.dim(isl.dim_type.set) - 1
    shift = isl.MultiAff.identity(isl.Space.map_from_set(space))
    shift = shift.set_aff(last, shift.get_aff(last).add_constant_val(isl.Val(-step)))
    previous_holds = condition.preimage_multi_aff(shift)
    variable = inner.variable(inner.iterators[-1])
    previous = variable.add(inner.constant(-step))
    previous_started = previous.ge_set(lower) if step > 0 else previous.le_set(lower)
    if abs(step) > 1:
        on_stride = previous.sub(lower).mod_val(isl.Val(abs(step)))
        previous_started = previous_started & on_stride.eq_set(inner.constant(0))
    resumes = inner.domain & condition & previous_started & previous_holds.complement()
    if not resumes.is_empty():
        raise located_error(pre, node.cond, f"loop condition {describe(node.cond)}",
                            "the condition must be a bound that stays false once false, "
                            "e.g. i < n or i <= min(n, m)")

