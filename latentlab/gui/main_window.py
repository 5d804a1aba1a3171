"""The main window: explorer in the middle, training panel and curves in docks, menus, status bar.

The window owns the document (the model shown, the file it came from, the run being trained)
and wires the widgets to the training thread; each widget does one job on its own.

Errors go to the status bar and stay there until the next user action; nothing here opens a
modal dialog that nobody may be there to answer (only a person's own click opens a file dialog).
"""

from __future__ import annotations

import platform
import re
import sys
import time
from pathlib import Path

import torch
from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox

from latentlab import __version__
from latentlab.core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from latentlab.core.metrics import metrics_path_for, read_metrics_csv
from latentlab.core.pipeline import DataSpec
from latentlab.core.shipped import default_checkpoint, shipped_models, shipped_models_dir
from latentlab.core.trainer import History, TrainConfig, default_gui_threads

from .budget import UpdatePacer
from .curves import CurvePanel
from .explorer import LatentExplorer
from .settings import RecentFiles, app_settings, is_inside, new_run_folder, runs_dir
from .training import TrainingPanel
from .watch import RunFollower
from .worker import LiveRun, TrainingJob, TrainingWorker

PULL_INTERVAL_MS = 33        # how often the GUI takes the steps the trainer has produced
PROGRESS_INTERVAL_S = 0.25   # how often the progress texts change (each change is a repaint)
# While training, costly redraws (curves, explorer snapshots) may take this share of the time
# each; see gui/budget.py for why and for the measurements.
UPDATE_SHARE = 0.02
UPDATE_LIMITS = {"curves": (1 / 30, 2.0), "snapshot": (1.0, 10.0)}
CLOSE_TIMEOUT_MS = 2000      # closing while training: the worker stops within a step, then saves
RUN_CHECKPOINT_NAME = "model.pt"


def one_line(message: str) -> str:
    return " ".join(str(message).split())


