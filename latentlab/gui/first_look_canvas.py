"""The first look's latent canvas: the encoded test set on the prior's circles, drawn with QPainter.

It stands in for the explorer's canvas (canvas.py) in the second or two before that one exists,
and looks like it: the same dark plot, grid, axes, dashed 1σ/2σ circles, tab10 points of the same
size and opacity, the same legend in the corner and the same view (the prior's 2σ disc widened to
hold the test set, equal units on both axes). It is plain QPainter because pyqtgraph takes about
0.4 s to import, which the first picture cannot afford. The 10,000 points are splatted into an
image with NumPy (a few milliseconds; QPainter took 20-40 ms to draw them one by one).

It does one thing beyond drawing: it reports the mouse in canvas coordinates (`hovered(u, v)`).
No panning or zooming: the full canvas takes over within a few seconds.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from latentlab.app.plane import DEFAULT_RANGE, default_view  # noqa: F401 - the canvas' view rule, shared

# The explorer canvas' look (canvas.py; tests/gui/test_first_look.py keeps them equal).
BACKGROUND = "#16181d"
LABEL_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
UNLABELLED = "#9aa0a6"
PRIOR_COLOUR = "#c8c8c8"
FOREGROUND = QColor(150, 150, 150)        # pyqtgraph's axes, ticks and grid (the grid at alpha 0.12)
POINT_RADIUS = 2.0                        # the scatter's 4-pixel dots
MIN_TICK_PIXELS = 50


def point_alpha(count: int) -> int:
    """The scatter's opacity for `count` points (canvas.LatentCanvas._alpha_for)."""
    return int(np.clip(255 * 1500 / max(count, 1), 60, 200))


