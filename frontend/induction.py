"""Int locals that change as the kernel runs: induction variables.

An int local may be given a new value (``j = i + 1;``) or changed
(``j++``, ``j += 2``, ``j = j - c``, ``--j``) anywhere in the region. Its
value at each point is an affine function of the iterators and sizes
around it, derived here from the loops' bounds: a piece of code maps the
value it is entered with, ``v``, to ``keep ? v + delta : delta`` (a
:class:`Transfer`), and a loop whose body adds a constant ``c`` per
iteration enters iteration ``i`` with ``v + c * (i - lower) / step`` and
leaves with ``v + c * trips``; a body that gives the local a new value
every iteration enters with the previous iteration's last value. Any other
loop (a count growing with the iterator, as in a triangular nest, or by a
size) has no affine closed form and is refused at the change, as is a
change under a condition on data.

The builder walks the region once; at each loop that changes an int local
it asks :class:`Induction` for the values at the body's entry and after the
loop, which walks the body beforehand to find what one iteration does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import islpy as isl
from pycparser import c_ast

from polyad.frontend.affine import AffineTranslator, Scope, describe, lifted_to
from polyad.frontend.declarations import classify_declaration
from polyad.frontend.loops import loop_domain, loop_header, loop_step
from polyad.frontend.preprocess import Preprocessed, located_error, node_location

_STEPS = {"p++": 1, "++": 1, "p--": -1, "--": -1}


@dataclass(frozen=True)
class Transfer:
    """What a piece of code does to one int local entered with value ``v``:
    it leaves with ``v + delta`` where ``keep`` holds, ``delta`` elsewhere.
    Both are over the space of the scope the code runs in; ``node`` is the
    first change in it (where a refusal points)."""

    keep: isl.Set
    delta: isl.PwAff
    node: c_ast.Node

    def applied(self, value: isl.PwAff) -> isl.PwAff:
        """The value after the code, entered with ``value`` (same space)."""
        kept = value.add(self.delta).intersect_domain(self.keep)
        return kept.union_add(self.delta.intersect_domain(self.keep.complement()))

    def then(self, later: "Transfer") -> "Transfer":
        """This code followed by ``later`` (in the same scope)."""
        delta = self.delta.add(later.delta).intersect_domain(later.keep).union_add(
            later.delta.intersect_domain(later.keep.complement()))
        return Transfer(self.keep & later.keep, delta, self.node)


def change_of(node, int_locals) -> str | None:
    """The int local a statement changes (``j++``, ``j += e``, ``j = e``),
    or None for any other statement."""
    target = None
    if isinstance(node, c_ast.UnaryOp) and node.op in _STEPS:
        target = node.expr
    elif isinstance(node, c_ast.Assignment):
        target = node.lvalue
    if isinstance(target, c_ast.ID) and target.name in int_locals:
        return target.name
    return None


def changes_in(node, int_locals) -> list[tuple[str, c_ast.Node]]:
    """Every change of an int local in ``node``'s statements, in source
    order, as (name, statement); for headers only loop iterators change."""
    found = []

    def visit(n):
        name = change_of(n, int_locals)
        if name is not None:
            found.append((name, n))
            return
        if isinstance(n, c_ast.For):
            visit(n.stmt)
            return
        for _, child in n.children():
            visit(child)

    if node is not None:
        visit(node)
    return found


class Induction:
    """The values of changing int locals, for the builder's walk.

    ``data_reads(condition)`` says which data an ``if`` condition reads;
    ``int_locals()`` the names of the int locals declared so far, and
    ``unsigned()`` those of an unsigned type."""

    def __init__(self, pre: Preprocessed, affine: AffineTranslator,
                 data_reads: Callable[[c_ast.Node], set], int_locals: Callable[[], set],
                 unsigned: Callable[[], set]):
        self.pre = pre
        self.unsigned = unsigned
        self.affine = affine
        self.data_reads = data_reads
        self._int_locals = int_locals
        #: int locals declared in the code being analysed, not walked yet
        self._declared_ints: set[str] = set()

    def int_locals(self) -> set[str]:
        """The int locals declared so far, with those of the code analysed."""
        return self._int_locals() | self._declared_ints

    def error(self, node, construct: str, hint: str):
        return located_error(self.pre, node, construct, hint)

    # --- the builder's walk ---------------------------------------------------
    def change(self, node, scope: Scope) -> None:
        """Apply the change ``node`` (see :func:`change_of`) to its int local."""
        name = change_of(node, self.int_locals())
        transfer = self._change(node, name, scope)
        if transfer.keep.is_empty():
            value = transfer.delta
        elif name not in self.affine.aliases:
            raise self.error(node, f"change of int local {name} before it has a value",
                             f"give it a value first: int {name} = 0;")
        else:
            value = transfer.applied(self.affine.value_of(_id(name, node), scope, "int value"))
        self.affine.set_value(name, value, scope, node, name in self.unsigned())

    def refuse_under_data(self, node: c_ast.If) -> None:
        """Refuse an int local changed in a branch of the ``if`` on data ``node``."""
        changes = changes_in(node, self.int_locals())
        if changes:
            name, where = changes[0]
            raise self.error(where, f"change of int local {name} under a condition on "
                             f"data ({describe(node.cond)})",
                             "an int local's value may not depend on array data (it "
                             "indexes arrays and bounds loops); an index found by a "
                             "search, as an argmax, is not modelled: compute values in "
                             "double locals or selects")

    def entering(self, node: c_ast.For, scope: Scope, inner: Scope, start,
                 step: int) -> dict[str, isl.PwAff]:
        """Give the int locals that the loop ``node`` changes their values
        at its body's entry (over ``inner``, the loop's scope); returns each
        one's value after the loop (over ``scope``), for :meth:`leaving`."""
        names = {name for name, _ in changes_in(node.stmt, self.int_locals())
                 if self.affine.aliases.get(name) is not None}
        if not names:
            return {}
        before = {name: lifted_to(self.affine.aliases[name], scope) for name in names}
        saved = dict(self.affine.aliases)
        try:
            for name in names:
                self.affine.aliases[name] = None
            body = self._transfers(node.stmt, inner)
        finally:
            self.affine.aliases = saved
            self._declared_ints = set()
        after = {}
        for name in names:
            if name not in body:
                continue
            entry, leave = self._loop(node, body[name], scope, inner, start, step, name)
            self.affine.set_value(name, entry.applied(lifted_to(before[name], inner)),
                                  inner, body[name].node, name in self.unsigned())
            after[name] = leave.applied(before[name])
        return after

    def leaving(self, scope: Scope, after: dict[str, isl.PwAff], node) -> None:
        """After a loop: the values :meth:`entering` returned, and no value
        for the int locals declared inside it."""
        for name, value in list(self.affine.aliases.items()):
            if value is not None and lifted_to(value, scope) is None:
                del self.affine.aliases[name]
        for name, value in after.items():
            self.affine.set_value(name, value, scope, node, name in self.unsigned())

    # --- what one piece of code does ------------------------------------------
    def _change(self, node, name: str, scope: Scope) -> Transfer:
        universe = scope.universe()
        if isinstance(node, c_ast.UnaryOp):
            return Transfer(universe, scope.constant(_STEPS[node.op]), node)
        rvalue, op = node.rvalue, node.op
        if op == "=" and isinstance(rvalue, c_ast.BinaryOp) and rvalue.op in "+-":
            if _names(rvalue.left, name) and not _names(rvalue.right, name):
                op, rvalue = rvalue.op + "=", rvalue.right  # j = j + e
            elif rvalue.op == "+" and _names(rvalue.right, name) \
                    and not _names(rvalue.left, name):
                op, rvalue = "+=", rvalue.left  # j = e + j
        if op not in ("=", "+=", "-=") or _mentions(rvalue, name):
            raise self.error(node, f"change of int local {name} by {describe(node)}",
                             f"an int local changes by {name}++, {name} += c, "
                             f"{name} = {name} + e or {name} = e, with e affine in "
                             f"iterators and sizes and not using {name}")
        value = self.affine.expression(rvalue, scope, "int value")
        if op == "=":
            return Transfer(universe.complement(), value, node)
        return Transfer(universe, value if op == "+=" else value.neg(), node)

    def _transfers(self, node, scope: Scope) -> dict[str, Transfer]:
        """What ``node`` does to each int local it changes; binds the int
        locals it declares (the caller restores the translator's values)."""
        if node is None:
            return {}
        int_locals = self.int_locals()
        if isinstance(node, c_ast.Compound):
            result: dict[str, Transfer] = {}
            for item in node.block_items or []:
                for name, transfer in self._transfers(item, scope).items():
                    result[name] = result[name].then(transfer) if name in result else transfer
            return result
        if isinstance(node, c_ast.DeclList):
            return self._transfers(c_ast.Compound(list(node.decls)), scope)
        if isinstance(node, c_ast.Decl):
            return self._declared(node, scope)
        name = change_of(node, int_locals)
        if name is not None:
            transfer = self._change(node, name, scope)
            self._follow(name, transfer, scope)
            return {name: transfer}
        if isinstance(node, c_ast.If):
            return self._branches(node, scope)
        if isinstance(node, c_ast.For):
            return self._inner_loop(node, scope)
        return {}

    def _declared(self, decl: c_ast.Decl, scope: Scope) -> dict[str, Transfer]:
        kind, dtype, _ = classify_declaration(self.pre, decl)
        if kind != "scalar" or dtype != "int":
            return {}
        self._declared_ints.add(decl.name)
        if decl.init is None:
            self.affine.aliases.pop(decl.name, None)
            return {decl.name: Transfer(scope.universe().complement(), scope.constant(0), decl)}
        try:
            value = self.affine.expression(decl.init, scope, "int initialiser")
        except Exception:  # noqa: BLE001 - the builder's walk reports it where it matters
            self.affine.aliases[decl.name] = None
            return {}
        self.affine.aliases[decl.name] = value
        return {decl.name: Transfer(scope.universe().complement(), value, decl)}

    def _follow(self, name: str, transfer: Transfer, scope: Scope) -> None:
        """Keep the translator's value of ``name`` known after ``transfer``
        where it was known before (a value given in the body is)."""
        current = self.affine.aliases.get(name)
        if current is not None:
            current = lifted_to(current, scope)
        if transfer.keep.is_empty():
            self.affine.aliases[name] = transfer.delta
        elif current is not None:
            self.affine.aliases[name] = transfer.applied(current)
        else:
            self.affine.aliases[name] = None

    def _branches(self, node: c_ast.If, scope: Scope) -> dict[str, Transfer]:
        if not changes_in(node, self.int_locals()):
            return {}
        if self.data_reads(node.cond):
            self.refuse_under_data(node)
        condition = self.affine.condition(node.cond, scope, "if condition")
        saved = dict(self.affine.aliases)
        then = self._transfers(node.iftrue, scope.restricted(condition))
        self.affine.aliases = dict(saved)
        otherwise = self._transfers(node.iffalse, scope.restricted(condition.complement()))
        self.affine.aliases = saved
        result = {}
        for name in set(then) | set(otherwise):
            identity = Transfer(scope.universe(), scope.constant(0), None)
            a, b = then.get(name, identity), otherwise.get(name, identity)
            keep = (a.keep & condition) | (b.keep & condition.complement())
            delta = a.delta.intersect_domain(condition).union_add(
                b.delta.intersect_domain(condition.complement()))
            result[name] = Transfer(keep, delta, a.node or b.node)
            self.affine.aliases[name] = None
        return result

    def _inner_loop(self, node: c_ast.For, scope: Scope) -> dict[str, Transfer]:
        if not changes_in(node.stmt, self.int_locals()):
            return {}
        iterator, start = loop_header(node)
        step = loop_step(self.pre, node, iterator, self.affine, scope)
        saved = dict(self.affine.aliases)
        self.affine.aliases.pop(iterator, None)
        domain = loop_domain(self.pre, self.affine, node, scope, iterator, start, step)
        inner = Scope(domain)
        body = self._transfers(node.stmt, inner)
        self.affine.aliases = saved
        result = {}
        for name, transfer in body.items():
            _, leave = self._loop(node, transfer, scope, inner, start, step, name)
            result[name] = leave
            self._follow(name, leave, scope)
        return result

    # --- loops ------------------------------------------------------------------
    def _loop(self, node: c_ast.For, body: Transfer, scope: Scope, inner: Scope, start,
              step: int, name: str) -> tuple[Transfer, Transfer]:
        """For a loop whose body does ``body`` to ``name``: what it does from
        the loop's entry to the entry of each iteration (over ``inner``) and
        from its entry to its end (over ``scope``)."""
        domain = inner.domain
        depth = domain.dim(isl.dim_type.set) - 1
        lower = self.affine.expression(start, inner, "loop bound")
        ran = domain.project_out(isl.dim_type.set, depth, 1)   # the outer values it runs at
        idle = scope.universe() - ran
        last = _last_iteration(domain, step)
        if domain.is_subset(body.keep):
            per_iteration = _constant_on(body.delta, domain)
            if per_iteration is None:  # by a size the user fixed with -D (j += inc)?
                fixed = self.affine.fixing.constant(
                    body.delta.gist(domain), node_location(self.pre, body.node),
                    f"the change {describe(body.node)} of int local {name}")
                per_iteration = None if fixed is None else _constant_on(fixed, domain)
            if per_iteration is None:
                raise self._not_affine(node, body, inner, name)
            done = _iterations_before(inner, lower, step).scale_val(isl.Val(per_iteration))
            leave = done.add(inner.constant(per_iteration)).intersect_domain(last)
            leave = _projected(leave, depth).union_add(scope.constant(0).intersect_domain(idle))
            return Transfer(inner.universe(), done, body.node), \
                Transfer(scope.universe(), leave, body.node)
        if not (domain & body.keep).is_empty():
            raise self.error(body.node, f"int local {name} given a new value in only some "
                             f"iterations of the loop over {inner.iterators[-1]}",
                             f"give {name} its value in every iteration, or change it by "
                             "a constant in every one")
        first = inner.variable(inner.iterators[-1]).eq_set(lower)
        previous = body.delta.pullback_multi_aff(_shift(inner, -step))
        entry = Transfer(first, inner.constant(0).intersect_domain(first).union_add(
            previous.intersect_domain(first.complement())), body.node)
        leave = _projected(body.delta.intersect_domain(last), depth)
        return entry, Transfer(idle, leave.union_add(scope.constant(0).intersect_domain(idle)),
                               body.node)

    def _not_affine(self, node: c_ast.For, body: Transfer, inner: Scope, name: str):
        iterator = inner.iterators[-1]
        per = body.delta.gist(inner.domain)
        if self.affine.context is not None:
            per = per.gist_params(self.affine.context.align_params(per.get_space()).params())
        per = per.coalesce()
        text = _c_text(per, inner)
        depth = inner.domain.dim(isl.dim_type.set) - 1
        if per.involves_dims(isl.dim_type.in_, depth, 1):
            why = (f"grows with {iterator} (a triangular nest): the count of earlier "
                   "changes is quadratic, not affine")
            fix = ""
        else:
            why = f"is not a constant: {name} would be a product ({text}) * {iterator}"
            sizes = [p for p in inner.params if per.involves_dims(
                isl.dim_type.param, inner.params.index(p), 1)]
            fix = (f", or fix {' and '.join(sizes)} with "
                   + " ".join(f"-D {p}=VALUE" for p in sizes)) if sizes else ""
        return self.error(body.node, f"int local {name} whose value is not affine: each "
                          f"iteration of the loop over {iterator} (line "
                          f"{self.pre.locate(node.coord.line, node.coord.column).line}) "
                          f"changes it by {text}, which {why}",
                          f"compute the index from the iterators instead (i * M + j for "
                          f"a constant M){fix}")


