"""From launch to the main window: the first look, torch imported behind it, the hand-over.

`Startup(app, checkpoint, settings, taker, look)` (gui/app.py run_app makes one):
* without a first look (`look` None: a model gui/first_look.py cannot show), the main window is
  built and shown at once, as before there was a first look;
* with one, the first look is shown; once its decoded image is on screen, torch and the Qt-free
  modules the main window needs are imported on a background thread (BACKGROUND_IMPORTS), while
  the first look keeps decoding under the mouse; then, on the GUI thread and one step per pass of
  the event loop (pyqtgraph, the window's modules, the window), the main window is built, put
  where the first look is (size, place, maximised; the point under the mouse carried over), and
  shown when it has decoded its first image; the first look closes in the same pass.

Closing the first look (or Ctrl+C) before the hand-over quits the app; a window being built then
is shut down, never shown. If torch cannot be imported the app says so and exits with status 1.
"""

from __future__ import annotations

import importlib
import sys
import threading
import traceback

HANDOVER_TIMEOUT_MS = 5_000     # the main window shows by then even if it has not decoded an image
# Imported on a background thread while the first look is up: torch and the Qt-free modules of the
# main window (the core and the app state never import Qt: pyproject.toml's import contracts), so
# the GUI thread only has the Qt part left. Widgets and pyqtgraph stay on the GUI thread (a Qt
# module imported on another thread would create Qt's Python enums there, racing the GUI thread).
BACKGROUND_IMPORTS = ("torch", "latentlab.core.checkpoint", "latentlab.core.session", "latentlab.app.documents",
                      "latentlab.app.explorer_work", "latentlab.app.ground_truth_work",
                      "latentlab.app.geometry_work", "latentlab.app.figure_work", "latentlab.app.example_metrics")


class Startup:
    """The first look (if any), the torch import behind it, and the main window taking over."""

    def __init__(self, app, checkpoint, settings, taker, look=None):
        self.app, self.checkpoint, self.settings, self.taker, self.look = app, checkpoint, settings, taker, look
        self.window = None
        self.failed = False            # the main window could not be built (torch missing, say)
        self._importer: threading.Thread | None = None
        if look is None:
            self._build_window()
            self._show_window()
            return
        look.firstImagePainted.connect(self._on_first_look_painted)
        if taker is not None:
            look.resize(*taker.size)
        look.show()

    # -- after the first look is on screen --------------------------------------------------------
    @property
    def loading(self) -> bool:
        """The first look is on screen and the main window is still to come."""
        return self.look is not None and self.look.isVisible()

    def _on_first_look_painted(self) -> None:
        if self.taker is not None:
            self.taker.announce()
        self._relay = _relay(self._on_imported)
        self._importer = threading.Thread(target=_import_in_background, args=(self._relay.done.emit,),
                                          name="latentlab-imports", daemon=True)
        self._importer.start()

    def _on_imported(self, error) -> None:
        if not self.loading:              # closed meanwhile
            return
        if error is not None:
            self._fail(error)
            return
        # The rest is Qt (widgets, pyqtgraph) and happens on the GUI thread, in steps of at most
        # ~0.7 s, one per pass of the event loop, so that the first look answers the mouse between.
        self._run_steps([lambda: importlib.import_module("pyqtgraph"),
                         lambda: importlib.import_module("latentlab.gui.main_window"),
                         self._build_window_then_hand_over])

    def _run_steps(self, steps) -> None:
        from PySide6.QtCore import QTimer

        def step() -> None:
            if not self.loading:          # the first look was closed meanwhile
                if self.window is not None:
                    self.window.shutdown()
                return
            try:
                steps[0]()
            except Exception as e:
                if not isinstance(e, ImportError):
                    traceback.print_exc()     # a bug: show where
                self._fail(e)
                return
            if len(steps) > 1:
                self._run_steps(steps[1:])

        QTimer.singleShot(0, step)

    def _build_window_then_hand_over(self) -> None:
        from PySide6.QtCore import QTimer

        self._build_window()
        if not self.loading:              # the first look was closed while the window was built
            self.window.shutdown()
            return
        _same_place(self.window, self.look)
        z = self.look.hovered_latent      # the point under the mouse stays under it
        hovered = z is not None and self.window.model is not None and self.window.model.latent_dim == len(z)
        if hovered:
            self.window.explorer.show_latent(z)
        state = self.window.explorer.state
        if state.hover_image is not None and not hovered:
            self._hand_over()
            return
        state.events.hover_image.connect(self._on_window_image)
        QTimer.singleShot(HANDOVER_TIMEOUT_MS, self._hand_over)   # an error instead of an image

    def _on_window_image(self, *_) -> None:
        if self.window.explorer.state.hover_image is not None:
            self._hand_over()

    def _hand_over(self) -> None:
        if not self.loading:
            return
        self.window.explorer.state.events.hover_image.disconnect(self._on_window_image)
        self._show_window()
        self.look.close()
        self.look.deleteLater()
        self.look = None

    def _fail(self, error: BaseException) -> None:
        print(f"latentlab: the desktop app cannot start: {error}", file=sys.stderr)
        self.failed = True
        self.close()

    # -- the main window ------------------------------------------------------------------------------
    def _build_window(self) -> None:
        from .gc_guard import collect_on_gui_thread
        from .main_window import MainWindow

        collect_on_gui_thread(self.app)   # never in a worker thread: see gui/gc_guard.py
        self.window = MainWindow(checkpoint=self.checkpoint, settings=self.settings)
        if self.taker is not None:
            self.taker.watch(self.window)

    def _show_window(self) -> None:
        self.window.show()

    # -- ending -----------------------------------------------------------------------------------
    def close(self) -> None:
        """Close what is on screen (Ctrl+C, or a failed start)."""
        if self.loading:
            self.look.close()           # the last window: the app quits
        elif self.window is not None and self.window.isVisible():
            self.window.close()
        else:
            self.app.quit()

    def shutdown(self) -> None:
        if self.window is not None:
            self.window.shutdown()
        if self._importer is not None:
            self._importer.join(timeout=30)   # never end the interpreter in the middle of importing torch


def _same_place(window, look) -> None:
    """Put `window` where `look` is: maximised or full screen as it is, else at its geometry (the
    user may have moved it meanwhile). Not restoreGeometry(saveGeometry()): that one also fits
    the window into the screen, which a window larger than the screen (a screenshot's) is not."""
    from PySide6.QtCore import Qt

    state = look.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen)
    if state:
        window.setWindowState(state)
    else:
        window.setWindowState(Qt.WindowState.WindowNoState)
        window.setGeometry(look.geometry())


def _relay(slot):
    """A QObject on the GUI thread whose `done(object)` signal, emitted from any thread, runs
    `slot` on the GUI thread (queued)."""
    from PySide6.QtCore import QObject, Signal

    class Relay(QObject):
        done = Signal(object)

    relay = Relay()
    relay.done.connect(slot)
    return relay


def _import_in_background(done) -> None:
    error = None
    try:
        for name in BACKGROUND_IMPORTS:
            importlib.import_module(name)
    except BaseException as e:  # reported on the GUI thread, which decides what it means
        error = e
    done(error)
