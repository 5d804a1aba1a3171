"""The class an M2 or M1+M2 is explored by: fix the digit, drag the style. (No Qt.)

An M2 (core/m2.py) has a class y beside its style z. The explorer shows it one class at a time as
`semi_model.given(k)`, a VAE of the style z: every tool made for a VAE (the hover, pins, figures,
geometry layers, paths) then shows "this digit, in every style", and choosing another class swaps
that view as a new model would (ExplorerState.set_selected_class).

An encoded image is the exception: its ellipse is the image's *own* style, q(z|x, ŷ) with ŷ the
classifier's most probable class, whatever class is chosen, so choosing another class decodes the
same style as another digit under the ellipse. What is exact about one image (its true posterior,
its gaps, its row of the examples table) is of `semi_model.given(ŷ)`: `model_for_image`. M1+M2
has no likelihood of an image (p(x|y, z2) passes through M1's z1), so it has none of those:
`NO_LIKELIHOOD` says so where they would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NO_LIKELIHOOD = ("M1+M2 has no likelihood of an image (p(x|y, z2) passes through M1's latent z1), "
                 "so no true posterior, log p(x), gaps or per-image bounds.")


def is_semi(model) -> bool:
    """An M2 / M1+M2 (core.m2.SemiSupervised), without importing torch for a model that is None."""
    if model is None:
        return False
    from latentlab.core.model_kinds import is_semi_supervised

    return is_semi_supervised(model)


def is_class_view(model) -> bool:
    """A view of an M2 with the class fixed (core.m2.ClassConditioned)."""
    if model is None:
        return False
    from latentlab.core.m2 import ClassConditioned

    return isinstance(model, ClassConditioned)


def has_image_likelihood(model) -> bool:
    """Whether log p(x|z) exists for `model` (a VAE, an M2 view: yes; an M1+M2 view: no)."""
    return bool(getattr(model, "has_image_likelihood", True))


@dataclass
class ClassChoice:
    """The semi-supervised model shown (None for a VAE), the class chosen and the classes' names."""

    semi_model: object = None
    selected: int = 0
    names: list[str] = field(default_factory=list)

    def take(self, model, names=None):
        """The model to show for `model`: itself for a VAE (or None), else the view of the chosen
        class, which stays across models (a run's snapshots) and is clamped to the new range.
        `names`: the classes' names (the data's label names), else the last ones if they still
        fit, else "0", "1", ..."""
        if not is_semi(model):
            self.semi_model, self.names = None, []
            return model
        k = model.num_classes
        if names is not None and len(names) == k:
            self.names = [str(n) for n in names]
        elif len(self.names) != k:
            self.names = [str(i) for i in range(k)]
        self.selected = min(max(int(self.selected), 0), k - 1)
        self.semi_model = model
        return self.view()

    def view(self):
        """semi_model.given(selected), in the semi model's train/eval mode (a fresh module is in
        training mode, and tools that restore a model's mode would put the M2 in it)."""
        view = self.semi_model.given(self.selected)
        view.train(self.semi_model.training)
        return view

    def checked(self, k) -> int:
        """`k` as a class of the model shown, or a ValueError that names the range."""
        if self.semi_model is None:
            raise ValueError("only an M2 or M1+M2 has classes to choose; this model is a VAE")
        n = self.semi_model.num_classes
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= int(k) < n:
            raise ValueError(f"class must be one of 0..{n - 1}, not {k!r}")
        return int(k)

    def name(self, k: int) -> str:
        return self.names[k] if 0 <= k < len(self.names) else str(k)


def model_for_image(state, encoding):
    """The model whose exact numbers belong to an encoded image: for an M2, the view of the
    image's own (predicted) class; else the model shown."""
    probs = None if encoding is None else encoding.class_probs
    if state.semi_model is None or probs is None:
        return state.model
    view = state.semi_model.given(int(np.argmax(probs)))
    view.train(state.semi_model.training)
    return view


# -- captions (functions of the state, for the views) -------------------------------------------------
def kind_name(semi_model) -> str:
    return "M1+M2" if getattr(semi_model, "kind", "") == "m1m2" else "M2"


def class_caption(state) -> str:
    """'M2: class 3 — hover draws a 3 in the style under the cursor; keys 0–9 choose', or '' (a VAE)."""
    if state.semi_model is None:
        return ""
    name = state.class_names[state.selected_class] if state.class_names else str(state.selected_class)
    keys = min(state.semi_model.num_classes, 10) - 1
    return (f"{kind_name(state.semi_model)}: class {name} — hover draws a {name} in the style under the "
            f"cursor; keys 0–{keys} choose the class")


def prediction_text(probs, names) -> str:
    """'7 · 0.98': the most probable class of q(y|x) and its probability."""
    k = int(np.argmax(probs))
    name = names[k] if 0 <= k < len(names) else str(k)
    return f"{name} · {float(probs[k]):.2f}"


def ellipse_label(state, encoding, short_name: str) -> str:
    """The canvas label of an image's ellipse: its name, and for an M2 what it is read as."""
    probs = encoding.class_probs
    if probs is None or state.semi_model is None:
        return short_name
    return f"{short_name}: {prediction_text(probs, state.class_names)}"
