"""Helper functions of the kernel's file, inlined into the kernel.

A function defined in the same file (``static double sq(double x)``) and
called from the kernel is replaced by its body, on copies of pycparser's
trees, before the model is built; the rest of the frontend sees one
function. C's rules hold: the arguments are evaluated first, in order; a
scalar parameter is a copy of its argument (a fresh local); an array or
pointer parameter names the caller's array (the argument itself, so
``v[j]`` of ``f(A[i])`` is ``A[i][j]`` and of ``f(&a[1])`` is ``(&a[1])[j]``,
which :mod:`~polyad.frontend.pointers` lowers); every local of the helper
gets a fresh name, taken by no identifier of the file, so that neither side
captures the other's names::

    static double sq(double x) { return x * x; }
    y[i] = sq(x[i] + 1.0);        ->  y[i] = (double) ((double) (x[i] + 1.0) * (double) (x[i] + 1.0));

    static double dot(int n, double *u, double *v) {
      double s = 0.0;
      for (int j = 0; j < n; j++) s += u[j] * v[j];
      return s;
    }
    z[i] = dot(m, A[i], x);       ->  double dot1_s = 0.0;
                                      for (int dot1_j = 0; dot1_j < (int) m; dot1_j++)
                                        dot1_s += A[i][dot1_j] * x[dot1_j];
                                      z[i] = (double) dot1_s;

A helper that is one ``return e;`` is substituted into the expression that
calls it (anywhere: a subscript, a bound, the branch of a select). Any other
helper becomes statements: at a call statement, a block of its own; called
inside an expression, statements just before the statement holding the call,
whose ``return e;`` (its last statement) gives the call's value. The casts
are the conversions C applies to arguments and results.

Refused at their place in the source: recursion (direct or mutual), a
``return`` before a helper's end, a call to a function declared but not
defined in the file, a helper used other than by calling it, variadic
helpers, a helper with statements called where C might not evaluate it (a
branch of ``?:``, the right of ``&&``/``||``) or in a loop header, and a
helper that writes arrays called inside an expression.
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from polyad.frontend.affine import describe, type_names
from polyad.frontend.ctree import cast, identifiers, mapped, nodes, renamed_declaration
from polyad.frontend.declarations import is_size_type
from polyad.frontend.preprocess import Preprocessed, located_error
from polyad.program.names import RESERVED_FOR_GENERATED_CODE, NameSupply

_QUALIFIERS = ("const", "volatile", "restrict", "static", "inline", "register", "extern")
_UNEVALUATED = "under a condition"
_HEADER = "in a loop header"


def with_helpers_inlined(pre: Preprocessed, ast: c_ast.FileAST,
                         funcdef: c_ast.FuncDef) -> c_ast.FuncDef:
    """A copy of the kernel ``funcdef`` in which every call to a function
    defined in ``ast`` (the file) is inlined; ``funcdef`` itself when it
    calls none. Raises a located KernelError for what cannot be inlined.

    >>> from pycparser import c_parser
    >>> from polyad.frontend.preprocess import preprocess
    >>> text = ("static double sq(double x) { return x * x; }\\n"
    ...         "void k(int n, double y[n]) { y[0] = sq(y[1]); }")
    >>> ast = c_parser.CParser().parse(text)
    >>> kernel = with_helpers_inlined(preprocess(text, "k.c"), ast, ast.ext[1])
    >>> describe(kernel.body.block_items[0])
    'y[0] = (double) (((double) y[1]) * ((double) y[1]))'
    """
    kernel = funcdef.decl.name
    defined = {node.decl.name: node for node in ast.ext
               if isinstance(node, c_ast.FuncDef) and node.decl.name != kernel}
    declared = {node.name for node in ast.ext if isinstance(node, c_ast.Decl)
                and isinstance(node.type, c_ast.FuncDecl)} - set(defined) - {kernel}
    if not identifiers(funcdef.body) & (set(defined) | declared):
        return funcdef
    own = {d.name for d in nodes(funcdef, c_ast.Decl) if d.name} - {kernel}
    inliner = _Inliner(pre, defined, declared, NameSupply.of(identifiers(ast)), own)
    result = copy.copy(funcdef)
    result.body = inliner.block(funcdef.body, ())
    return result


class _Inliner:
    """Inlines the calls of one kernel; ``stack`` holds the helpers being
    inlined, outermost first (a call to one of them is recursion)."""

    def __init__(self, pre: Preprocessed, defined: dict[str, c_ast.FuncDef],
                 declared: set[str], supply: NameSupply, kernel_names: set[str]):
        self.pre = pre
        #: the kernel's parameters and locals
        self.kernel_names = kernel_names
        self.defined = defined
        self.declared = declared
        self.supply = supply
        self.counts: dict[str, int] = {}

    def fresh(self, stem: str) -> str:
        """A name from ``stem`` that no identifier of the file nor an
        earlier fresh name takes."""
        name = self.supply.fresh(stem)
        self.supply = self.supply.taking([name])
        return name

    # --- statements -------------------------------------------------------
    def block(self, node: c_ast.Compound, stack: tuple) -> c_ast.Compound:
        """A block with the calls of its statements inlined."""
        items = [s for item in node.block_items or [] for s in self.statement(item, stack)]
        return c_ast.Compound(items, coord=node.coord)

    def single(self, node, stack: tuple):
        """A statement where C allows one (a loop body, a branch)."""
        if node is None:
            return None
        items = self.statement(node, stack)
        return items[0] if len(items) == 1 else c_ast.Compound(items, coord=node.coord)

    def statement(self, node, stack: tuple) -> list:
        """The statements ``node`` becomes: a call statement a block of its
        own, a statement calling a helper with statements after them."""
        if isinstance(node, c_ast.Compound):
            return [self.block(node, stack)]
        if isinstance(node, c_ast.FuncCall) and self._helper(node) in self.defined:
            before, _ = self.call(node, stack, as_value=False, where=None)
            return [c_ast.Compound(before, coord=node.coord)]
        if isinstance(node, c_ast.If):
            before, cond = self.expression(node.cond, stack)
            result = copy.copy(node)
            result.cond = cond
            result.iftrue = self.single(node.iftrue, stack)
            result.iffalse = self.single(node.iffalse, stack)
            return before + [result]
        if isinstance(node, c_ast.For):
            result = copy.copy(node)
            for part in ("init", "cond", "next"):
                _, value = self.expression(getattr(node, part), stack, _HEADER)
                setattr(result, part, value)
            result.stmt = self.single(node.stmt, stack)
            return [result]
        if isinstance(node, (c_ast.Decl, c_ast.Assignment, c_ast.Return, c_ast.DeclList,
                             c_ast.FuncCall, c_ast.UnaryOp)):
            before, value = self.expression(node, stack)
            return before + [value]
        return [node]  # a construct the builder refuses, at its place

    # --- expressions ------------------------------------------------------
    def expression(self, node, stack: tuple, where: str | None = None):
        """(statements to run first, the expression) for ``node`` with its
        calls inlined; ``where`` says why a helper with statements may not
        be called here."""
        if node is None:
            return [], None
        if isinstance(node, c_ast.FuncCall):
            name = self._helper(node)
            if name in self.declared:
                raise located_error(self.pre, node, f"call to {name}(), which is declared "
                                    "but not defined in this file",
                                    f"define {name} in the kernel's file (it is inlined), "
                                    "or compute its value in the kernel")
            if name in self.defined:
                return self.call(node, stack, as_value=True, where=where)
        if isinstance(node, c_ast.ID) and node.name in set(self.defined) | self.declared:
            raise located_error(self.pre, node, f"use of the function {node.name} other "
                                "than by a call", "helpers are inlined: call them, "
                                f"{node.name}(...), and pass no function pointers")
        before: list = []
        if isinstance(node, c_ast.TernaryOp):
            guarded = (("iftrue", where or _UNEVALUATED), ("iffalse", where or _UNEVALUATED))
        elif isinstance(node, c_ast.BinaryOp) and node.op in ("&&", "||"):
            guarded = (("right", where or _UNEVALUATED),)
        else:
            guarded = ()
        kept = {id(getattr(node, slot)): why for slot, why in guarded}

        def visit(child):
            inner, value = self.expression(child, stack, kept.get(id(child), where))
            before.extend(inner)
            return value
        return before, mapped(node, visit)

    def _refuse_state(self, helper: c_ast.FuncDef, params: list) -> None:
        """What inlining cannot keep: a static local (its value would
        survive from one call to the next) and a pointer parameter moved."""
        for decl in nodes(helper.body, c_ast.Decl):
            if "static" in decl.storage:
                raise located_error(self.pre, decl, f"static local {decl.name} of "
                                    f"function {helper.decl.name}", "helpers are inlined: "
                                    "a static local would keep its value between calls; "
                                    "pass the state as an array")
        moved = _assigned(helper.body)
        for param in params:
            if _is_array(param) and param.name in moved:
                raise located_error(self.pre, param, f"pointer parameter {param.name} of "
                                    f"function {helper.decl.name} moved in its body",
                                    f"index it instead, {param.name}[k]")

    def _refuse_captured(self, node: c_ast.FuncCall, name: str, free: set[str]) -> None:
        """A name the helper takes from the file (a global) must mean the
        same in the kernel: none of the kernel's own variables may hide it."""
        hidden = sorted(free & self.kernel_names)
        if hidden:
            raise located_error(self.pre, node, f"call to {name}, which uses the global "
                                f"{hidden[0]} that the kernel's own {hidden[0]} hides",
                                f"rename the kernel's {hidden[0]} (or the global)")

    def _helper(self, node: c_ast.FuncCall) -> str | None:
        return node.name.name if isinstance(node.name, c_ast.ID) else None

    # --- one call ---------------------------------------------------------
    def call(self, node: c_ast.FuncCall, stack: tuple, as_value: bool, where: str | None):
        """(statements, value) of one call; the value is None for a call
        statement."""
        name = self._helper(node)
        helper = self.defined[name]
        if name in RESERVED_FOR_GENERATED_CODE:
            raise located_error(self.pre, helper.decl, f"function name {name}",
                                f"the generated C calls the C library's {name}: rename "
                                "the helper", verb="reserved")
        if name in stack:
            chain = " -> ".join(stack[stack.index(name):] + (name,))
            raise located_error(self.pre, node, f"recursive call to {name} ({chain})",
                                "helpers are inlined into the kernel: write the "
                                "recursion as a loop")
        params = _parameters(helper)
        if any(isinstance(p, c_ast.EllipsisParam) for p in params):
            raise located_error(self.pre, node, f"call to the variadic function {name}",
                                "give the helper a fixed list of parameters")
        args = list(node.args.exprs) if node.args is not None else []
        if len(args) != len(params):
            raise located_error(self.pre, node, f"call to {name} with {len(args)} "
                                f"argument{'' if len(args) == 1 else 's'}",
                                f"{name} takes {len(params)}", verb="invalid")
        before: list = []
        values = []
        for arg in args:  # C evaluates the arguments before the body
            inner, value = self.expression(arg, stack, where)
            before.extend(inner)
            values.append(value)
        returned = _returned_words(self.pre, helper)
        items = list(helper.body.block_items or [])
        self._refuse_state(helper, params)
        final = _final_return(self.pre, helper, items)
        if as_value and returned == ["void"]:
            raise located_error(self.pre, node, f"use of the value of {name}, which "
                                "returns void", f"call {name}(...); as a statement")
        if as_value and (final is None or final.expr is None):
            raise located_error(self.pre, helper.decl, f"function {name} returning "
                                f"{' '.join(returned)} without a final return",
                                "end the helper with return e;")
        count = self.counts[name] = self.counts.get(name, 0) + 1
        inside = stack + (name,)
        pure = len(items) == 1 and final is not None and final.expr is not None
        if pure:
            renamer = _Renamer({p.name: _passed(p, v) for p, v in zip(params, values)},
                               self.fresh, "")
            value = renamer.visit(final.expr)
            self._refuse_captured(node, name, renamer.free)
            inner, value = self.expression(cast(returned, value, node.coord), inside, where)
            return before + inner, value
        if where is not None:
            raise located_error(self.pre, node, f"call to {name} {where}",
                                f"{name} is inlined as statements: call it in a statement "
                                f"of its own first, {' '.join(returned)} v = {name}(...);")
        if as_value and _writes(helper, self.defined, set()):
            raise located_error(self.pre, node, f"call to {name}, which writes arrays, "
                                "inside an expression", f"call {name}(...); as a statement "
                                "of its own")
        binding: dict = {}
        declarations = []
        assigned = _assigned(helper.body)
        for param, value in zip(params, values):
            if _is_array(param):
                if not isinstance(value, (c_ast.ID, c_ast.ArrayRef, c_ast.UnaryOp,
                                          c_ast.BinaryOp, c_ast.Cast)):
                    raise located_error(self.pre, value, f"argument {describe(value)} "
                                        f"for the array parameter {param.name} of {name}",
                                        "pass an array, a row A[i] or a pointer into one")
                binding[param.name] = value
            elif (is_size_type(_words(param.type)) and param.name not in assigned
                  and not any(True for _ in nodes(value, c_ast.ArrayRef))):
                binding[param.name] = _passed(param, value)  # an affine value: as is
            else:
                local = self.fresh(_stem(name, count, param.name))
                binding[param.name] = local
                # At the call: its statement is the one passing the argument.
                declaration = renamed_declaration(param, local, value, coord=node.coord)
                if is_size_type(_words(param.type)):  # an int local, as C converts
                    declaration = renamed_declaration(_int_declaration(param), local,
                                                      _passed(param, value), coord=node.coord)
                declarations.append(declaration)
        renamer = _Renamer(binding, self.fresh, _stem(name, count, ""))
        body = [renamer.visit(item) for item in (items[:-1] if final is not None else items)]
        result = renamer.visit(final.expr) if as_value else None
        self._refuse_captured(node, name, renamer.free)
        statements = [s for item in body for s in self.statement(item, inside)]
        if result is not None:
            inner, result = self.expression(cast(returned, result, node.coord), inside)
            statements += inner
        return before + declarations + statements, result


