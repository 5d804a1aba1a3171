"""Downloading data files safely: mirrors, checksums, sizes, progress, cancellation, slow servers.

The rules this module keeps:

* A file only ever appears under its final name once it is complete and its checksum has been
  verified. Bytes are streamed into a temporary ``.<name>.<random>.part`` file in the same folder
  (so the final ``os.replace`` is an atomic rename on the same file system), and that file is
  removed on every failure path: errors, a wrong size or checksum, low speed and cancellation.
* Part files left behind by a killed process are removed by the next download into the same
  folder, once they are older than ``STALE_PART_SECONDS`` (an hour). That rule cannot hit a live
  download: a live one writes its part file as bytes arrive, and one that stops receiving is ended
  by the low-speed limit within ``LOW_SPEED_SECONDS``, far less than an hour.
* Cancel (the ``cancel`` event) takes effect within ``POLL_SECONDS`` whatever the server does.
  The network work (name lookup, connect, reading) runs in a helper thread that hands chunks over
  a small queue; the calling thread never waits on it longer than ``POLL_SECONDS`` at a time, so a
  silent or trickling server cannot hold it. An abandoned helper thread ends by itself: it stops
  at its next chunk, or at the socket ``timeout`` at the latest, and it never touches the file.
* Low speed: a mirror that delivers fewer than ``LOW_SPEED_BYTES`` in any ``LOW_SPEED_SECONDS``
  (counted from the request, so a server that never answers counts too) fails with a message
  naming the URL, and the next mirror is tried; the same idea as curl's --speed-limit/--speed-time.
* Known size: when the caller knows the file's size, a server announcing another Content-Length is
  refused before any of the body is read, and a body without Content-Length is cut off (an error)
  as soon as it exceeds the size, so a wrong or endless response never fills the disk.

``DataError`` lives here because this is the lowest layer of the data code; the public
entry point is :mod:`latentlab.core.data`, which re-exports it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import queue
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "DataError",
    "DownloadCancelled",
    "LOW_SPEED_BYTES",
    "LOW_SPEED_SECONDS",
    "ProgressCallback",
    "STALE_PART_SECONDS",
    "download_file",
    "remove_stale_parts",
]

#: progress(done_bytes, total_bytes_or_None, filename)
ProgressCallback = Callable[[int, "int | None", str], None]

#: A mirror that delivers fewer than LOW_SPEED_BYTES in LOW_SPEED_SECONDS is given up (16 KiB in
#: 30 s, about 0.5 kB/s: far below any usable connection, far above a stalled or trickling server).
LOW_SPEED_BYTES = 16 * 1024
LOW_SPEED_SECONDS = 30.0

#: Part files older than this (by modification time) belong to no live download.
STALE_PART_SECONDS = 3600.0

#: The longest the calling thread waits for the network before it looks at ``cancel`` again.
POLL_SECONDS = 0.25

_CHUNK_BYTES = 64 * 1024
_QUEUE_CHUNKS = 16  # at most 1 MiB read ahead of the writer
_USER_AGENT = "latentlab (+https://github.com/; dataset downloader)"
# tempfile.mkstemp(prefix=".<name>.", suffix=".part") adds 8 characters from this alphabet.
_PART_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.part$")


class DataError(Exception):
    """A data file or folder is missing, unreadable, corrupt or could not be downloaded.

    The message is meant for the user: it names the file, folder or URL involved and,
    where possible, says what to do about it.
    """


class DownloadCancelled(DataError):
    """The caller set the ``cancel`` event while a download was running."""

    def __init__(self) -> None:
        super().__init__("download cancelled")


class _MirrorFailed(Exception):
    """One mirror served something wrong or too slowly (the next mirror may be fine)."""


def download_file(
    urls: Sequence[str],
    dest: str | os.PathLike,
    md5: str | None = None,
    sha256: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30,
    *,
    size: int | None = None,
    low_speed_bytes: int | None = None,
    low_speed_seconds: float | None = None,
) -> Path:
    """Download ``dest`` from the first of ``urls`` that works and return its path.

    Each URL is tried in turn. A mirror that fails (network error, HTTP error, truncated
    body, wrong size or checksum, too slow) is recorded and the next one is tried; if all fail,
    a DataError lists every URL with its error. Cancellation stops at once and is not retried.

    ``size`` is the file's known size in bytes, if any. ``timeout`` bounds each socket operation
    of the helper thread; ``low_speed_bytes``/``low_speed_seconds`` default to LOW_SPEED_BYTES and
    LOW_SPEED_SECONDS (0 bytes turns the limit off).
    """
    dest = Path(dest)
    if not urls:
        raise DataError(f"No download address is known for {dest.name}.")
    _make_folder(dest.parent)
    remove_stale_parts(dest.parent)
    speed = _SpeedLimit(
        LOW_SPEED_BYTES if low_speed_bytes is None else low_speed_bytes,
        LOW_SPEED_SECONDS if low_speed_seconds is None else low_speed_seconds,
    )

    failures: list[str] = []
    for url in urls:
        _raise_if_cancelled(cancel)
        try:
            _download_one(url, dest, md5, sha256, size, progress, cancel, timeout, speed)
            return dest
        except DownloadCancelled:
            raise
        except _MirrorFailed as exc:
            failures.append(f"  {url}: {exc}")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            failures.append(f"  {url}: {_describe_network_error(exc)}")

    raise DataError(
        f"Could not download {dest.name} to {dest.parent}. Every address failed:\n"
        + "\n".join(failures)
    )


def remove_stale_parts(folder: str | os.PathLike, older_than: float = STALE_PART_SECONDS) -> list[Path]:
    """Delete the part files of downloads that died (killed process) in ``folder``; return them.

    Only names this module makes (``.<name>.<8 random characters>.part``) last modified more
    than ``older_than`` seconds ago; anything that cannot be removed is left alone.
    """
    removed = []
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _PART_NAME.match(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass  # vanished meanwhile, or not ours to delete
    return removed


def _download_one(url, dest: Path, md5, sha256, size, progress, cancel, timeout, speed) -> None:
    """Fetch one URL into a temp file, verify it and move it to ``dest``."""
    fd, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    temp_path = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digests = _stream(url, out, dest.name, size, progress, cancel, timeout, speed)
        _verify(digests, md5, sha256)
        # mkstemp creates files readable by their owner only; data files are for everyone.
        os.chmod(temp_path, 0o644)
        os.replace(temp_path, dest)
    finally:
        # After a successful os.replace the temp name no longer exists; otherwise this
        # is what guarantees no half-written file is left behind.
        temp_path.unlink(missing_ok=True)


def _stream(url, out, filename, size, progress, cancel, timeout, speed) -> dict:
    """Copy the response body into ``out`` chunk by chunk, hashing as we go.

    Runs in the caller's thread; the network is read by a `_Fetcher` thread. Every wait is at
    most POLL_SECONDS long, and after each one ``cancel`` and the low-speed limit are checked.
    """
    digests = {"md5": hashlib.md5(), "sha256": hashlib.sha256()}
    fetcher = _Fetcher(url, timeout, size, filename)
    speed.start()
    fetcher.start()
    total = None
    done = 0
    try:
        while True:
            _raise_if_cancelled(cancel)
            try:
                kind, value = fetcher.chunks.get(timeout=POLL_SECONDS)
            except queue.Empty:
                speed.check(done)
                continue
            if kind == "error":
                raise value
            if kind == "end":
                break
            if kind == "headers":
                total = value
                _report(progress, done, total if total is not None else size, filename)
                continue
            done += len(value)
            if size is not None and done > size:
                raise _MirrorFailed(
                    f"the server sent more than the {size:,} bytes {filename} has; "
                    "stopped there (wrong file?)"
                )
            out.write(value)
            for digest in digests.values():
                digest.update(value)
            _report(progress, done, total if total is not None else size, filename)
            speed.check(done)
    finally:
        fetcher.stop()
    expected = total if total is not None else size
    if expected is not None and done != expected:
        raise OSError(f"connection closed after {done} of {expected} bytes")
    return digests


class _Fetcher(threading.Thread):
    """Reads one URL in its own thread and hands the caller ("headers" | "data" | "end" | "error", value).

    Only this thread blocks on the network. It checks ``stopped`` after every chunk and never
    waits on the queue without looking at it too, so once the caller has given up it ends at its
    next chunk or socket timeout, closing the connection on the way out.
    """

    def __init__(self, url: str, timeout: float, size: int | None, filename: str):
        super().__init__(name=f"latentlab download {filename}", daemon=True)
        self.url, self.timeout, self.size, self.filename = url, timeout, size, filename
        self.chunks: queue.Queue = queue.Queue(maxsize=_QUEUE_CHUNKS)
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        try:
            request = urllib.request.Request(self.url, headers={"User-Agent": _USER_AGENT})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                length = _content_length(response)
                if self.size is not None and length is not None and length != self.size:
                    raise _MirrorFailed(
                        f"the server announces {length:,} bytes, but {self.filename} is "
                        f"{self.size:,} bytes; refused without reading it (wrong file?)"
                    )
                self._hand_over("headers", length)
                # read1 returns what has arrived (up to a chunk) instead of waiting for a
                # whole chunk, so a slow server still shows progress.
                read = getattr(response, "read1", response.read)
                while not self.stopped.is_set():
                    chunk = read(_CHUNK_BYTES)
                    if not chunk:
                        break
                    self._hand_over("data", chunk)
            self._hand_over("end", None)
        except Exception as exc:  # handed to the caller, who decides what it means
            self._hand_over("error", exc)

    def _hand_over(self, kind: str, value) -> None:
        while not self.stopped.is_set():
            try:
                self.chunks.put((kind, value), timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue


class _SpeedLimit:
    """Fails a transfer that gets fewer than ``min_bytes`` in any window of ``seconds``.

    Consecutive windows start when the request is made; a window that reaches ``min_bytes``
    starts the next one.
    """

    def __init__(self, min_bytes: int, seconds: float):
        self.min_bytes, self.seconds = min_bytes, seconds
        self.start()

    def start(self) -> None:
        self.window_start, self.window_bytes = time.monotonic(), 0

    def check(self, done: int) -> None:
        if self.min_bytes <= 0:
            return
        elapsed = time.monotonic() - self.window_start
        if elapsed < self.seconds:
            if done - self.window_bytes >= self.min_bytes:
                self.window_start, self.window_bytes = time.monotonic(), done
            return
        got = done - self.window_bytes
        if got < self.min_bytes:
            raise _MirrorFailed(
                f"too slow: {got:,} bytes in {elapsed:.1f} s, fewer than the minimum of "
                f"{self.min_bytes:,} bytes per {self.seconds:g} s; gave up"
            )
        self.window_start, self.window_bytes = time.monotonic(), done


def _verify(digests, md5: str | None, sha256: str | None) -> None:
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is None:
            continue
        got = digests[algorithm].hexdigest()
        if got != expected.lower():
            raise _MirrorFailed(
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
