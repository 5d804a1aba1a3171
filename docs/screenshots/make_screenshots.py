"""Take the README's pictures of the window: idle on the shipped model, and training on MNIST.

    LATENTLAB_DATA=/path/to/datasets python docs/screenshots/make_screenshots.py

Runs offscreen (no display needed) with throw-away settings and run folders, so the user's
remembered layout and runs are untouched. The training picture is taken during the third epoch
of a new 2-D MNIST model trained with the panel's defaults, i.e. what one click on Train does.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from shots import save, wait_until  # this folder's shared helpers

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
SIZE = (1280, 860)
TRAINING_EPOCH = 3




def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="latentlab-shots-"))
    os.environ["LATENTLAB_RUNS"] = str(scratch / "runs")
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch / "settings"))
    from latentlab.gui.app import make_application
    from latentlab.gui.main_window import MainWindow

    app = make_application()
    window = MainWindow()
    window.remember_layout = False
    window.resize(*SIZE)
    shown = []
    window.explorer.imageShown.connect(lambda: shown.append(time.monotonic()))
    window.show()
    wait_until(app, lambda: shown, 30)
    window.explorer.show_latent([0.6, -0.9])
    n = len(shown)
    wait_until(app, lambda: len(shown) > n, 10)
    save(window, HERE / "window-idle.png")

    window.training_panel.train_button.click()
    wait_until(app, lambda: window.curves.data.epochs.values.tolist()[-1:] == [TRAINING_EPOCH - 1], 600)
    steps_per_epoch = window.training.live_run.trainer.steps_per_epoch()
    wait_until(app, lambda: window.curves.data.last_step > (TRAINING_EPOCH - 0.5) * steps_per_epoch, 300)
    window.explorer.show_latent([0.6, -0.9])
    n = len(shown)
    wait_until(app, lambda: len(shown) > n, 10)
    window.training.pull_steps()
    window.curves.redraw()
    save(window, HERE / "window-training.png")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
