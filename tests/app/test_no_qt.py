"""latentlab.app is the Qt-free application state: importing all of it loads no Qt and no gui."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "latentlab" / "app"


def test_importing_every_app_module_loads_no_qt_and_no_gui():
    modules = sorted(f"latentlab.app.{p.stem}" for p in APP.glob("*.py") if p.stem != "__init__")
    assert "latentlab.app.explorer_state" in modules and "latentlab.app.jobs" in modules
    code = ("import sys, importlib\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')"
            " or m.startswith('latentlab.gui')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=APP.parents[1])
    assert result.returncode == 0, result.stdout + result.stderr
