"""Take the README's pictures of the window: at a laptop/projector size and a large screen, in the
presentation view, at a 2x device pixel ratio, and training on MNIST.

    LATENTLAB_DATA=/path/to/datasets python docs/screenshots/make_screenshots.py

* window-1280x720.png, window-1920x1080.png: the window as `latentlab` opens it on the shipped
  MNIST 2-D model, a sample 3 dropped on the canvas (its q ellipses, input and reconstruction),
  the cursor over z = (0.6, -0.9).
* window-present.png: View > Present (F11) at 1920 x 1080: the canvas and the decoded image.
* window-2x.png: 1280 x 720 with QT_SCALE_FACTOR=2 (2560 x 1440 pixels), in a second process
  (the scale factor is read when Qt starts).
* window-training.png: 1920 x 1080 during the third epoch of a new 2-D MNIST model trained with
  the panel's defaults, i.e. what one click on Train does.

Runs offscreen (no display needed) with throw-away settings and run folders, so the user's
remembered layout and runs are untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shots import save, settle, wait_until  # this folder's shared helpers

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[1] / "resources" / "samples" / "mnist" / "3_0018.png"
HOVER = [0.6, -0.9]
TRAINING_EPOCH = 3


def _window(app, size):
    from latentlab.gui.main_window import MainWindow

    window = MainWindow()
    window.remember_layout = False
    window.resize(*size)
    shown = []
    window.explorer.imageShown.connect(lambda: shown.append(time.monotonic()))
    window.show()
    wait_until(app, lambda: shown, 30)
    window.view.reset_layout()      # the default arrangement for this size
    return window, shown


def _hover(app, window, shown) -> None:
    n = len(shown)
    window.explorer.show_latent(HOVER)
    wait_until(app, lambda: len(shown) > n, 10)


def _idle(app, size, name: str) -> None:
    window, shown = _window(app, size)
    window.explorer.encode_files([str(SAMPLE)])
    wait_until(app, lambda: window.explorer.encodings, 30)
    _hover(app, window, shown)
    settle(app, 0.5)
    save(window, HERE / name)
    if name == "window-1920x1080.png":
        host = window.explorer.presentation.present()
        host.showNormal()              # offscreen "full screen" is the platform's 800 x 600
        host.resize(1920, 1080)
        _hover(app, window, shown)
        settle(app, 0.5)
        save(host, HERE / "window-present.png")
        window.explorer.presentation.end_presentation()
    window.close()


def _training(app) -> None:
    window, shown = _window(app, (1920, 1080))
    window.training_panel.train_button.click()
    wait_until(app, lambda: window.curves.data.epochs.values.tolist()[-1:] == [TRAINING_EPOCH - 1], 600)
    steps_per_epoch = window.training.live_run.trainer.steps_per_epoch()
    wait_until(app, lambda: window.curves.data.last_step > (TRAINING_EPOCH - 0.5) * steps_per_epoch, 300)
    _hover(app, window, shown)
    window.training.pull_steps()
    window.curves.redraw()
    settle(app, 0.5)
    save(window, HERE / "window-training.png")
    window.close()



def main() -> int:
    double = "--2x" in sys.argv
    if not double:   # the 2x picture needs QT_SCALE_FACTOR before Qt starts: a process of its own
        env = dict(os.environ, QT_SCALE_FACTOR="2")
        subprocess.run([sys.executable, __file__, "--2x"], env=env, check=True)
    scratch = Path(tempfile.mkdtemp(prefix="latentlab-shots-"))
    os.environ["LATENTLAB_RUNS"] = str(scratch / "runs")
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    from latentlab.gui.app import make_application

    app = make_application()
    if double:
        _idle(app, (1280, 720), "window-2x.png")
        return 0
    _idle(app, (1280, 720), "window-1280x720.png")
    _idle(app, (1920, 1080), "window-1920x1080.png")
    _training(app)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
