"""Tests for latentlab.core.checksums: a file's SHA-256, remembered while the file is unchanged."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from latentlab.core import checksums
from latentlab.core.checksums import file_sha256, read_sha256sums, remember_sha256, stamp_path
from latentlab.core.download import DataError

BODY = b"some data file\n" * 1000
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def hashed(monkeypatch) -> list[Path]:
    """The files really hashed from now on, in a process that remembers nothing yet."""
    seen = []
    real = checksums._hash_file
    monkeypatch.setattr(checksums, "_hash_file", lambda path: seen.append(path) or real(path))
    monkeypatch.setattr(checksums, "_known", {})
    return seen


def _touch_later(path: Path) -> None:
    mtime = path.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(mtime, mtime))


def test_hash_is_computed_once_and_stamped(tmp_path, hashed, monkeypatch):
    path = tmp_path / "data.gz"
    path.write_bytes(BODY)
    assert file_sha256(path) == BODY_SHA256 and file_sha256(path) == BODY_SHA256
    assert hashed == [path]
    stamp = json.loads(stamp_path(path).read_text())
    assert stamp_path(path).name == ".data.gz.verified"
    assert stamp == {"size": len(BODY), "mtime_ns": path.stat().st_mtime_ns, "sha256": BODY_SHA256}
    monkeypatch.setattr(checksums, "_known", {})  # a new process reads the stamp
    assert file_sha256(path) == BODY_SHA256 and hashed == [path]


def test_a_changed_file_is_hashed_again(tmp_path, hashed):
    path = tmp_path / "data.gz"
    path.write_bytes(BODY)
    file_sha256(path)
    path.write_bytes(BODY[:-1] + b"?")
    _touch_later(path)
    assert file_sha256(path) == hashlib.sha256(BODY[:-1] + b"?").hexdigest()
    assert hashed == [path, path]


@pytest.mark.parametrize("stamp", ["not json", "[1, 2]", '{"size": 1}',
                                   '{"size": %d, "mtime_ns": 0, "sha256": "%s"}'])
def test_a_stamp_that_does_not_describe_the_file_is_ignored(tmp_path, hashed, stamp):
    path = tmp_path / "data.gz"
    path.write_bytes(BODY)
    if "%" in stamp:
        stamp = stamp % (len(BODY), "0" * 64)  # the right size, another mtime
    stamp_path(path).write_text(stamp)
    assert file_sha256(path) == BODY_SHA256 and hashed == [path]


def test_fresh_hashes_whatever_is_remembered(tmp_path, hashed):
    path = tmp_path / "data.gz"
    path.write_bytes(BODY)
    remember_sha256(path, "f" * 64)  # say, a stale stamp
    assert file_sha256(path) == "f" * 64 and hashed == []
    assert file_sha256(path, fresh=True) == BODY_SHA256 and hashed == [path]
    assert file_sha256(path) == BODY_SHA256  # and the fresh answer is remembered


def test_remember_writes_the_stamp_for_the_file_as_it_is(tmp_path, hashed):
    path = tmp_path / "data.gz"
    path.write_bytes(BODY)
    remember_sha256(path, BODY_SHA256.upper())
    assert json.loads(stamp_path(path).read_text())["sha256"] == BODY_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == [".data.gz.verified", "data.gz"]


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="Missing data file.*gone.gz"):
        file_sha256(tmp_path / "gone.gz")


def test_read_sha256sums(tmp_path):
    path = tmp_path / "SHA256SUMS"
    assert read_sha256sums(path) == {}
    path.write_text(f"# made by sha256sum\n\n{'A' * 64}  mnist/a.gz\n{'b' * 64} *./frey-face/f.mat\r\n")
    assert read_sha256sums(path) == {"mnist/a.gz": "a" * 64, "frey-face/f.mat": "b" * 64}
    path.write_text(f"{'a' * 64}  mnist/a.gz\n{'a' * 63}  mnist/b.gz\n")
    with pytest.raises(DataError, match=r"SHA256SUMS, line 2, is not"):
        read_sha256sums(path)
