"""A small widget that shows one uint8 image, scaled up with visible pixels, at fixed levels.

Fixed levels: a decoded image is the decoder's mean in [0, 1], shown as 0..255 grey (or RGB) with
no per-image contrast stretch, so brightness never flickers from one hover to the next and a dim
image looks dim. It is deliberately plain QPainter (no pyqtgraph view): painting a 28 x 28 image
scaled to a few hundred pixels costs well under a millisecond, which matters for hover latency.

Scale: the image grows with the space it has and every model pixel stays a crisp square, on a
2x screen too: whole device pixels per image pixel (nearest neighbour) unless that would leave
more than WHOLE_PIXEL_WASTE of the space unused (a 560 px manifold in 1,000 px); then the image
is enlarged by whole pixels past the size and smoothly reduced to it ("sharp bilinear": even,
square pixels with soft sub-pixel edges). It is never drawn smaller than its natural size: a big
figure (a 40 x 40 manifold is 1,120 px) in a small panel scrolls, with scroll bars or by
dragging, instead of being shrunk until thin strokes alias away.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QFrame, QHBoxLayout, QSizePolicy, QWidget


WHOLE_PIXEL_WASTE = 0.15


def array_to_qimage(array: np.ndarray) -> QImage:
    """uint8 (H, W) grey or (H, W, 3) RGB -> a QImage that owns a copy of the pixels."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = np.ascontiguousarray(array[..., 0])
    h, w = array.shape[:2]
    if array.ndim == 2:
        image = QImage(array.data, w, h, array.strides[0], QImage.Format.Format_Grayscale8)
    elif array.ndim == 3 and array.shape[2] == 3:
        image = QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"expected (H, W) or (H, W, 3) uint8, got {array.shape}")
    return image.copy()   # detach from the numpy buffer


