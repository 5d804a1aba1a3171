"""A small widget that shows one uint8 image, scaled up with visible pixels, at fixed levels.

Fixed levels: a decoded image is the decoder's mean in [0, 1], shown as 0..255 grey (or RGB) with
no per-image contrast stretch, so brightness never flickers from one hover to the next and a dim
image looks dim. It is deliberately plain QPainter (no pyqtgraph view): painting a 28 x 28 image
scaled to a few hundred pixels costs well under a millisecond, which matters for hover latency.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


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


class ImageView(QWidget):
    """Shows an image scaled to fit (aspect kept, nearest neighbour); emits `painted` after a new one."""

    painted = Signal()   # a newly set image has reached the screen (after paintEvent)

    def __init__(self, parent: QWidget | None = None, min_side: int = 56, caption: str = ""):
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self._scaled_image: QImage | None = None
        self._fresh = False
        self._caption = caption
        self._min_side = min_side
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # we fill every pixel ourselves

    def set_image(self, array: np.ndarray | None) -> None:
        """Show `array` (uint8 (H, W) or (H, W, 3)), or nothing for None."""
        self._array = None if array is None else np.array(array, dtype=np.uint8, copy=True)
        self._image = None if array is None else array_to_qimage(self._array)
        self._scaled_image = None
        self._fresh = array is not None
        self.update()

    def image(self) -> np.ndarray | None:
        """The pixels shown now (a copy), for tests and exports."""
        return None if self._array is None else self._array.copy()

    def set_caption(self, caption: str) -> None:
        self._caption = caption
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(4 * self._min_side, 4 * self._min_side)

    def minimumSizeHint(self) -> QSize:
        return QSize(self._min_side, self._min_side)

    def image_rect(self) -> QRect:
        """Where the image is drawn: the largest integer multiple of its size that fits, centred."""
        if self._image is None:
            return QRect()
        area = self.rect()
        if self._caption:
            area.setBottom(area.bottom() - self.fontMetrics().height())
        iw, ih = self._image.width(), self._image.height()
        scale = min(area.width() / iw, area.height() / ih)
        if scale >= 1:
            scale = int(scale)   # whole pixels: every latent pixel the same size on screen
        w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
        return QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)

    def _scaled(self, rect: QRect) -> QImage:
        """The image at its on-screen size, in the screen's pixel format, made once per image and
        size: painting is then a plain copy (scaling and converting a grey image at every paint
        cost ~0.5 ms, a fifth of the hover budget)."""
        if self._scaled_image is None or self._scaled_image.size() != rect.size():
            # Enlarging: nearest neighbour, so model pixels stay crisp squares. Shrinking (a big
            # manifold grid in a small panel): smooth, or thin strokes would alias away.
            shrinking = rect.width() < self._image.width()
            mode = Qt.TransformationMode.SmoothTransformation if shrinking else Qt.TransformationMode.FastTransformation
            self._scaled_image = self._image.convertToFormat(QImage.Format.Format_RGB32).scaled(
                rect.size(), Qt.AspectRatioMode.IgnoreAspectRatio, mode)
        return self._scaled_image

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        if self._image is None:
            painter.fillRect(self.rect(), self.palette().window())
        else:
            rect = self.image_rect()
            background = self.palette().window()
            # Fill only around the image (it covers the rest), then copy the pre-scaled pixels.
            painter.fillRect(QRect(0, 0, self.width(), rect.top()), background)
            painter.fillRect(QRect(0, rect.bottom() + 1, self.width(), self.height()), background)
            painter.fillRect(QRect(0, rect.top(), rect.left(), rect.height()), background)
            painter.fillRect(QRect(rect.right() + 1, rect.top(), self.width(), rect.height()), background)
            painter.drawImage(rect.topLeft(), self._scaled(rect))
        if self._caption:
            painter.setPen(self.palette().windowText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter,
                             self._caption)
        painter.end()
        if self._fresh:
            self._fresh = False
            self.painted.emit()


class ThumbnailRow(QWidget):
    """A row of small captioned images (pinned points, q(z|x) samples, an input and its reconstruction)."""

    def __init__(self, parent: QWidget | None = None, side: int = 56):
        super().__init__(parent)
        from PySide6.QtWidgets import QHBoxLayout

        self._side = side
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)
        self._views: list[ImageView] = []

    def set_images(self, images: list[np.ndarray], captions: list[str] | None = None) -> None:
        captions = captions or [""] * len(images)
        while len(self._views) < len(images):
            view = ImageView(self, min_side=self._side)
            view.setFixedSize(self._side, self._side + self.fontMetrics().height())
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

    def images(self) -> list[np.ndarray]:
        return [v.image() for v in self._views if not v.isHidden() and v.image() is not None]
