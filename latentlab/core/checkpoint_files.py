"""The file-system side of checkpoints: what may be opened.

Only a regular, non-empty file no larger than MAX_CHECKPOINT_BYTES is opened, and that is checked
before opening (a FIFO named like a checkpoint would block a reader for ever) and again on the
open file. `check_checkpoint_file` is the cheap check alone, for the GUI. No torch here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

# The largest file read (or written) as a checkpoint. Far above any model latentlab trains today
# (the shipped MNIST models are 2-13 MB; a full checkpoint with Adam state is about three times
# the float32 weights, so 2 GiB is ~180 million parameters), and low enough that a stray video or
# disk image named *.pt is refused at once instead of read into memory. Every reader takes
# `max_bytes=` to override it.
MAX_CHECKPOINT_BYTES = 2 * 1024 ** 3


class CheckpointError(Exception):
    """A checkpoint could not be read or written; the message is meant for the user.

    Defined here, the lowest layer; `latentlab.core.checkpoint` (its public home) re-exports it.
    """


def format_size(n: float) -> str:
    """Bytes in binary units, as MAX_CHECKPOINT_BYTES is documented (2 GiB)."""
    if n < 1024:
        return f"{n:.0f} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:.1f} {unit}"


# == reading ======================================================================================
def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _check_stat(path: Path, st: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{path} is {_kind(st.st_mode)}, not a checkpoint file; it was not opened")
    if st.st_size == 0:
        raise CheckpointError(f"{path} is empty: not a latentlab checkpoint")
    if st.st_size > max_bytes:
        raise CheckpointError(f"{path} is too large to be a latentlab checkpoint ({format_size(st.st_size)}; "
                              f"the limit is {format_size(max_bytes)}); it was not read")


def check_checkpoint_file(path: str | os.PathLike, *, max_bytes: int = MAX_CHECKPOINT_BYTES) -> Path:
    """Cheap checks before opening: the path exists, is a regular non-empty file and is not larger
    than `max_bytes`. Returns it as a Path; raises CheckpointError. Nothing is opened or read."""
    path = Path(path)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise CheckpointError(f"No such checkpoint: {path}") from None
    except OSError as e:
        raise CheckpointError(f"Cannot read {path}: {e.strerror or e}") from e
    _check_stat(path, st, max_bytes)
    return path


def open_checked(path: Path, max_bytes: int = MAX_CHECKPOINT_BYTES) -> BinaryIO:
    """Open a checkpoint for reading after check_checkpoint_file. O_NONBLOCK makes opening a FIFO
    return at once, should one replace the file between the check and the open; the open file is
    checked again (fstat), so what is read is what was checked."""
    check_checkpoint_file(path, max_bytes=max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise CheckpointError(f"Cannot read {path}: {e.strerror or e}") from e
    try:
        _check_stat(path, os.fstat(fd), max_bytes)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")
