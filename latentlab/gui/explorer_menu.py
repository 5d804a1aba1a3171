"""The explorer's menu actions: encode images (dialog, clipboard), clear, and the exports.

Dialogs are non-modal (the app never blocks on a dialog nobody answers) and every error ends up in
the status bar, never in a blocking box. The CSV writing itself is Qt-free (app/exports.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog

from latentlab.app.vocabulary import ENCODABLE_IMAGE_SUFFIXES, file_dialog_filter

if TYPE_CHECKING:
    from .explorer_view import LatentExplorer


def make_actions(explorer: "LatentExplorer") -> list[QAction]:
    encode = QAction("&Encode image...", explorer, objectName="actionEncodeImage")
    encode.setToolTip("Encode image files and draw their posteriors on the canvas")
    encode.triggered.connect(lambda: open_encode_dialog(explorer))
    paste = QAction("&Paste image", explorer, objectName="actionPasteImage")
    paste.setShortcut(QKeySequence.StandardKey.Paste)
    paste.triggered.connect(lambda: paste_image(explorer))
    clear = QAction("Clear pins and encoded images", explorer, objectName="actionClearCanvas")
    clear.triggered.connect(explorer.clear_canvas)
    actions = [encode, paste, clear]
    png, csv_ = "PNG images (*.png)", "CSV files (*.csv)"
    exports = [
        ("Export canvas as PNG...", "actionExportCanvas", png, "canvas.png", explorer.export_canvas_png),
        ("Export manifold as PNG...", "actionExportManifold", png, "manifold.png",
         lambda p: explorer.export_figure_png(explorer.manifold, p)),
        ("Export prior samples as PNG...", "actionExportSamples", png, "samples.png",
         lambda p: explorer.export_figure_png(explorer.prior_samples, p)),
        ("Export interpolation strip as PNG...", "actionExportStrip", png, "strip.png",
         lambda p: explorer.export_figure_png(explorer.interpolation, p)),
        ("Export pinned points as CSV...", "actionExportPins", csv_, "pins.csv", explorer.export_pins_csv),
        ("Export encoded test set as CSV...", "actionExportScatter", csv_, "scatter.csv", explorer.export_scatter_csv),
    ]
    for text, name, filter_, suffix, write in exports:
        action = QAction(text, explorer, objectName=name)
        action.triggered.connect(lambda _=False, t=text, f=filter_, s=suffix, w=write:
                                 export_with_dialog(explorer, t.rstrip("."), f, s, w))
        actions.append(action)
    return actions


def export_with_dialog(explorer: "LatentExplorer", title: str, filter_: str, suffix: str,
                       write: Callable[[str], None]) -> None:
    dialog = QFileDialog(explorer, title, str(Path.home() / f"latentlab-{suffix}"), filter_)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def save(path: str) -> None:
        try:
            write(path)
        except (OSError, ValueError) as e:
            explorer.statusMessage.emit(f"Export failed: {e}")
        else:
            explorer.statusMessage.emit(f"Saved {path}")

    dialog.fileSelected.connect(save)
    dialog.open()


def open_encode_dialog(explorer: "LatentExplorer") -> None:
    dialog = QFileDialog(explorer, "Encode images", str(Path.home()),
                         file_dialog_filter("Images", ENCODABLE_IMAGE_SUFFIXES))
    dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
    dialog.filesSelected.connect(explorer.encode_files)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()


def paste_image(explorer: "LatentExplorer") -> None:
    """Encode the clipboard's image, or the image files it holds (copied in a file manager)."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is not None and mime.hasImage():
        explorer.encode_qimage(QGuiApplication.clipboard().image(), "clipboard")
    elif mime is not None and mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()):
        explorer.encode_files([u.toLocalFile() for u in mime.urls() if u.isLocalFile()])
    else:
        explorer.statusMessage.emit("The clipboard holds no image")


def qimage_to_pil(image: QImage):
    """A QImage -> a Pillow RGBA image (a copy), for the shared preparation in core.images."""
    from PIL import Image

    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    buffer = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=rgba.sizeInBytes())
    pixels = buffer.reshape(height, rgba.bytesPerLine())[:, :width * 4].reshape(height, width, 4)
    return Image.fromarray(pixels.copy(), mode="RGBA")
