"""The polyhedral model of a kernel: immutable values built by the frontend.

A :class:`Kernel` is the algorithm: its statements with isl iteration domains,
isl access relations and sympy right-hand sides, the isl schedule tree of the
original execution order, and the arrays with their roles. Analyses and
transformations take a kernel and return new values; nothing here changes.

Example (through the frontend)::

    >>> import polyad
    >>> k = polyad.parse('''
    ... void scale(int n, double a, double x[n]) {
    ...   for (int i = 0; i < n; i++) x[i] = a * x[i];
    ... }''')
    >>> [s.name for s in k.statements], k.array("x").role
    (['S0'], 'inout')
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import islpy as isl
import sympy

from polyad.model import dataflow
from polyad.errors import SourceLocation, UsageError

#: Array roles. ``input``: read before written; ``output``: written and not
#: read before; ``inout``: both; ``temporary``: local to the kernel.
ROLES = ("input", "output", "inout", "temporary")

#: Element types of arrays and scalars, by C name. The floating-point ones
#: are differentiated, each in its own precision (a float array's adjoint is
#: float); the integer ones hold data that is not.
FLOAT_TYPES = ("double", "float")
INTEGER_TYPES = ("int", "char")
ELEMENT_BYTES = {"double": 8, "float": 4, "int": 4, "char": 1}
#: Bytes of an element of a generated buffer: the kernel's types, and the byte
#: of a recorded comparison outcome (polyad.program.ir.DECISION_DTYPE).
BUFFER_BYTES = {**ELEMENT_BYTES, "unsigned char": 1}


@dataclass(frozen=True)
class Param:
    """One parameter of the kernel's C function, in signature order.

    ``kind`` is ``size`` (an ``int``, a parameter of the isl model),
    ``scalar`` (a ``double`` or ``float`` passed by value, ``dtype`` says
    which) or ``array`` (a C99 VLA).
    """

    name: str
    kind: str
    dtype: str


@dataclass(frozen=True)
class Array:
    """An array, or a scalar when ``extents`` is empty.

    ``extents`` are isl piecewise affine expressions on the parameter domain
    (``[n] -> { [(n + 1)] }``). ``storage`` says where it lives: ``parameter``
    (an argument of the C function) or ``local`` (declared in the kernel).
    ``dtype`` is the element's C type, one of :data:`ELEMENT_BYTES`.
    """

    name: str
    dtype: str
    extents: tuple[isl.PwAff, ...]
    role: str
    storage: str

    @property
    def rank(self) -> int:
        return len(self.extents)

    @property
    def is_scalar(self) -> bool:
        return not self.extents

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_TYPES

    def extent_texts(self) -> tuple[str, ...]:
        """The extents as isl writes expressions in the sizes (``n + 1``).

        >>> Array("h", "double", (isl.PwAff("[n] -> { [(n + 1)] }"),), "inout",
        ...       "parameter").extent_texts()
        ('n + 1',)
        """
        return tuple(extent_text(e) for e in self.extents)

    def shape(self, sizes: Mapping[str, int]) -> tuple[int, ...]:
        """The extents at given sizes (``(3, 5)`` for ``A[n][m + 1]`` at n=3, m=4)."""
        return tuple(evaluate_pw_aff(e, sizes) for e in self.extents)

    def shape_set(self) -> isl.Set:
        """The set of valid element indices, ``{ A[a0, a1] : 0 <= a0 < n ... }``."""
        if not self.extents:
            return isl.Set.universe(
                isl.Space.set_alloc(isl.DEFAULT_CONTEXT, 0, 0)
            ).set_tuple_name(self.name)
        params = self.extents[0].get_domain_space()
        space = isl.Space.create_from_names(
            isl.DEFAULT_CONTEXT, set=[f"a{d}" for d in range(self.rank)],
            params=[params.get_dim_name(isl.dim_type.param, d)
                    for d in range(params.dim(isl.dim_type.param))])
        result = isl.Set.universe(space)
        local = isl.LocalSpace.from_space(space)
        for d, extent in enumerate(self.extents):
            index = isl.PwAff.var_on_domain(local, isl.dim_type.set, d)
            bound = extent.insert_domain(space)
            zero = isl.PwAff.zero_on_domain(local)
            result = result & index.ge_set(zero) & index.lt_set(bound)
        return result.set_tuple_name(self.name)


@dataclass(frozen=True)
class Access:
    """One reference to an array element or scalar in a statement.

    ``relation`` maps statement instances to elements, e.g.
    ``[n] -> { S1[i, k] -> A[i, k] }``. ``symbol`` is the sympy symbol standing
    for the value a read gives (references with equal relations share it).

    A *gather* reads through index arrays (``x[col[k]]``, ``E[idx[b]][j]``):
    ``subscripts`` then holds, per dimension, the read symbol of the index
    array element giving that subscript (the symbol of one of ``indices``,
    the index arrays' affine accesses, also among the statement's reads), or
    None where the subscript is affine; ``relation`` is a may-access: exact
    in the affine dimensions, the whole extent in the others (a write, a
    scatter, is a may-write). Dependences over it are over-approximated.
    """

    array: str
    relation: isl.Map
    symbol: sympy.Symbol | None
    location: SourceLocation
    text: str
    subscripts: tuple[sympy.Symbol | None, ...] | None = None
    indices: tuple["Access", ...] = ()

    @property
    def is_gather(self) -> bool:
        return self.subscripts is not None


@dataclass(frozen=True)
class Statement:
    """One assignment of the kernel and every instance of it.

    The right-hand side ``expr`` computes the value written to ``write``; a
    compound assignment ``A[i] += e`` is modelled as ``A[i] = A[i] + e`` (the
    read of ``A[i]`` is among ``reads``). ``expr`` is kept unevaluated so that
    it has the association and operand order of the source.
    """

    name: str
    domain: isl.Set
    write: Access
    reads: tuple[Access, ...]
    expr: sympy.Expr
    location: SourceLocation
    text: str

    @property
    def iterators(self) -> tuple[str, ...]:
        """The loop iterators of the instances, outermost first."""
        return tuple(self.domain.get_dim_name(isl.dim_type.set, d)
                     for d in range(self.domain.dim(isl.dim_type.set)))

    def self_read(self) -> Access | None:
        """The read of exactly the element the statement writes (``x`` in
        ``x = x * y``; a gather's through the same index), if there is one."""
        for access in self.reads:
            if access.array == self.write.array and access.relation.is_equal(
                    self.write.relation) and access.subscripts == self.write.subscripts:
                return access
        return None

    def read_accesses(self) -> dict[sympy.Symbol, Access]:
        """One access per read symbol (the first reference that reads it)."""
        result: dict[sympy.Symbol, Access] = {}
        for access in self.reads:
            result.setdefault(access.symbol, access)
        return result


@dataclass(frozen=True)
class KernelSource:
    """Where a kernel came from and what its file says about running it.

    ``presets`` holds named size sets from the file's ``polyad-sizes:`` line
    (``{"small": {"n": 8}}``); ``init_function`` the name given by
    ``polyad-init:``, a C function that fills the kernel's arrays;
    ``returned`` the one-element output array (the signature's last
    parameter, absent from the C function's) that holds the value the
    function returns, None for a void function; ``globals`` the file-scope
    arrays and scalars the kernel uses, parameters of the model after the
    function's own (absent from the C function's).
    """

    path: str
    text: str
    function: str
    presets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    init_function: str | None = None
    returned: str | None = None
    globals: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class Kernel:
    """A kernel: the algorithm polyad differentiates and schedules.

    ``print(kernel)`` shows a few lines (sizes, arrays, statements with their
    lines); ``repr`` one. Equality stays the dataclass's, field by field.
    """

    name: str
    signature: tuple[Param, ...]
    arrays: tuple[Array, ...]
    statements: tuple[Statement, ...]
    schedule: isl.Schedule
    context: isl.Set
    source: KernelSource
    #: what the frontend said about the model (statements left out because
    #: they never run), in sentences
    notes: tuple[str, ...] = ()
    #: the sizes the kernel's assumptions allow (``#pragma polyad assume``,
    #: ``--assume``), a parameter set; None when it states none. The context
    #: includes it, and every domain is restricted to it.
    assumed: isl.Set | None = None

    @property
    def params(self) -> tuple[str, ...]:
        """The size parameters, in signature order."""
        return tuple(p.name for p in self.signature if p.kind == "size")

    def __repr__(self) -> str:
        arrays = ", ".join(a.name for a in self.arrays)
        return (f"<Kernel {self.name} from {self.source.path}: sizes "
                f"{', '.join(self.params) or 'none'}; {len(self.statements)} statements; "
                f"arrays and scalars {arrays}>")

    def __str__(self) -> str:
        """A few lines for people; ``polyad show`` prints the whole model.

        >>> import polyad
        >>> print(polyad.parse('''void f(int n, double a, double x[n]) {
        ...   for (int i = 0; i < n; i++)
        ...     x[i] = a * x[i];
        ... }'''))
        kernel f (<kernel>), sizes n
          arrays     x double[n] inout
          scalars    a double input
          S0 line 3  x[i] = a * x[i];  for i
        """
        arrays = [a for a in self.arrays if not a.is_scalar]
        scalars = [a for a in self.arrays if a.is_scalar]
        lines = [f"kernel {self.name} ({self.source.path}), sizes "
                 f"{', '.join(self.params) or 'none'}"]
        if arrays:
            lines.append("  arrays     " + ", ".join(
                f"{a.name} {a.dtype}{''.join(f'[{t}]' for t in a.extent_texts())} {a.role}"
                for a in arrays))
        if scalars:
            lines.append("  scalars    " + ", ".join(f"{a.name} {a.dtype} {a.role}"
                                                    for a in scalars))
        width = max((len(f"{s.name} line {s.location.line}") for s in self.statements),
                    default=0)
        for statement in self.statements:
            where = f"{statement.name} line {statement.location.line}"
            loops = f"  for {', '.join(statement.iterators)}" if statement.iterators else ""
            lines.append(f"  {where:<{width}}  {statement.text}{loops}")
        return "\n".join(lines)

    def array(self, name: str) -> Array:
        for array in self.arrays:
            if array.name == name:
                return array
        known = ", ".join(a.name for a in self.arrays)
        raise UsageError(f"kernel {self.name} has no array or scalar {name!r} "
                         f"(it has {known})")

    def statement(self, name: str) -> Statement:
        for statement in self.statements:
            if statement.name == name:
                return statement
        raise UsageError(f"kernel {self.name} has no statement {name!r}")

    def domain(self) -> isl.UnionSet:
        """All statement instances."""
        return union_of_sets([s.domain for s in self.statements],
                             self.context.get_space())

    def writes(self, scatters: bool | None = None) -> isl.UnionMap:
        """Every write access, instance -> element; with ``scatters``, the
        scatters' (``y[perm[i]] = e``, may-writes) only, or the others only."""
        return union_of_maps([s.write.relation for s in self.statements
                              if scatters is None or s.write.is_gather == scatters])

    def reads(self) -> isl.UnionMap:
        """Every read access, as one union map instance -> element."""
        return union_of_maps([a.relation for s in self.statements for a in s.reads])

    def dependences(self) -> dataflow.Dependences:
        """Flow, anti, output dependences (over-approximated for scatters)."""
        return dataflow.dependences(self.reads(), self.writes(False), self.schedule,
                                    self.writes(True))

    def with_presets(self, **changes) -> "Kernel":
        return replace(self, source=replace(self.source, **changes))

    def sizes(self, preset: str | None = None,
              overrides: Mapping[str, int] | None = None,
              default: int = 8) -> dict[str, int]:
        """Concrete sizes: a preset of the file (``small`` if it has one; a
        missing ``large`` is ``medium`` doubled) or ``default`` for every
        parameter, then ``overrides``.

        Unknown names in ``overrides`` are an error naming the parameters.
        """
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.params))
        if unknown:
            raise UsageError(
                f"unknown size parameter {', '.join(unknown)} of {self.name} "
                f"(its size parameters are {', '.join(self.params) or 'none'})")
        presets = dict(self.source.presets)
        if preset == "large" and "large" not in presets and "medium" in presets:
            # Without a large preset of its own, a kernel's large sizes are
            # its medium sizes doubled.
            presets["large"] = {k: 2 * v for k, v in presets["medium"].items()}
        if preset is not None and preset not in presets:
            raise UsageError(
                f"{self.source.path} has no size preset {preset!r} "
                f"(it has {', '.join(presets) or 'none'}; give sizes with -D)")
        chosen = presets.get(preset or "small", {})
        sizes = {p: int(chosen.get(p, default)) for p in self.params}
        sizes.update({k: int(v) for k, v in overrides.items()})
        free = [p for p in self.params if p not in chosen and p not in overrides]
        if free and fix_sizes(self.context, sizes).is_empty():
            sizes = smallest_sizes_inside(self.context, sizes, free)
        self.check_sizes(sizes)
        return sizes

    def check_sizes(self, sizes: Mapping[str, int]) -> None:
        """Raise a :class:`UsageError` naming the sizes unless every size
        parameter has a value, the values satisfy what the kernel's loops and
        extents assume (its context), and every array extent is non-negative.

        >>> import polyad
        >>> k = polyad.parse("void f(int n, double x[n]) { for (int i = 0; i < n; i++) x[i] = 0.0; }")
        >>> k.check_sizes({"n": -3})
        Traceback (most recent call last):
        ...
        polyad.errors.UsageError: sizes n=-3 are outside what f assumes (n > 0)
        """
        missing = [p for p in self.params if p not in sizes]
        if missing:
            raise UsageError(f"no value given for size parameter {', '.join(missing)} "
                             f"of {self.name} (give it with -D NAME=VALUE)")
        point = self.context
        for d in range(point.dim(isl.dim_type.param)):
            name = point.get_dim_name(isl.dim_type.param, d)
            if name in sizes:
                point = point.fix_val(isl.dim_type.param, d, isl.Val(int(sizes[name])))
        if point.is_empty():
            given = ", ".join(f"{p}={sizes[p]}" for p in self.params)
            raise UsageError(f"sizes {given} are outside what {self.name} assumes "
                             f"({constraints_text(self.context)})")
        for array in self.arrays:
            for dimension, value in enumerate(array.shape(sizes)):
                if value < 0:
                    given = ", ".join(f"{p}={sizes[p]}" for p in self.params)
                    raise UsageError(
                        f"at sizes {given}, dimension {dimension} of array {array.name} "
                        f"of {self.name} would have the negative extent {value}")

    def array_bytes(self, sizes: Mapping[str, int]) -> dict[str, int]:
        """Bytes of each array and scalar of the kernel at ``sizes``."""
        result = {}
        for array in self.arrays:
            count = 1
            for value in array.shape(sizes):
                count *= max(value, 0)
            result[array.name] = count * ELEMENT_BYTES[array.dtype]
        return result


