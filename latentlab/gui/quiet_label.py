"""A one-line text that changes at every mouse move (the canvas' hover readout) without asking the
window to lay itself out again.

A QLabel's setText always calls updateGeometry(): the layouts from the label up to the main window
are invalidated and redone, and the widgets behind it repaint (a label is not opaque); a selectable
one rebuilds a QTextDocument too. In the main window that was 8 of the 16 Qt events each hover
caused, and while a run trains every event that reaches Python (the app's interaction watch, the
window's repaint accounting) may wait for the interpreter lock the training thread holds. This
widget paints its text itself over its own background at a fixed height, so a new text is one
repaint of its own rectangle. Right-click copies the text (a QLabel's mouse selection is gone).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class QuietLabel(QWidget):
    def __init__(self, text: str = "", parent: QWidget | None = None, objectName: str = ""):
        super().__init__(parent)
        if objectName:
            self.setObjectName(objectName)
        self._text = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setAutoFillBackground(True)      # opaque: nothing behind it repaints with it
        copy = QAction("Copy", self)
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(self._text))
        self.addAction(copy)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.update()                     # no updateGeometry: the height never changes

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.updateGeometry()             # a new font is a new height (rare: the UI zoom)

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._text), self.fontMetrics().height() + 2)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.fontMetrics().height() + 2)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self._text)
