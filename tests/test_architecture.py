"""The core stays free of Qt, so the CLI, the tests and a headless server share it."""

import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "latentlab" / "core"


def test_importing_the_core_and_cli_loads_no_qt():
    modules = [f"latentlab.core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__"]
    code = ("import sys, importlib\n"
            f"for m in {modules + ['latentlab', 'latentlab.cli']!r}: importlib.import_module(m)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_no_core_source_imports_qt():
    for path in CORE.glob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")):
                assert not any(q in stripped for q in ("PySide6", "pyqtgraph", "shiboken6")), f"{path}: {line}"
