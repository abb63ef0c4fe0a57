"""pet as an independent oracle of the frontend.

pet (the polyhedral extraction tool, Clang based, bundled with tadashi)
reads the ``#pragma scop`` region of a file; its iteration domains and
execution order must equal polyad's, up to statement names.

tadashi's ``Pet`` translator runs a dead-code elimination on pet's model
before it hands out the schedule (instances whose writes are never read are
dropped, e.g. all of ``dx = ...`` in adi.c when ``tsteps <= 0``), so its
domains are only subsets of the C semantics. The test therefore calls the
pet library that tadashi ships (``pet_scop_extract_from_C_source``) directly
through ctypes and compares with pet's unmodified schedule; tadashi's own
output is checked to be such a subset.

pet models more statements than polyad: kill statements for locals (their
declarations and the end of their lifetime) and, for an iterator declared
outside the scop (``int i; for (i = 0; ...)``), assignments to the iterator
itself (``i = 0``, ``i++``). Both are dropped before comparing. polyad also
models initialisers of locals declared before the region (``double eps =
1e-5;``), which pet does not see; those statements are left out as well.
An ``if`` on data is a statement of its own in pet (it writes the test's
value to a virtual array ``__pet_test_<n>``) and in polyad only where the
frontend stores the predicate in a local of its own (a name the source does
not use); both are dropped too, leaving the guarded assignments, whose
domains pet does not restrict by the test either (polyad selects, pet
filters). Statements are then matched in source order: pet numbers its statements
``S_<n>`` as it meets them in the text, polyad ``S<n>`` likewise.
"""

from __future__ import annotations

import ctypes
import glob
import os
import re
from pathlib import Path

import islpy as isl
import pytest

import polyad
from polyad.model.kernel import maps_of, sets_of, union_of_sets

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.c"))

try:  # a missing tadashi must fail the tests below, not skip them
    import tadashi
    import tadashi.translators  # loads the bundled isl and pet libraries
    from tadashi.translators import Pet
    _TADASHI_ERROR = None
except ImportError as error:  # pragma: no cover - reported by every test
    _TADASHI_ERROR = error


class _PetLibrary:
    """The few functions of tadashi's libpet/libisl this test needs."""

    def __init__(self):
        libs = Path(tadashi.__file__).resolve().parent.parent / "tadashi.libs"
        isl_path = glob.glob(str(libs / "libisl-*"))
        pet_path = glob.glob(str(libs / "libpet-*"))
        if not isl_path or not pet_path:
            pytest.fail(f"tadashi's bundled libisl/libpet not found in {libs}")
        self.isl = ctypes.CDLL(isl_path[0])
        self.pet = ctypes.CDLL(pet_path[0])
        self.libc = ctypes.CDLL(None)
        p = ctypes.c_void_p
        for function, result, arguments in [
            (self.pet.isl_ctx_alloc_with_pet_options, p, []),
            (self.pet.pet_scop_extract_from_C_source, p, [p, ctypes.c_char_p,
                                                          ctypes.c_char_p]),
            (self.pet.pet_scop_get_schedule, p, [p]),
            (self.pet.pet_scop_get_must_kills, p, [p]),
            (self.pet.pet_scop_get_may_writes, p, [p]),
            (self.pet.pet_scop_free, p, [p]),
            (self.isl.isl_schedule_to_str, p, [p]),
            (self.isl.isl_union_map_to_str, p, [p]),
            (self.isl.isl_schedule_free, p, [p]),
            (self.isl.isl_union_map_free, p, [p]),
            (self.isl.isl_ctx_free, None, [p]),
            (self.libc.free, None, [p]),
        ]:
            function.restype = result
            function.argtypes = arguments

    def _text(self, obj, to_str, free) -> str:
        pointer = to_str(obj)
        try:
            return ctypes.cast(pointer, ctypes.c_char_p).value.decode()
        finally:
            self.libc.free(pointer)
            free(obj)

    def scop(self, path: Path) -> tuple[isl.Schedule, isl.UnionMap, isl.UnionMap]:
        """pet's schedule, kills and may-writes of the scop of ``path``."""
        include = str(Path(tadashi.__file__).resolve().parent / "include")
        old = os.environ.get("C_INCLUDE_PATH")
        os.environ["C_INCLUDE_PATH"] = include + (os.pathsep + old if old else "")
        ctx = self.pet.isl_ctx_alloc_with_pet_options()
        try:
            scop = self.pet.pet_scop_extract_from_C_source(ctx, str(path).encode(), None)
            assert scop, f"pet found no scop in {path}"
            try:
                schedule = self._text(self.pet.pet_scop_get_schedule(scop),
                                      self.isl.isl_schedule_to_str,
                                      self.isl.isl_schedule_free)
                kills = self._text(self.pet.pet_scop_get_must_kills(scop),
                                   self.isl.isl_union_map_to_str,
                                   self.isl.isl_union_map_free)
                writes = self._text(self.pet.pet_scop_get_may_writes(scop),
                                    self.isl.isl_union_map_to_str,
                                    self.isl.isl_union_map_free)
            finally:
                self.pet.pet_scop_free(scop)
        finally:
            self.isl.isl_ctx_free(ctx)
            if old is None:
                del os.environ["C_INCLUDE_PATH"]
            else:
                os.environ["C_INCLUDE_PATH"] = old
        return isl.Schedule(schedule), isl.UnionMap(kills), isl.UnionMap(writes)


