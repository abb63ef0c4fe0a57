"""Schedule.share: a gemm+dot and a gemm of one product, adjacent, as one
call computing the product once (gemm's and k2mm's alpha_b and A_b).

Oracles: for gradients, polyad check's (the reverse-mode interpreter, the
dot-product test, finite differences of the original C, the original C for
the forward sweep within BLAS's rounding); for the plan, the typed calls of
the schedule (which product, which nests); for refusals, the order of the
instructions as the schedule keeps it.
"""

from __future__ import annotations

import pytest

import polyad
from polyad.check import verify
from polyad.errors import ScheduleError
from polyad.program.blascalls import Computed, Gemm, GemmDot, SharedProduct
from polyad.program.targets import load_schedule
from polyad.schedule.marks import Library
from polyad.schedule.schedule import Schedule
from tests.conftest import example


def _gemm_calls(first: str | None = None) -> Schedule:
    """gemm's adjoint with its three reverse products as calls, unshared;
    ``first``: the part whose nest runs before the others'."""
    s = polyad.grad(example("gemm")).schedule().split("S1_b")
    if first is not None:
        s = s.distribute("S1_b_split0.i", first=first)
    for part in ("S1_b_split0", "S1_b_split1", "S1_b_split2"):
        while True:
            try:
                s = s.blas(part)
                break
            except ScheduleError:
                s = s.distribute(f"{part}.i")
    return s


def test_auto_shares_gemms_product_between_alpha_b_and_a_b():
    """The typed calls: three calls in the reverse sweep of gemm's auto
    gradient, the first a SharedProduct of the dot and the gemm of C_b * B^T;
    the gemm's own nest computes nothing (on the code before: four calls,
    the product computed twice)."""
    chosen = load_schedule(polyad.grad(example("gemm")), "auto")
    calls = [call for _, call, _ in chosen.library_calls()]
    assert len(calls) == 3
    (shared,) = [c for c in calls if isinstance(c, SharedProduct)]
    assert (shared.dot.target, shared.gemm.c.buffer) == ("alpha_b", "A_b")
    assert shared.dot.product.a == shared.gemm.a and shared.dot.product.b == shared.gemm.b
    assert sum(isinstance(m.call, Computed) for _, m in chosen.annotations
               if isinstance(m, Library)) == 1


@pytest.mark.parametrize("name,sizes", [("gemm", {"ni": 5, "nj": 7, "nk": 3}),
                                        ("gemm", {"ni": 1, "nj": 3, "nk": 1}),
                                        ("k2mm", {"ni": 3, "nj": 5, "nk": 2, "nl": 7})])
def test_a_shared_product_keeps_the_gradient(name, sizes):
    """Oracles: all four."""
    result = verify.check_gradient(example(name), sizes, schedule="auto",
                                   oracles=("primal", "interpreter", "dot", "fd"))
    assert result["verdict"] == "ok", result["checks"]


def test_share_by_hand_and_its_replay():
    s = _gemm_calls()
    shared = s.share("S1_b_split0", "S1_b_split1")
    kinds = {h.instruction: type(m.call) for h, m in shared.annotations if isinstance(m, Library)}
    assert kinds == {"S1_b_split0": SharedProduct, "S1_b_split1": Computed,
                     "S1_b_split2": Gemm}
    assert shared.trace[-1].primitive == "share" and len(shared.trace) == len(s.trace) + 1
    replayed = Schedule.replay(polyad.grad(example("gemm")).schedule(), shared.to_json())
    assert {h.instruction: type(m.call) for h, m in replayed.annotations
            if isinstance(m, Library)} == kinds


def test_share_refuses_other_products_and_calls_not_made():
    s = _gemm_calls()
    assert isinstance(dict((h.instruction, m.call) for h, m in s.annotations)["S1_b_split0"],
                      GemmDot)
    with pytest.raises(ScheduleError, match="different products"):
        s.share("S1_b_split0", "S1_b_split2")      # A^T * C_b, not C_b * B^T
    with pytest.raises(ScheduleError, match="must be a gemm\\+dot"):
        s.share("S1_b_split1", "S1_b_split0")
    with pytest.raises(ScheduleError, match="runs as no library call"):
        polyad.grad(example("gemm")).schedule().split("S1_b").share("S1_b_split0",
                                                                    "S1_b_split1")


def test_share_needs_the_gemm_right_after_the_dot():
    """The instruction order: with A_b's gemm first, it does not run after
    the dot, and may not wait for it; with B_b's first, the dot and A_b's
    gemm are still adjacent and share."""
    with pytest.raises(ScheduleError, match="wholly after"):
        _gemm_calls(first="S1_b_split1").share("S1_b_split0", "S1_b_split1")
    shared = _gemm_calls(first="S1_b_split2").share("S1_b_split0", "S1_b_split1")
    assert any(isinstance(m.call, SharedProduct) for _, m in shared.annotations
               if isinstance(m, Library))
    result = verify.check_gradient(example("gemm"), {"ni": 4, "nj": 3, "nk": 5},
                                   schedule=lambda base: Schedule.replay(base, shared.to_json()),
                                   oracles=("interpreter", "dot", "fd"))
    assert result["verdict"] == "ok", result["checks"]
