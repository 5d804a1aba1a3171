"""Which way imports go: the core and the Qt-free app state never import Qt or the GUI.

The contracts are in pyproject.toml ([tool.importlinter]); `lint-imports` checks them on the real
import graph (also imports inside functions). The subprocess check below is the runtime side:
importing the core, the app state and the CLI loads no Qt at all.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "pyqtgraph", "shiboken6")


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is a dev dependency: pip install -e '.[dev]'"
    r = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_importing_the_core_app_state_and_cli_loads_no_qt():
    modules = [f"latentlab.{pkg}.{p.stem}" for pkg in ("core", "app")
               for p in (ROOT / "latentlab" / pkg).glob("*.py") if p.stem != "__init__"]
    code = ("import sys, importlib\n"
            f"for m in {modules + ['latentlab', 'latentlab.cli']!r}: importlib.import_module(m)\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_no_gui_module_is_over_about_500_lines():
    long = {p.name: n for p in (ROOT / "latentlab" / "gui").glob("*.py")
            if (n := len(p.read_text().splitlines())) > 520}
    assert not long, long
