"""The comparison view (objectName 'compareView'): 2 to 4 models side by side on linked canvases,
each with its decoded image of the hovered z and the ellipse of the image every model encodes,
and one table of their numbers below (gui/compare_table.py).

Its own window, not a dock or a tab of the main window: on a 1280 x 720 projector the main
window's width is shared by the explorer and the training docks, and four canvases need all of
it (four of ~300 px). A window of its own takes the whole screen, sits on a second screen beside
the main window where there is one, and goes away with one click when the comparison is done.

A view of CompareState (app/compare_state.py): every canvas is a LatentCanvas, so hover, drops
and the posterior ellipses are the explorer's own; canvases of the same latent dimension show
the same plane and share their view range (panning or zooming one moves the others).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from latentlab.app.compare_models import ComparedModel
from latentlab.app.compare_state import CompareState
from latentlab.app.jobs import KEPT_PICTURE_SIDE, ImageSource
from latentlab.app.plane import Ellipse

from .canvas import LatentCanvas
from .compare_table import CompareTable
from .image_view import ImageView

IMAGE_KEY = "compared image"     # the canvases' key of the encoded image's ellipse
HOVER_COLOUR = "#ffe14d"
IMAGE_SIDE = 72                  # decoded images under each canvas: 28 px x 2, readable from the back


class ModelPanel(QWidget):
    """One model: its title, its canvas, and under it the image at the hovered z, the encoded
    image's reconstruction and a note that says why either is missing."""

    def __init__(self, compared: ComparedModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("comparePanel")
        self.model_id = compared.id
        self.title = QLabel(compared.title, self)
        self.title.setObjectName("compareTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.canvas = LatentCanvas(self)
        self.canvas.setObjectName("compareCanvas")
        self.canvas.setMinimumSize(200, 180)
        self.marker = pg.ScatterPlotItem(size=16, symbol="+", pen=pg.mkPen(HOVER_COLOUR, width=2), pxMode=True)
        self.marker.setZValue(40)
        self.canvas.plot_item.addItem(self.marker, ignoreBounds=True)
        self.decoded = ImageView(self, min_side=IMAGE_SIDE, caption="at hovered z")
        self.decoded.setObjectName("compareDecoded")
        self.reconstruction = ImageView(self, min_side=IMAGE_SIDE, caption="reconstruction")
        self.reconstruction.setObjectName("compareReconstruction")
        self.note = QLabel(self)
        self.note.setObjectName("compareNote")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        images = QHBoxLayout()
        images.setContentsMargins(0, 0, 0, 0)
        for view in (self.decoded, self.reconstruction):
            view.setFixedSize(IMAGE_SIDE + 24, IMAGE_SIDE + 24)   # the captions fit
            images.addWidget(view)
        images.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(images)

    def set_note(self, lines: list[str]) -> None:
        self.note.setText("\n".join(lines))
        self.note.setToolTip("\n".join(lines))


class CompareView(QWidget):
    """The window; `closed` tells its owner (gui/compare_launcher.py) to free the models."""

    closed = Signal()

    def __init__(self, state: CompareState, cancel, measure, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("compareView")
        self.setWindowTitle("Compare models — latentlab")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.state = state
        self.panels: dict[str, ModelPanel] = {}
        self.row = QWidget(self)
        self.row_layout = QHBoxLayout(self.row)
        self.row_layout.setContentsMargins(0, 0, 0, 0)
        self.row_layout.setSpacing(4)
        self.table = CompareTable(state, cancel, measure, self)
        self.status = QLabel(self)
        self.status.setObjectName("compareStatus")
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.row)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setCollapsible(0, False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self._handlers = [
            (state.events.models, self.rebuild), (state.events.weights, self._on_weights),
            (state.events.planes, self.redraw), (state.events.hover, self._draw_hover),
            (state.events.hover_images, self._draw_hover), (state.events.image, self._draw_image),
            (state.events.posteriors, self._draw_image), (state.events.message, self.show_status),
        ]
        for event, handler in self._handlers:
            event.connect(handler)
        self.rebuild()

    # -- building ----------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """One panel per model, in order; canvases of one dimension linked to the first of it."""
        models = self.state.models
        for model_id in [i for i in self.panels if i not in models]:
            panel = self.panels.pop(model_id)
            panel.setParent(None)
            panel.deleteLater()
        for position, compared in enumerate(models.values()):
            panel = self.panels.get(compared.id)
            if panel is None:
                panel = self.panels[compared.id] = self._new_panel(compared)
            self.row_layout.insertWidget(position, panel, 1)
        self._link()
        self.redraw()
        self._fit_table()

    def _new_panel(self, compared: ComparedModel) -> ModelPanel:
        panel = ModelPanel(compared, self.row)
        canvas, model_id = panel.canvas, compared.id
        canvas.hovered.connect(lambda u, v: self.state.set_hover(model_id, u, v))
        canvas.filesDropped.connect(self.encode_files)
        canvas.imageDropped.connect(self.encode_qimage)
        canvas.dropRefused.connect(self.show_status)
        return panel

    def _link(self) -> None:
        first: dict[int, LatentCanvas] = {}
        for compared in self.state.models.values():
            vb = self.panels[compared.id].canvas.plot_item.vb
            leader = first.setdefault(compared.dim, self.panels[compared.id].canvas)
            target = None if leader is self.panels[compared.id].canvas else leader.plot_item.vb
            vb.setXLink(target)
            vb.setYLink(target)

    def _fit_table(self) -> None:
        """The table as high as its rows, the canvases the rest."""
        table = self.table.table
        rows = table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(table.rowCount()))
        wanted = rows + 2 * table.frameWidth() + self.table.progress.sizeHint().height() + 8
        total = sum(self.splitter.sizes()) or self.height()
        self.splitter.setSizes([max(total - wanted, 100), wanted])

    # -- drawing -----------------------------------------------------------------------------------
    def redraw(self) -> None:
        for compared in self.state.models.values():
            self._draw_model(compared)
        self._draw_hover()
        self._draw_image()

    def _draw_model(self, compared: ComparedModel) -> None:
        panel = self.panels.get(compared.id)
        if panel is None:
            return
        plane = self.state.plane_for(compared.dim)
        panel.title.setText(compared.title)
        panel.title.setToolTip(str(compared.path) if compared.path else "the model shown in the main window")
        panel.canvas.set_axis_labels(*plane.labels)
        scatter = compared.scatter
        if scatter is not None and scatter.latent_dim == compared.dim:
            panel.canvas.set_scatter(plane.project(scatter.means), scatter.labels, scatter.names)
        else:
            panel.canvas.set_scatter(None)

    def _on_weights(self, model_id: str) -> None:
        compared = self.state.models.get(model_id)
        if compared is not None:
            self._draw_model(compared)

    def _draw_hover(self) -> None:
        state = self.state
        hover = state.hover
        for compared in state.models.values():
            panel = self.panels.get(compared.id)
            if panel is None:
                continue
            if hover is not None and len(hover[1]) == compared.dim:
                uv = state.plane_for(compared.dim).project(hover[1])
                panel.marker.setData([float(uv[0])], [float(uv[1])])
            else:
                panel.marker.setData([], [])
            panel.decoded.set_image(state.hover_images.get(compared.id))
            self._write_note(compared.id)

    def _draw_image(self) -> None:
        state = self.state
        for compared in state.models.values():
            panel = self.panels.get(compared.id)
            if panel is None:
                continue
            posterior = state.posteriors.get(compared.id)
            if posterior is None:
                panel.canvas.remove_posterior(IMAGE_KEY)
                panel.reconstruction.set_image(None)
            else:
                centre, cov = state.plane_for(compared.dim).project_gaussian(posterior.mu, np.exp(posterior.logvar))
                panel.canvas.set_posterior(IMAGE_KEY, Ellipse.from_covariance(centre, cov),
                                           _short(state.image.name if state.image else ""))
                panel.reconstruction.set_image(posterior.reconstruction)
            self._write_note(compared.id)

    def _write_note(self, model_id: str) -> None:
        state, panel = self.state, self.panels[model_id]
        lines = [note for note in (state.hover_notes.get(model_id), state.image_notes.get(model_id)) if note]
        if not lines and model_id in state.posteriors and state.image is not None:
            posterior = state.posteriors[model_id]
            mu = ", ".join(f"{v:+.2f}" for v in posterior.mu[:3]) + (", …" if len(posterior.mu) > 3 else "")
            lines.append(f"{_short(state.image.name)}: μ = ({mu})")
        panel.set_note(lines)

    # -- requests ----------------------------------------------------------------------------------
    def encode_files(self, paths: list[str]) -> None:
        """A file dropped on any canvas: every model encodes it (the first, when several are)."""
        if not paths:
            return
        if len(paths) > 1:
            self.show_status(f"Encoding {paths[0]} (one image at a time is compared)")
        self.state.set_image(ImageSource.of_file(paths[0]))

    def encode_qimage(self, image: QImage, name: str = "dropped image") -> None:
        from .explorer_menu import qimage_to_pil

        picture = qimage_to_pil(image)
        picture.thumbnail((KEPT_PICTURE_SIDE, KEPT_PICTURE_SIDE))
        self.state.set_image(ImageSource(name, picture=picture))

    def show_status(self, message: str) -> None:
        self.status.setText(" ".join(str(message).split()))

    def panel(self, model_id: str) -> ModelPanel:
        return self.panels[model_id]

    # -- closing -----------------------------------------------------------------------------------
    def disconnect_state(self) -> None:
        for event, handler in self._handlers:
            event.disconnect(handler)
        self.table.disconnect_state()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().closeEvent(event)
        self.closed.emit()


def _short(name: str, length: int = 18) -> str:
    return name if len(name) <= length else name[:length - 1] + "…"
