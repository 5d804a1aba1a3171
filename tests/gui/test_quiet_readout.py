"""The hover readout changes at every mouse move without laying out the window again (a QLabel's
setText does: 8 of the 16 Qt events a hover caused in the main window, each a Python call while a
run trains)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QVBoxLayout, QWidget

from canvas_fixtures import canvas_of, hover, latent_under, pixel_at
from latentlab.gui.quiet_label import QuietLabel


class LayoutRequests(QObject):
    """Counts the layout requests each watched widget receives."""

    def __init__(self, *widgets):
        super().__init__()
        self.count = 0
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_a_new_text_repaints_the_label_alone(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    label = QuietLabel("z = —", objectName="readout")
    QVBoxLayout(parent).addWidget(label)
    parent.show()
    qtbot.waitExposed(parent)
    qtbot.wait(20)                          # the layout requests of showing it are delivered
    height = label.height()
    requests = LayoutRequests(parent)
    for i in range(5):
        label.setText(f"z = (+{i}.00, -0.50)   log p(z) = -2.{i}")
        qtbot.wait(1)                       # let posted events be delivered
    assert requests.count == 0 and label.text() == "z = (+4.00, -0.50)   log p(z) = -2.4"
    assert label.height() == height > label.fontMetrics().height() - 1
    label.actions()[0].trigger()            # right-click > Copy
    assert QGuiApplication.clipboard().text() == label.text()


def test_hovering_the_canvas_does_not_lay_out_the_main_window(make_window, qtbot):
    window = make_window()
    explorer = window.explorer
    canvas = canvas_of(explorer)
    hover(qtbot, explorer, pixel_at(canvas, 0.5, 0.5))
    # The readout's own column: the window as a whole may still be laying out what opened with it
    # (the curves' side panel, the scrolled view controls).
    requests = LayoutRequests(explorer.readout.parentWidget())
    for u in (-1.0, 0.0, 1.0):
        pos = pixel_at(canvas, u, -0.5)
        hover(qtbot, explorer, pos)
        z = latent_under(explorer, pos)
        assert f"z = ({z[0]:+.2f}, {z[1]:+.2f})" in explorer.readout.text()
    assert requests.count == 0