def constraints_text(context: isl.Set) -> str:
    """``n > 0 and m > 0``: a parameter set's constraints as isl prints them.

    >>> constraints_text(isl.Set("[n] -> { : n % 5 = 0 and n > 0 }"))
    '(n) mod 5 = 0 and n > 0'
    """
    text = context.to_str()
    return text.split(":", 1)[1].strip(" }") if ":" in text else "no constraint"


def union_of_sets(sets, space: isl.Space | None = None) -> isl.UnionSet:
    """The union of isl sets (an empty union set in ``space`` for none)."""
    result = None
    for s in sets:
        u = isl.UnionSet.from_set(s)
        result = u if result is None else result.union(u)
    if result is None:
        return isl.UnionSet.empty(space.params() if space is not None
                                  else isl.Space.params_alloc(isl.DEFAULT_CONTEXT, 0))
    return result


def union_of_maps(maps) -> isl.UnionMap:
    """The union of isl maps (an empty union map for none)."""
    result = None
    for m in maps:
        u = isl.UnionMap.from_map(m)
        result = u if result is None else result.union(u)
    if result is None:
        return isl.UnionMap.empty(isl.Space.params_alloc(isl.DEFAULT_CONTEXT, 0))
    return result


def sets_of(union: isl.UnionSet) -> list[isl.Set]:
    """The sets of a union set, as a Python list."""
    result: list[isl.Set] = []
    union.foreach_set(result.append)
    return result


