"""The explorer's menu actions: encode images (dialog, clipboard), clear, and the exports.

Dialogs are non-modal (the app never blocks on a dialog nobody answers) and every error ends up in
the status bar, never in a blocking box. The CSV writing is Qt-free (app/exports.py). Pictures
are exported at print quality: the figures at a scale (default 4x, so a 28 px digit is 112 px) as
PNG, SVG or PDF, computed for the export whether or not their tab was ever opened; the canvas as
PNG at a multiple of its size on screen, or as vector SVG or PDF. The file dialog's filters are
the choices ("PNG, 4x: 2240 x 2240 px"); the work and the writing run in the background
(app/figure_work.py) and the status bar says when the file is saved.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog

from latentlab.app.exports import ExportOption, canvas_options, figure_options, resolve_export
from latentlab.app.figure_work import TITLES, FigureUnavailable, figure_shape
from latentlab.app.vocabulary import ENCODABLE_IMAGE_SUFFIXES, file_dialog_filter

from .canvas_export import canvas_picture

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
    pictures = [("Export canvas (PNG, SVG, PDF)...", "actionExportCanvas", lambda: export_canvas(explorer)),
                *((f"Export {TITLES[name]} (PNG, SVG, PDF)...", action, partial(export_figure, explorer, name))
                  for name, action in (("manifold", "actionExportManifold"), ("samples", "actionExportSamples"),
                                       ("interpolation", "actionExportStrip"), ("traversal", "actionExportTraversal"),
                                       ("analogies", "actionExportAnalogies")))]
    for text, name, start in pictures:
        action = QAction(text, explorer, objectName=name)
        action.triggered.connect(lambda _=False, start=start: start())
        actions.append(action)
    csv_ = "CSV files (*.csv)"
    exports = [
        ("Export pinned points as CSV...", "actionExportPins", csv_, "pins.csv", explorer.export_pins_csv),
        ("Export encoded test set as CSV...", "actionExportScatter", csv_, "scatter.csv", explorer.export_scatter_csv),
    ]
    for text, name, filter_, suffix, write in exports:
        action = QAction(text, explorer, objectName=name)
        action.triggered.connect(lambda _=False, t=text, f=filter_, s=suffix, w=write:
                                 export_with_dialog(explorer, t.rstrip("."), f, s, w))
        actions.append(action)
    return actions


def export_figure(explorer: "LatentExplorer", name: str) -> None:
    """Ask where to write figure `name` and in which format and scale; then compute and write it
    in the background. When it cannot be made (no model, no interpolation ends) no dialog opens:
    the status bar says why at once."""
    title = TITLES[name]
    try:
        height, width = figure_shape(explorer.state, name, explorer.work.exports.examples())
    except FigureUnavailable as e:
        explorer.statusMessage.emit(f"Cannot export the {title}: {e}")
        return

    def chosen(path: str, option: ExportOption) -> None:
        path, fmt = resolve_export(path, option)
        explorer.work.exports.export_figure(name, path, option.scale, fmt)

    picture_dialog(explorer, f"Export the {title}", f"latentlab-{name}", figure_options(height, width), chosen)


def export_canvas(explorer: "LatentExplorer") -> None:
    """Ask where to write the canvas, as PNG at a multiple of its size on screen or as vector SVG
    or PDF; it is painted when the file is chosen (on this thread: Qt's scene lives here) and
    encoded and written in the background."""
    canvas = explorer.canvas
    width, height = canvas.viewport().width(), canvas.viewport().height()

    def chosen(path: str, option: ExportOption) -> None:
        path, fmt = resolve_export(path, option)
        scale = option.scale if fmt == "png" else 1
        size = f"{width * scale} x {height * scale} px ({scale}x)" if fmt == "png" else f"{fmt.upper()}, vector"
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)    # painting 10,000 points takes ~0.3 s
        try:
            explorer.work.exports.export_picture("canvas", path, partial(canvas_picture, canvas, fmt, scale), size)
        finally:
            QApplication.restoreOverrideCursor()

    picture_dialog(explorer, "Export the canvas", "latentlab-canvas", canvas_options(width, height), chosen)


def picture_dialog(explorer: "LatentExplorer", title: str, stem: str, options: list[ExportOption],
                   chosen: Callable[[str, ExportOption], None]) -> QFileDialog:
    """A non-modal save dialog whose filters are `options` (the first is the default); choosing a
    filter gives the file name that format's suffix. `chosen(path, option)` follows a choice."""
    by_label = {option.label: option for option in options}
    dialog = QFileDialog(explorer, title, str(Path.home() / f"{stem}.{options[0].format}"))
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setNameFilters(list(by_label))
    dialog.selectNameFilter(options[0].label)
    dialog.setDefaultSuffix(options[0].format)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def filter_selected(label: str) -> None:
        option = by_label.get(label)
        if option is None:
            return
        dialog.setDefaultSuffix(option.format)
        files = dialog.selectedFiles()
        name = Path(files[0]).name if files else stem
        base, dot, suffix = name.rpartition(".")
        if dot and suffix.lower() in {o.format for o in options} and suffix.lower() != option.format:
            dialog.selectFile(f"{base}.{option.format}")

    dialog.filterSelected.connect(filter_selected)
    dialog.fileSelected.connect(lambda path: chosen(path, by_label.get(dialog.selectedNameFilter(), options[0])))
    dialog.open()
    return dialog


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
