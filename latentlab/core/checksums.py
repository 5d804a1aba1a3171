"""The SHA-256 of a data file on disk, computed once and remembered while the file is unchanged.

Data files are checked every time they are read, not only when downloaded: a bit flip inside a
valid gzip would otherwise train silently. Hashing MNIST's files on every load would cost more
than reading them, so a file's hash is remembered for as long as its size and modification time
(in nanoseconds) stay the same:

* in a sidecar stamp ``.<name>.verified`` beside the file (JSON: size, mtime_ns, sha256), which
  survives restarts and is shared by every process reading the folder;
* in this process, keyed by (device, inode, size, mtime_ns), which is all there is when the
  folder cannot be written (a shared read-only data folder: each file is hashed once per process).

A stamp records what the file hashed to, not that it was right: whether that is the expected
value is the caller's decision, made on every load. Writing to a file changes its mtime, so the
stamp stops applying and the file is hashed again. A file changed without changing its size and
mtime (``touch -r`` after an edit) is not noticed; nothing else here would do that.

Also reads ``SHA256SUMS`` lists, the format of ``sha256sum`` (and ``sha256sum -c``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from pathlib import Path

from latentlab.core.download import DataError

__all__ = ["STAMP_SUFFIX", "file_sha256", "read_sha256sums", "remember_sha256", "stamp_path"]

STAMP_SUFFIX = ".verified"

_HASH_BLOCK = 1024 * 1024
_known: dict[tuple[int, int, int, int], str] = {}  # (st_dev, st_ino, size, mtime_ns) -> sha256
_known_lock = threading.Lock()
_SUMS_LINE = re.compile(r"^(?P<sha256>[0-9a-fA-F]{64}) [ *](?P<name>.+)$")


def stamp_path(path: str | os.PathLike) -> Path:
    """Where the stamp of ``path`` lives: ``.<name>.verified`` in the same folder."""
    path = Path(path)
    return path.with_name(f".{path.name}{STAMP_SUFFIX}")


def file_sha256(path: str | os.PathLike, fresh: bool = False) -> str:
    """The SHA-256 (hex) of ``path``, from this process's memory, the stamp, or by hashing it.

    ``fresh=True`` hashes the file whatever is remembered (and remembers the new answer): worth it
    before telling a user a file is damaged, since a remembered hash could be out of date.
    """
    path = Path(path)
    before = _stat(path)
    key = _key(before)
    if not fresh:
        with _known_lock:
            known = _known.get(key)
        if known is not None:
            return known
        stamped = _read_stamp(path, before)
        if stamped is not None:
            _remember_in_process(key, stamped)
            return stamped
    digest = _hash_file(path)
    if _key(_stat(path)) == key:  # unchanged while it was hashed: safe to remember
        _remember_in_process(key, digest)
        _write_stamp(path, before, digest)
    return digest


def remember_sha256(path: str | os.PathLike, sha256: str) -> None:
    """Record that ``path`` (as it is now) hashes to ``sha256``; e.g. right after a verified download."""
    path = Path(path)
    status = _stat(path)
    _remember_in_process(_key(status), sha256.lower())
    _write_stamp(path, status, sha256.lower())


def read_sha256sums(path: str | os.PathLike) -> dict[str, str]:
    """{relative file name: sha256} from a ``sha256sum``-style list; {} if there is no such file.

    Lines are ``<64 hex digits><space><space or *><name>``; blank lines and ``#`` comments are
    skipped. A line that is neither is an error naming the file and line, since a list that is
    read wrongly would check nothing.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read the checksum list {path}: {exc}") from exc
    sums = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _SUMS_LINE.match(line.rstrip("\r"))
        if match is None:
            raise DataError(
                f"{path}, line {number}, is not '<sha256>  <file name>' (the format of "
                f"sha256sum): {line[:80]!r}"
            )
        name = match["name"].removeprefix("./")
        sums[name] = match["sha256"].lower()
    return sums


# --------------------------------------------------------------------------- helpers


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise DataError(f"Missing data file: {path}") from None
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}") from exc


def _key(status: os.stat_result) -> tuple[int, int, int, int]:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def _remember_in_process(key: tuple[int, int, int, int], digest: str) -> None:
    with _known_lock:
        _known[key] = digest


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while block := stream.read(_HASH_BLOCK):
                digest.update(block)
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _read_stamp(path: Path, status: os.stat_result) -> str | None:
    """The stamped hash if the stamp describes the file as it is now; None otherwise."""
    try:
        stamp = json.loads(stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict):
        return None
    sha256 = stamp.get("sha256")
    if (
        stamp.get("size") == status.st_size
        and stamp.get("mtime_ns") == status.st_mtime_ns
        and isinstance(sha256, str)
        and re.fullmatch(r"[0-9a-f]{64}", sha256)
    ):
        return sha256
    return None


def _write_stamp(path: Path, status: os.stat_result, sha256: str) -> None:
    """Write the stamp atomically; a folder that cannot be written just keeps no stamp."""
    text = json.dumps({"size": status.st_size, "mtime_ns": status.st_mtime_ns, "sha256": sha256})
    try:
        _write_atomically(stamp_path(path), text)
    except OSError:
        pass  # read-only folder, full disk: the in-process memory still saves re-hashing


def _write_atomically(target: Path, text: str) -> None:
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target)
    finally:
        Path(temp_name).unlink(missing_ok=True)
