"""latentlab's icon on its windows and in its About box (set by gui.app.make_application)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMessageBox


@pytest.fixture
def app_with_icon(qapp):
    from latentlab.gui.app import make_application

    previous = qapp.windowIcon()
    app = make_application()
    assert app is qapp
    yield app
    qapp.setWindowIcon(previous)


def drawn(icon: QIcon, side: int = 64) -> int:
    """How many pixels of the icon drawn at side x side are not transparent."""
    image = icon.pixmap(side, side).toImage()
    return sum(image.pixelColor(x, y).alpha() > 0 for y in range(0, image.height(), 4)
               for x in range(0, image.width(), 4))


def test_the_window_and_the_about_box_show_latentlabs_icon(app_with_icon, make_window):
    icon = app_with_icon.windowIcon()
    assert not icon.isNull() and drawn(icon) > 100            # the SVG was found and rendered
    window = make_window()
    assert window.windowIcon().cacheKey() == icon.cacheKey()
    window.show_about()
    about = next(b for b in window.findChildren(QMessageBox) if b.windowTitle() == "About latentlab")
    assert about.iconPixmap().toImage() == icon.pixmap(64, 64).toImage()
    about.close()