_LIBRARY: _PetLibrary | None = None


def pet_library() -> _PetLibrary:
    global _LIBRARY
    if _TADASHI_ERROR is not None:
        pytest.fail(f"tadashi (the pet oracle) cannot be imported: {_TADASHI_ERROR}")
    if _LIBRARY is None:
        _LIBRARY = _PetLibrary()
    return _LIBRARY


def region_lines(text: str) -> tuple[int, int]:
    lines = text.splitlines()
    begin = [n for n, line in enumerate(lines, 1) if re.match(r"\s*#\s*pragma\s+scop\b", line)]
    end = [n for n, line in enumerate(lines, 1)
           if re.match(r"\s*#\s*pragma\s+endscop\b", line)]
    assert len(begin) == 1 and len(end) == 1, "one #pragma scop region"
    return begin[0], end[0]


def rename(sets: list[isl.Set], names: list[str]) -> isl.UnionMap:
    """pet statement -> the polyad statement of the same place."""
    result = None
    for pet_set, name in zip(sets, names):
        identity = isl.Map.identity(isl.Space.map_from_set(pet_set.get_space()))
        piece = isl.UnionMap.from_map(identity.set_tuple_name(isl.dim_type.out, name))
        result = piece if result is None else result.union(piece)
    return result


def lex_order(schedule_map: isl.UnionMap, domain: isl.UnionSet) -> isl.UnionMap:
    restricted = schedule_map.intersect_domain(domain)
    return restricted.lex_lt_union_map(restricted)


def compare_with_pet(path: Path, function: str | None = None) -> None:
    kernel = polyad.parse(str(path), function=function)
    begin, end = region_lines(path.read_text())
    text = path.read_text()
    statements = [s for s in kernel.statements if begin < s.location.line < end
                  and re.search(rf"\b{s.write.array}\b", text)]
    iterators = {name for s in kernel.statements for name in s.iterators}

    schedule, kills, writes = pet_library().scop(path)
    dropped = {m.get_tuple_name(isl.dim_type.in_) for m in maps_of(kills)}
    dropped |= {m.get_tuple_name(isl.dim_type.in_) for m in maps_of(writes)
                if m.get_tuple_name(isl.dim_type.out) in iterators
                or m.get_tuple_name(isl.dim_type.out).startswith("__pet_test_")}
    pet_sets = sorted((s for s in sets_of(schedule.get_domain())
                       if s.get_tuple_name() not in dropped),
                      key=lambda s: int(s.get_tuple_name().split("_")[1]))
    assert len(pet_sets) == len(statements), (
        f"pet models {len(pet_sets)} statements "
        f"({', '.join(s.get_tuple_name() for s in pet_sets)}), polyad "
        f"{len(statements)}: {[s.text for s in statements]}")

    to_polyad = rename(pet_sets, [s.name for s in statements])
    for pet_set, statement in zip(pet_sets, statements):
        assert pet_set.dim(isl.dim_type.set) == statement.domain.dim(isl.dim_type.set), \
            f"{pet_set.get_tuple_name()} vs {statement.name} ({statement.text})"
        renamed = isl.UnionSet.from_set(pet_set).apply(to_polyad)
        assert renamed.is_equal(isl.UnionSet.from_set(statement.domain)), (
            f"{statement.name} ({statement.text}): polyad {statement.domain}, "
            f"pet {pet_set}")

    pet_domain = union_of_sets(pet_sets).apply(to_polyad)
    polyad_domain = union_of_sets([s.domain for s in statements])
    pet_order = lex_order(schedule.get_map().apply_domain(to_polyad), pet_domain)
    polyad_order = lex_order(kernel.schedule.get_map(), polyad_domain)
    assert pet_order.is_equal(polyad_order), (
        f"only pet: {pet_order.subtract(polyad_order)}; "
        f"only polyad: {polyad_order.subtract(pet_order)}")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_agrees_with_pet(path):
    compare_with_pet(path)