def _id(name: str, at) -> c_ast.ID:
    return c_ast.ID(name, coord=at.coord)


def _names(node, name: str) -> bool:
    return isinstance(node, c_ast.ID) and node.name == name


def _mentions(node, name: str) -> bool:
    if isinstance(node, c_ast.ID):
        return node.name == name
    return any(_mentions(child, name) for _, child in node.children())


def _constant_on(value: isl.PwAff, domain: isl.Set) -> int | None:
    """The integer ``value`` takes everywhere on ``domain``, None if it
    takes several (0 on an empty domain)."""
    if domain.is_empty():
        return 0
    point = domain.sample_point()
    constant = value.eval(point)
    if not constant.is_int():
        return None
    space = Scope(isl.Set.universe(domain.get_space()))
    other = value.ne_set(space.constant(int(constant.to_python())))
    return int(constant.to_python()) if (other & domain).is_empty() else None


def _iterations_before(inner: Scope, lower: isl.PwAff, step: int) -> isl.PwAff:
    """How many iterations of the innermost loop of ``inner`` ran before
    the current one (exact: the iterator is on the stride from ``lower``)."""
    done = inner.variable(inner.iterators[-1]).sub(lower)
    if step < 0:
        done = done.neg()
    return done.scale_down_val(isl.Val(abs(step))).floor() if abs(step) > 1 else done


