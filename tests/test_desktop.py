"""`latentlab install-desktop`: a valid menu entry, the icon and the checkpoint MIME type under
$XDG_DATA_HOME, and `--uninstall` removing exactly those (no Qt, no real home folder touched)."""

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from latentlab.cli import main
from latentlab.core import desktop, shipped

ROOT = Path(__file__).resolve().parents[1]
SOURCE_ICON = ROOT / "resources" / "icons" / "latentlab.svg"


def entry_keys(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line)


def assert_valid(entry: Path) -> None:
    """desktop-file-validate accepts the entry (checked where it is installed; CI installs it)."""
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        return
    r = subprocess.run([validator, str(entry)], capture_output=True, text=True, timeout=30)
    report = r.stdout + r.stderr
    assert r.returncode == 0 and "error:" not in report and "warning:" not in report, report   # hints may vary


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def test_install_writes_entry_icon_and_mime_type_under_xdg_data_home(data_home, capsys):
    assert main(["install-desktop"]) == 0
    entry = data_home / "applications" / "latentlab.desktop"
    icon = data_home / "icons" / "hicolor" / "scalable" / "apps" / "latentlab.svg"
    mime = data_home / "mime" / "packages" / "latentlab.xml"
    err = capsys.readouterr().err
    for path in (entry, icon, mime):
        assert f"wrote {path}" in err
    keys = entry_keys(entry)
    assert keys["Type"] == "Application" and keys["Name"] == "latentlab" and keys["Icon"] == "latentlab"
    assert keys["MimeType"] == "application/x-latentlab-checkpoint;"
    program, *rest = keys["Exec"].split(" ")
    assert Path(program).is_absolute() and Path(program).exists() and rest[-1] == "%f"
    assert rest[:-1] in ([], ["-m", "latentlab"])          # the script itself, else python -m latentlab
    assert_valid(entry)
    assert icon.read_bytes() == SOURCE_ICON.read_bytes()
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    (mime_type,) = ET.parse(mime).getroot()
    assert mime_type.get("type") == "application/x-latentlab-checkpoint"
    glob = mime_type.find(f"{ns}glob")
    assert glob.get("pattern") == "*.pt" and int(glob.get("weight")) < 50   # weaker than any other *.pt type
    assert mime_type.find(f"{ns}magic") is None


def test_uninstall_removes_exactly_what_install_wrote(data_home, capsys):
    (data_home / "applications").mkdir(parents=True)
    other = data_home / "applications" / "other.desktop"
    other.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=other\n")
    before = {p for p in data_home.rglob("*") if p.is_file()}
    written = desktop.install(refresh=False)
    assert {p for p in data_home.rglob("*") if p.is_file()} == before | set(written)
    assert main(["install-desktop", "--uninstall"]) == 0
    assert {p for p in data_home.rglob("*") if p.is_file()} == before
    assert main(["install-desktop", "--uninstall"]) == 0
    assert "nothing to remove" in capsys.readouterr().err


def test_uninstall_reports_each_removed_file(data_home, capsys):
    written = desktop.install(refresh=False)
    assert main(["install-desktop", "--uninstall"]) == 0
    err = capsys.readouterr().err
    assert all(f"removed {p}" in err for p in written) and not any(p.exists() for p in written)


def test_the_databases_are_refreshed_when_their_tools_exist(data_home):
    desktop.install(refresh=False)
    ran = desktop.refresh_databases(data_home)
    if shutil.which("update-mime-database"):
        assert "update-mime-database" in ran
        assert "application/x-latentlab-checkpoint:*.pt" in (data_home / "mime" / "globs2").read_text()
    if shutil.which("update-desktop-database"):
        assert "update-desktop-database" in ran
        cache = (data_home / "applications" / "mimeinfo.cache").read_text()
        assert "application/x-latentlab-checkpoint=latentlab.desktop;" in cache
    desktop.uninstall(data_home, refresh=True)
    if shutil.which("update-desktop-database"):
        assert "latentlab" not in (data_home / "applications" / "mimeinfo.cache").read_text()


def test_without_the_tools_install_still_works(data_home, monkeypatch):
    monkeypatch.setenv("PATH", str(data_home / "no-such-bin"))
    assert desktop.refresh_databases(data_home) == []
    assert len(desktop.install()) == 3 and len(desktop.uninstall()) == 3


def test_data_home_follows_the_spec(monkeypatch, tmp_path):
    assert desktop.data_home({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path
    default = Path.home() / ".local" / "share"
    assert desktop.data_home({}) == default
    assert desktop.data_home({"XDG_DATA_HOME": ""}) == default
    assert desktop.data_home({"XDG_DATA_HOME": "relative/dir"}) == default      # relative: ignored


@pytest.mark.parametrize("program, exec_line", [
    ("/opt/latentlab/bin/latentlab", "/opt/latentlab/bin/latentlab %f"),
    ("/home/a b/venv/bin/latentlab", '"/home/a b/venv/bin/latentlab" %f'),
    ("/home/x/100%/$HOME/latentlab", '"/home/x/100%%/\\\\$HOME/latentlab" %f'),
])
def test_exec_quotes_paths_as_the_spec_says(tmp_path, program, exec_line):
    text = desktop.desktop_entry([program])
    assert f"\nExec={exec_line}\n" in text
    entry = tmp_path / "latentlab.desktop"
    entry.write_text(text, encoding="utf-8")
    assert_valid(entry)


def test_the_launcher_is_the_installed_script_else_python_m(tmp_path, monkeypatch):
    script = tmp_path / "bin" / "latentlab"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    link = tmp_path / "latentlab"
    link.symlink_to(script)
    monkeypatch.setattr(sys, "argv", [str(link)])
    assert desktop.launcher_command() == [str(script)]                       # resolved
    monkeypatch.setattr(sys, "argv", ["/somewhere/pytest"])
    monkeypatch.setenv("PATH", str(script.parent))
    assert desktop.launcher_command() == [str(script)]                       # found on PATH
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert desktop.launcher_command() == [str(Path(sys.executable).absolute()), "-m", "latentlab"]


def test_the_icon_is_an_svg_found_in_the_source_tree_and_where_a_wheel_puts_it(tmp_path, monkeypatch):
    root = ET.parse(SOURCE_ICON).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox") == "0 0 128 128"
    assert shipped.icon_path() == SOURCE_ICON
    wheel = tmp_path / "prefix" / "share" / "latentlab" / "icons" / "latentlab.svg"
    wheel.parent.mkdir(parents=True)
    wheel.write_bytes(SOURCE_ICON.read_bytes())
    monkeypatch.setattr(shipped, "_SOURCE_TREE", tmp_path / "site-packages")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert shipped.icon_path() == wheel
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "elsewhere"))
    monkeypatch.setattr(shipped.site, "getuserbase", lambda: str(tmp_path / "user"))
    assert shipped.icon_path() is None
    with pytest.raises(OSError, match="icon"):
        desktop.install(tmp_path / "data", refresh=False)
    assert not (tmp_path / "data").exists()


def test_the_wheel_carries_the_icon():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["setuptools"]["data-files"]["share/latentlab/icons"] == ["resources/icons/latentlab.svg"]
