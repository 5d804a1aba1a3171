"""What the analogies figure (the paper's Figure 1, core/analogies.py) is computed from, the
caption that says so, and when it must be computed again. No Qt.

The figure needs the semi-supervised model itself (an M2 or M1+M2), not the one-class view the
explorer shows (`model.given(y)`): `semi_model_of(state)` finds it either way. Its rows, read on
the GUI thread so the job sees a fixed copy:

* the selected encoded image first, when there is one (the newest: the user's drawing, a dropped,
  pasted or picked image, as the Encoded tab shows it), its style read as the classifier's
  most probable class (a picked test image's label is not known here);
* then test images: the explorer's examples (the test split, binarised as the model was trained,
  as its scatter), the first ones for seed 0, else drawn with the seed: core.analogies.example_rows,
  as `latentlab figure --kind analogies --seed S` picks them; their style read under their label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentlab.core.analogies import AnalogiesLayout, analogies_figure, analogy_rows, example_rows
from latentlab.core.m2 import ClassConditioned, SemiSupervised

from .explorer_state import ExplorerState

NEEDS_M2 = "Analogies need an M2 model (Train → M2, or open trained/m2-2d.pt)"
NEEDS_ROWS = ("The analogies need images: the test images are not here (yet), and no image of your own is "
              "encoded (draw one, or drop an image on the canvas)")
FIGURE = "analogies"


def semi_model_of(state: ExplorerState):
    """The M2 / M1+M2 behind the explorer's model, or None for a VAE (or no model). Works with the
    explorer's `semi_model` when it has one, else with the one-class view it shows."""
    semi = getattr(state, "semi_model", None)
    if semi is not None:
        return semi
    model = state.model
    if isinstance(model, ClassConditioned):
        return model.model
    return model if isinstance(model, SemiSupervised) else None


@dataclass(frozen=True, eq=False)
class AnalogyInputs:
    pixels: np.ndarray                  # uint8 (N, C, H, W): the rows' images as the model takes them
    labels: np.ndarray                  # (N,) int64; -1: unknown (the classifier's guess is used)
    own: str | None                     # the name of the user's image in row 1, or None
    test_rows: int                      # how many test images follow
    examples_words: str                 # "the first 7 of 10,000 mnist test split images"
    class_names: tuple[str, ...] | None

    def __len__(self) -> int:
        return len(self.pixels)


def own_image(state: ExplorerState):
    """The selected encoded image (Encoding) when it fits the model, else None."""
    selected = state.detailed_encoding()
    if selected is None or state.model is None or selected.pixels is None:
        return None
    return selected if tuple(selected.pixels.shape) == tuple(state.model.image_shape) else None


def analogy_inputs(state: ExplorerState, examples=None) -> AnalogyInputs:
    """The rows of the analogies as `state` shows them now; `examples` an app.examples.ExampleSet
    (or None). Fewer rows than asked when there are fewer images; none without any."""
    settings, shape = state.figure_settings, tuple(state.model.image_shape)
    wanted = settings.analogy_rows
    pixels, labels, own = [], [], None
    selected = own_image(state)
    if selected is not None and wanted > 0:
        own = selected.name
        pixels.append(selected.pixels[None])
        labels.append(np.array([-1]))
    words, test_rows = "", 0
    usable = examples is not None and len(examples) > 0 and tuple(examples.pixels.shape[1:]) == shape
    if usable and wanted - len(pixels) > 0:
        rows = example_rows(len(examples), wanted - len(pixels), settings.analogy_seed)
        test_rows = len(rows)
        pixels.append(examples.pixels[rows])
        labels.append(examples.labels[rows] if examples.labels is not None else np.full(len(rows), -1))
        what = f"{len(examples):,} {examples.dataset} {examples.source} images"
        words = (f"the first {test_rows:,} of {what}" if settings.analogy_seed == 0 else
                 f"{test_rows:,} of {what}, drawn with seed {settings.analogy_seed}")
    names = tuple(examples.label_names) if usable and examples.label_names else None
    if not pixels:
        return AnalogyInputs(np.zeros((0, *shape), np.uint8), np.zeros(0, np.int64), None, 0, "", names)
    return AnalogyInputs(np.concatenate(pixels), np.concatenate(labels).astype(np.int64), own, test_rows, words,
                         names)


def layout(state: ExplorerState, inputs: AnalogyInputs) -> AnalogiesLayout:
    """Where everything goes, before any decoding (the export dialog's sizes)."""
    model = semi_model_of(state)
    names = _column_names(model.num_classes, inputs.class_names)
    return AnalogiesLayout(len(inputs), model.image_shape, names)


def _column_names(k: int, class_names) -> list[str]:
    return [str(class_names[c]) if class_names and c < len(class_names) else str(c) for c in range(k)]


def analogies_image(model, inputs: AnalogyInputs) -> tuple[np.ndarray, str]:
    """The labelled picture (core.analogies.analogies_figure) and its caption. On the model runner."""
    import torch

    x = torch.from_numpy(inputs.pixels.astype(np.float32) / 255.0)
    rows = analogy_rows(model, x, labels=inputs.labels)
    guess = None
    if inputs.own is not None:
        probabilities = torch.softmax(model.classify(x[:1].to(model.device)), -1)[0].cpu()
        k = int(rows.style_classes[0])
        guess = (k, float(probabilities[k]))
    names = _column_names(model.num_classes, inputs.class_names)
    return analogies_figure(rows, names), caption(inputs, guess, names)


def caption(inputs: AnalogyInputs, guess, names) -> str:
    """A short paragraph (what the rows are; how the user's image was read), then after a blank
    line the longer explanation (the view's tooltip)."""
    parts = []
    if inputs.own is not None:
        k, p = guess
        parts.append(f"Row 1: {inputs.own}, classified as {names[k]} (q(y|x) = {p:.2f}, framed)")
    if inputs.test_rows:
        first = "then " if parts else "Rows: "
        parts.append(f"{first}{inputs.test_rows} test image{'s' if inputs.test_rows > 1 else ''}, each read as its "
                     "label (framed)")
    short = "; ".join(parts) + ". Each column draws one class in the row's style."
    details = ("The paper's Figure 1 (Kingma et al. 2014): the model keeps the class y apart from the style z. "
               "Each row's style is the mean of q(z|x, y), with y the image's label for a test image and the "
               "classifier's most probable class for an image of your own (the grey frame marks that class, so "
               "that tile is the reconstruction); each column decodes p(x|y, z) with that z for one class y. ")
    if inputs.test_rows:
        details += (f"Test images: {inputs.examples_words}, already binarised as the model was trained (as "
                    "`latentlab figure --kind analogies` picks them for the same seed). ")
    if inputs.own is None:
        details += "Draw a digit (Draw tab) or drop an image on the canvas to see your own style in the first row."
    return f"{short}\n\n{details.strip()}"


class AnalogyRowsFollower:
    """Makes the analogies stale when their first row changes: the selected image (a new stroke on
    the drawing, a dropped image, one removed). The test images are followed by the view, which
    knows when the examples change; a new model or setting by the state itself."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self._key = self._current()
        for event in (state.events.encodings, state.events.posterior):
            event.connect(self._check)

    def _current(self):
        selected = own_image(self.state)
        return None if selected is None else (selected.id, selected.pixels.tobytes())

    def _check(self, *_) -> None:
        key = self._current()
        if key != self._key:
            self._key = key
            if semi_model_of(self.state) is not None and FIGURE not in self.state.stale_figures:
                self.state.refresh_figure(FIGURE)