class _Renamer:
    """Renames a helper's body: parameters to what they are bound to (a
    name, or an expression copied at each use), every local to a fresh name
    from ``prefix``; C's block scopes decide which declaration a name means."""

    def __init__(self, binding: dict, fresh, prefix: str):
        self.scopes = [dict(binding)]
        self.fresh = fresh
        self.prefix = prefix
        #: the names used that no parameter or local of the helper declares
        self.free: set[str] = set()

    def visit(self, node):
        if isinstance(node, c_ast.ID):
            for scope in reversed(self.scopes):
                if node.name in scope:
                    target = scope[node.name]
                    if isinstance(target, str):
                        return c_ast.ID(target, coord=node.coord)
                    return copy.deepcopy(target)
            self.free.add(node.name)
            return node
        if isinstance(node, (c_ast.Compound, c_ast.For)):
            self.scopes.append({})
            try:
                return mapped(node, self.visit)
            finally:
                self.scopes.pop()
        if isinstance(node, c_ast.Decl) and node.name and not isinstance(
                node.type, c_ast.FuncDecl):
            local = self.fresh(self.prefix + (node.name.rstrip("_") or "v"))
            declaration = renamed_declaration(node, local, None, type_map=self.visit)
            self.scopes[-1][node.name] = local  # C: in scope from its declarator on
            declaration.init = self.visit(node.init) if node.init is not None else None
            return declaration
        return mapped(node, self.visit)


