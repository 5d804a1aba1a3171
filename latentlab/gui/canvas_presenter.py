"""Draws the explorer's state on the latent canvas, and turns the canvas' mouse into requests.

The canvas (canvas.py) is a plot that knows nothing about models; the state (app/explorer_state.py)
knows nothing about plots. This joins them: a hover becomes `state.set_hover(z)`, a click a pin
(or, on a point of the test set whose image the examples hold, that image: `pick`, see
app/ground_truth_work.py), and every change of the state's test set, plane, pins, images or path
is projected onto the plane and drawn. The hover path stays short: one `plane.to_latent` and one
state call per mouse move.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QGuiApplication

from latentlab.app import captions
from latentlab.app.class_choice import ellipse_label
from latentlab.app.explorer_state import ExplorerState
from latentlab.app.plane import Ellipse
from latentlab.core.images import IMAGE_SUFFIXES

from .canvas import LatentCanvas


class CanvasPresenter(QObject):
    def __init__(self, state: ExplorerState, canvas: LatentCanvas, pick=None):
        super().__init__(canvas)
        self.state, self.canvas = state, canvas
        # pick(u, v, pixel_size) -> bool: a click on a scatter point selects its test image instead of pinning
        self.pick = pick
        self._basis: np.ndarray | None = None       # of the plane last drawn
        canvas.hovered.connect(self._on_hover)
        canvas.clicked.connect(self._on_click)
        events = state.events
        events.scatter.connect(self._draw_scatter)
        events.plane.connect(self._on_plane)
        events.view_reset.connect(self.reset_view)
        events.pins.connect(self._draw_pins)
        events.encodings.connect(self._draw_encodings)
        events.posterior.connect(self._on_posterior)
        events.path.connect(self._draw_path)

    # -- requests ------------------------------------------------------------------------------------
    @Slot(float, float)
    def _on_hover(self, u: float, v: float) -> None:
        state = self.state
        if state.model is not None:
            state.set_hover(state.plane.to_latent((u, v)))

    @Slot(float, float)
    def _on_click(self, u: float, v: float) -> None:
        state = self.state
        if state.model is None:
            return
        shift = QGuiApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier
        if self.pick is not None and not shift and self.pick(u, v, self.canvas.plot_item.vb.viewPixelSize()):
            return              # a test image picked (Shift+click always pins, even on a point)
        pin = state.add_pin(state.plane.to_latent((u, v)))
        state.message(f"Pinned point {len(state.pins)} at z = ({', '.join(f'{x:+.2f}' for x in pin.z[:6])})")

    def reset_view(self) -> None:
        """Back to the prior's 2-sigma disc, widened to hold the test set."""
        scatter = self.state.scatter
        self.canvas.reset_view(None if scatter is None else self.state.plane.project(scatter.means))

    # -- drawing -------------------------------------------------------------------------------------
    def _on_plane(self) -> None:
        plane = self.state.plane
        if self._basis is not None and self._basis.shape == plane.basis.shape and np.array_equal(self._basis,
                                                                                               plane.basis):
            return     # only the anchor moved: canvas coordinates (basis @ z) are the same
        self._basis = plane.basis
        self.canvas.set_axis_labels(*plane.labels)
        self._draw_scatter()
        self._draw_pins()
        self._draw_encodings()
        self._draw_path()

    def _draw_scatter(self) -> None:
        state, canvas = self.state, self.canvas
        scatter = state.scatter
        if scatter is None or scatter.latent_dim != state.plane.latent_dim:
            canvas.set_scatter(None)
        else:
            canvas.set_scatter(state.plane.project(scatter.means), scatter.labels, scatter.names)
        canvas.set_scatter_visible(state.scatter_visible)

    def _draw_pins(self) -> None:
        pins = self.state.pins
        self.canvas.set_pins(self.state.plane.project(np.array([p.z for p in pins])) if pins else np.empty((0, 2)))

    def _draw_encodings(self) -> None:
        """The posterior ellipses of all images, and the q(z|x) draws of the one shown in detail."""
        encodings = self.state.encodings
        for key in self.canvas.posterior_keys():
            encoding = encodings.get(key)
            if encoding is None or encoding.posterior is None:
                self.canvas.remove_posterior(key)
        for encoding in encodings.values():
            self._draw_posterior(encoding.id)
        self._draw_posterior_samples()

    def _on_posterior(self, encoding_id: str) -> None:
        self._draw_posterior(encoding_id)
        detailed = self.state.detailed_encoding()
        if detailed is not None and detailed.id == encoding_id:
            self._draw_posterior_samples()

    def _draw_posterior(self, encoding_id: str) -> None:
        encoding = self.state.encodings.get(encoding_id)
        if encoding is None or encoding.posterior is None:
            return
        posterior = encoding.posterior
        centre, cov = self.state.plane.project_gaussian(posterior.mu, np.exp(posterior.logvar))
        self.canvas.set_posterior(encoding.id, Ellipse.from_covariance(centre, cov),
                                  ellipse_label(self.state, encoding, _short(encoding.name)))

    def _draw_posterior_samples(self) -> None:
        detailed = self.state.detailed_encoding()
        self.canvas.set_posterior_samples(
            None if detailed is None else self.state.plane.project(detailed.posterior.sample_z))

    def _draw_path(self) -> None:
        """The path on the plane; one that swings far from the data (slerp between nearly opposite
        ends) is noted at its far point and the view widened to show all of it."""
        state = self.state
        if state.path is None or not state.path_shown:
            self.canvas.set_path(None)
            return
        points = state.plane.project(state.path)
        note, at = captions.path_note(state)
        self.canvas.set_path(points, note, at)
        if note:
            self.canvas.show_whole(points)


def _short(name: str, length: int = 18) -> str:
    """A file's name without its suffix, or an example's ('test image 12 (7)'), cut to `length`."""
    stem = Path(name).stem if Path(name).suffix.lower() in IMAGE_SUFFIXES else name
    return stem if len(stem) <= length else stem[:length - 1] + "…"
