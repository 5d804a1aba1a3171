"""Tests for latentlab.core.download: mirrors, checksums, sizes, cancellation, slow servers.

Every server is local (tests/file_server.py, 127.0.0.1) and ends by itself; nothing here touches
the network.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest

import file_server
from file_server import FileServer, Route
from latentlab.core.download import DataError, download_file

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