def _disc(radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (K, 2) around a centre pixel and the share of each a disc of `radius` covers."""
    reach, sub = int(math.ceil(radius)), (np.arange(8) + 0.5) / 8 - 0.5
    offsets, cover = [], []
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            share = float(((dx + sub[None, :]) ** 2 + (dy + sub[:, None]) ** 2 <= radius ** 2).mean())
            if share > 0:
                offsets.append((dx, dy))
                cover.append(share)
    return np.array(offsets, dtype=np.int64), np.array(cover)


def splat(size: tuple[int, int], xy: np.ndarray, rgb: np.ndarray, alpha: float, radius: float,
          background: tuple[int, int, int]) -> np.ndarray:
    """Discs of `radius` pixels at `xy` (N, 2) in colours `rgb` (N, 3), each `alpha` opaque, over
    `background`: uint8 (H, W, 3). Overlaps blend as alpha over alpha (1 - (1 - a)^n), their colours
    averaged (drawing order aside, what a plot's translucent dots give)."""
    w, h = size
    image = np.empty((h, w, 3))
    image[:] = background
    keep = np.all(np.isfinite(xy), axis=1)
    if not keep.any() or w <= 0 or h <= 0:
        return image.astype(np.uint8)
    offsets, cover = _disc(radius)
    centre = np.floor(xy[keep]).astype(np.int64)
    px = centre[:, :1] + offsets[None, :, 0]
    py = centre[:, 1:] + offsets[None, :, 1]
    inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    cells = (py * w + px)[inside]
    weight = np.broadcast_to(-np.log1p(-alpha * cover)[None, :], px.shape)[inside]
    colour = np.broadcast_to(rgb[keep][:, None, :], (*px.shape, 3))[inside]
    total = np.bincount(cells, weight, minlength=w * h)
    covered = total > 0
    mean = np.stack([np.bincount(cells, weight * colour[:, c], minlength=w * h)[covered] / total[covered]
                     for c in range(3)], axis=1)
    opacity = (1.0 - np.exp(-total[covered]))[:, None]
    flat = image.reshape(-1, 3)
    flat[covered] = flat[covered] * (1 - opacity) + mean * opacity
    return np.rint(image).astype(np.uint8)


def _ticks(lo: float, hi: float, pixels_per_unit: float) -> tuple[np.ndarray, int]:
    """Tick positions in [lo, hi] a nice step apart (1, 2 or 5 times a power of ten) and at
    least MIN_TICK_PIXELS apart, with the decimals their labels need."""
    raw = MIN_TICK_PIXELS / max(pixels_per_unit, 1e-9)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = np.arange(math.ceil(lo / step), math.floor(hi / step) + 1) * step
    return ticks, max(0, -int(math.floor(math.log10(step) + 1e-9)))


class FirstLookCanvas(QWidget):
    """The encoded test set on a latent plane; reports the mouse as `hovered(u, v)`."""

    hovered = Signal(float, float)

    def __init__(self, parent: QWidget | None = None, ui_scale: float = 1.0):
        super().__init__(parent)
        self.setObjectName("firstLookCanvas")
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 200)
        self._ui_scale = ui_scale
        self._points = np.empty((0, 2))
        self._labels: np.ndarray | None = None
        self._names: list[str] | None = None
        self._axis_labels = ("z1", "z2")
        self._view = default_view(None)
        self._dots: tuple[tuple, QImage] | None = None      # the splatted scatter and what it was made for

    # -- what is shown ----------------------------------------------------------------------------
    def set_scatter(self, points: np.ndarray, labels: np.ndarray | None, names: list[str] | None) -> None:
        """The test set in canvas coordinates (N, 2), its labels (N,) or None, the labels' names."""
        self._points = np.asarray(points, dtype=np.float64)
        self._labels, self._names = labels, names
        self._view = default_view(self._points)
        self._dots = None
        self.update()

    def set_axis_labels(self, x: str, y: str) -> None:
        self._axis_labels = (x, y)
        self.update()

    def view_range(self) -> tuple[float, float, float, float]:
        """(u0, u1, v0, v1) shown: the requested view, widened on one axis for equal units."""
        rect = self._plot_rect()
        u0, u1, v0, v1 = self._view
        scale = self._scale(rect)
        cu, cv = (u0 + u1) / 2, (v0 + v1) / 2
        half_u, half_v = rect.width() / scale / 2, rect.height() / scale / 2
        return cu - half_u, cu + half_u, cv - half_v, cv + half_v

    # -- coordinates ------------------------------------------------------------------------------
    def _plot_rect(self) -> QRectF:
        metrics = self.fontMetrics()
        left = metrics.horizontalAdvance("-8") + metrics.height() + 10   # tick labels, the axis title
        bottom = 2 * metrics.height() + 12
        return QRectF(left, 0, max(self.width() - left, 1), max(self.height() - bottom, 1))

    def _scale(self, rect: QRectF) -> float:
        u0, u1, v0, v1 = self._view
        return min(rect.width() / (u1 - u0), rect.height() / (v1 - v0))

    def map_to_canvas(self, x: float, y: float) -> tuple[float, float]:
        """Widget position -> canvas coordinates (u, v)."""
        rect = self._plot_rect()
        u0, _, _, v1 = self.view_range()
        scale = self._scale(rect)
        return u0 + (x - rect.left()) / scale, v1 - (y - rect.top()) / scale

    def map_from_canvas(self, u: float, v: float) -> QPointF:
        """Canvas coordinates -> widget position (for QTest.mouseMove)."""
        rect = self._plot_rect()
        u0, _, _, v1 = self.view_range()
        scale = self._scale(rect)
        return QPointF(rect.left() + (u - u0) * scale, rect.top() + (v1 - v) * scale)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        pos = event.position()
        if self._plot_rect().contains(pos):
            self.hovered.emit(*self.map_to_canvas(pos.x(), pos.y()))

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BACKGROUND))
        rect = self._plot_rect()
        painter.drawImage(rect.topLeft(), self._scatter_image(rect))    # opaque: first
        self._draw_axes(painter, rect)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._draw_prior(painter)
        self._draw_legend(painter, rect)
        painter.end()

    def _draw_axes(self, painter: QPainter, rect: QRectF) -> None:
        u0, u1, v0, v1 = self.view_range()
        scale = self._scale(rect)
        grid = QColor(FOREGROUND)
        grid.setAlpha(int(0.12 * 255))
        metrics = self.fontMetrics()
        painter.setFont(self.font())
        for axis, (lo, hi) in enumerate(((u0, u1), (v0, v1))):
            ticks, decimals = _ticks(lo, hi, scale)
            for t in ticks:
                p = self.map_from_canvas(t, v0) if axis == 0 else self.map_from_canvas(u0, t)
                text = f"{round(t, decimals) + 0.0:.{decimals}f}"     # + 0.0: no "-0"
                painter.setPen(QPen(grid, 1))
                if axis == 0:
                    painter.drawLine(QPointF(p.x(), rect.top()), QPointF(p.x(), rect.bottom()))
                    painter.setPen(QPen(FOREGROUND, 1))
                    painter.drawLine(QPointF(p.x(), rect.bottom()), QPointF(p.x(), rect.bottom() + 5))
                    painter.drawText(QRectF(p.x() - 30, rect.bottom() + 6, 60, metrics.height()),
                                     Qt.AlignmentFlag.AlignHCenter, text)
                else:
                    painter.drawLine(QPointF(rect.left(), p.y()), QPointF(rect.right(), p.y()))
                    painter.setPen(QPen(FOREGROUND, 1))
                    painter.drawLine(QPointF(rect.left() - 5, p.y()), QPointF(rect.left(), p.y()))
                    painter.drawText(QRectF(0, p.y() - metrics.height() / 2, rect.left() - 7, metrics.height()),
                                     Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        painter.setPen(QPen(FOREGROUND, 1))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.drawLine(rect.topLeft(), rect.bottomLeft())
        x, y = self._axis_labels
        painter.drawText(QRectF(rect.left(), rect.bottom() + 6 + metrics.height(), rect.width(), metrics.height() + 4),
                         Qt.AlignmentFlag.AlignHCenter, x)
        painter.save()
        painter.translate(2, rect.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-60, 0, 120, metrics.height()), Qt.AlignmentFlag.AlignHCenter, y)
        painter.restore()

    def _scatter_image(self, rect: QRectF) -> QImage:
        ratio = self.devicePixelRatioF()
        size = (max(1, round(rect.width() * ratio)), max(1, round(rect.height() * ratio)))
        key = (size, ratio, self.view_range())
        if self._dots is None or self._dots[0] != key:
            u0, _, _, v1 = self.view_range()          # the top left corner of the plot
            scale = self._scale(rect) * ratio
            xy = np.stack([(self._points[:, 0] - u0) * scale, (v1 - self._points[:, 1]) * scale], axis=1)
            background = QColor(BACKGROUND)
            pixels = splat(size, xy, self._colours(), point_alpha(len(self._points)) / 255,
                           POINT_RADIUS * self._ui_scale * ratio, (background.red(), background.green(), background.blue()))
            image = QImage(pixels.data, size[0], size[1], pixels.strides[0], QImage.Format.Format_RGB888).copy()
            image.setDevicePixelRatio(ratio)
            self._dots = (key, image)
        return self._dots[1]

    def _colours(self) -> np.ndarray:
        """(N, 3) RGB of every point: its label's tab10 colour, grey without one."""
        palette = np.array([QColor(c).getRgb()[:3] for c in LABEL_COLOURS], dtype=np.float64)
        rgb = np.empty((len(self._points), 3))
        rgb[:] = QColor(UNLABELLED).getRgb()[:3]
        if self._labels is not None:
            labelled = self._labels >= 0
            rgb[labelled] = palette[self._labels[labelled] % len(LABEL_COLOURS)]
        return rgb

    def _draw_prior(self, painter: QPainter) -> None:
        pen = QPen(QColor(PRIOR_COLOUR), 1.2 * self._ui_scale, Qt.PenStyle.DashLine)
        origin = self.map_from_canvas(0.0, 0.0)
        for radius, text in ((1.0, "1σ"), (2.0, "2σ")):
            edge = self.map_from_canvas(radius, 0.0)
            r = edge.x() - origin.x()
            painter.setPen(pen)
            painter.drawEllipse(origin, r, r)
            painter.setPen(QColor(PRIOR_COLOUR))
            at = self.map_from_canvas(radius * 0.7071, radius * 0.7071)
            painter.drawText(QRectF(at.x() + 1, at.y() + 1, 40, self.fontMetrics().height()), text)

    def _draw_legend(self, painter: QPainter, rect: QRectF) -> None:
        if not len(self._points):
            return
        labels = [-1] if self._labels is None else [int(v) for v in np.unique(self._labels)]
        names = ["test set"] if self._labels is None else [self._name(label) for label in labels]
        font = QFont(self.font())
        font.setPointSizeF(8 * self._ui_scale)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        row_height, swatch = metrics.height() + 4, 9 * self._ui_scale
        columns = [names[0::2], names[1::2]]
        widths = [max((metrics.horizontalAdvance(n) for n in column), default=0) + swatch + 12 for column in columns]
        width, height = sum(widths) + 10, math.ceil(len(names) / 2) * row_height + 8
        box = QRectF(rect.right() - 6 - width, rect.top() + 6, width, height)
        painter.fillRect(box, QColor(22, 24, 29, 200))
        for i, name in enumerate(names):
            column, row = i % 2, i // 2
            x = box.left() + 8 + sum(widths[:column])
            y = box.top() + 4 + row * row_height
            colour = QColor(UNLABELLED if labels[i] < 0 else LABEL_COLOURS[labels[i] % len(LABEL_COLOURS)])
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(x + swatch / 2, y + row_height / 2), swatch / 2, swatch / 2)
            painter.setPen(FOREGROUND.lighter(150))
            painter.drawText(QRectF(x + swatch + 6, y, widths[column], row_height), Qt.AlignmentFlag.AlignVCenter, name)

    def _name(self, label: int) -> str:
        if label < 0:
            return "unlabelled"
        return self._names[label] if self._names is not None and label < len(self._names) else str(label)
