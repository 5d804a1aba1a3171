"""A tiny drawing pad at the model's own resolution (28 x 28 for MNIST): draw a digit, watch q(z|x).

The user draws at model resolution, with a soft round brush about as wide as an MNIST stroke, so
what is drawn is exactly what the encoder sees (no resizing in between). Every stroke segment
emits `changed`; the explorer encodes the drawing on its latest-wins thread, so the posterior
ellipse follows the pen without a queue of stale encodes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

# Brush: a Gaussian blob; sigma 0.9 px with a gain makes a stroke ~2.5 px wide with soft edges,
# like MNIST's anti-aliased pen strokes.
BRUSH_SIGMA = 0.9
BRUSH_GAIN = 1.6


class DrawCanvas(QWidget):
    """The pad itself: H x W grey pixels in [0, 1], drawn with the left button, erased with the right."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, height: int = 28, width: int = 28):
        super().__init__(parent)
        self.setObjectName("drawPad")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Draw with the left button, erase with the right")
        self._pixels = np.zeros((height, width), dtype=np.float32)
        self._last: QPointF | None = None
        self._erasing = False

    # -- the image -------------------------------------------------------------------------------
    def pixels(self) -> np.ndarray:
        """What is drawn, as uint8 (H, W)."""
        return np.rint(np.clip(self._pixels, 0, 1) * 255).astype(np.uint8)

    def is_empty(self) -> bool:
        return not self._pixels.any()

    def set_shape(self, height: int, width: int) -> None:
        if self._pixels.shape != (height, width):
            self._pixels = np.zeros((height, width), dtype=np.float32)
            self.update()

    def clear(self) -> None:
        self._pixels[:] = 0
        self.update()
        self.changed.emit()

    def stroke(self, points, erase: bool = False) -> None:
        """Draw a polyline through `points` given in pad pixels ((x, y), x to the right)."""
        points = [QPointF(float(x), float(y)) for x, y in points]
        for a, b in zip(points, points[1:] or points):
            self._segment(a, b, erase)
        self.update()
        self.changed.emit()

    def _segment(self, a: QPointF, b: QPointF, erase: bool) -> None:
        h, w = self._pixels.shape
        length = max(abs(b.x() - a.x()), abs(b.y() - a.y()))
        steps = max(1, int(np.ceil(length * 2)))       # a dab every half pixel: no gaps in fast strokes
        t = np.linspace(0, 1, steps + 1)
        xs, ys = a.x() + t * (b.x() - a.x()), a.y() + t * (b.y() - a.y())
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5   # pixel centres
        dist2 = np.min((xx[None] - xs[:, None, None]) ** 2 + (yy[None] - ys[:, None, None]) ** 2, axis=0)
        dab = BRUSH_GAIN * np.exp(-dist2 / (2 * BRUSH_SIGMA ** 2))
        if erase:
            self._pixels = np.clip(self._pixels - dab, 0, 1)
        else:
            self._pixels = np.maximum(self._pixels, np.clip(dab, 0, 1))

    # -- geometry ----------------------------------------------------------------------------------
    def pad_rect(self) -> QRect:
        h, w = self._pixels.shape
        scale = max(1, min(self.width() // w, self.height() // h))
        return QRect((self.width() - w * scale) // 2, (self.height() - h * scale) // 2, w * scale, h * scale)

    def to_pad(self, pos) -> QPointF:
        """Widget position -> pad pixel coordinates (continuous; pixel (i, j) spans [j, j+1) x [i, i+1))."""
        rect = self.pad_rect()
        h, w = self._pixels.shape
        return QPointF((pos.x() - rect.x()) * w / rect.width(), (pos.y() - rect.y()) * h / rect.height())

    def from_pad(self, x: float, y: float):
        """Pad pixel coordinates -> widget position (QPoint), e.g. for QTest."""
        from PySide6.QtCore import QPoint

        rect = self.pad_rect()
        h, w = self._pixels.shape
        return QPoint(round(rect.x() + x * rect.width() / w), round(rect.y() + y * rect.height() / h))

    def sizeHint(self) -> QSize:
        return QSize(224, 224)

    def minimumSizeHint(self) -> QSize:
        h, w = self._pixels.shape
        return QSize(2 * w, 2 * h)

    # -- events ------------------------------------------------------------------------------------
    def mousePressEvent(self, ev) -> None:  # noqa: N802
        if ev.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._erasing = ev.button() == Qt.MouseButton.RightButton
            self._last = self.to_pad(ev.position())
            self._segment(self._last, self._last, self._erasing)
            self.update()
            self.changed.emit()

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        if self._last is None or not (ev.buttons() & (Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton)):
            return
        point = self.to_pad(ev.position())
        self._segment(self._last, point, self._erasing)
        self._last = point
        self.update()
        self.changed.emit()

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        self._last = None

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        rect = self.pad_rect()
        pixels = np.ascontiguousarray(self.pixels())
        h, w = pixels.shape
        image = QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_Grayscale8)
        painter.drawImage(rect, image)
        painter.setPen(QPen(QColor("#555a63"), 1))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.end()


class DrawPad(QWidget):
    """The drawing canvas with a Clear button and a one-line explanation."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = DrawCanvas(self)
        self.canvas.changed.connect(self.changed)
        self.clear_button = QPushButton("Clear", objectName="clearDrawing")
        self.clear_button.clicked.connect(self.canvas.clear)
        hint = QLabel("Draw a digit (left button; right erases). Its posterior q(z|x) moves on the canvas as you draw.")
        hint.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(hint, 1)
        row.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(row)

    def pixels(self) -> np.ndarray:
        return self.canvas.pixels()

    def is_empty(self) -> bool:
        return self.canvas.is_empty()

    def set_shape(self, height: int, width: int) -> None:
        self.canvas.set_shape(height, width)