def maps_of(union: isl.UnionMap) -> list[isl.Map]:
    """The maps of a union map, as a Python list."""
    result: list[isl.Map] = []
    union.foreach_map(result.append)
    return result


def fix_sizes(obj, sizes: Mapping[str, int]):
    """An isl set or map (union or not) with its size parameters fixed."""
    space = obj.get_space()
    if not hasattr(obj, "fix_val"):  # union sets and maps
        params = isl.Set.universe(space.params())
        return obj.intersect_params(fix_sizes(params, sizes))
    for name, value in sizes.items():
        pos = space.find_dim_by_name(isl.dim_type.param, name)
        if pos >= 0:
            obj = obj.fix_val(isl.dim_type.param, pos, isl.Val(int(value)))
    return obj


def smallest_sizes_inside(context: isl.Set, sizes: Mapping[str, int],
                          free: list[str]) -> dict[str, int]:
    """``sizes`` with the parameters ``free`` raised to the lexicographically
    smallest values, each at least its value in ``sizes``, that with the
    others lie in ``context`` (a parameter set); ``sizes`` unchanged when
    there are none.

    >>> smallest_sizes_inside(isl.Set("[n, m] -> { : n % 5 = 0 and m <= n }"),
    ...                       {"n": 8, "m": 8}, ["n"])
    {'n': 10, 'm': 8}
    """
    fixed = {name: value for name, value in sizes.items() if name not in free}
    candidates = fix_sizes(context, fixed)
    for name in free:
        at_least = isl.Set(f"[{name}] -> {{ : {name} >= {int(sizes[name])} }}")
        candidates = candidates & at_least.align_params(candidates.get_space())
    for name in free:  # the free sizes become set dimensions, in order
        pos = candidates.get_space().find_dim_by_name(isl.dim_type.param, name)
        candidates = candidates.move_dims(isl.dim_type.set, candidates.dim(isl.dim_type.set),
                                          isl.dim_type.param, pos, 1)
    if candidates.is_empty():
        return dict(sizes)
    smallest = candidates.lexmin()
    if not smallest.is_bounded() or not smallest.is_singleton():
        return dict(sizes)
    point = smallest.sample_point()
    result = dict(sizes)
    for d, name in enumerate(free):
        result[name] = int(point.get_coordinate_val(isl.dim_type.set, d).to_python())
    return result


def extent_text(pa: isl.PwAff) -> str:
    """An extent as an expression in the sizes, as isl's AST builder
    prints it (``n + 1``)."""
    build = isl.AstBuild.from_context(isl.Set.universe(pa.get_domain_space()))
    return build.expr_from_pw_aff(pa).to_C_str()


def evaluate_pw_aff(pa: isl.PwAff, sizes: Mapping[str, int]) -> int:
    """The value of a piecewise affine expression in the size parameters.

    >>> evaluate_pw_aff(isl.PwAff("[n] -> { [(n + 1)] }"), {"n": 4})
    5
    """
    space = pa.get_domain_space()
    point = isl.Point.zero(space)
    for d in range(space.dim(isl.dim_type.param)):
        name = space.get_dim_name(isl.dim_type.param, d)
        if name not in sizes:
            raise UsageError(f"no value given for size parameter {name}")
        point = point.set_coordinate_val(isl.dim_type.param, d, isl.Val(int(sizes[name])))
    value = pa.eval(point)
    if value.is_nan():
        raise UsageError(f"{pa} is undefined at {dict(sizes)}")
    return int(value.to_python())
