"""Installing latentlab like a desktop app on Linux (freedesktop.org): `latentlab install-desktop`.

Three files under the user's data folder ($XDG_DATA_HOME, by default ~/.local/share), and
`--uninstall` removes exactly those three:

* applications/latentlab.desktop: the menu entry. Exec is the absolute path of the installed
  `latentlab` script (menus do not search a virtual environment's bin/), with %f so a double-
  clicked checkpoint opens in the app; MimeType names the checkpoint type below.
* icons/hicolor/scalable/apps/latentlab.svg: the icon (resources/icons/latentlab.svg).
* mime/packages/latentlab.xml: the type application/x-latentlab-checkpoint, by the glob *.pt
  with weight 20. The suffix is all a file manager has to go on: a latentlab checkpoint is a
  plain torch.save zip archive, so no magic tells it from any other PyTorch file, and a magic
  rule would only claim other .pt files more loudly. The weight is below the default 50, so
  a type another package registers for *.pt wins over this one. Opening a PyTorch file that is
  not a latentlab checkpoint is safe (read with weights_only, refused with a message).

Then update-desktop-database and update-mime-database are run when they exist, so menus and
file managers see the change at once; without them the files are read at the next login.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .shipped import icon_path

APP_ID = "latentlab"
MIME_TYPE = "application/x-latentlab-checkpoint"
MIME_GLOB = "*.pt"
MIME_GLOB_WEIGHT = 20


@dataclass(frozen=True)
class DesktopFiles:
    """Where install-desktop writes, under one data folder."""

    data_home: Path

    @property
    def entry(self) -> Path:
        return self.data_home / "applications" / f"{APP_ID}.desktop"

    @property
    def icon(self) -> Path:
        return self.data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"

    @property
    def mime(self) -> Path:
        return self.data_home / "mime" / "packages" / f"{APP_ID}.xml"

    def all(self) -> tuple[Path, Path, Path]:
        return self.entry, self.icon, self.mime


def data_home(environ=None) -> Path:
    """$XDG_DATA_HOME, else ~/.local/share (the spec ignores a relative or empty value)."""
    value = (os.environ if environ is None else environ).get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher_command() -> list[str]:
    """The command that starts latentlab: the installed script itself (this process's, else the
    one on PATH), else this Python with -m latentlab, which works wherever this one runs."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == APP_ID and argv0.is_file():
        return [str(argv0.resolve())]
    found = shutil.which(APP_ID)
    if found:
        return [str(Path(found).resolve())]
    return [str(Path(sys.executable).absolute()), "-m", APP_ID]


def desktop_entry(command: list[str]) -> str:
    """The .desktop file's text, launching `command` with the file to open (%f)."""
    exec_line = " ".join(_exec_argument(arg) for arg in command)
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=latentlab",
        "GenericName=Variational Auto-Encoder Lab",
        "Comment=Explore and train variational auto-encoders",
        f"TryExec={_escape_value(command[0])}",
        f"Exec={exec_line} %f",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=Science;ArtificialIntelligence;",
        "Keywords=VAE;autoencoder;latent space;ELBO;machine learning;neural network;",
        f"MimeType={MIME_TYPE};",
        f"StartupWMClass={APP_ID}",
        "StartupNotify=true",
        "",
    ])


def mime_package() -> str:
    """The shared-mime-info package declaring latentlab's checkpoint type."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">\n'
        f'  <mime-type type="{MIME_TYPE}">\n'
        '    <comment>latentlab checkpoint</comment>\n'
        f'    <glob pattern="{MIME_GLOB}" weight="{MIME_GLOB_WEIGHT}"/>\n'
        '  </mime-type>\n'
        '</mime-info>\n')


def install(home: Path | None = None, command: list[str] | None = None, refresh: bool = True) -> list[Path]:
    """Write the entry, the icon and the MIME type under `home` (default: data_home()); returns them."""
    icon = icon_path()
    if icon is None:
        raise OSError("latentlab's icon (resources/icons/latentlab.svg) is missing from this installation")
    files = DesktopFiles(Path(home) if home is not None else data_home())
    contents = {files.entry: desktop_entry(command or launcher_command()).encode("utf-8"),
                files.icon: icon.read_bytes(),
                files.mime: mime_package().encode("utf-8")}
    for path, data in contents.items():
        _write(path, data)
    if refresh:
        refresh_databases(files.data_home)
    return list(contents)


def uninstall(home: Path | None = None, refresh: bool = True) -> list[Path]:
    """Remove what install() wrote under `home`; returns the files that were there. Folders and the
    databases' own caches stay (other applications' entries live there too)."""
    files = DesktopFiles(Path(home) if home is not None else data_home())
    removed = []
    for path in files.all():
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise OSError(f"cannot remove {path}: {e.strerror or e}") from e
        removed.append(path)
    if removed and refresh:
        refresh_databases(files.data_home, only_existing=True)
    return removed


_DATABASES = (("update-desktop-database", "applications", "mimeinfo.cache"),
              ("update-mime-database", "mime", "mime.cache"))


def refresh_databases(home: Path, only_existing: bool = False) -> list[str]:
    """Run update-desktop-database and update-mime-database on `home` when they are installed;
    returns the names of those that ran. With `only_existing` (after an uninstall) only the
    caches already there are corrected, none is created. A tool's failure is not reported: the
    files are in place and are read at the next login anyway."""
    ran = []
    for tool, folder, cache in _DATABASES:
        path = shutil.which(tool)
        folder = home / folder
        if path is None or not folder.is_dir() or (only_existing and not (folder / cache).exists()):
            continue
        try:
            subprocess.run([path, str(folder)], capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        ran.append(tool)
    return ran


# -- writing and quoting --------------------------------------------------------------------------
def _write(path: Path, data: bytes) -> None:
    """Replace `path` whole (a menu never reads half an entry)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(f"cannot write {path}: {e.strerror or e}") from e


_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _exec_argument(arg: str) -> str:
    """One Exec argument: quoted when it holds a reserved character (Desktop Entry spec, "The Exec
    key"), % doubled, then escaped as a string value (so a backslash is written four times)."""
    if "\n" in arg or "\r" in arg:
        raise ValueError(f"cannot launch a path holding a line break: {arg!r}")
    if any(c in _RESERVED for c in arg):
        arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    return _escape_value(arg.replace("%", "%%"))


def _escape_value(value: str) -> str:
    """A string value of a desktop entry: backslash, tab and line breaks escaped."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
