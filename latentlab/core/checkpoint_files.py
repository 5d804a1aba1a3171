"""The file-system side of checkpoints: what may be opened, and how a file is replaced safely.

* Reading: only a regular, non-empty file no larger than MAX_CHECKPOINT_BYTES is opened, and that
  is checked before opening (a FIFO named like a checkpoint would block a reader for ever) and
  again on the open file. `check_checkpoint_file` is the cheap check alone, for the GUI.
* Writing: `write_atomically` writes a temporary file in the target's folder, fsyncs it and
  renames it over the target, so a process killed mid-save (or a full disk) leaves the previous
  file intact. A failure for lack of space says so (torch's own message does not).
* The temporary files that killed saves leave behind are removed by the next save of the same
  file (`remove_stale_temp_files`; the rules that make this safe are below).

No torch here: the caller passes the function that writes the bytes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable

# The largest file read (or written) as a checkpoint. Far above any model latentlab trains today
# (the shipped MNIST models are 2-13 MB; a full checkpoint with Adam state is about three times
# the float32 weights, so 2 GiB is ~180 million parameters), and low enough that a stray video or
# disk image named *.pt is refused at once instead of read into memory. Every reader and
# save_checkpoint take `max_bytes=` to override it.
MAX_CHECKPOINT_BYTES = 2 * 1024 ** 3
# What File > Open, drops and the canvas take as checkpoints. Here, not in checkpoint.py, so that the
# views can know it without importing torch (the app's first look comes up before torch is in).
CHECKPOINT_SUFFIXES = (".pt", ".pth")


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


# == writing ======================================================================================
def write_atomically(path: Path, write: Callable[[BinaryIO], None], *, needed_bytes: int = 0,
                     max_bytes: int = MAX_CHECKPOINT_BYTES) -> Path:
    """Replace `path` by what `write(file)` writes, or leave it as it was.

    Raises CheckpointError for any OSError or RuntimeError (what torch.save raises), saying "No
    space left on device" when that was the cause; `needed_bytes` (a lower bound on the file's
    size) helps tell. A file above `max_bytes` is refused, since it could not be read back.
    """
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(path)  # first: on a nearly full disk their space is what this save needs
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise CheckpointError(f"Could not save checkpoint {path}: it would be {format_size(size)}, more than "
                                  f"the {format_size(max_bytes)} latentlab reads. {_UNCHANGED}")
        os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp makes it owner-only; a checkpoint is an ordinary file
        os.replace(tmp_name, path)
        _fsync_dir(path.parent)
    except BaseException as e:
        # Diagnose before deleting the temporary file: its size is part of the evidence.
        error = _save_error(path, e, tmp_name, needed_bytes) if isinstance(e, (OSError, RuntimeError)) else None
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
        if error is not None:
            raise error from e
        raise
    return path


_UNCHANGED = "The previous file, if any, is unchanged."


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, not safe to flip in threads


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not supported on every platform (Windows); the rename itself is atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- a full disk ---------------------------------------------------------------------------------
_NO_SPACE = {errno.ENOSPC: ""}
if hasattr(errno, "EDQUOT"):
    _NO_SPACE[errno.EDQUOT] = " (disk quota exceeded)"


def _save_error(path: Path, e: BaseException, tmp_name: str | None, needed_bytes: int) -> CheckpointError:
    """The user's message for a failed save, saying so plainly when the disk (or quota) is full.

    An OSError carries its errno, possibly as the context of torch's own error. torch's C++ writer
    reports a short write as "[enforce fail at inline_container.cc:...] unexpected pos ..." with no
    errno, so then the disk is asked: if its free space plus what was already written is less than
    the file needs, the disk was full. Call it before deleting the temporary file.
    """
    written = 0
    try:
        written = os.stat(tmp_name).st_size if tmp_name else 0
    except OSError:
        pass
    quota = next((_NO_SPACE[err.errno] for err in _chain(e)
                  if isinstance(err, OSError) and err.errno in _NO_SPACE), None)
    free = None
    try:
        free = shutil.disk_usage(path.parent).free + written  # what is free once the temp file is gone
    except OSError:
        pass
    short = free is not None and free < needed_bytes + (1 << 20)  # + pickle and zip overhead, generously
    if quota is None and isinstance(e, RuntimeError) and short:
        quota = ""
    if quota is not None:
        # The sizes only when they tell the story (not for a quota, nor for a disk out of inodes).
        detail = f" (it needs at least {format_size(needed_bytes)}; {format_size(free)} free there)" \
            if quota == "" and short else ""
        return CheckpointError(f"No space left on device{quota}: could not save checkpoint {path}{detail}. "
                               f"Free some space or save elsewhere. {_UNCHANGED}")
    text = getattr(e, "strerror", None) or (str(e).splitlines()[0] if str(e) else type(e).__name__)
    return CheckpointError(f"Could not save checkpoint {path}: {text}. {_UNCHANGED}")


def _chain(e: BaseException | None):
    """An exception and the ones it was raised from or during."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


# -- temporary files left by killed saves ----------------------------------------------------------
# A temporary file is named `.{file name}.{writer}-{pid}.{random}.tmp`, where `writer` identifies
# the machine and PID namespace of the writing process (a short hash of the host name and, on
# Linux, /proc/self/ns/pid). The next save of the same file removes such a file
#
# * at once when its writer is this machine and namespace and no process with that pid exists.
#   A save in progress belongs to a live process, so it is never removed; a pid reused by an
#   unrelated process only keeps a stale file longer. Pids from other machines (a run folder
#   shared over the network) or containers mean nothing here, so their files are not judged by
#   pid; nor on Windows, where os.kill would end the process.
# * whatever its writer, once nothing has written to it for ABANDONED_TEMP_AGE (a day). A save
#   writes continuously and takes seconds, so a file untouched for a day is no save in progress,
#   even with the clocks of two machines hours apart. This also clears files of a container that
#   was replaced (a new host name) and those of latentlab versions before this scheme, whose
#   names (`.{name}.{8 random}.tmp`) carry no pid.
ABANDONED_TEMP_AGE = 24 * 3600.0
TEMP_MIDDLE = re.compile(r"(?P<writer>[0-9a-f]{8})-(?P<pid>[0-9]+)\.[a-z0-9_]+")
_LEGACY_MIDDLE = re.compile(r"[a-z0-9_]{8}")


def writer_id() -> str:
    """This machine and PID namespace, as the 8 hex digits in the names of its temporary files."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except (OSError, AttributeError):
        namespace = ""
    return hashlib.sha1(f"{socket.gethostname()}\0{namespace}".encode()).hexdigest()[:8]


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{writer_id()}-{os.getpid()}."


def _process_exists(pid: int) -> bool:
    if os.name == "nt" or pid <= 0:
        return True  # cannot tell safely: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it exists, as another user; a pid beyond C's int
        return True
    return True


def remove_stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed saves of `path` left in its folder (see the rules
    above). Best effort: returns what was removed and never raises."""
    path = Path(path)
    prefix, writer, removed = f".{path.name}.", writer_id(), []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix):-len(".tmp")]
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            match = TEMP_MIDDLE.fullmatch(middle)
            if not (match or _LEGACY_MIDDLE.fullmatch(middle)):
                continue  # not a temporary file of this checkpoint (e.g. one of checkpoint "run.pt.x")
            stale = bool(match) and match["writer"] == writer and not _process_exists(int(match["pid"]))
            if not stale:
                stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > ABANDONED_TEMP_AGE
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed
