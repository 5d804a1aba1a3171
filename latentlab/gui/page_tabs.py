"""PageTabs (objectName explorerTabs): tabs whose names wrap onto a second line instead of scrolling,
whose pages scroll when the panel is smaller than they need, and whose pages can be lent to a
window of their own and given back to the same tab.

Why not a QTabWidget: seven tab names need ~550 px, and a QTabWidget narrower than that hides
some behind scroll arrows (at 1280 x 720 "Gaps" and "Examples" were out of sight); here the names
flow like words in a paragraph. Why the scrolling: a page's settings row (the interpolation's
"from ... to ... steps ... mode") is wider than the panel in a 900 px window, and Qt would make
the whole window that wide. The API is QTabWidget's, on pages: `addTab(page, label)`, `count()`,
`currentIndex()`, `setCurrentIndex(i)`, `currentWidget()`, `setCurrentWidget(page)`, `widget(i)`,
`indexOf(page)`, `tabText(i)`, `currentChanged(int)`.

Lending (`lend(page)`) takes a page out of its tab, which then says where it went and has a
button that brings it back; `give_back(page)` puts it back in the same place.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QButtonGroup, QFrame, QHBoxLayout, QLabel, QLayout, QPushButton, QScrollArea,
                               QStackedWidget, QToolButton, QVBoxLayout, QWidget)

HEADER_STYLE = """
QToolButton#pageTab { border: 1px solid transparent; border-radius: 3px; padding: 2px 5px; }
QToolButton#pageTab:hover { border-color: palette(mid); }
QToolButton#pageTab:checked { background: palette(highlight); color: palette(highlighted-text); }
"""


class FlowLayout(QLayout):
    """Items left to right, wrapping onto the next line when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 2):
        super().__init__(parent)
        self._items = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:  # noqa: N802 - Qt's name
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802 - Qt's name
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802 - Qt's name
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):  # noqa: N802 - Qt's name
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt's name
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        width = sum(i.sizeHint().width() for i in self._items) + self._gap * max(0, len(self._items) - 1)
        return QSize(width, max((i.sizeHint().height() for i in self._items), default=0))

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt's name
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _place(self, rect: QRect, move: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x > rect.x() and x + hint.width() > rect.right() + 1:
                x, y, line = rect.x(), y + line + self._gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._gap
            line = max(line, hint.height())
        return y + line - rect.y()


class _Holder(QWidget):
    """A page's place in its scroll area. Its layout does not report height-for-width: QScrollArea
    would otherwise give a page with a wrapping label its preferred height, not its minimum, and
    scroll where nothing needs to."""

    class _Layout(QVBoxLayout):
        def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
            return False

    def __init__(self, page: QWidget):
        super().__init__()
        self.box = self._Layout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.addWidget(page)


class _LentNote(QWidget):
    """What a tab shows while its page is in a window of its own."""

    def __init__(self, title: str, on_bring_back, parent: QWidget | None = None):
        super().__init__(parent)
        note = QLabel(f"{title} is shown in its own window.", objectName="lentNote")
        note.setWordWrap(True)
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        back = QPushButton("Bring it back here", objectName="bringBackButton")
        back.clicked.connect(on_bring_back)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(note)
        layout.addWidget(back, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)


class PageTabs(QWidget):
    currentChanged = Signal(int)
    bringBackRequested = Signal(QWidget)    # a lent page's "Bring it back here": its owner closes its window

    def __init__(self, parent: QWidget | None = None, **kwargs):
        super().__init__(parent, **kwargs)
        self._pages: list[QWidget] = []
        self._holders: list[_Holder] = []
        self._notes: dict[int, QWidget] = {}       # id(page) -> its note while lent
        self.header = QWidget(self)
        self.header.setStyleSheet(HEADER_STYLE)
        self._names = FlowLayout(spacing=2)
        self._buttons = QButtonGroup(self)
        self._buttons.setExclusive(True)
        self._buttons.idClicked.connect(self.setCurrentIndex)
        header = QHBoxLayout(self.header)
        header.setContentsMargins(0, 0, 0, 0)
        header.addLayout(self._names, 1)
        self._corner = QHBoxLayout()
        header.addLayout(self._corner)
        self.stack = QStackedWidget(self)
        self.stack.setFrameShape(QFrame.Shape.StyledPanel)
        self.stack.currentChanged.connect(self._on_stack_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.stack, 1)
        for keys, step in (("Ctrl+Tab", 1), ("Ctrl+Shift+Tab", -1)):
            QShortcut(QKeySequence(keys), self,
                      lambda s=step: self.setCurrentIndex((self.currentIndex() + s) % self.count()),
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # -- QTabWidget's API, on pages --------------------------------------------------------------
    def addTab(self, page: QWidget, label: str) -> int:  # noqa: N802 - QTabWidget's name
        holder = _Holder(page)
        scroll = QScrollArea(self.stack)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        index = self.stack.addWidget(scroll)
        self._pages.append(page)
        self._holders.append(holder)
        button = QToolButton(self.header, objectName="pageTab", text=label, checkable=True)
        self._buttons.addButton(button, index)
        self._names.addWidget(button)
        if index == 0:
            button.setChecked(True)
        return index

    def setCornerWidget(self, widget: QWidget, corner=None) -> None:  # noqa: N802 - QTabWidget's name
        self._corner.addWidget(widget, 0, Qt.AlignmentFlag.AlignTop)

    def count(self) -> int:
        return len(self._pages)

    def currentIndex(self) -> int:  # noqa: N802 - QTabWidget's name
        return self.stack.currentIndex()

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802 - QTabWidget's name
        if 0 <= index < self.count():
            self.stack.setCurrentIndex(index)

    def widget(self, index: int) -> QWidget | None:
        return self._pages[index] if 0 <= index < self.count() else None

    def indexOf(self, page: QWidget) -> int:  # noqa: N802 - QTabWidget's name
        return next((i for i, p in enumerate(self._pages) if p is page), -1)

    def currentWidget(self) -> QWidget | None:  # noqa: N802 - QTabWidget's name
        return self.widget(self.currentIndex())

    def setCurrentWidget(self, page: QWidget) -> None:  # noqa: N802 - QTabWidget's name
        self.setCurrentIndex(self.indexOf(page))

    def tabText(self, index: int) -> str:  # noqa: N802 - QTabWidget's name
        button = self._buttons.button(index)
        return button.text() if button is not None else ""

    def setTabToolTip(self, index: int, tip: str) -> None:  # noqa: N802 - QTabWidget's name
        self._buttons.button(index).setToolTip(tip)

    def pages(self) -> list[QWidget]:
        return list(self._pages)

    def title(self, page: QWidget) -> str:
        return self.tabText(self.indexOf(page)).replace("&", "")

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:    # style-sheeted buttons miss the font Qt hands down
            for button in self._buttons.buttons():
                button.setFont(self.font())

    def _on_stack_changed(self, index: int) -> None:
        button = self._buttons.button(index)
        if button is not None and not button.isChecked():
            button.setChecked(True)
        self.currentChanged.emit(index)

    # -- lending a page to a window of its own ---------------------------------------------------
    def is_lent(self, page: QWidget) -> bool:
        return id(page) in self._notes

    def lend(self, page: QWidget) -> QWidget:
        """Take `page` out of its tab (which then says where it went); returns it, parentless."""
        if not self.is_lent(page):
            holder = self._holders[self.indexOf(page)]
            note = _LentNote(self.title(page), lambda: self.bringBackRequested.emit(page), holder)
            holder.box.replaceWidget(page, note)
            page.setParent(None)
            self._notes[id(page)] = note
        return page

    def give_back(self, page: QWidget) -> None:
        """Put a lent page back in its own tab."""
        note = self._notes.pop(id(page), None)
        if note is not None:
            self._holders[self.indexOf(page)].box.replaceWidget(note, page)
            note.deleteLater()
            page.show()
