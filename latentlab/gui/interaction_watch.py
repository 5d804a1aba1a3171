"""Tells the process's CoreShare (app/core_share.py) when someone uses the window.

One application-wide event filter: every mouse move, press, wheel turn, key or drag anywhere in
the app counts, whichever widget gets it (the canvas, the drawing pad, a slider), so no view
needs to know about training threads. The filter only notes the time and lets the event through;
it costs a Python call per event, about a microsecond.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from latentlab.app.core_share import CoreShare, shared

INTERACTIONS = frozenset({
    QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
    QEvent.Type.MouseButtonDblClick, QEvent.Type.HoverMove, QEvent.Type.Wheel, QEvent.Type.KeyPress,
    QEvent.Type.TabletMove, QEvent.Type.TabletPress, QEvent.Type.DragMove, QEvent.Type.Drop,
    QEvent.Type.TouchUpdate,
})


class InteractionWatch(QObject):
    """Installed on the QApplication by `watch_interactions`; removed when it is deleted."""

    def __init__(self, share: CoreShare, parent: QObject | None = None):
        super().__init__(parent)
        self.share = share

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in INTERACTIONS:
            self.share.touch()
        return False


def watch_interactions(owner: QObject, share: CoreShare | None = None) -> InteractionWatch:
    """Report the app's interactions to `share` (the process's) for as long as `owner` lives."""
    watch = InteractionWatch(share or shared(), owner)
    app = QApplication.instance()
    app.installEventFilter(watch)
    return watch
