"""A guard against a reference-counting bug in PySide6 6.12.0 that aborts Python 3.11 apps.

Measured (PySide6-Essentials 6.12.0, CPython 3.11.7): every wrapped C++ method returning void
(`widget.hide()`, `label.setText()`, `app.processEvents()`, `QTest.mouseMove()`, ...) drops one
reference to `None` it never took, and every `signal.emit()` and `connect`/`disconnect` drops one
to `True`. These singletons start with a few thousand references, so after a few thousand calls
the interpreter aborts with "Fatal Python error: none_dealloc" (or bool_dealloc). 6.11.3 does not
do this; on CPython >= 3.12 these objects are immortal and the bug is harmless.

The real fix is to avoid 6.12.0 on Python < 3.12 (a pin in pyproject.toml). Until the installed
version is known good, `apply()` gives None, True and False so many extra references that the
lost ones can never bring them to zero -- which is what CPython 3.12 does for them by design.
"""

from __future__ import annotations

import ctypes
import sys

_APPLIED = False
_BALLAST = 1 << 48   # extra references: ~2.8e14 emits before it could matter


def needs_fix(pyside_version: str | None = None) -> bool:
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if pyside_version is None:
        import PySide6

        pyside_version = PySide6.__version__
    return pyside_version.startswith("6.12.0")


def apply() -> bool:
    """Make None, True and False immortal if this PySide6 needs it; returns True if it did. Idempotent."""
    global _APPLIED
    if _APPLIED or not needs_fix():
        return _APPLIED
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _BALLAST
    _APPLIED = True
    return True