def _last_iteration(domain: isl.Set, step: int) -> isl.Set:
    """The last iteration of the innermost loop of ``domain`` for each
    value of the outer iterators."""
    depth = domain.dim(isl.dim_type.set) - 1
    nest = isl.Map.from_domain(domain).move_dims(isl.dim_type.out, 0, isl.dim_type.in_,
                                                 depth, 1)
    last = nest.lexmax() if step > 0 else nest.lexmin()
    return domain & last.wrap().flatten()


def _projected(value: isl.PwAff, depth: int) -> isl.PwAff:
    """A function over (outer, i), defined on one i per outer value, as a
    function of the outer iterators."""
    graph = isl.Map.from_pw_aff(value).project_out(isl.dim_type.in_, depth, 1)
    return isl.PwMultiAff.from_map(graph).get_pw_aff(0)


def _shift(inner: Scope, by: int) -> isl.MultiAff:
    """The map moving the innermost iterator of ``inner`` by ``by``."""
    space = inner.domain.get_space()
    last = space.dim(isl.dim_type.set) - 1
    shift = isl.MultiAff.identity(isl.Space.map_from_set(space))
    return shift.set_aff(last, shift.get_aff(last).add_constant_val(isl.Val(by)))


def _c_text(value: isl.PwAff, scope: Scope) -> str:
    """``value`` as C, for messages (iterators printed by name)."""
    count = value.dim(isl.dim_type.in_)
    moved = value.move_dims(isl.dim_type.param, value.dim(isl.dim_type.param),
                            isl.dim_type.in_, 0, count)
    context = isl.Set.universe(moved.get_domain_space()).params()
    try:
        return isl.AstBuild.from_context(context).expr_from_pw_aff(moved).to_C_str()
    except isl.Error:  # pragma: no cover - isl could not print it
        return str(value)
