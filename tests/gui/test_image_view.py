"""ImageView: pixel images grow with the space, stay crisp, and are never drawn below their natural size."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from canvas_fixtures import WAIT_MS


def shown_view(qtbot, array, size):
    from latentlab.gui.image_view import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    with qtbot.waitSignal(view.painted, timeout=WAIT_MS):
        view.set_image(array)
    return view


def grey(view) -> np.ndarray:
    image = view.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    buffer = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return buffer.reshape(image.height(), image.bytesPerLine())[:, : image.width()]


def test_whole_pixels_where_they_fill_the_space_and_sharp_enlargement_where_they_would_not(qtbot):
    checker = (np.indices((10, 10)).sum(axis=0) % 2 * 255).astype(np.uint8)
    view = shown_view(qtbot, checker, (95, 95))          # 9.5 px per pixel: 9 whole ones waste 5 %
    assert view.pixel_scale() == 9 and view.image_rect().width() == 90
    view.resize(180, 180)                                # 18 fits: whole again
    qtbot.waitUntil(lambda: view.image_rect().width() == 180, timeout=WAIT_MS)
    checker = np.kron(checker, np.ones((10, 10), np.uint8))   # a 100 px image in 180 px: 1.8 per pixel
    view.set_image(checker)
    qtbot.waitUntil(lambda: view.image_rect().width() == 180, timeout=WAIT_MS)   # not 100 (1 whole pixel)
    pixels = grey(view)
    rect = view.image_rect()
    inside = pixels[rect.top() + 2: rect.top() + 16, rect.left() + 2: rect.left() + 16]   # within the first square
    assert inside.max() - inside.min() == 0              # squares stay flat: no blur across them
    values = np.unique(pixels[rect.top():rect.bottom(), rect.left():rect.right()])
    assert {0, 255} <= set(values.tolist())


def test_a_large_image_is_never_shrunk_but_scrolls_and_drags(qtbot):
    big = (np.arange(300 * 300) % 251).astype(np.uint8).reshape(300, 300)
    view = shown_view(qtbot, big, (120, 120))
    assert view.image_rect().width() == 300 and view.pixel_scale() == 1
    bar = view.horizontalScrollBar()
    assert bar.maximum() > 0 and view.verticalScrollBar().maximum() > 0
    start = view.image_rect().left()
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(80, 60))
    QTest.mouseMove(viewport, QPoint(40, 60))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(40, 60))
    assert bar.value() == 40 and view.image_rect().left() == start - 40     # dragged 40 px to the left


def test_thumbnails_grow_with_the_font(qtbot):
    from PySide6.QtWidgets import QApplication

    from latentlab.gui.image_view import ThumbnailRow
    from latentlab.gui.ui_zoom import scaled_font

    row = ThumbnailRow(side=56)
    qtbot.addWidget(row)
    row.set_images([np.zeros((28, 28), np.uint8)])
    row.show()
    qtbot.waitExposed(row)
    view = row._views[0]
    assert view.width() == 56
    row.setFont(scaled_font(QApplication.font(), 2.0))
    assert view.width() == 112
    qtbot.waitUntil(lambda: view.pixel_scale() == 4, timeout=WAIT_MS)     # 28 px at 4x