class ImageView(QAbstractScrollArea):
    """Shows an image as large as fits with crisp square pixels, at least at its natural size
    (scrolling when that does not fit); emits `painted` after a new image reached the screen."""

    painted = Signal()   # a newly set image has reached the screen (after paintEvent)

    def __init__(self, parent: QWidget | None = None, min_side: int = 56, caption: str = ""):
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self._scaled_image: QImage | None = None
        self._fresh = False
        self._caption = caption
        self._min_side = min_side
        self._drag_from: QPoint | None = None
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)       # a picture: no stop for the Tab key
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # we fill every pixel ourselves

    def set_image(self, array: np.ndarray | None) -> None:
        """Show `array` (uint8 (H, W) or (H, W, 3)), or nothing for None."""
        size = None if self._image is None else self._image.size()
        self._array = None if array is None else np.array(array, dtype=np.uint8, copy=True)
        self._image = None if array is None else array_to_qimage(self._array)
        self._scaled_image = None
        self._fresh = array is not None
        if self._image is None or self._image.size() != size:
            self._update_scroll_bars()
        self.viewport().update()

    def image(self) -> np.ndarray | None:
        """The pixels shown now (a copy), for tests and exports."""
        return None if self._array is None else self._array.copy()

    def set_caption(self, caption: str) -> None:
        self._caption = caption
        self._update_scroll_bars()
        self.viewport().update()

    def sizeHint(self) -> QSize:
        return QSize(4 * self._min_side, 4 * self._min_side)

    def minimumSizeHint(self) -> QSize:
        return QSize(self._min_side, self._min_side)

    # -- geometry --------------------------------------------------------------------------------
    def _area(self) -> QRect:
        """The part of the viewport the image may take (the caption has the last line)."""
        area = self.viewport().rect()
        if self._caption:
            area.setBottom(area.bottom() - self.fontMetrics().height())
        return area

    def pixel_scale(self) -> float:
        """Device pixels per image pixel: as many as fit (whole ones unless that wastes more than
        WHOLE_PIXEL_WASTE of the space), never fewer than the natural size's."""
        if self._image is None:
            return 1.0
        ratio = self.viewport().devicePixelRatioF()
        area = self._area()
        fits = min(area.width() * ratio / self._image.width(), area.height() * ratio / self._image.height())
        natural = max(math.ceil(ratio - 1e-6), 1)
        if fits <= natural:
            return float(natural)
        whole = math.floor(fits)
        return float(whole) if whole >= fits * (1 - WHOLE_PIXEL_WASTE) else fits

    def _device_size(self) -> QSize:
        scale = self.pixel_scale()
        return QSize(round(self._image.width() * scale), round(self._image.height() * scale))

    def _image_rectf(self) -> QRectF:
        ratio = self.viewport().devicePixelRatioF()
        size = self._device_size()
        w, h = size.width() / ratio, size.height() / ratio
        area = self._area()
        # Centred when it fits (on a whole device pixel: a half-pixel offset would blur every edge);
        # when it does not, the scroll bars say which part is shown.
        x = area.x() + math.floor((area.width() - w) / 2 * ratio) / ratio if w <= area.width() \
            else -self.horizontalScrollBar().value()
        y = area.y() + math.floor((area.height() - h) / 2 * ratio) / ratio if h <= area.height() \
            else -self.verticalScrollBar().value()
        return QRectF(x, y, w, h)

    def image_rect(self) -> QRect:
        """Where the image is drawn, in the view's coordinates (an empty rect without one)."""
        return QRect() if self._image is None else self._image_rectf().toRect()

    def _update_scroll_bars(self) -> None:
        if self._image is None:
            w = h = 0
        else:
            size, ratio = self._device_size(), self.viewport().devicePixelRatioF()
            w, h = math.ceil(size.width() / ratio), math.ceil(size.height() / ratio)
        area = self._area()
        for bar, overflow, page in ((self.horizontalScrollBar(), w - area.width(), area.width()),
                                    (self.verticalScrollBar(), h - area.height(), area.height())):
            bar.setRange(0, max(0, overflow))
            bar.setPageStep(max(1, page))
        cursor = Qt.CursorShape.OpenHandCursor if self.horizontalScrollBar().maximum() or \
            self.verticalScrollBar().maximum() else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(cursor)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._update_scroll_bars()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt's name
        self.viewport().update()

    # -- dragging a picture that does not fit --------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        scrolls = self.horizontalScrollBar().maximum() or self.verticalScrollBar().maximum()
        if event.button() == Qt.MouseButton.LeftButton and scrolls:
            self._drag_from = event.position().toPoint()
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._drag_from is None:
            return super().mouseMoveEvent(event)
        now = event.position().toPoint()
        delta, self._drag_from = now - self._drag_from, now
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._drag_from = None
        super().mouseReleaseEvent(event)

    # -- painting ---------------------------------------------------------------------------------
    def _scaled(self) -> QImage:
        """The image at its on-screen size in device pixels, in the screen's pixel format, made
        once per image and size: painting is then a plain copy (scaling and converting a grey
        image at every paint cost ~0.5 ms, a fifth of the hover budget)."""
        size = self._device_size()
        if self._scaled_image is None or self._scaled_image.size() != size:
            image = self._image.convertToFormat(QImage.Format.Format_RGB32)
            whole = math.ceil(size.width() / image.width())
            if image.size() * whole != size:        # sharp bilinear: whole pixels past the size, then down
                image = image.scaled(image.size() * whole, Qt.AspectRatioMode.IgnoreAspectRatio,
                                     Qt.TransformationMode.FastTransformation)
                mode = Qt.TransformationMode.SmoothTransformation
            else:
                mode = Qt.TransformationMode.FastTransformation
            self._scaled_image = image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio, mode)
            self._scaled_image.setDevicePixelRatio(self.viewport().devicePixelRatioF())
        return self._scaled_image

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self.viewport())
        background = self.palette().window()
        if self._image is None:
            painter.fillRect(self.viewport().rect(), background)
        else:
            rect = self._image_rectf()
            scaled = self._scaled()
            # Fill only around the image (it covers the rest), then copy the pre-scaled pixels.
            full = QRectF(self.viewport().rect())
            painter.fillRect(QRectF(0, 0, full.width(), rect.top()), background)
            painter.fillRect(QRectF(0, rect.bottom(), full.width(), full.height() - rect.bottom()), background)
            painter.fillRect(QRectF(0, rect.top(), rect.left(), rect.height()), background)
            painter.fillRect(QRectF(rect.right(), rect.top(), full.width() - rect.right(), rect.height()), background)
            painter.drawImage(QPointF(rect.topLeft()), scaled)
        if self._caption:
            area = self.viewport().rect()
            line = QRect(0, area.bottom() - self.fontMetrics().height() + 1, area.width(), self.fontMetrics().height())
            painter.fillRect(line, background)
            painter.setPen(self.palette().windowText().color())
            painter.drawText(line, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter, self._caption)
        painter.end()
        if self._fresh:
            self._fresh = False
            self.painted.emit()


class ThumbnailRow(QWidget):
    """A row of small captioned images (pinned points, q(z|x) samples, an input and its reconstruction).

    Each thumbnail is `side` pixels at the application's font size and grows with the window's
    font (the UI zoom), never below the image's own size."""

    def __init__(self, parent: QWidget | None = None, side: int = 56):
        super().__init__(parent)
        self._side = side
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)
        self._views: list[ImageView] = []

    def side(self) -> int:
        """The thumbnails' side now: `side` times the UI zoom (the window font over the app's)."""
        base = QApplication.font().pointSizeF()
        zoom = self.font().pointSizeF() / base if base > 0 and self.font().pointSizeF() > 0 else 1.0
        return max(16, round(self._side * zoom))

    def set_images(self, images: list[np.ndarray], captions: list[str] | None = None) -> None:
        captions = captions or [""] * len(images)
        while len(self._views) < len(images):
            view = ImageView(self, min_side=self._side)
            view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self._layout.insertWidget(len(self._views), view)
            self._views.append(view)
        for i, view in enumerate(self._views):
            if i < len(images):
                view.set_image(images[i])
                view.set_caption(captions[i])
                view.show()
            else:
                view.set_image(None)
                view.hide()
        self._fit()

    def _fit(self) -> None:
        side = self.side()
        for view in self._views:
            array = view.image()
            h, w = (side, side) if array is None else (max(side, array.shape[0]), max(side, array.shape[1]))
            view.setFixedSize(w, h + self.fontMetrics().height())

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._fit()

    def images(self) -> list[np.ndarray]:
        return [v.image() for v in self._views if not v.isHidden() and v.image() is not None]
