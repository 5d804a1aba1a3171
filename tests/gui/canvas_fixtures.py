"""Fixtures and helpers for the latent canvas / explorer tests (import the fixtures by name)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from latentlab import VAE, load_checkpoint
from latentlab.core.images import load_image
from latentlab.core.shipped import default_checkpoint

WAIT_MS = 5000


@pytest.fixture(scope="session")
def shipped():
    """The shipped MNIST 2-D checkpoint (model + encoded test set), loaded once."""
    return load_checkpoint(default_checkpoint())


def small_model(latent_dim: int, seed: int = 0, image_shape=(1, 28, 28)) -> VAE:
    """An untrained but deterministic VAE: its outputs differ from point to point, which is all
    the tests need, and it builds in milliseconds for any latent dimension."""
    torch.manual_seed(seed)
    return VAE(latent_dim=latent_dim, image_shape=image_shape, hidden_sizes=(64,)).eval()


def encoded_scatter(model: VAE, count: int = 40) -> dict:
    """A scatter in the checkpoint's format, made by encoding the MNIST sample images."""
    from image_files import SAMPLES

    paths = sorted((SAMPLES / "mnist").glob("*.png"))[:count]
    x = torch.cat([load_image(p, model.image_shape).to_model_input() for p in paths])
    with torch.no_grad():
        mu, _ = model.encode(x)
    labels = torch.tensor([int(p.name.split("_")[0]) for p in paths])
    return {"scatter_means": mu, "scatter_labels": labels, "label_names": [str(i) for i in range(10)]}


@pytest.fixture
def make_explorer(qtbot):
    """LatentExplorer factory: shown, on `model` (default: the shipped one), first image painted."""
    from latentlab.gui.explorer import LatentExplorer

    made = []

    def make(model=None, scatter=None, size=(1100, 700)):
        explorer = LatentExplorer()
        qtbot.addWidget(explorer, before_close_func=lambda w: w.shutdown())
        made.append(explorer)
        explorer.resize(*size)
        explorer.show()
        qtbot.waitExposed(explorer)
        if model is not None:
            with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
                explorer.set_model(model, scatter)
            wait_for_layout(qtbot, explorer)
        return explorer

    yield make
    for explorer in made:
        explorer.shutdown()


def wait_for_layout(qtbot, explorer) -> None:
    """pyqtgraph lays out its axes (whose width depends on the tick labels) at the first paint:
    wait until pixel <-> latent mapping has settled, so positions computed now stay valid."""
    last = [None]

    def settled() -> bool:
        now = explorer.canvas.map_from_canvas(1.0, 1.0)
        same, last[0] = now == last[0], now
        return same

    qtbot.waitUntil(settled, timeout=WAIT_MS)


def canvas_of(explorer) -> QWidget:
    """The widget the main window's tests talk to."""
    return explorer.findChild(QWidget, "latentCanvas")


def decoded_of(explorer):
    return explorer.findChild(QWidget, "decodedImage")


def pixel_at(canvas, u: float, v: float) -> QPoint:
    return canvas.map_from_canvas(u, v)


def latent_under(explorer, pos: QPoint) -> np.ndarray:
    """The latent the explorer should decode for a mouse at widget position `pos`."""
    u, v = explorer.canvas.map_to_canvas(pos)
    return explorer.plane.to_latent((u, v))


def drop_mime(widget: QWidget, mime: QMimeData) -> bool:
    """Drag `mime` onto `widget` and drop it, as a file manager does: DragEnter, then Drop.

    Qt 6 delivers a Drop only to the widget that accepted the drag's DragEnter (QApplication
    discards a lone QDropEvent sent with sendEvent, before any event filter sees it).
    Returns whether the drop was accepted.
    """
    centre = QPoint(widget.width() // 2, widget.height() // 2)
    with warnings.catch_warnings():       # PySide marks the QPoint constructor deprecated; Qt has no other
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    return QApplication.sendEvent(widget, drop) and drop.isAccepted()


def drop_files(widget: QWidget, paths) -> bool:
    """Drop local files on `widget` (a QDropEvent with file URLs, after its DragEnter)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(Path(p))) for p in paths])
    return drop_mime(widget, mime)


def hover(qtbot, explorer, pos: QPoint) -> np.ndarray:
    """Move the mouse to `pos` on the canvas; wait until the decoded image is the decoder's mean at
    the latent under the mouse, and return it.

    Qt drops a move to where the cursor already is, and the cursor is global (a previous test may
    have left it at this very pixel), so the mouse first moves one pixel away.
    """
    from latentlab.app.jobs import decode_point

    canvas = canvas_of(explorer)
    QTest.mouseMove(canvas, pos + QPoint(1, 1))
    QTest.mouseMove(canvas, pos)
    with torch.no_grad():
        expected = decode_point(explorer.model, latent_under(explorer, pos))
    qtbot.waitUntil(lambda: np.array_equal(decoded_of(explorer).image(), expected), timeout=WAIT_MS)
    return decoded_of(explorer).image()


def wait_encoded(qtbot, explorer, count: int):
    qtbot.waitUntil(lambda: len(explorer.encodings()) >= count
                    and all(e.posterior is not None for e in explorer.encodings()), timeout=WAIT_MS)
    return explorer.encodings()


class Messages:
    """Collects statusMessage texts."""

    def __init__(self, explorer):
        self.texts: list[str] = []
        explorer.statusMessage.connect(self.texts.append)

    def wait_for(self, qtbot, count: int = 1) -> str:
        qtbot.waitUntil(lambda: len(self.texts) >= count, timeout=WAIT_MS)
        return self.texts[count - 1]
