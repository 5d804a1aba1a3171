"""Downloading data files safely: mirrors, checksums, progress and cancellation.

The rule this module keeps: a file only ever appears under its final name once it is
complete and its checksum has been verified. Bytes are streamed into a temporary file in
the same folder (so the final ``os.replace`` is an atomic rename on the same file system),
and the temporary file is removed on every failure path, including cancellation.

``DataError`` lives here because this is the lowest layer of the data code; the public
entry point is :mod:`latentlab.core.data`, which re-exports it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["DataError", "DownloadCancelled", "ProgressCallback", "download_file"]

#: progress(done_bytes, total_bytes_or_None, filename)
ProgressCallback = Callable[[int, "int | None", str], None]

_CHUNK_BYTES = 64 * 1024
_USER_AGENT = "latentlab (+https://github.com/; dataset downloader)"


class DataError(Exception):
    """A data file or folder is missing, unreadable, corrupt or could not be downloaded.

    The message is meant for the user: it names the file, folder or URL involved and,
    where possible, says what to do about it.
    """


class DownloadCancelled(DataError):
    """The caller set the ``cancel`` event while a download was running."""

    def __init__(self) -> None:
        super().__init__("download cancelled")


class _ChecksumMismatch(Exception):
    """One mirror served bytes whose checksum is wrong (the next mirror may be fine)."""


def download_file(
    urls: Sequence[str],
    dest: str | os.PathLike,
    md5: str | None = None,
    sha256: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30,
) -> Path:
    """Download ``dest`` from the first of ``urls`` that works and return its path.

    Each URL is tried in turn. A mirror that fails (network error, HTTP error, truncated
    body, wrong checksum) is recorded and the next one is tried; if all fail, a DataError
    lists every URL with its error. Cancellation stops at once and is not retried.
    """
    dest = Path(dest)
    if not urls:
        raise DataError(f"No download address is known for {dest.name}.")
    _make_folder(dest.parent)

    failures: list[str] = []
    for url in urls:
        _raise_if_cancelled(cancel)
        try:
            _download_one(url, dest, md5, sha256, progress, cancel, timeout)
            return dest
        except DownloadCancelled:
            raise
        except _ChecksumMismatch as exc:
            failures.append(f"  {url}: {exc}")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            failures.append(f"  {url}: {_describe_network_error(exc)}")

    raise DataError(
        f"Could not download {dest.name} to {dest.parent}. Every address failed:\n"
        + "\n".join(failures)
    )


def _download_one(url, dest: Path, md5, sha256, progress, cancel, timeout) -> None:
    """Fetch one URL into a temp file, verify it and move it to ``dest``."""
    fd, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    temp_path = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digests = _stream(url, out, dest.name, progress, cancel, timeout)
        _verify(digests, md5, sha256)
        # mkstemp creates files readable by their owner only; data files are for everyone.
        os.chmod(temp_path, 0o644)
        os.replace(temp_path, dest)
    finally:
        # After a successful os.replace the temp name no longer exists; otherwise this
        # is what guarantees no half-written file is left behind.
        temp_path.unlink(missing_ok=True)


def _stream(url, out, filename, progress, cancel, timeout) -> dict:
    """Copy the response body into ``out`` chunk by chunk, hashing as we go."""
    digests = {"md5": hashlib.md5(), "sha256": hashlib.sha256()}
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = _content_length(response)
        done = 0
        _report(progress, done, total, filename)
        while chunk := response.read(_CHUNK_BYTES):
            _raise_if_cancelled(cancel)
            out.write(chunk)
            for digest in digests.values():
                digest.update(chunk)
            done += len(chunk)
            _report(progress, done, total, filename)
    if total is not None and done != total:
        raise OSError(f"connection closed after {done} of {total} bytes")
    return digests


def _verify(digests, md5: str | None, sha256: str | None) -> None:
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is None:
            continue
        got = digests[algorithm].hexdigest()
        if got != expected.lower():
            raise _ChecksumMismatch(
                f"wrong {algorithm.upper()} checksum: expected {expected.lower()}, got {got}"
            )


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _report(progress, done: int, total: int | None, filename: str) -> None:
    if progress is not None:
        progress(done, total, filename)


def _raise_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled()


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"Cannot create the data folder {folder}: {exc.strerror or exc}") from exc


def _describe_network_error(exc: BaseException) -> str:
    """A one-line, human-readable reason (urllib's reprs are noisy)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return str(exc) or type(exc).__name__