class MainWindow(QMainWindow):
    """`MainWindow()` opens the shipped MNIST 2-D model; `MainWindow(checkpoint=path)` another."""

    def __init__(self, checkpoint=None, settings=None, parent=None):
        super().__init__(parent)
        # torch.set_num_threads is per thread: the GUI thread decodes single images, and a second
        # thread here would only fight the training thread for the cores (see the team notes).
        torch.set_num_threads(1)
        self.settings = settings if settings is not None else app_settings()
        self.recent = RecentFiles(self.settings)
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 860)

        self._checkpoint: Checkpoint | None = None   # the last opened file's contents
        self._document: Path | None = None           # the file the shown model belongs to
        self._live_run: LiveRun | None = None        # the run of this session (idle between trainings)
        self._worker: TrainingWorker | None = None
        self._follower: RunFollower | None = None
        self._unsaved_error = False                  # the last autosave failed
        self.remember_layout = True                  # False: leave the saved window layout alone
        self._total_steps = 0
        self._pacer = UpdatePacer(UPDATE_SHARE, limits=UPDATE_LIMITS)
        self._pending_snapshot = None
        self._last_progress = 0.0

        self._build_widgets()
        self._build_menus()
        self._pull_timer = QTimer(self)
        self._pull_timer.setInterval(PULL_INTERVAL_MS)
        self._pull_timer.timeout.connect(self._pull_steps)
        self._snapshot_timer = QTimer(self, singleShot=True)
        self._snapshot_timer.timeout.connect(self._apply_pending_snapshot)
        self._restore_window_state()
        if not self.open_checkpoint(checkpoint if checkpoint is not None else default_checkpoint()) \
                and checkpoint is not None:
            # A file given on the command line that cannot be opened: show the shipped model
            # and keep the reason in the status bar.
            error = self.statusBar().currentMessage()
            self.open_checkpoint(default_checkpoint())
            self.show_error(error)

    # == building ===================================================================================
    def _build_widgets(self) -> None:
        self.explorer = LatentExplorer(self)
        self.explorer.statusMessage.connect(self.show_message)
        self.setCentralWidget(self.explorer)

        self.training_panel = TrainingPanel(self)
        self.training_panel.trainClicked.connect(self.start_training)
        self.training_panel.pauseClicked.connect(self.toggle_pause)
        self.training_panel.stopClicked.connect(self.stop_training)
        self.training_dock = self._dock("Training", "trainingDock", self.training_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea)

        # The training panel takes the whole right side (its form is tall); the curves sit under
        # the explorer.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.curves = CurvePanel(self)
        self.curves_dock = self._dock("Curves", "curvesDock", self.curves, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.training_dock], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.curves_dock], [300], Qt.Orientation.Vertical)

        self.run_label = QLabel()
        self.run_label.setObjectName("runLabel")
        self.statusBar().addPermanentWidget(self.run_label)

    def _dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, name: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if name:
            action.setObjectName(name)
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action("&Open…", self._open_dialog, QKeySequence.StandardKey.Open, "actionOpen")
        self.save_action = self._action("&Save", self._save, QKeySequence.StandardKey.Save, "actionSave")
        self.save_as_action = self._action("Save &As…", self._save_as_dialog, QKeySequence.StandardKey.SaveAs,
                                           "actionSaveAs")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "actionQuit")  # StandardKey.Quit is empty on some desktops
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.shipped_menu = file_menu.addMenu("Open Shipped &Model")
        for path in shipped_models():
            self.shipped_menu.addAction(self._action(path.stem, lambda _=False, p=path: self.open_checkpoint(p)))
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        for action in self.explorer.menu_actions():
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("Export Curves as &CSV…", self._export_csv_dialog, name="actionExportCsv"))
        file_menu.addAction(self._action("Export Curves as &PNG…", self._export_png_dialog, name="actionExportPng"))
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.training_dock.toggleViewAction())
        view_menu.addAction(self.curves_dock.toggleViewAction())

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("The &ELBO Explained", self.show_elbo_help, QKeySequence.StandardKey.HelpContents,
                                         "actionHelpElbo"))
        about = self._action("&About latentlab", self.show_about, name="actionAbout")
        about.setMenuRole(QAction.MenuRole.AboutRole)
        help_menu.addAction(about)

    # == messages ==================================================================================
    def show_message(self, message: str) -> None:
        """A result or an error of the last action; it stays until the next one."""
        self.statusBar().showMessage(one_line(message))

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(one_line(message))
        print(f"latentlab: {one_line(message)}", file=sys.stderr)

    # == documents =================================================================================
    @property
    def is_training(self) -> bool:
        return self._worker is not None

    @property
    def model(self):
        return self.explorer.model

    def open_checkpoint(self, path) -> bool:
        """Show the model of a checkpoint, its curves and its settings. On any error the current
        model stays and the status bar says why."""
        path = Path(path)
        if self.is_training:
            self.show_error("Stop training before opening another model.")
            return False
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as e:
            self.show_error(str(e))
            return False
        self._stop_following()
        self._checkpoint, self._live_run, self._document = ckpt, None, path
        self._unsaved_error = False
        self.explorer.set_model(ckpt.model, ckpt.extras or None, reset_view=True)
        history = History.from_dict(ckpt.history)
        self.curves.load_history(history, ckpt.model.latent_dim)
        following = self._follow_if_newer(path, history)
        shipped = is_inside(path, shipped_models_dir())
        done = int(ckpt.trainer_state.get("epoch", 0))
        if ckpt.data.get("dataset"):
            # The shipped model is a finished reference: Train starts a new model unless asked otherwise.
            self.training_panel.set_run(ckpt.model.config, ckpt.train_config, ckpt.data, done,
                                        continue_now=not shipped)
        else:
            self.training_panel.clear_run()  # nothing says which data it was trained on
        if not shipped:
            self.recent.add(path)
            self.settings.setValue("lastOpened", str(path.resolve()))
            self.settings.setValue("lastFolder", str(path.resolve().parent))
        self._update_title()
        dataset = ckpt.data.get("dataset", "?")
        steps = ckpt.trainer_state.get("step", 0)
        self.show_message(f"Opened {path.name}: {ckpt.model.latent_dim}-D {ckpt.model.config.architecture} VAE "
                          f"on {dataset}, {done} epochs ({steps:,} steps)"
                          + ("; following its metrics.csv live" if following else ""))
        self.run_label.setText("following a run" if following else "")
        return True

    def save_checkpoint(self, path) -> bool:
        """Save the shown run (weights, optimizer, curves) to `path`, atomically. Works while training."""
        path = Path(path)
        if self._worker is not None:
            error = self._worker.save(path)
        elif self._live_run is not None:
            error = _save_trainer(self._live_run, path)
        elif self._checkpoint is not None:
            error = _save_checkpoint_copy(self._checkpoint, path)
        else:
            error = "There is no model to save."
        if error:
            self.show_error(error)
            return False
        self._document = path
        self._unsaved_error = False
        self.recent.add(path)
        self.settings.setValue("lastFolder", str(path.resolve().parent))
        self._update_title()
        self.show_message(f"Saved {path}")
        return True

    def _save(self) -> None:
        if self._document is not None and self._is_user_file(self._document):
            self.save_checkpoint(self._document)
        else:
            self._save_as_dialog()

    def _is_user_file(self, path: Path) -> bool:
        """Files Save may overwrite without asking: not the shipped models, not autosaves."""
        return not is_inside(path, shipped_models_dir()) and not is_inside(path, runs_dir())

    def _update_title(self) -> None:
        name = self._document.name if self._document else "untitled"
        if self._document is not None and is_inside(self._document, runs_dir()):
            name = f"{self._document.parent.name}/{self._document.name}"
        state = " [training]" if self.is_training else ""
        self.setWindowTitle(f"{name}{state} — latentlab")

    # == dialogs (only ever opened by a person's click) ==========================================
    def _start_folder(self) -> str:
        return str(self.settings.value("lastFolder", str(Path.home())))

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._start_folder(),
                                              "latentlab checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def _save_as_dialog(self) -> None:
        start = str(Path(self._start_folder()) / (self._document.name if self._document else "model.pt"))
        path, _ = QFileDialog.getSaveFileName(self, "Save model as", start, "latentlab checkpoints (*.pt)")
        if path:
            self.save_checkpoint(path)

    def _export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export curves as CSV",
                                              str(Path(self._start_folder()) / "curves.csv"), "CSV (*.csv)")
        if path:
            self.export_curves_csv(path)

    def _export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export curves as PNG",
                                              str(Path(self._start_folder()) / "curves.png"), "PNG (*.png)")
        if path:
            self.export_curves_png(path)

    def export_curves_csv(self, path) -> bool:
        try:
            self.curves.export_csv(path)
        except OSError as e:
            self.show_error(f"Could not write {path}: {e.strerror or e}")
            return False
        self.show_message(f"Exported the curves to {path}")
        return True

    def export_curves_png(self, path) -> bool:
        try:
            self.curves.export_png(path)
        except OSError as e:
            self.show_error(str(e))
            return False
        self.show_message(f"Exported a picture of the curves to {path}")
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        for path in paths:
            self.recent_menu.addAction(self._action(path, lambda _=False, p=path: self._open_recent(p)))
        if not paths:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(self._action("Clear Menu", self.recent.clear))

    def _open_recent(self, path: str) -> None:
        if not Path(path).exists():
            self.recent.remove(path)
            self.show_error(f"{path} no longer exists; removed it from the recent files.")
            return
        self.open_checkpoint(path)

    def show_about(self) -> None:
        import numpy
        import pyqtgraph
        import PySide6
        from PySide6.QtCore import qVersion

        box = QMessageBox(QMessageBox.Icon.Information, "About latentlab",
                          f"<b>latentlab {__version__}</b><br>Explore and train variational auto-encoders.",
                          QMessageBox.StandardButton.Close, self)
        box.setInformativeText(
            f"Python {platform.python_version()}<br>PyTorch {torch.__version__}<br>"
            f"PySide6 {PySide6.__version__} (Qt {qVersion()})<br>pyqtgraph {pyqtgraph.__version__}<br>"
            f"NumPy {numpy.__version__}<br>CUDA: {'yes' if torch.cuda.is_available() else 'no'}")
        self._show_non_blocking(box)

    def show_elbo_help(self) -> None:
        url = elbo_help_url()
        box = QMessageBox(QMessageBox.Icon.Information, "The ELBO", ELBO_SUMMARY, QMessageBox.StandardButton.Close, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        if url is not None:
            button = box.addButton("Open the README", QMessageBox.ButtonRole.ActionRole)
            button.clicked.connect(lambda: QDesktopServices.openUrl(url))
        self._show_non_blocking(box)

    @staticmethod
    def _show_non_blocking(box: QMessageBox) -> None:
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()

    # == training ==================================================================================
    def start_training(self) -> bool:
        """Start (or continue) a run with the panel's settings on the worker thread."""
        if self.is_training:
            return False
        panel = self.training_panel
        try:
            job = self._continue_job() if panel.continuing else self._new_job()
        except ValueError as e:
            self.show_error(str(e))
            panel.show_message(str(e), error=True)
            return False
        self._stop_following()
        panel.show_message("")
        worker = TrainingWorker(job, self)
        worker.trainerReady.connect(self._on_trainer_ready)
        worker.statusChanged.connect(self._on_status)
        worker.epochEnded.connect(self._on_epoch)
        worker.snapshotReady.connect(self._on_snapshot)
        worker.downloadProgress.connect(panel.show_download)
        worker.autosaved.connect(self._on_autosaved)
        worker.saveFailed.connect(self._on_save_failed)
        worker.failed.connect(self._on_failed)
        worker.runEnded.connect(self._on_run_ended)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        panel.set_state("loading")
        panel.show_status("Loading the data…")
        self.open_action.setEnabled(False)
        self.shipped_menu.setEnabled(False)
        self.recent_menu.setEnabled(False)
        worker.start()
        self._pull_timer.start()
        self.curves.pacer = self._pacer
        self._update_title()
        self.show_message(f"Training started; autosaving every epoch to {job.autosave_path}")
        return True

    def _new_job(self) -> TrainingJob:
        panel = self.training_panel
        spec = panel.data_spec()
        model_config = panel.model_config(spec)
        train_config = panel.train_config(spec)
        folder = new_run_folder(spec.dataset if spec.dataset != "folder" else Path(spec.folder).name,
                                model_config.latent_dim)
        return TrainingJob(spec=spec, train_config=train_config, autosave_path=folder / RUN_CHECKPOINT_NAME,
                           model_config=model_config)

    def _continue_job(self) -> TrainingJob:
        panel = self.training_panel
        overrides = panel.continue_overrides()
        if self._live_run is not None:
            trainer = self._live_run.trainer
            return TrainingJob(spec=DataSpec.from_dict(trainer.data_info), train_config=trainer.config,
                               autosave_path=self._live_run.autosave_path, run=self._live_run, overrides=overrides)
        ckpt = self._checkpoint
        if ckpt is None or not ckpt.data.get("dataset"):
            raise ValueError("The current model does not say which data it was trained on; train a new model.")
        spec = DataSpec.from_dict(ckpt.data)
        device = panel.device.currentData()
        train_config = TrainConfig.from_dict({**ckpt.train_config, **overrides, "device": device,
                                              "num_threads": default_gui_threads()})
        document = self._document
        if document is not None and is_inside(document, runs_dir()):
            autosave = document   # continuing an autosaved run: keep writing to its folder
        else:
            autosave = new_run_folder(spec.dataset if spec.dataset != "folder" else "folder",
                                      ckpt.model.latent_dim) / RUN_CHECKPOINT_NAME
        return TrainingJob(spec=spec, train_config=train_config, autosave_path=autosave, checkpoint=ckpt,
                           overrides={**overrides, "device": device})

    def toggle_pause(self) -> None:
        if self._worker is None:
            return
        if self.training_panel.state == "paused":
            self._worker.resume()
        else:
            self._worker.pause()

    def pause_training(self) -> None:
        if self._worker is not None:
            self._worker.pause()

    def resume_training(self) -> None:
        if self._worker is not None:
            self._worker.resume()

    def stop_training(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self.training_panel.show_status("Stopping…")

    # -- from the worker (queued into this thread) ----------------------------------------------
    def _on_trainer_ready(self, run: LiveRun) -> None:
        job = self._worker.job if self._worker is not None else None
        if job is not None and job.run is None and job.checkpoint is None:
            # A new model: the curves and the scatter shown so far belong to the previous one.
            # (Queued: the run may have taken steps already; they are still in the worker's buffer.)
            self.curves.clear()
            self.explorer.set_scatter(None)
        self._live_run = run
        self._document = run.autosave_path
        trainer = run.trainer
        self._total_steps = trainer.config.epochs * trainer.steps_per_epoch()
        self.training_panel.set_state("running")
        self.training_panel.show_progress(trainer.epoch, trainer.config.epochs, trainer.step, self._total_steps, 0.0)
        self._update_title()

    def _on_status(self, status: str, message: str) -> None:
        if status == "paused":
            self.training_panel.set_state("paused")
            self.training_panel.show_status(f"Paused at step {self._live_run.trainer.step:,}")
            self.run_label.setText("paused")
        elif status in ("running", "resumed"):
            self.training_panel.set_state("running")

    def _pull_steps(self, force: bool = False) -> None:
        worker = self._worker
        if worker is None:
            return
        events = worker.drain_steps()
        if not events:
            return
        self.curves.add_steps(events)
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        last = events[-1]
        epochs = self._live_run.trainer.config.epochs if self._live_run else last.epoch
        self.training_panel.show_progress(last.epoch, epochs, last.step, self._total_steps, last.steps_per_sec)
        self.run_label.setText(f"epoch {last.epoch} · step {last.step:,} · {last.steps_per_sec:,.0f} steps/s")

    def _on_epoch(self, event) -> None:
        self._pull_steps(force=True)  # the epoch's last steps come before its validation point
        self.curves.add_epoch(event)

    def _on_snapshot(self, model, scatter) -> None:
        """New weights for the explorer. Those of an epoch's end (with a new scatter) are shown
        at once; the ones in between only as often as their cost allows (latest wins)."""
        self._pending_snapshot = (model, scatter)
        wait = 0.0 if scatter is not None or not self.is_training else self._pacer.wait_time("snapshot")
        if wait <= 0:
            self._apply_pending_snapshot()
        elif not self._snapshot_timer.isActive():
            self._snapshot_timer.start(round(1000 * wait))

    def _apply_pending_snapshot(self) -> None:
        if self._pending_snapshot is None:
            return
        (model, scatter), self._pending_snapshot = self._pending_snapshot, None
        self._snapshot_timer.stop()
        started = self._pacer.begin("snapshot")
        self.explorer.set_model(model, scatter, reset_view=False)
        self._pacer.end("snapshot", started)

    def event(self, event) -> bool:
        # Repaints of the window are charged to the update that caused them (see gui/budget.py).
        if event.type() == QEvent.Type.UpdateRequest and self.is_training:
            started = time.perf_counter()
            result = super().event(event)
            self._pacer.add_paint(time.perf_counter() - started)
            return result
        return super().event(event)

    def _on_autosaved(self, path: str) -> None:
        self._unsaved_error = False
        self.run_label.setText(f"autosaved {Path(path).parent.name}/{Path(path).name}")

    def _on_save_failed(self, message: str) -> None:
        self._unsaved_error = True
        self.show_error(message)

    def _on_failed(self, message: str) -> None:
        self.show_error(message)
        self.training_panel.show_message(message, error=True)

    def _on_run_ended(self, status: str, message: str) -> None:
        self._pull_steps(force=True)
        run = self._live_run
        if status == "cancelled":
            self.training_panel.show_status("Not training")
            self.show_message(f"Training {status}: {message}")
        elif run is not None:
            self.recent.add(run.autosave_path)
            where = f"; saved to {run.autosave_path}" if not self._unsaved_error else ""
            self.training_panel.show_status(f"{message[:1].upper()}{message[1:]}")
            self.show_message(f"Training {status}: {message}{where}")
            trainer = run.trainer
            self.training_panel.set_run(trainer.model.config, trainer.config.to_dict(), trainer.data_info,
                                        trainer.epoch, continue_now=True)
        if status == "diverged":
            self.training_panel.show_message(message, error=True)

    def _on_worker_finished(self) -> None:
        worker, self._worker = self._worker, None
        self._pull_timer.stop()
        self.curves.pacer = None
        self._apply_pending_snapshot()
        self.curves.schedule_redraw(urgent=True)
        if worker is not None:
            worker.deleteLater()
        self.training_panel.set_state("idle")
        if self._live_run is None:
            self.training_panel.show_status("Not training")
        self.open_action.setEnabled(True)
        self.shipped_menu.setEnabled(True)
        self.recent_menu.setEnabled(True)
        self._update_title()

    # == following a run written elsewhere ===========================================================
    def _follow_if_newer(self, path: Path, history: History) -> bool:
        """If a metrics.csv beside the checkpoint has more steps than the checkpoint's own curves
        (a run still writing, e.g. `latentlab train` on a server), show the CSV and follow it."""
        metrics = metrics_path_for(path)
        if not metrics.is_file():
            return False
        try:
            rows, offset = read_metrics_csv(metrics)
        except OSError:
            return False
        csv_steps, saved = rows["train"]["step"], history.steps["step"]
        if not csv_steps or (saved and (csv_steps[0] > saved[0] or csv_steps[-1] < saved[-1])):
            return False  # an older or unrelated run's file, or one that holds only part of this run
        self.curves.clear()
        self.curves.add_metrics_rows(rows)
        self.follow_run(metrics, path, offset)
        return True

    def follow_run(self, metrics_path, checkpoint_path=None, offset: int = 0) -> None:
        """Follow a growing metrics.csv (and reload the checkpoint whenever it is rewritten)."""
        self._stop_following()
        follower = RunFollower(metrics_path, checkpoint_path, self)
        follower.rowsArrived.connect(self.curves.add_metrics_rows)
        follower.restarted.connect(self.curves.clear)
        follower.checkpointChanged.connect(self._reload_followed_checkpoint)
        self._follower = follower
        follower.start(offset)

    def _stop_following(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower.deleteLater()
            self._follower = None

    def _reload_followed_checkpoint(self, path: str) -> None:
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError:
            return  # being replaced right now; the next change brings it
        self._checkpoint = ckpt
        self.explorer.set_model(ckpt.model, ckpt.extras or None, reset_view=False)
        epoch = ckpt.trainer_state.get("epoch", 0)
        self.run_label.setText(f"following a run · epoch {epoch} reloaded")

    # == dropping a checkpoint on the window (the canvas takes image drops itself) ===================
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._dropped_checkpoint(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        path = self._dropped_checkpoint(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_checkpoint(path)

    @staticmethod
    def _dropped_checkpoint(event) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        files = [u.toLocalFile() for u in urls if u.isLocalFile()]
        return files[0] if len(files) == 1 and files[0].lower().endswith((".pt", ".pth")) else None

    # == window state ===============================================================================
    def _restore_window_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.training_panel.restore_settings(self.settings)

    def _save_window_state(self) -> None:
        if not self.remember_layout:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.training_panel.save_settings(self.settings)
        self.settings.sync()

    def closeEvent(self, event) -> None:
        if self._unsaved_error and self.isVisible() and not self._confirm_close():
            event.ignore()
            return
        self.shutdown()
        self._save_window_state()
        super().closeEvent(event)

    def _confirm_close(self) -> bool:
        """Only when the last autosave failed, i.e. something would really be lost (a person
        clicked close, so someone is there to answer)."""
        answer = QMessageBox.question(self, "Close latentlab?",
                                      "The last autosave failed, so recent training would be lost. Close anyway?")
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self, timeout_ms: int = CLOSE_TIMEOUT_MS) -> bool:
        """Stop every background thread; True if all ended. Safe to call more than once."""
        self._stop_following()
        self._pull_timer.stop()
        ended = True
        worker = self._worker
        if worker is not None:
            # The worker stops after the current step and autosaves; its queued signals would
            # arrive after this window is gone, so they are cut first.
            for signal in (worker.trainerReady, worker.statusChanged, worker.epochEnded, worker.snapshotReady,
                           worker.downloadProgress, worker.autosaved, worker.saveFailed, worker.failed,
                           worker.runEnded, worker.finished):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass
            worker.stop()
            ended = worker.wait(timeout_ms)
            if not ended:
                # Still inside a long step or a network read: wait for it rather than destroy a
                # running QThread (which aborts the process). The autosave follows the step.
                self.show_error("Waiting for the training thread to finish its step…")
                ended = worker.wait()
            self._worker = None
        self.explorer.shutdown()
        return ended


# -- saving helpers (GUI thread; the trainer is idle) ---------------------------------------------
def _save_trainer(run: LiveRun, path: Path) -> str | None:
    try:
        run.trainer.save(path)
        return None
    except CheckpointError as e:
        return str(e)


def _save_checkpoint_copy(ckpt: Checkpoint, path: Path) -> str | None:
    try:
        save_checkpoint(path, ckpt.model, train_config=ckpt.train_config, data=ckpt.data, history=ckpt.history,
                        optimizer_state=ckpt.optimizer_state, trainer_state=ckpt.trainer_state, extras=ckpt.extras)
        return None
    except CheckpointError as e:
        return str(e)


# -- help -----------------------------------------------------------------------------------------
ELBO_SUMMARY = (
    "<p>A VAE is trained by maximising the <b>evidence lower bound</b> on log p(x):</p>"
    "<p style='margin-left:1em'>ELBO = E<sub>q(z|x)</sub>[log p(x|z)] − KL(q(z|x) ‖ p(z))</p>"
    "<p>The curves show its negative in nats per image (lower is better): the <b>reconstruction</b> "
    "term −E[log p(x|z)], how well images come back through the latent code, and the <b>KL</b> term, "
    "how far the encoder's Gaussian q(z|x) strays from the prior N(0, I). −ELBO = reconstruction + KL.</p>"
    "<p>β weights the KL term (β = 1 is the true bound); KL warm-up raises it from 0 over the first "
    "epochs. A latent dimension whose KL stays near 0 is unused (an inactive unit).</p>")


def readme_path() -> Path | None:
    path = Path(__file__).resolve().parents[2] / "README.md"
    return path if path.is_file() else None


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def elbo_help_url() -> QUrl | None:
    """The README's section on the ELBO (the first heading that names it), else the README itself."""
    readme = readme_path()
    if readme is None:
        return None
    url = QUrl.fromLocalFile(str(readme))
    try:
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") and "elbo" in line.lower():
                url.setFragment(github_anchor(line.lstrip("#")))
                break
    except OSError:
        pass
    return url
