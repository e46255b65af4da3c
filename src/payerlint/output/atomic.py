"""`-o FILE`: results are written to a temporary file beside FILE and renamed over it when
the run ends, so an interrupted run (Ctrl-C, a crash, a full disk) leaves either the old
FILE or the complete new one, never half of it. A rename within one folder is atomic on
POSIX and on Windows (os.replace)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator, TextIO


class OutputPathError(ValueError):
    """-o names something results cannot replace (a folder, a missing folder)."""


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[TextIO]:
    """A text stream whose content replaces `path` only if the block ends normally."""
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise OutputPathError(f"-o {path}: is a folder; name a file to write the results to")
    if not os.path.isdir(folder):
        raise OutputPathError(f"-o {path}: the folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _mode(target))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mode(target: str) -> int:
    """The file's own permissions when it exists, else what a new file gets (umask)."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
