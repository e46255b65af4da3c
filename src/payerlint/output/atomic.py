"""`-o FILE`: results are written to a temporary file beside FILE and renamed over it when
the run ends, so an interrupted run (Ctrl-C, a crash, a full disk) leaves either the old
FILE or the complete new one, never half of it. A rename within one folder is atomic on
POSIX and on Windows (os.replace)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import Iterable, Iterator, TextIO


class OutputPathError(ValueError):
    """-o names something results cannot replace: a folder, a missing folder, a device,
    pipe or socket, a file being read, or a place inside a folder being read."""


def output_target(path: str, inputs: Iterable[str] = (), encoding_name: str = "results") -> str:
    """The regular file `-o path` will replace (a symlink is written through, to the file
    it names), or OutputPathError saying why not. Only a regular file or a new name is
    replaced: a device, a pipe or a socket is never turned into a file (as root, `-o
    /dev/null` would otherwise replace the device), and neither is an input of the run,
    nor a file inside a folder the run reads (the next run would read the results as input)."""
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise OutputPathError(f"-o {path}: is a folder; name a file to write the {encoding_name} to")
    if not os.path.isdir(folder):
        raise OutputPathError(f"-o {path}: the folder {folder} does not exist")
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputPathError(f"-o {path}: cannot use it ({exc.strerror})") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputPathError(f"-o {path}: is not a regular file (a device, pipe or socket); name a file to write "
                              f"the {encoding_name} to, or leave -o out to write to standard output")
    for given in inputs:
        if given == "-":
            continue
        source = os.path.realpath(given)
        if source == target:
            raise OutputPathError(f"-o {path}: is an input of this run; write the {encoding_name} to another file")
        if os.path.isdir(source) and target.startswith(source.rstrip(os.sep) + os.sep):
            raise OutputPathError(f"-o {path}: is inside the folder {given} being read; the next run would read "
                                  f"the {encoding_name} as input: write them outside it")
    return target


@contextlib.contextmanager
def atomic_output(path: str, inputs: Iterable[str] = (), encoding: str = "utf-8",
                  what: str = "results") -> Iterator[TextIO]:
    """A text stream whose content replaces `path` only if the block ends normally."""
    target = output_target(path, inputs, what)
    folder = os.path.dirname(target)
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding=encoding, newline="") as stream:
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
