"""What the comparison view shows, as one Qt-free object that says when anything changes.

`CompareState` holds 2 to MAX_MODELS models (app/compare_models.ComparedModel), the planes their
canvases show, the latent under the mouse and each model's image of it, the image every model
encodes and each one's posterior, and one metrics row per model. Views render it and send
requests (`set_hover`, `set_image`, ...); the background work (app/compare_work.py) listens to
it and brings results back through the `set_...` methods, with the generation or ticket it
started under, so a late result of older weights or an older request is dropped here.

Linked canvases: models of the same latent dimension D share one plane, so a canvas point (u, v)
is the same z in each of them. For the D of the window's explorer that plane is the explorer's
(the same two axes, or its PCA basis, through its anchor); for any other D it is z1, z2 through
the origin. A hover on a canvas decodes its z in every model of that D; the others say in words
why they show nothing.
"""

from __future__ import annotations

import itertools

import numpy as np

from .compare_models import ComparedModel, MetricRow
from .events import EventGroup
from .jobs import ImageSource, Posterior
from .plane import LatentPlane

MAX_MODELS = 4        # the window's model and up to three more

EVENTS = (
    "models",         # a model added, removed or replaced (the canvases are rebuilt)
    "weights",        # (model id) new weights of a model (the window's run trained on)
    "planes",         # the plane of some dimension changed
    "hover",          # the hovered latent (or none)
    "hover_images",   # a model's image of it, or its note
    "image",          # the image to encode (or none)
    "posteriors",     # a model's posterior of it, or its note
    "rows",           # a metrics row, or its status
    "progress",       # (done, total, text) of the metrics being computed
    "message",        # (str) for the status bar
)


