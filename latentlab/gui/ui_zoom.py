"""The UI scale: View > Zoom In / Zoom Out / Reset Zoom (Ctrl+= / Ctrl+- / Ctrl+0), remembered.

For a window projected in a lecture hall. One factor (1.0 = the desktop's own size) scales:
- every widget's text, through the main window's font: Qt hands a window's font down to all its
  children (and to the windows of its own that set WA_WindowPropagation, see presentation.py);
  thumbnails and gap bars size themselves from their font, so they follow;
- plots, which draw in a graphics scene that does not inherit widget fonts: a plot widget that
  has a `set_ui_scale(factor)` method gets the factor and scales its own markers, line widths,
  legends and text; one without gets every plot in it scaled (gui/plot_scale.py).

`UiZoom.changed(float)` is the signal to connect to for anything else that should follow.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from . import settings as app_settings

STEPS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)


class UiZoom(QObject):
    """The factor, its steps and where it is remembered. `changed` carries the new factor."""

    changed = Signal(float)

    def __init__(self, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self._settings = settings
        self._factor = app_settings.ui_scale(settings)

    @property
    def factor(self) -> float:
        return self._factor

    def zoom_in(self) -> None:
        self.set_factor(next((s for s in STEPS if s > self._factor + 1e-9), STEPS[-1]))

    def zoom_out(self) -> None:
        self.set_factor(next((s for s in reversed(STEPS) if s < self._factor - 1e-9), STEPS[0]))

    def reset(self) -> None:
        self.set_factor(1.0)

    def set_factor(self, factor: float) -> None:
        lo, hi = app_settings.UI_SCALE_RANGE
        factor = min(max(float(factor), lo), hi)
        if factor != self._factor:
            self._factor = factor
            app_settings.set_ui_scale(self._settings, factor)
            self.changed.emit(factor)


def scaled_font(base: QFont, factor: float) -> QFont:
    """`base` at `factor` times its size (point or pixel size, whichever it has)."""
    font = QFont(base)
    if base.pointSizeF() > 0:
        font.setPointSizeF(base.pointSizeF() * factor)
    elif base.pixelSize() > 0:
        font.setPixelSize(max(1, round(base.pixelSize() * factor)))
    return font


def apply_ui_scale(widget: QWidget, factor: float, font: QFont | None = None) -> None:
    """Scale a plot-holding widget: its own `set_ui_scale(factor)` when it has one, else every
    pyqtgraph plot in it (items, legend, axes: gui/plot_scale.py)."""
    import pyqtgraph as pg

    from .plot_scale import scale_plot

    method = getattr(widget, "set_ui_scale", None)
    if callable(method):
        method(factor)
        return
    plots = [widget] if isinstance(widget, pg.PlotWidget) else []
    for plot_widget in plots + widget.findChildren(pg.PlotWidget):
        scale_plot(plot_widget.getPlotItem(), factor)
