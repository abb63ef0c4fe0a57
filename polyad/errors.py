"""Errors polyad reports to its users.

Every error a user can cause derives from :class:`PolyadError`; the CLI prints
it as one line on stderr and exits with code 2. Anything else escaping is a
bug in polyad.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """A position in the user's source file (1-based line and column).

    >>> str(SourceLocation("gemm.c", 12, 5))
    'gemm.c:12:5'
    """

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class PolyadError(Exception):
    """Base of every error caused by input polyad cannot accept."""


class KernelError(PolyadError):
    """A construct of the kernel that polyad cannot model.

    Carries where it is, what it is and what to write instead:

    >>> e = KernelError(SourceLocation("k.c", 3, 7), "while loop",
    ...                 "write a for loop with affine bounds")
    >>> str(e)
    'k.c:3:7: unsupported while loop; write a for loop with affine bounds'
    """

    def __init__(self, location: SourceLocation | None, construct: str,
                 hint: str = "", *, verb: str = "unsupported"):
        self.location = location
        self.construct = construct
        self.hint = hint
        where = f"{location}: " if location is not None else ""
        text = f"{where}{verb} {construct}" if verb else f"{where}{construct}"
        if hint:
            text += f"; {hint}"
        super().__init__(text)


class UsageError(PolyadError):
    """A request that does not fit the kernel (unknown array, bad size, ...)."""


class CompileError(PolyadError):
    """The system C compiler rejected code polyad generated or was given."""


class ScheduleError(PolyadError):
    """A schedule transformation that is illegal or does not apply."""
