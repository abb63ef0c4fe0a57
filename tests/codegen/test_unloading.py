"""A process that compiles many programs does not keep every library mapped.

Oracle: the kernel's own count of the process's memory mappings
(/proc/self/maps, Linux). ctypes never unloads a library by itself; make
fuzz ran one worker through about 4,700 kernels until the process reached
vm.max_map_count and its interpreter failed at random places
("SystemError: error return without exception set" in pycparser).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

import polyad

MAPS = Path(f"/proc/{os.getpid()}/maps")


def mappings() -> int:
    return len(MAPS.read_text().splitlines())


@pytest.mark.skipif(not MAPS.exists(), reason="needs Linux's /proc/self/maps")
def test_dropped_functions_unload_their_libraries():
    def compiled(k: int):
        kernel = polyad.parse(f"void f(int n, double x[n]) {{ for (int i = 0; i < n; i++) "
                              f"x[i] = x[i] * {k + 2}.0; }}")
        function = polyad.compile(kernel)
        assert function(n=2, x=[1.0, 2.0])["x"].tolist() == [k + 2.0, 2 * (k + 2.0)]

    compiled(0)
    gc.collect()
    before = mappings()
    for k in range(1, 41):
        compiled(k)
    gc.collect()
    # Kept mapped, 40 libraries would add hundreds of mappings (about 13 each).
    assert mappings() - before < 40


@pytest.mark.skipif(not MAPS.exists(), reason="needs Linux's /proc/self/maps")
def test_a_library_stays_loaded_while_another_function_holds_it():
    kernel = polyad.parse("void g(int n, double x[n]) { for (int i = 0; i < n; i++) "
                          "x[i] = x[i] + 1.0; }")
    first, second = polyad.compile(kernel), polyad.compile(kernel)
    assert first.library_path == second.library_path
    del first
    gc.collect()
    assert second(n=1, x=[1.0])["x"].tolist() == [2.0]
