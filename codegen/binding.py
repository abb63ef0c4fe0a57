"""Calling compiled C functions with numpy arrays, by argument name."""

from __future__ import annotations

import _ctypes
import ctypes
import ctypes.util
import math
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import islpy as isl
import numpy as np

from polyad.codegen.declarations import STATUS_INDEX, STATUS_INJECTIVE
from polyad.errors import UsageError
from polyad.model.kernel import constraints_text, evaluate_pw_aff, fix_sizes

NUMPY_TYPES = {"double": np.float64, "float": np.float32, "int": np.int32, "char": np.int8}


@dataclass(frozen=True)
class ArgumentSpec:
    """One argument of a compiled function.

    ``kind``: ``size`` (int), ``scalar`` (a double or float by value),
    ``pointer`` (one element passed by address: read and written) or
    ``array``; ``dtype`` is the element's C type. ``optional`` arrays and
    pointers default to zeros when the caller leaves them out.
    """

    name: str
    kind: str
    dtype: str = "double"
    extents: tuple[isl.PwAff, ...] = ()
    optional: bool = False


#: ctypes' own dlclose (POSIX); None where the platform has none.
_dlclose = getattr(_ctypes, "dlclose", None)
#: Runtimes generated code links to that keep threads of their own (the
#: OpenMP pool). Held open for the life of the process: unloaded with the
#: last library that used it, a runtime's idle threads would wake into
#: unmapped code (the suite crashed so).
_RUNTIMES = ("gomp",)
_pinned: list[ctypes.CDLL] = []


def pin_runtime(path: str) -> None:
    """Keep a runtime library that generated code links to loaded for the
    life of the process (OpenBLAS, whose pool threads outlive a call)."""
    if path not in _pinned_paths:
        _pinned.append(ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL))
        _pinned_paths.add(path)


_pinned_paths: set[str] = set()
_runtimes_pinned: list[bool] = []


def _pin_runtimes() -> None:
    if _runtimes_pinned:
        return
    _runtimes_pinned.append(True)
    for name in _RUNTIMES:
        found = ctypes.util.find_library(name)
        if found:
            try:
                _pinned.append(ctypes.CDLL(found, mode=ctypes.RTLD_GLOBAL))
            except OSError:  # not installed: no generated code can use it either
                continue


class _LoadedLibrary:
    """One dlopen of a shared library, closed when the last object holding
    it goes. ctypes never unloads a library: a process that compiles
    thousands of programs (make fuzz, a long search) ran out of memory
    mappings (vm.max_map_count) and its interpreter failed at random places.
    Copies of a function share this one object (optuna copies what a trial
    records), so the library is closed once, after its last user."""

    def __init__(self, path: str):
        self.cdll = ctypes.CDLL(path)

    def __del__(self):
        cdll = getattr(self, "cdll", None)
        if cdll is not None and _dlclose is not None:
            self.cdll = None
            _dlclose(cdll._handle)

