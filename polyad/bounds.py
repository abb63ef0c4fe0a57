"""Bounds on isl computations, so that every command ends in bounded time
and memory.

isl's own operation bound (``max_operations``) stops a single long isl call;
a wall-clock deadline (a timer that calls ``isl_ctx_abort``) stops a long
sequence of isl calls at the next call, since islpy holds the interpreter
lock during a call and the timer only runs between calls. Either one ends
the guarded computation with a :class:`BoundExceeded` that names the option
which asked for it and what to use instead.

Defaults: :data:`MAX_OPERATIONS` and :data:`TIME_LIMIT_SECONDS`, overridden
by $POLYAD_ISL_MAX_OPERATIONS and $POLYAD_TIME_LIMIT (0 turns a bound off).
"""

from __future__ import annotations

import os
import resource
import select
import signal
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import islpy as isl

from polyad.errors import UsageError

#: isl operations one guarded computation may take. The largest example
#: (staging, scheduling, printing) takes well under a tenth of it; the
#: blow-ups seen (minutes, gigabytes) reach it within seconds.
MAX_OPERATIONS = 50_000_000
#: Seconds one guarded computation may take.
TIME_LIMIT_SECONDS = 30.0


class BoundExceeded(UsageError):
    """An isl computation for ``option`` ran past its operation or time bound."""


def _limit(variable: str, default: float) -> float:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"${variable} must be a number, got {text!r}") from None
    if value < 0:
        raise UsageError(f"${variable} must not be negative, got {text!r}")
    return value


_active: list[tuple[str, str]] = []


@contextmanager
def bounded(option: str, instead: str) -> Iterator[None]:
    """Run the body's isl computations within the operation and time bounds;
    past either, raise :class:`BoundExceeded` naming ``option`` (what the user
    asked for, e.g. ``--layout layers``) and ``instead`` (what to use instead).
    Nested, the outer bounds stay and the innermost option is named."""
    context = isl.DEFAULT_CONTEXT
    if _active:
        _active.append((option, instead))
        try:
            yield
        finally:
            _active.pop()
        return
    operations = int(_limit("POLYAD_ISL_MAX_OPERATIONS", MAX_OPERATIONS))
    seconds = _limit("POLYAD_TIME_LIMIT", TIME_LIMIT_SECONDS)
    saved = context.get_max_operations()
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        context.abort()

    timer = threading.Timer(seconds, expire) if seconds else None
    _active.append((option, instead))
    context.set_max_operations(operations)
    context.reset_operations()
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    except Exception as error:
        tripped = _tripped(expired)
        if tripped is None:
            raise
        name, hint = _active[-1]
        limit = (f"{seconds:g} s ($POLYAD_TIME_LIMIT)" if tripped == "time"
                 else f"{operations} isl operations ($POLYAD_ISL_MAX_OPERATIONS)")
        raise BoundExceeded(f"{name}: the computation exceeded its bound of {limit}; "
                            f"{hint}") from error
    finally:
        if timer is not None:
            timer.cancel()
        _active.clear()
        context.resume()
        context.set_max_operations(saved)
        context.reset_operations()


def _tripped(expired: threading.Event) -> str | None:
    """"time" or "operations" when a bound stopped isl, else None (the error
    was something else). isl does not say why a call failed: past the
    operation bound every further operation fails too, which a small probe
    shows."""
    if expired.is_set():
        return "time"
    try:
        isl.Set("{ [i] : 0 <= i < 2 }").lexmin()
    except isl.Error:
        return "operations"
    return None


#: Seconds isl's scheduler may take in a child process (see :func:`in_child`)
#: before auto gives it up: it ignores isl's operation bound and the abort of
#: the time guard, so only a process of its own can be stopped.
SCHEDULER_SECONDS = 5.0
#: Bytes of address space a child may add to what the parent had mapped.
CHILD_EXTRA_BYTES = 2 << 30


def scheduler_seconds() -> float:
    """The scheduler's time bound: $POLYAD_SCHEDULER_TIME_LIMIT or
    :data:`SCHEDULER_SECONDS` (0: no bound, the scheduler runs in process)."""
    return _limit("POLYAD_SCHEDULER_TIME_LIMIT", SCHEDULER_SECONDS)


def in_child(compute: Callable[[], str], seconds: float) -> str | None:
    """``compute()``'s text, computed in a forked child process that is
    killed after ``seconds`` or when it maps more than
    :data:`CHILD_EXTRA_BYTES` beyond the parent's address space; None when
    it was killed, failed or raised.

    For a single isl call that ignores isl's own bounds: the parent waits in
    ``select`` and cannot be held by the call. Without ``os.fork`` (not a
    POSIX system) ``compute`` runs in process, unbounded. Precondition:
    ``compute`` touches no open files or locks the parent relies on.

    >>> in_child(lambda: "done", 1.0)
    'done'
    """
    if not hasattr(os, "fork"):
        return _text_or_none(compute)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's exit code is its report)
        os.close(read_end)
        _bound_address_space()
        text = _text_or_none(compute)
        if text is not None:
            _write_all(write_end, text.encode())
        os._exit(0 if text is not None else 1)
    os.close(write_end)
    try:
        data = _read_until(read_end, time.monotonic() + seconds)
    finally:
        os.close(read_end)
        if data is None:
            os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
    if data is None or os.waitstatus_to_exitcode(status) != 0:
        return None
    return data.decode()


def _text_or_none(compute: Callable[[], str]) -> str | None:
    try:
        return compute()
    except Exception:
        return None


def _bound_address_space() -> None:
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (mapped + CHILD_EXTRA_BYTES,) * 2)
    except (OSError, ValueError):
        pass


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _read_until(descriptor: int, deadline: float) -> bytes | None:
    """Everything the pipe carries up to its end, or None past ``deadline``."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([descriptor], [], [], left)[0]:
            return None
        chunk = os.read(descriptor, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