def _stem(helper: str, count: int, name: str) -> str:
    """The stem of the fresh names of call ``count`` of ``helper``."""
    prefix = f"{helper.lstrip('_') or 'f'}{count}_"
    return prefix + (name.rstrip("_") or "v") if name else prefix


def _parameters(helper: c_ast.FuncDef) -> list:
    args = helper.decl.type.args
    params = list(args.params) if args is not None else []
    if len(params) == 1 and isinstance(params[0], c_ast.Typename) and _words(
            params[0].type) == ["void"]:
        return []  # f(void)
    return params


def _is_array(param) -> bool:
    return isinstance(param.type, (c_ast.ArrayDecl, c_ast.PtrDecl))


def _words(type_node) -> list[str]:
    return [w for w in type_names(type_node) if w not in _QUALIFIERS]


def _int_declaration(param: c_ast.Decl) -> c_ast.Decl:
    """``int name;`` in place of a parameter of another integer type."""
    result = copy.copy(param)
    result.type = c_ast.TypeDecl(param.name, [], None,
                                 c_ast.IdentifierType(["int"], coord=param.coord),
                                 coord=param.coord)
    return result


def _passed(param, value):
    """The argument as the parameter sees it: arrays as they are, scalars
    converted to the parameter's type (integers to int)."""
    if _is_array(param):
        return value
    words = _words(param.type)
    return cast(["int"] if is_size_type(words) else words, value, value.coord)


