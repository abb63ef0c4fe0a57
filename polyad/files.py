"""Writing files so that nothing a user had is lost half-way."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from polyad.errors import UsageError


def write_atomically(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same
    directory and an atomic rename: readers see the old or the new file,
    never a partial one.

    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "out.c")
    >>> write_atomically(target, "int x;\\n"); open(target).read()
    'int x;\\n'
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.",
                                             suffix=".tmp")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