# Kernels with the quirks of tests/frontend/test_accepts.py that pet reads too.
QUIRKS = {
    "strides_and_decreasing": """\
#define MAX(a, b) ((a) > (b) ? (a) : (b))
void k(int n, double x[n], double y[n][n])
{
  int i, j;
#pragma scop
  for (i = 0; i < n; i += 2)
    x[i] = 2.0 * x[i];
  for (i = n - 1; i >= 0; i -= 3)
    x[i] = x[i] + 1.0;
  for (i = n - 1; i > 0; --i)
    for (j = MAX(0, i - 2); j <= i; ++j)
      y[i][j] = y[i][j] * x[j];
#pragma endscop
}
""",
    "bounds_with_min_and_division": """\
#define min(a, b) ((a) < (b) ? (a) : (b))
void k(int n, int m, double A[n][n], double x[n])
{
#pragma scop
  for (int i = 0; i <= (n - 1) / 2; i++)
    for (int j = i; j < min(n, i + m); j++)
      A[i][j] = A[i][j] + x[j];
  for (int i = 0; i < (m < n ? m : n); i++)
    x[i] = x[i / 2] * 0.5;
#pragma endscop
}
""",
    "if_on_data": """\
void k(int n, double a[n], double b[n], double s[1])
{
  double m;
#pragma scop
  m = a[0];
  for (int i = 0; i < n; i++) {
    if (a[i] > 0.0) { a[i] = -a[i]; b[i] = 2.0 * a[i]; } else b[i] = 1.0;
    if (b[i] > m)
      for (int j = 0; j < i; j++)
        b[j] += m;
  }
  s[0] = m;
#pragma endscop
}
""",
    "conditions_and_scalars": """\
void k(int n, double A[n][n], double s[1])
{
  double t;
  double z[n];
#pragma scop
  t = 0.0;
  for (int i = 0; i < n; i++) {
    z[i] = 0.0;
    for (int j = 0; j < n; j++)
      if ((i < j && !(j == n - 1)) || i == 0)
        z[i] += A[i][j];
      else
        A[i][j] = -A[i][j];
    t += z[i];
  }
  s[0] = t;
#pragma endscop
}
""",
    "locals_declared_in_the_region": """\
void k(int n, double x[n], double y[n])
{
#pragma scop
  for (int i = 1; i < n; i++) {
    double d = x[i] - x[i - 1];
    double e;
    e = d * d;
    y[i] = e + d;
  }
#pragma endscop
}
""",
    "locals_declared_again_in_sibling_blocks": """\
void k(int n, int m, double A[n][m], double r[n], double c[m])
{
#pragma scop
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    for (int j = 0; j < m; j++)
      s += A[i][j];
    r[i] = s;
  }
  for (int j = 0; j < m; j++) {
    double s = 0.0;
    for (int i = 0; i < n; i++)
      s += A[i][j];
    c[j] = s;
  }
#pragma endscop
}
""",
}


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_quirk_agrees_with_pet(tmp_path, name):
    path = tmp_path / f"{name}.c"
    path.write_text(QUIRKS[name])
    compare_with_pet(path)


@pytest.mark.parametrize("name", ["adi.c", "durbin.c", "k3mm.c", "gemm.c"])
def test_tadashi_schedule_is_within_polyad_domains(name):
    """tadashi's Pet translator gives pet's schedule after dead-code
    elimination: every instance it keeps must be one polyad models."""
    if _TADASHI_ERROR is not None:
        pytest.fail(f"tadashi (the pet oracle) cannot be imported: {_TADASHI_ERROR}")
    path = ROOT / "examples" / name
    translator = Pet()
    translator.set_source(str(path), [])
    yaml = translator.scops[0]._yaml_str()
    if yaml.startswith("#"):
        yaml = yaml.split("\n", 1)[1]
    live = isl.Schedule(yaml).get_domain()
    kernel = polyad.parse(str(path))
    begin, end = region_lines(path.read_text())
    text = path.read_text()
    statements = [s for s in kernel.statements if begin < s.location.line < end
                  and re.search(rf"\b{s.write.array}\b", text)]
    schedule, kills, writes = pet_library().scop(path)
    iterators = {n for s in kernel.statements for n in s.iterators}
    dropped = {m.get_tuple_name(isl.dim_type.in_) for m in maps_of(kills)}
    dropped |= {m.get_tuple_name(isl.dim_type.in_) for m in maps_of(writes)
                if m.get_tuple_name(isl.dim_type.out) in iterators
                or m.get_tuple_name(isl.dim_type.out).startswith("__pet_test_")}
    pet_sets = sorted((s for s in sets_of(schedule.get_domain())
                       if s.get_tuple_name() not in dropped),
                      key=lambda s: int(s.get_tuple_name().split("_")[1]))
    to_polyad = rename(pet_sets, [s.name for s in statements])
    kept = live.intersect(union_of_sets(pet_sets)).apply(to_polyad)
    assert not kept.is_empty()
    assert kept.is_subset(union_of_sets([s.domain for s in statements]))
