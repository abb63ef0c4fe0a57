"""The sweeps of a program, told apart by the outermost schedule dimension.

Lowering numbers them; the schedule names them in its reports; layouts'
stream pass inserts a copy sweep. One numbering for all three, here.

>>> SWEEP_NAMES[REVERSE], streamed(REVERSE), streamed(FINISH)
('reverse', 2, 3)
"""

from __future__ import annotations

#: The primal kernel with its tape records.
FORWARD = 0
#: The adjoint statements, in the reverse of the forward order.
REVERSE = 1
#: Adjoints accumulated into the caller's arrays after the reverse sweep.
FINISH = 2

SWEEP_NAMES = {FORWARD: "forward", REVERSE: "reverse", FINISH: "finish"}

#: In a program whose tapes are streamed in the reverse sweep's reading order
#: (polyad.tape.streams.stream_in_order), the copy pass filling the FIFOs runs right
#: before the reverse sweep: it takes the reverse sweep's number.
STREAM_COPY = REVERSE


def streamed(sweep: int) -> int:
    """The number of ``sweep`` once the stream copy pass is inserted: the forward
    sweep keeps its number, every later sweep moves one on.

    Precondition: ``sweep`` is one of FORWARD, REVERSE, FINISH."""
    return sweep if sweep < STREAM_COPY else sweep + 1
