"""A colour key drawn inside a plot's view box, anchored at a corner as the legend is.

pyqtgraph's ColorBarItem takes a column of the plot's layout: switching a layer on would narrow
the canvas and move the view under the mouse (and the map is computed for the view). This one
floats over the plot area on a translucent box, like the legend: a title, a vertical strip of the
colour map with round-number ticks, and optional lines of text under it (the numbers that go
with the picture). It paints itself with QPainter, so the canvas' PNG, SVG and PDF exports
(gui/canvas_export.py) carry it as they carry the legend.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QLinearGradient, QPen

BOX_COLOUR = QColor(22, 24, 29, 232)      # the legend's colour, a little more opaque: maps lie under it
BORDER_COLOUR = QColor(255, 255, 255, 60)
TEXT_COLOUR = QColor("#e8e8e8")
STRIP_WIDTH, STRIP_HEIGHT, PAD, TICK = 12.0, 96.0, 6.0, 4.0
BASE_POINT_SIZE = 8.0


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of ten apart) between lo and hi, at most `count` + 1
    of them and as many as that allows; the two ends themselves when the range is too narrow to
    hold two round numbers."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    power = 10.0 ** math.floor(math.log10((hi - lo) / max(count, 1)))
    step = next(m * power for m in (0.5, 1, 2, 5, 10) if (hi - lo) / (m * power) <= count + 1)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]
    ticks = [0.0 if abs(t) < 1e-12 * step else t for t in ticks if lo - 1e-9 * step <= t <= hi + 1e-9 * step]
    return ticks if len(ticks) >= 2 else [lo, hi]


def tick_text(value: float, ticks: list[float]) -> str:
    """As many decimals as the ticks' spacing needs, and a real minus sign."""
    step = min((abs(b - a) for a, b in zip(ticks, ticks[1:]) if b != a), default=1.0)
    decimals = max(0, min(6, -math.floor(math.log10(step) + 1e-9))) if step > 0 else 2
    return f"{value:.{decimals}f}".replace("-", "−")


class ColourBar(pg.GraphicsWidgetAnchor, pg.GraphicsWidget):
    """A colour key over `lut` ((256, 3 or 4) uint8, dark = low) from `levels[0]` to `levels[1]`."""

    def __init__(self, title: str, lut: np.ndarray, parent, corner: tuple[int, int] = (1, 1),
                 offset: tuple[float, float] = (-6.0, -6.0)):
        pg.GraphicsWidget.__init__(self)
        pg.GraphicsWidgetAnchor.__init__(self)
        self.title = title
        self.lut = np.asarray(lut, dtype=np.uint8)
        self.levels: tuple[float, float] = (0.0, 1.0)
        self.notes: list[str] = []
        self.ui_scale = 1.0
        self.setFlag(self.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.setZValue(100)                     # above everything in the view, as the legend
        self.setParentItem(parent)
        self.anchor(itemPos=corner, parentPos=corner, offset=offset)
        self._relayout()

    # -- what it shows ------------------------------------------------------------------------------
    def set_levels(self, lo: float, hi: float) -> None:
        self.levels = (float(lo), float(hi))
        self._relayout()

    def set_notes(self, lines: list[str]) -> None:
        self.notes = [line for line in lines if line]
        self._relayout()

    def set_ui_scale(self, factor: float) -> None:
        self.ui_scale = float(factor)
        self._relayout()

    def ticks(self) -> list[float]:
        return nice_ticks(*self.levels)

    # -- layout and painting ------------------------------------------------------------------------
    def _font(self) -> QFont:
        font = QFont()
        font.setPointSizeF(BASE_POINT_SIZE * self.ui_scale)
        return font

    def _relayout(self) -> None:
        metrics = QFontMetricsF(self._font())
        s = self.ui_scale
        ticks = self.ticks()
        label_width = max((metrics.horizontalAdvance(tick_text(t, ticks)) for t in ticks), default=0.0)
        strip = STRIP_WIDTH * s + TICK * s + 3 * s + label_width
        width = max([metrics.horizontalAdvance(self.title), strip]
                    + [metrics.horizontalAdvance(line) for line in self.notes]) + 2 * PAD * s
        height = (2 * PAD * s + metrics.height() * (1 + len(self.notes)) + STRIP_HEIGHT * s
                  + metrics.height() * 0.75 + (3 * s if self.notes else 0))
        self.prepareGeometryChange()
        self.setMinimumSize(width, height)
        self.setMaximumSize(width, height)
        self.resize(width, height)
        self.update()

    def _strip_rect(self) -> QRectF:
        metrics = QFontMetricsF(self._font())
        s = self.ui_scale
        top = PAD * s + metrics.height() + metrics.height() * 0.25
        return QRectF(PAD * s, top, STRIP_WIDTH * s, STRIP_HEIGHT * s)

    def paint(self, painter, *_) -> None:
        s = self.ui_scale
        rect = self.boundingRect()
        painter.setPen(QPen(BORDER_COLOUR, 0))
        painter.setBrush(QBrush(BOX_COLOUR))
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 3 * s, 3 * s)
        font = self._font()
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        painter.setPen(QPen(TEXT_COLOUR))
        painter.drawText(QPointF(PAD * s, PAD * s + metrics.ascent()), self.title)
        strip = self._strip_rect()
        gradient = QLinearGradient(strip.bottomLeft(), strip.topLeft())      # low at the bottom
        for k in np.linspace(0, len(self.lut) - 1, 17).round().astype(int):
            r, g, b = (int(c) for c in self.lut[k][:3])
            gradient.setColorAt(k / (len(self.lut) - 1), QColor(r, g, b))
        painter.setPen(QPen(TEXT_COLOUR, 0))
        painter.setBrush(QBrush(gradient))
        painter.drawRect(strip)
        lo, hi = self.levels
        ticks = self.ticks()
        for t in ticks:
            f = 0.5 if hi <= lo else (t - lo) / (hi - lo)
            y = strip.bottom() - f * strip.height()
            painter.drawLine(QPointF(strip.right(), y), QPointF(strip.right() + TICK * s, y))
            painter.drawText(QPointF(strip.right() + TICK * s + 3 * s, y + 0.35 * metrics.ascent()),
                             tick_text(t, ticks))
        y = strip.bottom() + metrics.height() * 0.5 + 3 * s
        for line in self.notes:
            painter.drawText(QPointF(PAD * s, y + metrics.ascent()), line)
            y += metrics.height()
