"""The main window: explorer in the middle, training panel and curves in docks, menus, status bar.

The window owns the document (the model shown and the file it came from), the menus, the
settings and following a run written elsewhere; training is the TrainingController's job
(gui/training_controller.py). Each widget does one job on its own.

Errors go to the status bar and stay there until the next user action; nothing here opens a
modal dialog that nobody may be there to answer (only a person's own click opens a file dialog).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from PySide6.QtCore import QByteArray, QEvent, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox

from latentlab.app.documents import opened_message, read_checkpoint, save_checkpoint_copy
from latentlab.app.vocabulary import CHECKPOINT_SUFFIXES, file_dialog_filter
from latentlab.core.checkpoint import Checkpoint, CheckpointError
from latentlab.core.shipped import default_checkpoint, shipped_models, shipped_models_dir

from . import about
from .collapse_view import CollapseView
from .compare_launcher import CompareLauncher
from .curves import CurvePanel
from .explorer import LatentExplorer
from .off_thread import run_off_gui_thread
from .rd_plane import RateDistortionView
from .run_following import RunFollowing
from .settings import RecentFiles, app_settings, is_inside, runs_dir, saved_layout_is_current
from .training_controller import TrainingController
from .training_panel import TrainingPanel
from .window_view import WindowView

CLOSE_TIMEOUT_MS = 2000      # closing while training: the worker stops within a step, then saves


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

        self._checkpoint: Checkpoint | None = None   # the last opened file's contents
        self._document: Path | None = None           # the file the shown model belongs to
        self.remember_layout = True                  # False: leave the saved window layout alone

        self._build_widgets()
        self.view = WindowView(self)      # View menu, dock layout, presentation (F11), UI zoom
        self.resize(self.view.default_size())
        self.view.arrange_docks()
        self._build_menus()
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
        self.training_dock = self._dock("Training", "trainingDock", self.training_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        # Where the docks go by default: gui/window_view.py (arrange_docks).
        self.curves = CurvePanel(self)
        self.curves_dock = self._dock("Curves", "curvesDock", self.curves, Qt.DockWidgetArea.RightDockWidgetArea)
        self.collapse = CollapseView(self)     # tabified with the curves (window_view.arrange_docks)
        self.collapse_dock = self._dock("Collapse", "collapseDock", self.collapse, Qt.DockWidgetArea.RightDockWidgetArea)
        self.collapse.statusMessage.connect(self.show_message)
        self.rd_plane = RateDistortionView(self.recent, self.settings, self)     # tabified with the collapse view
        self.rd_plane_dock = self._dock("Rate–Distortion", "rdPlaneDock", self.rd_plane, Qt.DockWidgetArea.RightDockWidgetArea)

        self.run_label = QLabel()
        self.run_label.setObjectName("runLabel")
        # Shown while the last autosave (or metrics write) failed, until one works again.
        self.save_warning = QLabel()
        self.save_warning.setObjectName("saveWarning")
        self.save_warning.setStyleSheet("color: #b00020; font-weight: bold;")
        self.save_warning.hide()
        self.statusBar().addPermanentWidget(self.save_warning)
        self.statusBar().addPermanentWidget(self.run_label)
        self._opening: Path | None = None   # a file being read (off the GUI thread)

        self.training = TrainingController(self.training_panel, self.curves, self.explorer, self, self.collapse)
        self.training.message.connect(self.show_message)
        self.training.error.connect(self.show_error)
        self.training.statusText.connect(self.run_label.setText)
        self.training.busyChanged.connect(self._on_training_busy)
        self.training.runReady.connect(self._on_run_ready)
        self.training.runEnded.connect(self._on_run_ended)
        self.training.saveStateChanged.connect(self._on_save_state)
        self.rd_plane.follow(self.training)
        self.rd_plane.statusMessage.connect(self.show_message)
        self.rd_plane.openRequested.connect(self.open_checkpoint)

        self.following = RunFollowing(self.curves, self.explorer, self, self.collapse)
        self.following.message.connect(self.show_message)
        self.following.label.connect(self.run_label.setText)
        self.following.checkpointReloaded.connect(self._on_followed_checkpoint)
        self.following.takenOver.connect(self._on_followed_file_taken_over)

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
        # Ctrl+Q spelled out: StandardKey.Quit is empty on some desktops.
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "actionQuit")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.shipped_menu = file_menu.addMenu("Open Shipped &Model")
        for path in shipped_models():
            self.shipped_menu.addAction(self._action(path.stem, lambda _=False, p=path: self.open_checkpoint(p)))
        self.comparing = CompareLauncher(self)     # File > Compare With… (gui/compare_launcher.py)
        self.comparing.add_to_menu(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        for action in self.explorer.menu_actions():
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("Export Curves as &CSV…", self._export_csv_dialog, name="actionExportCsv"))
        file_menu.addAction(self._action("Export Curves as &PNG…", lambda _=False: self._export_curves_dialog("png"),
                                         name="actionExportPng"))
        file_menu.addAction(self._action("Export Curves as &SVG…", lambda _=False: self._export_curves_dialog("svg"),
                                         name="actionExportCurvesSvg"))
        file_menu.addAction(self._action("Export Curves as P&DF…", lambda _=False: self._export_curves_dialog("pdf"),
                                         name="actionExportCurvesPdf"))
        file_menu.addAction(self._action("Export Co&llapse View…", lambda _=False: self.collapse.export_dialog(
            self._start_folder()), name="actionExportCollapse"))
        file_menu.addAction(self._action("Export &Replay…", lambda _=False: self.explorer.replay.export_dialog(
            self._start_folder()), name="actionExportReplay"))
        file_menu.addActions(self.rd_plane.menu_actions(self._start_folder))
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        self.view_menu = self.view.fill_menu(bar.addMenu("&View"))

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("The &ELBO Explained", self.show_elbo_help,
                                         QKeySequence.StandardKey.HelpContents, "actionHelpElbo"))
        about_action = self._action("&About latentlab", self.show_about, name="actionAbout")
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        help_menu.addAction(about_action)

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
        return self.training.is_training

    @property
    def model(self):
        return self.explorer.model

    def open_checkpoint(self, path) -> bool:
        """Show the model of a checkpoint, its curves and its settings: the whole window switches,
        or (on any error) nothing does and the status bar says why.

        The file is read on another thread while the event loop runs (the window stays live for a
        large file or a slow network folder); a second open asked for meanwhile is refused."""
        path = Path(path)
        if self.is_training:
            self.show_error("Stop training before opening another model.")
            return False
        if self._opening is not None:
            self.show_error(f"Still opening {self._opening.name}; try again when it is open.")
            return False
        self._opening = path
        try:
            ckpt, history = run_off_gui_thread(lambda: read_checkpoint(path))
        except CheckpointError as e:
            self.show_error(str(e))
            return False
        finally:
            self._opening = None
        if self.is_training:   # Train was clicked while the file was being read
            self.show_error("Stop training before opening another model.")
            return False
        self._stop_following()
        self._checkpoint, self._document = ckpt, path
        self.training.forget_run()
        self.explorer.set_model(ckpt.model, ckpt.extras or None, reset_view=True, data=ckpt.data or None)
        self.explorer.replay.show_run(path)      # its training replay, when it has one
        self.curves.load_history(history, ckpt.model.latent_dim)
        self.collapse.load_history(history, ckpt.model.latent_dim)
        following = self.following.follow_if_same_run(path, ckpt)
        shipped = is_inside(path, shipped_models_dir())
        done = int(ckpt.trainer_state.get("epoch", 0))
        if ckpt.data.get("dataset"):
            # The shipped model is a finished reference: Train starts a new model unless asked otherwise.
            self.training_panel.set_run(ckpt.model.config, ckpt.train_config, ckpt.data, done,
                                        continue_now=not shipped, diverged=ckpt.trainer_state.get("diverged"))
        else:
            self.training_panel.clear_run()  # nothing says which data it was trained on
        if not shipped:
            self.recent.add(path)
            self.settings.setValue("lastOpened", str(path.resolve()))
            self.settings.setValue("lastFolder", str(path.resolve().parent))
        self._update_title()
        self.show_message(opened_message(path, ckpt) + ("; following its metrics file live" if following else ""))
        self.run_label.setText("following a run" if following else "")
        return True

    def compare_with(self, paths) -> bool:
        """Open the comparison view (objectName 'compareView') on this model and 1 to 3 files."""
        return self.comparing.compare_with(paths)

    def save_checkpoint(self, path) -> bool:
        """Save the shown run (weights, optimizer, curves) to `path`, atomically. Works while training."""
        path = Path(path)
        if self.training.has_run:
            error = self.training.save(path)
        elif self._checkpoint is not None:
            error = save_checkpoint_copy(self._checkpoint, path)
        else:
            error = "There is no model to save."
        if error:
            self.show_error(error)
            return False
        self._document = path
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
                                              file_dialog_filter("latentlab checkpoints", CHECKPOINT_SUFFIXES))
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

    def _export_curves_dialog(self, kind: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export curves as {kind.upper()}",
                                              str(Path(self._start_folder()) / f"curves.{kind}"),
                                              f"{kind.upper()} (*.{kind})")
        if path:
            self.export_curves_figure(path, kind)

    def export_curves_csv(self, path) -> bool:
        try:
            self.curves.export_csv(path)
        except OSError as e:
            self.show_error(f"Could not write {path}: {e.strerror or e}")
            return False
        self.show_message(f"Exported the curves to {path}")
        return True

    def export_curves_png(self, path) -> bool:
        return self.export_curves_figure(path, "png")

    def export_curves_figure(self, path, kind: str | None = None) -> bool:
        """The curves as a figure: "svg" or "pdf" (vector) or "png"; by default the suffix of `path`."""
        try:
            self.curves.export_figure(path, kind=kind)
        except OSError as e:
            self.show_error(str(e))
            return False
        self.show_message(f"Exported the curves as a figure to {path}")
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
        about.show_about(self)

    def show_elbo_help(self) -> None:
        about.show_elbo_help(self)

    # == training (gui/training_controller.py does the work) ================================================
    def start_training(self) -> bool:
        """Start (or continue) a run with the training panel's settings."""
        if self.training.is_training:
            return False
        if self._opening is not None:
            self.show_error(f"Still opening {self._opening.name}; Train again when it is open.")
            return False
        started = self.training.start(self._checkpoint, self._document)
        if started:
            self._stop_following()
        return started

    def toggle_pause(self) -> None:
        self.training.toggle_pause()

    def pause_training(self) -> None:
        self.training.pause()

    def resume_training(self) -> None:
        self.training.resume()

    def stop_training(self) -> None:
        self.training.stop()

    def _on_training_busy(self, busy: bool) -> None:
        for widget in (self.open_action, self.shipped_menu, self.recent_menu):
            widget.setEnabled(not busy)
        self._update_title()

    def _on_run_ready(self, run) -> None:
        self._document = run.out
        self.explorer.replay.show_run(run.out)
        self._update_title()

    def _on_run_ended(self, run) -> None:
        if run.save_error is None and run.out.is_file():   # never list a file that was not written
            self.recent.add(run.out)

    def _on_save_state(self, error: str) -> None:
        """The last autosave failed (error) or worked again (empty)."""
        self.save_warning.setText(f"⚠ not saved: {one_line(error)}" if error else "")
        self.save_warning.setToolTip(error)
        self.save_warning.setVisible(bool(error))

    def event(self, event) -> bool:
        # While training, repaints are charged to the update that caused them (app/pacing.py).
        if event.type() == QEvent.Type.UpdateRequest and self.training.is_training:
            started = time.perf_counter()
            result = super().event(event)
            self.training.pacer.add_paint(time.perf_counter() - started)
            return result
        return super().event(event)

    # == following a run written elsewhere (gui/run_following.py does the work) ====================
    @property
    def _follower(self):
        return self.following.follower

    def follow_run(self, metrics_path, checkpoint_path=None, offset: int = 0, run_id: str | None = None) -> None:
        """Follow a growing metrics file (and reload the checkpoint whenever it is rewritten);
        with `run_id`, only while the file belongs to that run."""
        self.following.follow(metrics_path, checkpoint_path, offset, run_id, self._checkpoint)

    def _stop_following(self) -> None:
        self.following.stop()

    def _on_followed_checkpoint(self, ckpt) -> None:
        self._checkpoint = ckpt

    def _on_followed_file_taken_over(self, path: str) -> None:
        if self._opening is None:
            self.open_checkpoint(path)  # another run now writes this file: show it as if opened

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
        return files[0] if len(files) == 1 and files[0].lower().endswith(CHECKPOINT_SUFFIXES) else None

    # == window state ===============================================================================
    def _restore_window_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        current = saved_layout_is_current(self.settings)   # (an older default layout is not restored)
        if isinstance(state, QByteArray) and current:
            self.restoreState(state)
        self.training_panel.restore_settings(self.settings)
        self.view.apply_zoom()

    def _save_window_state(self) -> None:
        if not self.remember_layout:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.training_panel.save_settings(self.settings)
        self.settings.sync()

    def closeEvent(self, event) -> None:
        if self.training.autosave_failed and self.isVisible() and not self._confirm_close():
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
        self.comparing.close_view()
        ended = self.training.shutdown(timeout_ms)
        self.explorer.shutdown()
        self.rd_plane.shutdown()
        return ended
