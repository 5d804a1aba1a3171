"""Showing parts of the explorer large: a tab's page in a window of its own, and the presentation view.

View > Present (F11) fills the screen with the latent canvas and the decoded image; View > Present
Figure fills it with one tab's page (the manifold, prior samples, the interpolation strip, the
encoded image, the gaps...); View > Show in Own Window (or the button beside the tabs) puts a page
in a resizable window to drag onto a projector. Esc or F11 ends a presentation; closing a window
gives its page back.

Nothing in the main window moves meanwhile. The parts are *lent*: each is taken out of its place
and a placeholder keeps that place (in a tab: a note with a "Bring it back here" button), so
giving it back restores the layout exactly as it was, splitter sizes, docks and tabs included.
The windows set WA_WindowPropagation, so they inherit the main window's font: the UI zoom.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

EXIT_KEYS = (Qt.Key.Key_Escape, Qt.Key.Key_F11)
CANVAS_BACKGROUND, CANVAS_TEXT = "#16181d", "#e8e8e8"


def take_from_layout(widget: QWidget) -> Callable[[], None]:
    """Take `widget` out of its parent's layout (at any depth) and leave an empty placeholder with
    the same size policy in its place; returns the function that puts it back exactly there."""
    parent = widget.parentWidget()
    layout = parent.layout() if parent is not None else None
    placeholder = QWidget(parent)
    placeholder.setSizePolicy(widget.sizePolicy())
    if layout is None or layout.replaceWidget(widget, placeholder) is None:
        placeholder.deleteLater()
        raise ValueError(f"{type(widget).__name__} is not in a layout")

    def put_back() -> None:
        layout.replaceWidget(placeholder, widget)
        placeholder.deleteLater()
        widget.show()

    return put_back


class HostWindow(QWidget):
    """A window that holds lent widgets; closing it gives them back (newest first)."""

    closed = Signal()

    def __init__(self, parent: QWidget, title: str, name: str):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName(name)
        self.setWindowTitle(f"{title} — latentlab")
        self.setAttribute(Qt.WidgetAttribute.WA_WindowPropagation)     # the UI zoom's font
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self._give_back: list[Callable[[], None]] = []

    def hold(self, give_back: Callable[[], None]) -> None:
        self._give_back.append(give_back)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().closeEvent(event)
        self.release()

    def release(self) -> None:
        """Give everything back (also when the window is deleted without being closed)."""
        if not self._give_back:
            return
        while self._give_back:
            self._give_back.pop()()
        self.closed.emit()


class Presentation(QObject):
    """The explorer's presentation view and own windows. `changed` fires when either opens or closes."""

    changed = Signal()

    def __init__(self, explorer):
        super().__init__(explorer)
        self.explorer = explorer
        self.window: HostWindow | None = None      # the presentation view, while there is one
        self.presented_page: QWidget | None = None
        self.own_windows: dict[int, tuple[QWidget, HostWindow]] = {}    # by id(page)
        explorer.tabs.bringBackRequested.connect(self.close_window)

    # -- the presentation view -----------------------------------------------------------------
    @property
    def presenting(self) -> bool:
        return self.window is not None

    def present(self, page: QWidget | None = None) -> HostWindow:
        """Fill the screen with the canvas and the decoded image, or with one of the tabs' pages."""
        self.end_presentation()
        explorer = self.explorer
        title = "Canvas and decoded image" if page is None else explorer.tabs.title(page)
        host = HostWindow(explorer.window(), f"Presenting {title}", "presentationWindow")
        if page is None:
            # Dark like the canvas, as a slide: the decoded image, and under it the latent point.
            palette = host.palette()
            palette.setColor(QPalette.ColorRole.Window, QColor(CANVAS_BACKGROUND))
            palette.setColor(QPalette.ColorRole.WindowText, QColor(CANVAS_TEXT))
            host.setPalette(palette)
            pair = QSplitter(Qt.Orientation.Horizontal, host)
            pair.setObjectName("presentationSplitter")
            host.hold(take_from_layout(explorer.canvas))
            pair.addWidget(explorer.canvas)
            side = QWidget(pair)
            side_layout = QVBoxLayout(side)
            for widget, stretch in ((explorer.decoded, 1), (explorer.readout, 0)):
                host.hold(take_from_layout(widget))
                side_layout.addWidget(widget, stretch)
            pair.addWidget(side)
            host.box.addWidget(pair)
        else:
            self.close_window(page)
            host.hold(self._lend_page(page, host))
            self.presented_page = page
        for key in EXIT_KEYS:
            QShortcut(QKeySequence(key), host, host.close)
        host.closed.connect(self._on_presentation_closed)
        self.window = host
        screen = explorer.window().screen()
        host.setScreen(screen)
        host.setGeometry(screen.geometry())
        if page is None:     # the canvas square, as high as the screen (at most 3/5 of it), the image the rest
            width, height = screen.geometry().width(), screen.geometry().height()
            pair.setSizes([min(height, width * 3 // 5), width - min(height, width * 3 // 5)])
        host.showFullScreen()
        host.activateWindow()
        self.changed.emit()
        return host

    def end_presentation(self) -> None:
        if self.window is not None:
            self.window.close()

    def _on_presentation_closed(self) -> None:
        host, self.window, self.presented_page = self.window, None, None
        if host is not None:
            host.deleteLater()
        self.explorer.window().activateWindow()
        self.changed.emit()

    # -- pages in windows of their own ---------------------------------------------------------
    def show_in_window(self, page: QWidget) -> HostWindow:
        """Put `page` in a resizable window of its own (or raise the one it is in)."""
        if id(page) in self.own_windows:
            host = self.own_windows[id(page)][1]
        else:
            if page is self.presented_page:
                self.end_presentation()
            title = self.explorer.tabs.title(page)
            host = HostWindow(self.explorer.window(), title, f"ownWindow{title.replace(' ', '')}")
            host.hold(self._lend_page(page, host))
            host.closed.connect(lambda: self._on_window_closed(page))
            self.own_windows[id(page)] = (page, host)
            area = self.explorer.window().screen().availableGeometry()
            hint = page.sizeHint()
            host.resize(max(hint.width(), area.width() // 2), max(hint.height(), area.height() * 2 // 3))
            host.move(area.center() - host.rect().center())
            self.changed.emit()
        host.show()
        host.raise_()
        host.activateWindow()
        return host

    def close_window(self, page: QWidget) -> None:
        if id(page) in self.own_windows:
            self.own_windows[id(page)][1].close()

    def _on_window_closed(self, page: QWidget) -> None:
        _, host = self.own_windows.pop(id(page), (None, None))
        if host is not None:
            host.deleteLater()
        self.changed.emit()

    def _lend_page(self, page: QWidget, host: HostWindow) -> Callable[[], None]:
        tabs = self.explorer.tabs
        tabs.lend(page)
        host.box.addWidget(page)
        page.show()
        return lambda: tabs.give_back(page)

    # -- what is shown where -----------------------------------------------------------------------
    def shown_pages(self) -> list[QWidget]:
        """The tabs' pages now in a window: the presented one first."""
        pages = [page for page, _ in self.own_windows.values()]
        return ([self.presented_page] if self.presented_page is not None else []) + pages

    def close_all(self) -> None:
        self.end_presentation()
        for page, _ in list(self.own_windows.values()):
            self.close_window(page)
