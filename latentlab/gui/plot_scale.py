"""The UI scale (gui/ui_zoom.py) for plots: markers, line widths, text and legends x factor.

A pyqtgraph scene does not inherit the window's font, and its pens and markers have sizes of
their own. Every item's size at factor 1 is remembered on the item the first time it is scaled
(`_ui_base`), so scaling is idempotent: scale(2) then scale(1.5) gives 1.5x, never 3x.
`ScalingPlotItem` scales what is added to it later too (the canvas adds ellipses, samples and
labels as images are encoded), so nothing appears at 1x in a zoomed window.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont

_BASE = "_ui_base"


def _base(item, key: str, value):
    bases = item.__dict__.setdefault(_BASE, {})
    return bases.setdefault(key, value)


def _scaled_pen(pen, width: float, factor: float):
    pen = pg.mkPen(pen)
    pen.setWidthF(width * factor)
    return pen


def _font(item, key: str, font: QFont, factor: float) -> QFont:
    size = _base(item, key, font.pointSizeF() if font.pointSizeF() > 0 else 9.0)
    scaled = QFont(font)
    scaled.setPointSizeF(size * factor)
    return scaled


def scale_item(item, factor: float) -> None:
    """One plot item at `factor` times its own size (lines, markers, text); others are left alone."""
    if isinstance(item, pg.PlotDataItem):
        if item.opts.get("pen") is not None:
            pen = pg.mkPen(item.opts["pen"])
            if pen.style() != 0:   # Qt.PenStyle.NoPen
                item.setPen(_scaled_pen(pen, _base(item, "pen", pen.widthF() or 1.0), factor))
        if item.opts.get("symbol") is not None:
            item.setSymbolSize(_base(item, "symbol", item.opts.get("symbolSize", 10)) * factor)
    elif isinstance(item, pg.PlotCurveItem):
        pen = pg.mkPen(item.opts["pen"])
        item.setPen(_scaled_pen(pen, _base(item, "pen", pen.widthF() or 1.0), factor))
    elif isinstance(item, pg.ScatterPlotItem):
        item.setSize(_base(item, "size", item.opts.get("size", 7)) * factor)
    elif isinstance(item, pg.TextItem):
        item.setFont(_font(item, "font", item.textItem.font(), factor))


def scale_plot(plot: pg.PlotItem, factor: float, font: QFont | None = None) -> None:
    """Every item of `plot`, its legend and its axes (tick labels and titles in `font`, or the
    axes' own font scaled)."""
    for item in list(plot.items):
        scale_item(item, factor)
    legend = plot.legend
    if legend is not None:
        for sample, label in legend.items:
            scale_item(sample.item if hasattr(sample, "item") else sample, factor)
            size = _base(label, "size", float(str(label.opts.get("size") or "9pt").rstrip("pt") or 9))
            label.setText(label.text, size=f"{size * factor:.1f}pt")
        legend.updateSize()
    for axis in plot.axes.values():
        item = axis["item"]
        tick = font or _font(item, "tick", item.style.get("tickFont") or QFont(), factor)
        item.setTickFont(tick)
        item.label.setFont(font or _font(item.label, "label", item.label.font(), factor))
        item.showLabel(item.label.isVisible())   # makes room beside the axis for the new size


class ScalingPlotItem(pg.PlotItem):
    """A PlotItem whose items are drawn at `ui_scale`, those added later included."""

    ui_scale = 1.0

    def addItem(self, item, *args, **kwargs):  # noqa: N802 - pyqtgraph's name
        super().addItem(item, *args, **kwargs)
        if self.ui_scale != 1.0:
            scale_item(item, self.ui_scale)

    def set_ui_scale(self, factor: float, font: QFont | None = None) -> None:
        self.ui_scale = factor
        scale_plot(self, factor, font)
