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


CHURN = """
import gc, sys
import polyad
from polyad.codegen import binding
if sys.argv[1] == "unpinned":
    binding._runtimes_pinned.append(True)  # as if the runtimes were pinned: nothing is
kernel_text = '''void k(int n, double x[n][n], double y[n][n]) {{
  for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) y[i][j] += {c} * x[i][j] * x[i][j];
}}'''
for c in range(2, 14):
    kernel = polyad.parse(kernel_text.format(c=c))
    adjoint = polyad.grad(kernel)
    schedule = adjoint.schedule().parallel("S0_b.i")
    function = polyad.compile(adjoint, schedule=schedule)
    function(n=64, x=[[1.0] * 64] * 64, y=[[0.0] * 64] * 64, y_b=[[1.0] * 64] * 64)
    del function
    gc.collect()
print("done")
"""


@pytest.mark.skipif(not MAPS.exists(), reason="needs Linux's /proc/self/maps")
def test_unloading_a_parallel_program_keeps_the_openmp_runtime(tmp_path):
    """Oracle: the process survives. Without the runtime pinned, the last
    parallel library's dlclose unloaded libgomp under its idle threads."""
    import subprocess
    import sys

    script = tmp_path / "churn.py"
    script.write_text(CHURN)
    environment = {**os.environ, "OMP_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, str(script), "pinned"], capture_output=True,
                          text=True, timeout=300, env=environment)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr[-2000:]

