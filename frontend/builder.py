"""From a pycparser function definition to a :class:`polyad.model.kernel.Kernel`.

The walk builds, bottom up, each statement's iteration domain (from the loops
and conditions around it), its accesses, its right-hand side, and the isl
schedule tree of the source order: a band per loop, a sequence per block.
It owns the kernel's variables as they are declared; what a for header
means is in :mod:`~polyad.frontend.loops`, where the region lies in
:mod:`~polyad.frontend.region`, and what needs the finished walk (bounds,
uninitialised locals, array roles) in :mod:`~polyad.frontend.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import islpy as isl
from pycparser import c_ast

from polyad.frontend.affine import AffineTranslator, Scope, describe, type_names
from polyad.frontend.assume import Assumption, assumed_sizes, fixed_assumption
from polyad.frontend.checks import (check_bounds, check_uninitialised_locals, classify_arrays,
                                    reads_of_initial_values, restricted_model,
                                    sizes_with_positive_extents)
from polyad.frontend.declarations import (Variable, classify_declaration, is_size_type,
                                          is_unsigned_type)
from polyad.frontend.fixing import Fixing
from polyad.frontend.gathers import (access_relation, check_gathers, checked_index,
                                     gather_access, index_array, refuse_index)
from polyad.frontend.ifconvert import (FreshNames, data_reads, if_converted,
                                        split_mixed_condition)
from polyad.frontend.induction import Induction, change_of
from polyad.frontend.injective import Injective, checked_injective
from polyad.frontend.loops import loop_band, loop_domain, loop_step, wrap_around_cases
from polyad.frontend.messages import (REFUSED_STATEMENTS, condition_text, file_scope_hint,
                                     unusable_name)
from polyad.frontend.preprocess import Preprocessed, located_error
from polyad.frontend.region import split_region
from polyad.frontend.searches import Searches, searched_ints
from polyad.frontend.values import Typed, ValueTranslator, add, divide, multiply, subtract
from polyad.errors import KernelError
from polyad.model.expr import read_symbol, wider
from polyad.model.kernel import FLOAT_TYPES, Access, Kernel, KernelSource, Param, Statement

_COMPOUND = {"+=": add, "-=": subtract, "*=": multiply, "/=": divide}


@dataclass
class _Pending:
    """The statement being translated: its name, domain and reads so far."""

    name: str
    domain: isl.Set
    reads: list[Access] = field(default_factory=list)


class KernelBuilder:
    """Builds the model of one function; ``build()`` returns the Kernel."""

    def __init__(self, pre: Preprocessed, funcdef: c_ast.FuncDef, source: KernelSource,
                 file_scope: dict[str, str] | None = None,
                 assumptions: tuple[Assumption, ...] = (), fixing: Fixing | None = None,
                 injective: tuple[Injective, ...] = ()):
        self.pre = pre
        self.stated_injective = tuple(injective)  # index arrays a write may go through
        self.injective: frozenset[str] = frozenset()
        self.assumptions = tuple(assumptions)
        self.funcdef = funcdef
        self.source = source
        #: names declared outside the function: name -> what it is
        self.file_scope = dict(file_scope or {})
        self.affine = AffineTranslator(pre, self._explain, fixing)
        self.values = ValueTranslator(self.affine, self._read)
        self.signature: list[Param] = []
        self.variables: dict[str, Variable] = {}
        self.int_locals: set[str] = set()
        self.loop_iterators: set[str] = set()
        #: int locals of an unsigned type, and for each loop over one the
        #: iterations where C's wrap-around below zero departs from the model
        self.unsigned_ints: set[str] = set()
        self.wraps: list[tuple[c_ast.Node, str, str, isl.Set]] = []  # int locals some loop iterates over
        # C blocks: a local declared again in a block that does not enclose
        # its first declaration (double t; in two sibling loop bodies) is the
        # same kernel variable; ids of the blocks open at this point.
        self.open_blocks: list[int] = [0]
        self.blocks_seen = 0
        self.declared_in: dict[str, int] = {}
        self.statements: list[Statement] = []
        self.pending: _Pending | None = None
        self._fresh = FreshNames(funcdef, self.file_scope).fresh  # locals it adds
        self.searches = Searches(pre, searched_ints(funcdef))  # int data: an argmax's k
        self.induction = Induction(pre, self.affine, self._data_reads,
                                   lambda: self.int_locals, lambda: self.unsigned_ints)

    def error(self, node, construct: str, hint: str = "", verb: str = "unsupported"):
        """A KernelError at ``node``'s place in the source (for ``raise``)."""
        return located_error(self.pre, node, construct, hint, verb=verb)

    # --- the function ----------------------------------------------------
    def build(self) -> Kernel:
        """The Kernel of the function; call once. Raises a located
        KernelError for anything outside the modelled language."""
        self._parameters()
        self.injective = checked_injective(self.stated_injective, self.variables, [
            p.name for p in self.signature if p.kind == "size"], self.source.function)
        items = list(self.funcdef.body.block_items or [])
        prologue, region = split_region(self.pre, items)
        top = Scope.outermost([p.name for p in self.signature if p.kind == "size"])
        assumed = assumed_sizes(self.assumptions, list(top.params), self.source.function)
        try:  # the sizes known so far, for simpler values of int locals
            self.affine.context = sizes_with_positive_extents(
                self.source.function, assumed.params(), self.variables)
        except KernelError:  # none: reported once the walk is done
            pass
        schedules = [self._declaration(item, top) for item in prologue]
        schedules.append(self._items(region, top))
        schedule = _sequence([s for s in schedules if s is not None])
        if schedule is None:
            raise self.error(self.funcdef, f"kernel {self.source.function} without "
                             "statements", "the modelled region must assign to arrays",
                             verb="nothing to model:")
        fixing = self.affine.fixing  # the -D values products and divisions took
        model = restricted_model(
            self.source.function, assumed.intersect_params(fixing.context(list(top.params))),
            self.assumptions + tuple(fixed_assumption(f.name, f.value)
                                     for f in fixing.fixed.values()),
            self.variables, self.statements, schedule)
        self._check_wrap_around(model.context)
        check_bounds(model.statements, self.variables, model.context)
        check_gathers(model.statements, self.searches.names, self.injective)
        self.searches.check(model.statements, model.schedule, model.context,
                            {name: v.extents for name, v in self.variables.items()})
        initial = reads_of_initial_values(model.statements, model.schedule, model.context)
        check_uninitialised_locals(model.statements, self.variables, initial)
        arrays = classify_arrays(self.signature, self.variables, model.statements, initial)
        return Kernel(name=self.source.function, signature=tuple(self.signature),
                      arrays=arrays, statements=model.statements, schedule=model.schedule,
                      context=model.context, source=self.source,
                      notes=model.notes + fixing.notes(),
                      assumed=model.assumed)

    def _parameters(self) -> None:
        decl = self.funcdef.decl
        params = decl.type.args.params if decl.type.args is not None else []
        top = Scope.outermost([])
        sizes: list[str] = []
        for param in params:
            if isinstance(param, c_ast.Typename):  # f(void)
                continue
            if isinstance(param, c_ast.EllipsisParam):
                raise self.error(param, "variadic function", "list every parameter")
            kind, dtype, dims = classify_declaration(self.pre, param)
            if kind == "scalar" and is_size_type(type_names(param.type)):
                sizes.append(param.name)
                self.signature.append(Param(param.name, "size", "int"))
                continue
            if kind == "scalar":
                self.signature.append(Param(param.name, "scalar", dtype))
                self._declare(param, dtype, (), "parameter")
                continue
            if any(d is None for d in dims):
                raise self.error(param, f"array parameter {param.name} without extent",
                                 f"declare it as a C99 array with sizes, e.g. "
                                 f"{dtype} {param.name}[n][m]")
            top = Scope.outermost(sizes)
            extents = tuple(self.affine.expression(d, top, "array extent")
                            .project_domain_on_params() for d in dims)
            self.signature.append(Param(param.name, "array", dtype))
            self._declare(param, dtype, extents, "parameter")
        # Extents were built as sizes appeared; give all the same parameters.
        full = Scope.outermost(sizes)
        self.variables = {
            name: replace(variable, extents=tuple(e.align_params(full.domain.get_space())
                                                  for e in variable.extents))
            for name, variable in self.variables.items()}

    def _redeclared(self, decl, dtype: str, extents) -> bool:
        """Whether ``decl`` declares again, in a block of its own, a local
        whose earlier declaration's block has ended (then it is the same
        kernel variable); an error when it would hide a variable in scope."""
        name = decl.name
        existing = self.variables.get(name)
        if existing is None and name not in self.int_locals:
            return False
        closed = self.declared_in.get(name, -1) not in self.open_blocks
        if existing is None:
            same = closed and dtype == "int"
        else:
            same = (closed and existing.storage == "local" and existing.dtype == dtype
                    and len(existing.extents) == len(extents)
                    and all(a.is_equal(b) for a, b in zip(existing.extents, extents)))
        if not same:
            raise self.error(decl, f"second declaration of {name}",
                             "give each variable of the kernel its own name (a "
                             "local may be declared again only in a separate block, "
                             "with the same type and sizes)")
        self.declared_in[name] = self.open_blocks[-1]
        return True

    def _declare(self, decl, dtype: str, extents, storage: str) -> None:
        if self._redeclared(decl, dtype, extents):
            return
        self.declared_in[decl.name] = self.open_blocks[-1]
        self.variables[decl.name] = Variable(
            decl.name, dtype, tuple(extents), storage, self.pre.locate(
                decl.coord.line, decl.coord.column))

    # --- declarations and statements ------------------------------------
    def _declaration(self, decl: c_ast.Decl, scope: Scope) -> isl.Schedule | None:
        if isinstance(decl.type, c_ast.FuncDecl):
            raise self.error(decl, f"function declaration {decl.name} in the kernel",
                             "declare functions outside the kernel")
        kind, dtype, dims = classify_declaration(self.pre, decl)
        if kind == "scalar" and dtype == "int" and decl.name not in self.searches.names:
            if decl.name in scope.iterators:
                raise self.error(decl, f"declaration of {decl.name} inside the loop "
                                 f"over {decl.name}", "give the variable its own name")
            if not self._redeclared(decl, "int", ()):
                self.declared_in[decl.name] = self.open_blocks[-1]
            self.int_locals.add(decl.name)
            unsigned = is_unsigned_type(type_names(decl.type))
            if unsigned:
                self.unsigned_ints.add(decl.name)
            self.affine.aliases.pop(decl.name, None)
            if decl.init is not None:
                self.affine.bind(decl.name, decl.init, scope, unsigned)
            return None
        if kind == "scalar" and dtype not in FLOAT_TYPES and decl.name not in self.searches.names:
            raise self.error(decl, f"{dtype} local {decl.name}",
                             "local scalars are double or float (or int loop iterators)")
        top = Scope.outermost(list(scope.params))
        extents = tuple(self.affine.expression(d, top, "array extent")
                        .project_domain_on_params() for d in dims if d is not None)
        if len(extents) != len(dims):
            raise self.error(decl, f"local array {decl.name} without extent",
                             f"give every extent, e.g. double {decl.name}[n]")
        if decl.name in self.searches.names:  # an element per iteration around it
            extents = self.searches.extents(decl.name, scope, self.affine.context)
        self._declare(decl, dtype, extents, "local")
        if decl.init is None:
            return None
        if dims:
            raise self.error(decl.init, f"initialiser of local array {decl.name}",
                             "assign its elements in loops")
        target = c_ast.ID(decl.name, coord=decl.coord)
        return self._assign(c_ast.Assignment("=", target, decl.init, coord=decl.coord),
                            scope)

    def _items(self, items: list, scope: Scope) -> isl.Schedule | None:
        return _sequence([s for s in (self._statement(item, scope) for item in items)
                          if s is not None])

    def _statement(self, node, scope: Scope) -> isl.Schedule | None:
        if node is None or isinstance(node, (c_ast.EmptyStatement, c_ast.Pragma)):
            return None
        if isinstance(node, c_ast.Compound):
            self.blocks_seen += 1
            self.open_blocks.append(self.blocks_seen)
            try:
                return self._items(list(node.block_items or []), scope)
            finally:
                self.open_blocks.pop()
        if isinstance(node, c_ast.Decl):
            return self._declaration(node, scope)
        if isinstance(node, c_ast.DeclList):
            return _sequence([s for s in (self._declaration(d, scope) for d in node.decls)
                              if s is not None])
        changed = change_of(node, self.int_locals)
        if changed is not None and changed not in scope.iterators:
            self.induction.change(node, scope)
            return None
        if isinstance(node, c_ast.Assignment):
            return self._assign(node, scope)
        if isinstance(node, c_ast.For):
            return self._for(node, scope)
        if isinstance(node, c_ast.If):
            return self._if(node, scope)
        if isinstance(node, c_ast.UnaryOp) and node.op in ("p++", "++", "p--", "--"):
            raise self.error(node, f"increment statement {describe(node)}",
                             "write x += 1 (iterators change only in a for header)")
        if isinstance(node, c_ast.ExprList):
            raise self.error(node, "comma expression", "write one statement each")
        for kind, (construct, hint) in REFUSED_STATEMENTS.items():
            if isinstance(node, kind):
                raise self.error(node, construct, hint)
        raise self.error(node, f"statement {describe(node)}",
                         "the region holds for loops, if/else and assignments")

    # --- control flow -----------------------------------------------------
    def _for(self, node: c_ast.For, scope: Scope) -> isl.Schedule | None:
        iterator, start = self._loop_start(node)
        step = loop_step(self.pre, node, iterator, self.affine, scope)
        domain = loop_domain(self.pre, self.affine, node, scope, iterator, start, step)
        if iterator in self.unsigned_ints:
            self.wraps.extend((node, *case) for case in
                              wrap_around_cases(self.affine, scope, iterator, start, step, domain))
        after = self.induction.entering(node, scope, Scope(domain), start, step)
        child = self._statement(node.stmt, Scope(domain))
        self.induction.leaving(scope, after, node)
        if child is None:
            return None
        if child.get_domain().is_empty():  # no instance at all: no band to add
            return child
        return child.insert_partial_schedule(loop_band(child.get_domain(), iterator, step < 0))

    def _check_wrap_around(self, context: isl.Set) -> None:
        for node, construct, hint, where in self.wraps:
            bad = where.intersect_params(context)
            if not bad.is_empty():
                at = bad.params()
                sizes = "" if context.is_subset(at) else condition_text(at)
                raise self.error(node, construct + (f" where {sizes}" if sizes else ""), hint)

    def _loop_start(self, node: c_ast.For) -> tuple[str, object]:
        init = node.init
        if isinstance(init, c_ast.DeclList) and len(init.decls) == 1:
            decl = init.decls[0]
            kind, dtype, _ = classify_declaration(self.pre, decl)
            if kind != "scalar" or dtype != "int":
                raise self.error(decl, f"loop iterator {decl.name} of type "
                                 f"{dtype if kind == 'scalar' else describe(decl.type)}",
                                 f"loop iterators are int: for (int {decl.name} = lower; ...)")
            if decl.init is None:
                raise self.error(decl, f"loop header declaring {decl.name} without "
                                 "a start value", f"write for (int {decl.name} = lower; ...)")
            if decl.name in self.variables:
                raise self.error(decl, f"second declaration of {decl.name}",
                                 "give each variable of the kernel its own name")
            self.int_locals.add(decl.name)
            self.loop_iterators.add(decl.name)
            if is_unsigned_type(type_names(decl.type)):
                self.unsigned_ints.add(decl.name)
            return decl.name, decl.init
        if (isinstance(init, c_ast.Assignment) and init.op == "="
                and isinstance(init.lvalue, c_ast.ID)):
            name = init.lvalue.name
            if name not in self.int_locals:
                raise self.error(init, f"loop iterator {name} that is not a local int",
                                 f"declare int {name}; before the region or in the header")
            self.loop_iterators.add(name)
            self.affine.aliases.pop(name, None)  # from here on an iterator
            return name, init.rvalue
        raise self.error(init or node, "loop header " + (
                             describe(init) if init else "without initialisation"),
                         "write for (i = lower; i < upper; i++)")

    def _if(self, node: c_ast.If, scope: Scope) -> isl.Schedule | None:
        if self._data_reads(node.cond):
            self.induction.refuse_under_data(node)
            split = split_mixed_condition(node, self._data_reads)
            return self._items([split] if split is not None else
                               if_converted(node, self._data_reads, self._fresh), scope)
        condition = self.affine.condition(node.cond, scope, "if condition")
        then = self._statement(node.iftrue, scope.restricted(condition))
        otherwise = self._statement(node.iffalse, scope.restricted(condition.complement()))
        return _sequence([s for s in (then, otherwise) if s is not None])

    def _data_reads(self, node) -> set[str]:
        return data_reads(node, self.variables.keys())

    # --- assignments ------------------------------------------------------
    def _assign(self, node: c_ast.Assignment, scope: Scope) -> isl.Schedule:
        schedules = []
        rvalue = node.rvalue
        if isinstance(rvalue, c_ast.Assignment):  # a = b = e: b = e, then a = b
            schedules.append(self._assign(rvalue, scope))
            rvalue = rvalue.lvalue
        if node.op not in ("=",) + tuple(_COMPOUND):
            raise self.error(node, f"assignment operator {node.op}",
                             "use =, +=, -=, *= or /=")
        target = self._target(node.lvalue, scope)
        if target.name in self.searches.names:
            self.searches.record(self.affine, node, target.name, rvalue, scope)
        name = f"S{len(self.statements)}"
        domain = scope.domain.set_tuple_name(name)
        self.pending = _Pending(name, domain)
        write = self._access(node.lvalue, scope, target, write=True)
        self.pending.reads[:] = list(write.indices)  # a scatter reads its index
        if node.op != "=":
            current = self._read(node.lvalue, scope)
            value = self.values.value(rvalue, scope)
            if target.dtype not in FLOAT_TYPES and (value.ctype != "int" or node.op == "/="):
                raise self.error(node, f"{node.op} on {target.dtype} data with "
                                 f"{'an' if value.ctype[0] in 'aeiou' else 'a'} "
                                 f"{value.ctype} value", "int data may only get integer "
                                 "values by = += -= *=")
            value = Typed(_COMPOUND[node.op](current.expr, value.expr),
                          wider(current.ctype, value.ctype))
        else:
            value = self.values.value(rvalue, scope)
        if target.dtype not in FLOAT_TYPES and value.ctype != "int":
            raise self.error(node, f"{value.ctype} value assigned to {target.dtype} data "
                             f"{target.name}", "int and char arrays hold data that is "
                             "never differentiated; compute doubles into double arrays")
        location = self.pre.locate(node.coord.line, node.coord.column)
        self.statements.append(Statement(
            name=name, domain=domain, write=write, reads=tuple(self.pending.reads),
            expr=value.expr, location=location,
            text=self.pre.statement_text(location.line, location.col)))
        self.pending = None
        schedules.append(isl.Schedule.from_domain(isl.UnionSet.from_set(domain)))
        return _sequence(schedules)

    def _target(self, lvalue, scope: Scope) -> Variable:
        base = lvalue
        while isinstance(base, c_ast.ArrayRef):
            base = base.name
        if not isinstance(base, c_ast.ID):
            raise self.error(lvalue, f"assignment to {describe(lvalue)}",
                             "assign to array elements A[i][j] or local scalars")
        name = base.name
        if name in scope.iterators:
            raise self.error(lvalue, f"assignment to loop iterator {name}",
                             "iterators change only in their for header")
        if name in scope.params:
            raise self.error(lvalue, f"assignment to size parameter {name}",
                             "sizes are fixed while the kernel runs")
        if name in self.int_locals:
            raise self.error(lvalue, f"assignment to int variable {name}",
                             f"an int local gets its value where it is declared, "
                             f"affine in iterators and sizes (int {name} = i + 1;); an "
                             "index found by a search (an argmax) is not modelled")
        if name not in self.variables:
            if name in self.file_scope:
                raise self.error(lvalue, f"assignment to the {self.file_scope[name]} "
                                 f"{name}", file_scope_hint(name))
            raise self.error(lvalue, f"assignment to undeclared {name}",
                             "declare it as a parameter or local", verb="")
        return self.variables[name]

    def _read(self, node, scope: Scope) -> Typed | None:
        base = node
        while isinstance(base, c_ast.ArrayRef):
            base = base.name
        if isinstance(base, c_ast.Constant) and base.type == "string":
            raise self.error(node, f"string literal {base.value}",
                             "kernels compute on numbers in arrays and scalars")
        if not isinstance(base, c_ast.ID):
            raise self.error(node, f"reference {describe(node)}",
                             "index arrays by name, A[i][j]")
        name = base.name
        if name in self.int_locals:
            raise self.error(base, *self._explain(name, "value expression"))
        variable = self.variables.get(name)
        if variable is None and name in self.file_scope:
            raise self.error(base, f"use of the {self.file_scope[name]} {name}",
                             file_scope_hint(name))
        if variable is None:
            raise self.error(node, f"use of undeclared {name}",
                             f"declare {name} as a parameter of the kernel or as a "
                             "local before its first use", verb="")
        access = self._access(node, scope, variable)
        for known in self.pending.reads:
            if known.array == access.array and known.subscripts == access.subscripts \
                    and known.relation.is_equal(access.relation):
                access = replace(access, symbol=known.symbol)
                break
        else:
            access = replace(access, symbol=read_symbol(access.text, variable.dtype))
        self.pending.reads.append(access)
        return Typed(access.symbol, variable.dtype if variable.dtype in FLOAT_TYPES else "int")

    def _explain(self, name: str, what: str) -> tuple[str, str] | None:
        """Why ``name`` cannot be used in an affine ``what`` (see
        :func:`polyad.frontend.messages.unusable_name`)."""
        return unusable_name(name, what, self.int_locals, self.loop_iterators,
                             self.variables, self.file_scope, self.searches.names)

    def _access(self, node, scope: Scope, variable: Variable, write: bool = False) -> Access:
        subscripts = []
        base = node
        while isinstance(base, c_ast.ArrayRef):
            subscripts.insert(0, base.subscript)
            base = base.name
        searched = variable.name in self.searches.names  # its subscripts are implicit
        if len(subscripts) != len(variable.extents) and not searched:
            what = "scalar" if not variable.extents else f"{len(variable.extents)}-d array"
            count = f"{len(subscripts)} subscript" + ("" if len(subscripts) == 1 else "s")
            raise self.error(node, f"{describe(node)} with {count} "
                             f"for the {what} {variable.name}",
                             "subscript every dimension: no pointer arithmetic or "
                             "whole-array use")
        text = variable.name + "".join(f"[{describe(s)}]" for s in subscripts)
        indices = [self._index(s, scope, text, write) for s in subscripts]
        pieces = self.searches.subscripts(variable.name, scope) if searched else [
            None if index is not None else self.affine.expression(s, scope, "subscript")
            for s, index in zip(subscripts, indices)]
        relation = access_relation(scope.domain, pieces, self.pending.name, variable.name)
        relation = relation.intersect_domain(self.pending.domain)
        location = self.pre.locate(node.coord.line, node.coord.column)
        return gather_access(Access(variable.name, relation, None, location, text),
                             variable, indices)

    def _index(self, subscript, scope: Scope, text: str, write: bool) -> Access | None:
        """The access of the index array element a subscript is (``col[k]``
        of ``x[col[k]]``), read by the statement; None for other subscripts."""
        index = index_array(subscript, self.variables, self.searches.names)
        if index is None:
            return None
        refuse_index(self.error, subscript, index, text, write, self.searches.names,
                     self.injective)
        before = len(self.pending.reads)
        self._read(subscript, scope)
        return checked_index(self.error, subscript, index, self.pending.reads[before:])


def _sequence(schedules: list[isl.Schedule]) -> isl.Schedule | None:
    result = None
    for schedule in schedules:
        result = schedule if result is None else result.sequence(schedule)
    return result
