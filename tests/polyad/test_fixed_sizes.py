"""Int parameters fixed when the file is parsed (``-D incx=2``,
``parse(fix=...)``; frontend/fixing.py): a BLAS-1 kernel with strides
passes every oracle of ``polyad check`` (the primal bitwise against the
original C compiled by cc, the model's reverse-mode interpreter, the
dot-product test, central finite differences); a size used only affinely
stays a parameter; the generated C returns the status 1 for another value
of a fixed one; without -D the refusal names it; a value that makes the
kernel leave its arrays exits 2. Every test fails on the code before
fixing, which refused x[i * incx] as a product of two variables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import polyad
from polyad import api, cli
from polyad.errors import UsageError
from tests.conftest import assert_refused_at
from tests.polyad.test_assumptions import _raw_call

#: strides in a product (x[i * incx]), in a bound and a loop step
#: (ix < n * incx; ix += incx) and in an induction variable (iy += incy)
STRIDED = Path(__file__).resolve().parents[1] / "kernels" / "strided.c"
BLAS1 = STRIDED.read_text()

FIXED = {"incx": 2, "incy": 3}


@pytest.fixture(scope="module")
def kernel():
    return polyad.parse(BLAS1, fix={**FIXED, "n": 5})


def test_strided_blas1_passes_every_oracle(kernel):
    result = api.check(kernel, {"n": 5, **FIXED})
    oracles = {c["oracle"].split(" (")[0]: c["ok"] for c in result["checks"]}
    assert set(oracles) == {"primal vs original C", "reverse-mode interpreter",
                            "dot product <w, J v> = <J^T w, v>",
                            "central finite differences"}, oracles
    assert all(oracles.values()), result["checks"]


def test_only_the_non_affine_parameters_are_fixed(kernel):
    """n, given a value too, stays a parameter: the context fixes the
    strides only, and the model's subscripts are the strides' multiples."""
    assert kernel.params == ("n", "incx", "incy")
    for n in (1, 7):
        kernel.check_sizes({"n": n, **FIXED})
    write = next(s.write for s in kernel.statements if s.write.array == "y")
    assert "->y[3i]" in str(write.relation).replace(" ", ""), write.relation
    assert any("incx fixed to 2" in note for note in kernel.notes), kernel.notes


def test_another_value_is_refused_at_entry(kernel):
    """Oracle: the C function's own status through ctypes (the binding
    refuses first), and the arrays it leaves untouched."""
    gradient = polyad.compile(polyad.grad(kernel))
    values = {spec.name: (np.ones(13) if spec.kind != "size" and spec.kind != "scalar"
                          else 1.0) for spec in gradient.arguments}
    values.update(n=5, incx=1, incy=3)
    status, after = _raw_call(gradient, values)
    assert status == 1 and np.all(after["y"] == 1.0)
    values.update(incx=2)
    status, after = _raw_call(gradient, values)
    assert status == 0 and not np.all(after["y"] == 1.0)
    with pytest.raises(UsageError, match="incx = 2"):
        gradient(**{**values, "incx": 1})


def test_without_the_value_the_refusal_names_d(tmp_path):
    assert_refused_at(tmp_path, BLAS1, (5, 63), "fix it with -D incx=VALUE")


def test_a_value_outside_the_arrays_exits_2(tmp_path, capsys):
    path = tmp_path / "blas1.c"
    path.write_text(BLAS1)
    code = cli.main(["check", str(path), "-D", "incx=-1", "-D", "incy=3", "-D", "n=4"])
    assert code == 2
    assert "11:35: unsupported loop increment ix += incx with incx = -1 (-D incx=-1)" \
        in capsys.readouterr().err
    code = cli.main(["check", str(path), "-D", "incx=2", "-D", "incy=-1", "-D", "n=4"])
    assert code == 2
    assert "outside what blas1 assumes" in capsys.readouterr().err