class CompareState:
    def __init__(self):
        self.events = EventGroup(*EVENTS)
        self.models: dict[str, ComparedModel] = {}            # in canvas order
        self.reference_plane: LatentPlane | None = None       # the explorer's
        self.hover: tuple[str, np.ndarray] | None = None      # (canvas's model id, z)
        self.hover_ticket = 0
        self.hover_images: dict[str, np.ndarray] = {}
        self.hover_notes: dict[str, str] = {}
        self.image: ImageSource | None = None
        self.image_ticket = 0
        self.posteriors: dict[str, Posterior] = {}
        self.image_notes: dict[str, str] = {}
        self.rows: dict[str, MetricRow] = {}
        self.row_status: dict[str, str] = {}                  # "computing", "cancelled", an error
        self.progress: tuple[int, int, str] = (0, 0, "")
        self._ids = itertools.count(1)

    # ============================================================================ models
    def new_id(self) -> str:
        return f"model{next(self._ids)}"

    def add_model(self, compared: ComparedModel) -> bool:
        """Add a model (False, with a message, when MAX_MODELS are open already)."""
        if len(self.models) >= MAX_MODELS:
            self.say(f"{compared.name} not added: the comparison shows at most {MAX_MODELS} models")
            return False
        self.models[compared.id] = compared
        self._forget(compared.id)
        self.events.models.emit()
        return True

    def remove_model(self, model_id: str) -> None:
        if self.models.pop(model_id, None) is not None:
            self._forget(model_id)
            self.events.models.emit()

    def replace_model(self, model_id: str, compared: ComparedModel) -> None:
        """Another model in the same place (the window opened another file)."""
        if model_id in self.models:
            compared.id = model_id
            compared.generation = self.models[model_id].generation + 1
            self.models[model_id] = compared
            self._forget(model_id)
            if self.hover is not None and self.hover[0] == model_id and len(self.hover[1]) != compared.dim:
                self.hover = None
            self.events.models.emit()

    def set_weights(self, model_id: str, model) -> None:
        """Newer weights of the same model (a snapshot of the run training in the window)."""
        compared = self.models.get(model_id)
        if compared is None or model is None or model.latent_dim != compared.dim:
            return
        compared.model = model
        compared.generation += 1
        self.events.weights.emit(model_id)

    def is_current(self, model_id: str, generation: int) -> bool:
        compared = self.models.get(model_id)
        return compared is not None and compared.generation == generation

    def clear(self) -> None:
        """Forget every model (the view closed): nothing here keeps their weights alive."""
        self.models.clear()
        self.hover, self.image = None, None
        for model_id in list(self.rows) + list(self.row_status):
            self._forget(model_id)
        self.hover_images.clear()
        self.hover_notes.clear()
        self.posteriors.clear()
        self.image_notes.clear()
        self.events.models.emit()

    def _forget(self, model_id: str) -> None:
        for table in (self.hover_images, self.hover_notes, self.posteriors, self.image_notes, self.rows,
                      self.row_status):
            table.pop(model_id, None)

    # ============================================================================ planes
    def set_reference_plane(self, plane: LatentPlane | None) -> None:
        """The explorer's plane: models of its dimension are shown on it."""
        self.reference_plane = plane
        self.events.planes.emit()

    def plane_for(self, dim: int) -> LatentPlane:
        plane = self.reference_plane
        if plane is not None and plane.latent_dim == dim:
            return plane
        return LatentPlane.axes(dim, 0, 1 if dim > 1 else 0)

    # ============================================================================ hover
    def set_hover(self, model_id: str, u: float, v: float) -> None:
        """The mouse is at (u, v) of `model_id`'s canvas: that z, in every model of its dimension."""
        compared = self.models.get(model_id)
        if compared is None:
            return
        z = self.plane_for(compared.dim).to_latent((u, v))
        self.hover = (model_id, z)
        self.hover_ticket += 1
        for other in self.models.values():
            if other.dim != compared.dim:
                self.hover_notes[other.id] = (f"{other.name} is {other.dim}-D: the z hovered on {compared.name} "
                                              f"is {compared.dim}-D, so it has no image here "
                                              "(hover this canvas to decode its own)")
                self.hover_images.pop(other.id, None)
            else:
                self.hover_notes.pop(other.id, None)
        self.events.hover.emit()

    def hover_targets(self) -> list[ComparedModel]:
        """The models that decode the hovered z (those of its dimension)."""
        if self.hover is None:
            return []
        dim = len(self.hover[1])
        return [m for m in self.models.values() if m.dim == dim]

    def set_hover_image(self, model_id: str, image: np.ndarray, generation: int, ticket: int) -> None:
        if ticket == self.hover_ticket and self.is_current(model_id, generation):
            self.hover_images[model_id] = image
            self.hover_notes.pop(model_id, None)
            self.events.hover_images.emit()

    def set_hover_note(self, model_id: str, note: str) -> None:
        self.hover_images.pop(model_id, None)
        self.hover_notes[model_id] = note
        self.events.hover_images.emit()

    # ============================================================================ the encoded image
    def set_image(self, source: ImageSource | None) -> None:
        """An image for every model to encode (a drop on a canvas, the explorer's image); None clears."""
        self.image = source
        self.image_ticket += 1
        self.posteriors.clear()
        self.image_notes.clear()
        self.events.image.emit()

    def set_posterior(self, model_id: str, posterior: Posterior, generation: int, ticket: int) -> None:
        if ticket == self.image_ticket and self.is_current(model_id, generation):
            self.posteriors[model_id] = posterior
            self.image_notes.pop(model_id, None)
            self.events.posteriors.emit()

    def set_image_note(self, model_id: str, note: str, ticket: int) -> None:
        if ticket == self.image_ticket and model_id in self.models:
            self.posteriors.pop(model_id, None)
            self.image_notes[model_id] = note
            self.events.posteriors.emit()

    # ============================================================================ the table
    def set_row(self, model_id: str, row: MetricRow, generation: int | None = None) -> None:
        if model_id in self.models and (generation is None or self.is_current(model_id, generation)):
            self.rows[model_id] = row
            self.row_status.pop(model_id, None)
            self.events.rows.emit()

    def set_row_status(self, model_id: str, status: str) -> None:
        """'computing …', 'cancelled', or an error in words: shown while the row has no numbers."""
        if model_id in self.models:
            self.row_status[model_id] = status
            self.events.rows.emit()

    def set_progress(self, done: int, total: int, text: str) -> None:
        self.progress = (done, total, text)
        self.events.progress.emit(done, total, text)

    def say(self, message: str) -> None:
        self.events.message.emit(message)