def _returned_words(pre: Preprocessed, helper: c_ast.FuncDef) -> list[str]:
    node = helper.decl.type.type
    if not isinstance(node, c_ast.TypeDecl):
        raise located_error(pre, helper.decl, f"function {helper.decl.name} returning a "
                            "pointer", "helpers return void, a number, or write arrays "
                            "passed to them")
    words = _words(node)
    return ["int"] if is_size_type(words) else words


def _final_return(pre: Preprocessed, helper: c_ast.FuncDef, items: list):
    """The helper's last statement when it is a return; an error for a
    return anywhere else."""
    final = items[-1] if items and isinstance(items[-1], c_ast.Return) else None
    for item in items:
        for node in nodes(item, c_ast.Return):
            if node is not final:
                raise located_error(pre, node, f"return before the end of function "
                                    f"{helper.decl.name}", "a helper returns from its "
                                    "last statement only: keep the value in a local "
                                    "and return it at the end")
    return final


def _assigned(node) -> set[str]:
    """Names assigned as a whole (``x = ...``, ``x += ...``, ``x++``)."""
    names = {n.lvalue.name for n in nodes(node, c_ast.Assignment)
             if isinstance(n.lvalue, c_ast.ID)}
    return names | {n.expr.name for n in nodes(node, c_ast.UnaryOp)
                    if n.op in ("++", "--", "p++", "p--") and isinstance(n.expr, c_ast.ID)}


def _writes(helper: c_ast.FuncDef, defined: dict, seen: set) -> bool:
    """Whether a helper (or one it calls) writes anything but its own
    locals and scalar parameters: an array argument, a global."""
    if helper.decl.name in seen:
        return False
    seen.add(helper.decl.name)
    own = {d.name for d in nodes(helper.body, c_ast.Decl)
           if d.name and not isinstance(d.type, c_ast.PtrDecl)}
    own |= {p.name for p in _parameters(helper)
            if isinstance(p, c_ast.Decl) and not _is_array(p)}
    targets = [n.lvalue for n in nodes(helper.body, c_ast.Assignment)]
    targets += [n.expr for n in nodes(helper.body, c_ast.UnaryOp)
                if n.op in ("++", "--", "p++", "p--")]
    for target in targets:
        base = target
        while isinstance(base, (c_ast.ArrayRef, c_ast.UnaryOp)):
            base = base.name if isinstance(base, c_ast.ArrayRef) else base.expr
        if not (isinstance(base, c_ast.ID) and base.name in own):
            return True
    return any(call.name.name in defined and _writes(defined[call.name.name], defined, seen)
               for call in nodes(helper.body, c_ast.FuncCall)
               if isinstance(call.name, c_ast.ID))
