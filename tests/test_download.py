"""Tests for latentlab.core.download: mirrors, checksums, sizes, cancellation, slow servers.

Every server is local (tests/file_server.py, 127.0.0.1) and ends by itself; nothing here touches
the network.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time

import numpy as np
import pytest

import file_server
from file_server import FileServer, Route
from latentlab.core.download import STALE_PART_SECONDS, DataError, download_file

PAYLOAD = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    routes = {"/data/file.bin": PAYLOAD, "/lying/file.bin": Route(PAYLOAD, len(PAYLOAD) + 1000)}
    with FileServer(routes) as httpd:
        yield httpd


@pytest.fixture
def refused_url() -> str:
    return file_server.refused_url()


def test_download_good_file_with_progress(server, tmp_path):
    calls = []
    dest = tmp_path / "sub" / "file.bin"
    result = download_file(
        [server.url + "/data/file.bin"], dest, md5=PAYLOAD_MD5, sha256=PAYLOAD_SHA256,
        progress=lambda done, total, name: calls.append((done, total, name)),
    )
    assert result == dest and dest.read_bytes() == PAYLOAD
    size = len(PAYLOAD)
    assert calls[0] == (0, size, "file.bin") and calls[-1] == (size, size, "file.bin")
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]  # no temp file left


@pytest.mark.parametrize("which", ["md5", "sha256"])
def test_download_wrong_checksum_leaves_nothing(server, tmp_path, which):
    wrong = "0" * (32 if which == "md5" else 64)
    sums = {"md5": PAYLOAD_MD5, "sha256": PAYLOAD_SHA256, which: wrong}
    with pytest.raises(DataError) as info:
        download_file([server.url + "/data/file.bin"], tmp_path / "file.bin", **sums)
    message = str(info.value)
    assert "file.bin" in message and "expected " + "0" * 32 in message
    assert (PAYLOAD_MD5 if which == "md5" else PAYLOAD_SHA256) in message  # what we got
    assert list(tmp_path.iterdir()) == []


def test_download_404_and_refused(server, tmp_path, refused_url):
    dead = server.url + "/data/missing.bin"
    with pytest.raises(DataError) as info:
        download_file([dead, refused_url], tmp_path / "file.bin", timeout=5)
    message = str(info.value)
    assert "file.bin" in message and dead in message and refused_url in message
    assert "404" in message and "refused" in message.lower()
    assert list(tmp_path.iterdir()) == []


def test_download_falls_back_to_second_mirror(server, tmp_path, refused_url):
    urls = [server.url + "/data/missing.bin", refused_url, server.url + "/data/file.bin"]
    download_file(urls, tmp_path / "file.bin", md5=PAYLOAD_MD5, timeout=5)
    assert (tmp_path / "file.bin").read_bytes() == PAYLOAD


def test_download_truncated_body_is_an_error(server, tmp_path):
    with pytest.raises(DataError, match="lying/file.bin"):
        download_file([server.url + "/lying/file.bin"], tmp_path / "file.bin", timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_download_cancel_midway(server, tmp_path):
    cancel = threading.Event()

    def cancel_after_first_chunk(done, total, name):
        if done > 0:
            cancel.set()

    with pytest.raises(DataError, match="download cancelled"):
        download_file([server.url + "/data/file.bin", server.url + "/data/file.bin"],
                      tmp_path / "file.bin", progress=cancel_after_first_chunk, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- slow and stalling servers


def _cancel_when(event: threading.Event, cancel: threading.Event) -> None:
    """Set ``cancel`` as soon as ``event`` is (from another thread, as the GUI does)."""
    threading.Thread(target=lambda: event.wait(10) and cancel.set(), daemon=True).start()


@pytest.mark.parametrize("where", ["mid-body", "before the headers"])
def test_cancel_does_not_wait_for_a_stalled_server(tmp_path, where):
    """The server sends part of the body (or nothing) and then holds the connection open. Cancel
    must end the download while the server still holds it, i.e. without waiting for the server."""
    route = Route(PAYLOAD, hold_after=1000) if where == "mid-body" else \
        Route(PAYLOAD, hold_before_headers=True)
    cancel = threading.Event()
    with FileServer({"/stall/file.bin": route}) as server:
        _cancel_when(server.holding, cancel)
        with pytest.raises(DataError, match="download cancelled"):
            download_file([server.url + "/stall/file.bin"], tmp_path / "file.bin", cancel=cancel)
        assert server.holding.is_set() and not server.hold_timed_out.is_set()
    assert list(tmp_path.iterdir()) == []


def test_cancel_does_not_wait_for_a_trickling_server(tmp_path):
    cancel = threading.Event()
    with FileServer({"/slow/file.bin": Route(PAYLOAD[:100], trickle_s=0.5)}) as server:
        with pytest.raises(DataError, match="download cancelled"):
            download_file([server.url + "/slow/file.bin"], tmp_path / "file.bin", cancel=cancel,
                          progress=lambda done, total, name: done > 0 and cancel.set())
        assert len(server.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_trickling_server_fails_the_low_speed_limit(tmp_path):
    with FileServer({"/slow/file.bin": Route(PAYLOAD[:200], trickle_s=0.05)}) as server:
        url = server.url + "/slow/file.bin"
        with pytest.raises(DataError) as info:
            download_file([url], tmp_path / "file.bin", low_speed_bytes=1000, low_speed_seconds=0.3)
    message = str(info.value)
    assert url in message and "file.bin" in message
    assert "too slow" in message and "1,000 bytes per 0.3 s" in message
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_never_answers_fails_the_low_speed_limit_then_the_next_mirror_works(tmp_path):
    routes = {"/silent/file.bin": Route(PAYLOAD, hold_before_headers=True), "/ok/file.bin": PAYLOAD}
    with FileServer(routes) as server:
        dest = download_file([server.url + "/silent/file.bin", server.url + "/ok/file.bin"],
                             tmp_path / "file.bin", sha256=PAYLOAD_SHA256,
                             low_speed_bytes=1, low_speed_seconds=1.0)
        assert not server.hold_timed_out.is_set()  # given up by the limit, not by the server
        assert server.requests == ["/silent/file.bin", "/ok/file.bin"]
    assert dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


def test_a_slow_server_above_the_limit_is_fine(tmp_path):
    body = PAYLOAD[:20]
    with FileServer({"/slow/file.bin": Route(body, trickle_s=0.01)}) as server:
        dest = download_file([server.url + "/slow/file.bin"], tmp_path / "file.bin",
                             sha256=hashlib.sha256(body).hexdigest(),
                             low_speed_bytes=1, low_speed_seconds=5)
    assert dest.read_bytes() == body


# --------------------------------------------------------------------------- known sizes


def test_a_content_length_other_than_the_known_size_is_refused_before_the_body(tmp_path):
    with FileServer({"/big/file.bin": Route(PAYLOAD, hold_after=0)}) as server:
        with pytest.raises(DataError) as info:
            download_file([server.url + "/big/file.bin"], tmp_path / "file.bin", size=1000)
        assert not server.hold_timed_out.is_set()  # refused without waiting for the body
    message = str(info.value)
    assert f"announces {len(PAYLOAD):,} bytes" in message and "file.bin is 1,000 bytes" in message
    assert list(tmp_path.iterdir()) == []


def test_a_body_without_content_length_stops_at_the_known_size(tmp_path):
    with FileServer({"/endless/file.bin": Route(PAYLOAD, content_length=None)}) as server:
        with pytest.raises(DataError, match="more than the 1,000 bytes file.bin has"):
            download_file([server.url + "/endless/file.bin"], tmp_path / "file.bin", size=1000)
    assert list(tmp_path.iterdir()) == []


def test_a_body_without_content_length_of_the_known_size_downloads(tmp_path):
    calls = []
    with FileServer({"/plain/file.bin": Route(PAYLOAD, content_length=None)}) as server:
        download_file([server.url + "/plain/file.bin"], tmp_path / "file.bin", size=len(PAYLOAD),
                      sha256=PAYLOAD_SHA256, progress=lambda *call: calls.append(call))
    assert (tmp_path / "file.bin").read_bytes() == PAYLOAD
    assert calls[0] == (0, len(PAYLOAD), "file.bin")  # the known size stands in for the header


def test_a_body_without_content_length_shorter_than_the_known_size_is_an_error(tmp_path):
    with FileServer({"/short/file.bin": Route(PAYLOAD[:500], content_length=None)}) as server:
        with pytest.raises(DataError, match="closed after 500 of 1,000|500 of 1000"):
            download_file([server.url + "/short/file.bin"], tmp_path / "file.bin", size=1000)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- stale part files


def test_stale_part_files_are_removed_by_the_next_download(server, tmp_path):
    def part(name: str, age_s: float):
        path = tmp_path / name
        path.write_bytes(b"half a file")
        os.utime(path, (time.time() - age_s, time.time() - age_s))
        return path

    killed = part(".file.bin.k1ll3d_x.part", 2 * STALE_PART_SECONDS)  # a download killed long ago
    other_killed = part(".t10k.gz.abcdefgh.part", 2 * STALE_PART_SECONDS)
    live = part(".other.bin.l1ve0000.part", 10)  # another process is writing it now
    users = [part("notes.part", 2 * STALE_PART_SECONDS), part(".notes.part", 2 * STALE_PART_SECONDS)]

    download_file([server.url + "/data/file.bin"], tmp_path / "file.bin", sha256=PAYLOAD_SHA256)

    assert not killed.exists() and not other_killed.exists()
    assert live.exists() and all(p.exists() for p in users)
