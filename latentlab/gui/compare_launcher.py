"""File > Compare With…: opens the comparison view on the window's model and 1 to 3 files, and
keeps the window's entry in it current.

The window's model is one of the compared models and follows the window: a snapshot of the run
it trains becomes that canvas's new weights (decoded and encoded again at once), each epoch's end
measures its row again (on a thread of the lowest priority: the training thread, niced by 10,
keeps the cores), opening another file replaces it. The explorer's plane is the plane of every
model of its dimension, and the image drawn or dropped in the explorer is encoded by every model.

Files are read off the GUI thread; a file that cannot be compared (damaged, foreign, a folder, a
FIFO, an M2) is named in the status bar and the others open. Closing the view stops its threads
and drops every model it held.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog

from latentlab.app.class_choice import is_class_view
from latentlab.app.compare_models import (
    ComparedModel,
    CompareError,
    model_card,
    read_compared,
)
from latentlab.app.compare_state import MAX_MODELS, CompareState
from latentlab.app.compare_work import CompareWork
from latentlab.app.vocabulary import CHECKPOINT_SUFFIXES, file_dialog_filter
from latentlab.core.shipped import shipped_models, shipped_models_dir

from .compare_view import CompareView
from .latest_wins import LatestWinsWorker
from .off_thread import run_off_gui_thread
from .training_thread import lower_priority

LOWEST_PRIORITY = 19          # nice of the thread that measures rows (the training thread's is 10)
DEFAULT_SIZE = (1280, 720)    # the projector's; smaller where the screen is


class CompareLauncher(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.view: CompareView | None = None
        self.state: CompareState | None = None
        self.work: CompareWork | None = None
        self._threads: tuple[LatestWinsWorker, ...] = ()
        self._live_id: str | None = None
        self._followed_worker = None
        self._links: list = []
        self.live_images: int | None = None      # images of a live row (None: LIVE_IMAGES); tests set fewer
        self.action = QAction("Compare &With…", window)
        self.action.setObjectName("actionCompareWith")
        self.action.setToolTip("Open the window's model and 1 to 3 other models side by side")
        self.action.triggered.connect(self._dialog)

    def add_to_menu(self, menu) -> None:
        """The action, and a submenu that compares with one shipped model in one click."""
        menu.addAction(self.action)
        shipped = menu.addMenu("Compare With Shipped Model")
        shipped.setObjectName("menuCompareWithShipped")
        for path in shipped_models():
            action = shipped.addAction(path.stem)
            action.triggered.connect(lambda _=False, p=path: self.compare_with([p]))

    def _dialog(self) -> None:
        # The shipped models' folder first: comparing against a reference is the common case.
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Compare with (pick 1 to 3 models)",
                                                str(shipped_models_dir()),
                                                file_dialog_filter("latentlab checkpoints", CHECKPOINT_SUFFIXES))
        if paths:
            self.compare_with(paths)

    # == opening ====================================================================================
    def compare_with(self, paths) -> bool:
        """Compare the window's model with the models of `paths` (1 to 3 files). True when the view
        opened (with every file that could be read; the others are named in the status bar)."""
        window = self.window
        paths = [Path(p) for p in paths]
        most = MAX_MODELS - 1
        if not paths or len(paths) > most:
            names = ", ".join(p.name for p in paths[:6]) + (", …" if len(paths) > 6 else "")
            window.show_error(f"Pick 1 to {most} models to compare with the window's; {len(paths)} were picked"
                              + (f" ({names})" if names else ""))
            return False
        try:
            live = self._window_entry("")
        except CompareError as e:
            window.show_error(str(e))
            return False
        results = run_off_gui_thread(lambda: [_read_or_error(p) for p in paths])
        errors = [error for _, error in results if error]
        models = [compared for compared, _ in results if compared is not None]
        if not models:
            window.show_error("Nothing to compare: " + "; ".join(errors))
            return False
        self.close_view()
        self._open_view([live, *models])
        names = ", ".join(m.name for m in [live, *models])
        window.show_message(f"Comparing {names}" + (f". Not compared: {'; '.join(errors)}" if errors else ""))
        return True

    def _window_entry(self, model_id: str) -> ComparedModel:
        """The window's model as a compared model (an M2 shown by class is refused by name)."""
        window = self.window
        model = window.explorer.model
        name = _document_name(window)
        if model is None:
            raise CompareError("The window shows no model to compare")
        if is_class_view(model) or window.explorer.state.semi_model is not None:
            raise CompareError(f"{name} is an M2 / M1+M2 (semi-supervised) model: the comparison view compares "
                               "VAEs; open a VAE in the window first")
        run = window.training.live_run if window.training.has_run else None
        checkpoint = getattr(window, "_checkpoint", None)      # the file opened last
        if run is not None:
            data = run.spec.to_dict()
        else:
            data = dict(checkpoint.data or {}) if checkpoint is not None else {}
        document = getattr(window, "_document", None)
        card = model_card(document) if document is not None and not window.training.has_run else None
        return ComparedModel(model_id, name, model, data, window.explorer.state.scatter, card, live=True,
                             path=document)

    def _open_view(self, models: list[ComparedModel]) -> None:
        window = self.window
        self.state = state = CompareState()
        model_thread = LatestWinsWorker("latentlab-compare", parent=self)
        metrics_thread = LatestWinsWorker("latentlab-compare-rows", parent=self)
        metrics_thread.submit("priority", lambda: lower_priority(LOWEST_PRIORITY), lambda _: None)
        self._threads = (model_thread, metrics_thread)
        self.work = CompareWork(state, model_thread, metrics_thread, self.live_images)
        explorer = window.explorer.state
        state.set_reference_plane(explorer.plane)
        for compared in models:
            compared.id = state.new_id()
            state.add_model(compared)
        self._live_id = models[0].id
        self.view = view = CompareView(state, self.work.cancel_rows, self._measure_missing, window)
        view.closed.connect(self.close_view)
        # What the view follows in the window (connected here, disconnected in close_view).
        self._links = [(state.events.message, window.show_message), (explorer.events.model, self._on_window_model),
                       (explorer.events.plane, self._on_window_plane), (explorer.events.pixels, self._on_window_image),
                       (window.training.busyChanged, self._on_training_busy),
                       (window.training.runReady, self._on_run_ready)]
        for signal, slot in self._links:
            signal.connect(slot)
        self._on_training_busy(window.is_training)
        detailed = explorer.detailed_encoding()
        if detailed is not None:
            state.set_image(detailed.source)
        state.set_hover(self._live_id, 0.0, 0.0)       # each model's image of the plane's origin
        screen = (window.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        view.resize(min(DEFAULT_SIZE[0], screen.width()), min(DEFAULT_SIZE[1], screen.height()))
        view.show()

    def _measure_missing(self) -> None:
        state = self.state
        for model_id in list(state.models):
            if model_id not in state.rows:
                self.work.measure(model_id)

    # == following the window =======================================================================
    def _on_window_model(self, change) -> None:
        state, window = self.state, self.window
        if state is None or self._live_id not in state.models:
            return
        entry = state.models[self._live_id]
        if change.snapshot and not change.class_switch and change.model is not None \
                and change.model.latent_dim == entry.dim:
            entry.scatter = window.explorer.state.scatter
            state.set_weights(self._live_id, change.model)
            return
        try:        # another file, or a new run's first weights (of another dimension, say)
            state.replace_model(self._live_id, self._window_entry(self._live_id))
        except CompareError as e:
            state.remove_model(self._live_id)
            window.show_error(f"{e}; it left the comparison")

    def _on_run_ready(self, run) -> None:
        """A run started (or continued): the window's entry is now that run, not the file opened."""
        state = self.state
        if state is not None and self._live_id in state.models:
            try:
                entry = self._window_entry(self._live_id)
            except CompareError as e:          # the window now trains an M2
                state.remove_model(self._live_id)
                self.window.show_error(f"{e}; it left the comparison")
                return
            entry.card = None
            state.replace_model(self._live_id, entry)

    def _on_window_plane(self) -> None:
        if self.state is not None:
            self.state.set_reference_plane(self.window.explorer.state.plane)

    def _on_window_image(self, encoding_id: str) -> None:
        encoding = self.window.explorer.state.encodings.get(encoding_id)
        if self.state is not None and encoding is not None:
            self.state.set_image(encoding.source)

    def _on_training_busy(self, busy: bool) -> None:
        worker = self.window.training.worker if busy else None
        if worker is not None and worker is not self._followed_worker:
            worker.epochEnded.connect(self._on_epoch)
            worker.runEnded.connect(self._on_epoch)
        self._followed_worker = worker

    def _on_epoch(self, *_) -> None:
        """An epoch ended (the snapshot of its weights came first): measure its row again."""
        if self.work is not None and self._live_id in self.state.models:
            self.work.measure(self._live_id)

    # == closing ====================================================================================
    def close_view(self) -> None:
        """Stop the threads, forget every model, close the window. Safe to call more than once."""
        view, state = self.view, self.state
        if view is None:
            return
        self.view = None
        if self.work is not None:
            self.work.cancel_rows()
        for thread in self._threads:
            thread.shutdown()
        for signal, slot in self._links:
            signal.disconnect(slot)
        self._links = []
        if self._followed_worker is not None:
            for signal in (self._followed_worker.epochEnded, self._followed_worker.runEnded):
                try:
                    signal.disconnect(self._on_epoch)
                except (RuntimeError, TypeError):   # the worker is gone already
                    pass
        view.disconnect_state()
        state.clear()
        view.closed.disconnect(self.close_view)
        view.close()
        view.deleteLater()
        for thread in self._threads:
            thread.deleteLater()
        self.state, self.work, self._threads, self._followed_worker = None, None, (), None


def _read_or_error(path: Path) -> tuple[ComparedModel | None, str]:
    try:
        return read_compared(path, ""), ""     # its id is given when it joins the state
    except CompareError as e:
        return None, str(e)


def _document_name(window) -> str:
    run = window.training.live_run if window.training.has_run else None
    if run is not None:
        return run.out.parent.name
    document = getattr(window, "_document", None)
    return document.stem if document is not None else "untitled"
