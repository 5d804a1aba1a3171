"""Replacing a small file whole or not at all: write a temporary file beside it, then rename it over.

(Checkpoints have their own, fsynced version in checkpoint_files.py.)
"""

from __future__ import annotations

import os
from pathlib import Path


def replace_file(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; OSError naming the file when it cannot be written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")   # beside it: os.replace is then atomic
    try:
        with open(tmp, "wb") as f:   # plain open: the user's umask decides the permissions
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot write {path}: {e.strerror or e}") from e
    return path


def check_target(path, what: str) -> Path:
    """`path` as a Path, checked before any work is spent on what goes into it: ValueError naming
    it when it is a folder or its folder does not exist. `what` names the file ("figure", ...)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name for the {what}")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: the folder {path.parent} does not exist")
    return path