class CompiledFunction:
    """A C function of a shared library, called with keyword arguments.

    Calling it copies the given arrays, runs the function on the copies and
    returns every array and pointer argument after the call, by name; the
    caller's arrays are left as they were. Sizes outside ``context`` (the
    kernel's assumptions and positive extents) are refused before the call.
    ``status``: the C function returns an int status (0 ran, 1 refused its
    sizes), as every function polyad generates or wraps does; False for a
    plain ``void`` function of the user's.
    """

    def __init__(self, library: Path, symbol: str, arguments: tuple[ArgumentSpec, ...],
                 context: isl.Set, source: str = "", display_name: str | None = None,
                 *, status: bool = True):
        self.library_path = library
        self.symbol = symbol
        self.name = display_name or symbol
        self.arguments = arguments
        self.context = context
        self.source = source
        self.status = status
        _pin_runtimes()
        self._library = _LoadedLibrary(str(library))
        self._function = getattr(self._library.cdll, symbol)
        self._function.restype = ctypes.c_int if status else None
        self._function.argtypes = [_ctype(a) for a in arguments]

    def sizes_of(self, values: Mapping[str, object]) -> dict[str, int]:
        sizes = {}
        for spec in self.arguments:
            if spec.kind == "size":
                if spec.name not in values:
                    raise UsageError(f"{self.name}: missing size {spec.name}")
                sizes[spec.name] = self._size(spec.name, values[spec.name])
        if fix_sizes(self.context, sizes).is_empty():
            raise self.outside(sizes)
        return sizes

    def outside(self, sizes: Mapping[str, int]) -> UsageError:
        """The error of a call at sizes outside the context."""
        given = ", ".join(f"{name}={value}" for name, value in sizes.items())
        return UsageError(f"{self.name}: sizes {given} are outside what the kernel "
                          f"assumes ({constraints_text(self.context)}); the generated "
                          "code refuses to run there")

    def prepare(self, values: Mapping[str, object]) -> dict[str, object]:
        """Checked copies of the arguments, ready for :meth:`call_in_place`."""
        unknown = set(values) - {a.name for a in self.arguments}
        if unknown:
            raise UsageError(f"{self.name} has no argument {', '.join(sorted(unknown))} "
                             f"(it takes {', '.join(a.name for a in self.arguments)})")
        sizes = self.sizes_of(values)
        prepared: dict[str, object] = dict(sizes)
        for spec in self.arguments:
            if spec.kind == "size":
                continue
            given = values.get(spec.name)
            if spec.kind == "scalar":
                if given is None:
                    raise UsageError(f"{self.name}: missing scalar {spec.name}")
                try:
                    prepared[spec.name] = float(given)
                except (TypeError, ValueError):
                    raise UsageError(f"{self.name}: scalar {spec.name} must be a number, "
                                     f"got {given!r}") from None
                continue
            shape = tuple(evaluate_pw_aff(e, sizes) for e in spec.extents)
            if spec.kind == "pointer":
                shape = (1,)
            if given is None:
                if not spec.optional:
                    raise UsageError(f"{self.name}: missing array {spec.name} of shape "
                                     f"{shape}")
                prepared[spec.name] = np.zeros(shape, dtype=NUMPY_TYPES[spec.dtype])
                continue
            array = self._array(spec, given)
            if spec.kind == "pointer":
                if array.size != 1:
                    raise UsageError(f"{self.name}: {spec.name} is a scalar, got an "
                                     f"array of shape {array.shape}")
                array = array.reshape(1)
            if array.shape != shape:
                raise UsageError(f"{self.name}: {spec.name} has shape {array.shape}, "
                                 f"expected {shape} at sizes {sizes}")
            prepared[spec.name] = array
        return prepared

    def _size(self, name: str, value: object) -> int:
        """A size as a C int; 2.5 or 2**40 is refused rather than truncated."""
        try:
            number = operator.index(value)
        except TypeError:
            try:
                as_float = math.nan if isinstance(value, (str, bytes)) else float(value)
            except (TypeError, ValueError):
                as_float = math.nan
            if not as_float.is_integer():
                raise UsageError(f"{self.name}: size {name} must be an integer, "
                                 f"got {value!r}") from None
            number = int(as_float)
        if not -2**31 <= number < 2**31:
            raise UsageError(f"{self.name}: size {name} = {number} does not fit a C int")
        return number

    def _array(self, spec: ArgumentSpec, given: object) -> np.ndarray:
        """A C-ordered copy of ``given`` in the argument's element type; values
        an integer array cannot hold exactly are refused rather than truncated."""
        dtype = NUMPY_TYPES[spec.dtype]
        try:
            source = np.asarray(given)
            number = spec.kind == "pointer" and isinstance(given, (int, float))
            if dtype is np.float32 and source.dtype != np.float32 and not number:
                # Rounding a caller's doubles to float would be a silent
                # change of the inputs: the caller converts, knowingly (a
                # Python number for one element converts as C assigns it).
                raise UsageError(f"{self.name}: {spec.name} is an array of float, got "
                                 f"numpy {source.dtype}; pass float32 "
                                 f"({spec.name}.astype(numpy.float32))")
            if np.issubdtype(dtype, np.integer) and source.size:
                exact = source.dtype.kind in "biu" or (
                    source.dtype.kind == "f" and bool(np.all(np.isfinite(source)))
                    and bool(np.all(source == np.round(source))))
                limits = np.iinfo(dtype)
                if not exact or source.min() < limits.min or source.max() > limits.max:
                    raise UsageError(f"{self.name}: {spec.name} is an array of "
                                     f"{spec.dtype}, and some values are not "
                                     f"{spec.dtype}s")
            return np.array(source, dtype=dtype, order="C", copy=True)
        except (TypeError, ValueError) as error:
            raise UsageError(f"{self.name}: {spec.name} must be an array of "
                             f"{spec.dtype}: {error}") from None

    def call_in_place(self, prepared: Mapping[str, object]) -> None:
        """Run on prepared arguments, which the C function updates in place."""
        args = []
        for spec in self.arguments:
            value = prepared[spec.name]
            args.append(value.ctypes.data if isinstance(value, np.ndarray) else value)
        status = self._function(*args)
        if self.status and status == STATUS_INDEX:
            raise UsageError(f"{self.name}: an index array holds a value outside the "
                             "extent of an array it subscripts (a gather); the generated "
                             "code refuses to run with it")
        if self.status and status == STATUS_INJECTIVE:
            raise UsageError(f"{self.name}: an index array stated injective (#pragma polyad "
                             "injective) holds a value twice; the generated code refuses "
                             "to run with it")
        if self.status and status != 0:
            sizes = {spec.name: prepared[spec.name] for spec in self.arguments
                     if spec.kind == "size"}
            raise self.outside(sizes)

    def __call__(self, **values) -> dict[str, object]:
        prepared = self.prepare(values)
        self.call_in_place(prepared)
        result = {}
        for spec in self.arguments:
            if spec.kind == "array":
                result[spec.name] = prepared[spec.name]
            elif spec.kind == "pointer":
                result[spec.name] = float(prepared[spec.name][0])
        return result


def _ctype(spec: ArgumentSpec):
    if spec.kind == "size":
        return ctypes.c_int
    if spec.kind == "scalar":
        return ctypes.c_float if spec.dtype == "float" else ctypes.c_double
    return ctypes.c_void_p
