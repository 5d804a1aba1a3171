"""SideScroll: rows of controls at their natural height that scroll sideways when the panel is narrower.

Without it a row of controls (the canvas' toggles, the plane's axis choosers of a 10-D model) sets
the narrowest the whole window can be; with it a 900 px window shows the row's start and a scroll
bar under it, and every control stays reachable and unclipped.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget


class SideScroll(QScrollArea):
    def __init__(self, content: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setWidget(content)
        content.installEventFilter(self)    # its rows appear and disappear (the plane's controls)

    def _needs_bar(self) -> bool:
        return self.widget().minimumSizeHint().width() > self.width()

    def sizeHint(self) -> QSize:
        content = self.widget().sizeHint()
        bar = self.horizontalScrollBar().sizeHint().height() if self._needs_bar() else 0
        return QSize(content.width(), content.height() + bar)

    def minimumSizeHint(self) -> QSize:
        return QSize(min(120, self.widget().minimumSizeHint().width()), self.sizeHint().height())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return False

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        had_bar = event.oldSize().width() >= 0 and \
            self.widget().minimumSizeHint().width() > event.oldSize().width()
        super().resizeEvent(event)
        if had_bar != self._needs_bar():
            self.updateGeometry()           # one scroll bar's height more, or less
