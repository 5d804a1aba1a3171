"""What the traversal figure is computed from, and the caption that says so. No Qt.

A traversal decodes one anchor point with each latent dimension swept in turn, one row per
dimension, the rows ordered by how much each dimension is used: its KL(q(z_u|x) || p(z_u)),
averaged over test images (core/traversal.py). Here the explorer's state and examples become
those inputs, read on the GUI thread so the job sees a fixed copy:

* the anchor: the selected image's posterior mean (the newest encoded image, as the Encoded tab
  and the ground truth show), the plane's anchor, or z = 0; an "image" anchor without an encoded
  image is z = 0, and the caption says so;
* the span: z_u over -3 .. +3 (the prior's ±3σ), or the anchor's posterior mean ± 3σ of that
  posterior, which needs an image's posterior (else ±3, said in the caption);
* what orders the rows: the examples (the test images the explorer loaded, already binarised as
  the model was trained), the first EXAMPLE_CAP of them; without examples the KL of one image's
  posterior (the anchor's, else the selected image's); without either, dimension order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .explorer_state import ORIGIN, ExplorerState

EXAMPLE_CAP = 2000        # test images encoded for the KL per dimension: ~0.1 s on one thread
SPAN = 3.0                # the prior's ±3σ


@dataclass(frozen=True, eq=False)
class TraversalInputs:
    anchor: np.ndarray                       # (D,)
    anchor_logvar: np.ndarray | None         # its posterior's, when the anchor is an image's mean
    anchor_words: str                        # "the posterior mean of 3.png"
    span: float | str                        # SPAN or "posterior"
    span_note: str                           # why "posterior" was not possible, or ""
    examples: np.ndarray | None              # uint8 (N, C, H, W), N <= EXAMPLE_CAP
    examples_words: str                      # "the first 2,000 of 10,000 mnist test split images"
    examples_short: str                      # "2,000 test images"
    order_posterior: tuple[np.ndarray, np.ndarray] | None   # (mu, logvar) of one image, without examples
    order_words: str                         # whose posterior that is

    def anchor_key(self) -> tuple:
        """What changes the figure besides the model, the settings and the examples."""
        logvar = None if self.anchor_logvar is None else self.anchor_logvar.tobytes()
        order = None if self.order_posterior is None else tuple(a.tobytes() for a in self.order_posterior)
        return self.anchor.tobytes(), logvar, self.span, order


def traversal_inputs(state: ExplorerState, examples=None) -> TraversalInputs:
    """The inputs of the traversal as `state` shows it now; `examples` an app.examples.ExampleSet
    (or None) whose images fit the model."""
    settings, dim = state.figure_settings, state.model.latent_dim
    anchor, logvar, words = np.zeros(dim), None, "z = 0"
    choice = settings.traversal_anchor
    selected = state.detailed_encoding()
    if choice == "image":
        if selected is not None:
            anchor, logvar = selected.posterior.mu, selected.posterior.logvar
            words = f"the posterior mean of {selected.name}"
        else:
            words = "z = 0 (no image encoded)"
    elif choice == "plane":
        anchor_id = state.plane_choice.anchor
        point = state.point_of(anchor_id)
        if anchor_id != ORIGIN and point is not None:
            anchor = point
            encoding = state.encodings.get(anchor_id)
            if encoding is not None:
                logvar = encoding.posterior.logvar
            words = f"the plane's anchor, {dict(state.anchor_choices()).get(anchor_id, anchor_id)}"
        else:
            words = "the plane's anchor, z = 0"
    span, span_note = SPAN, ""
    if settings.traversal_span == "posterior":
        if logvar is not None:
            span = "posterior"
        else:
            span_note = "±3σ of the anchor's posterior needs an image as the anchor: swept over ±3 instead. "
    pixels, examples_words, examples_short = _example_pixels(state, examples)
    order, order_words = None, ""
    if pixels is None:
        if logvar is not None:
            order, order_words = (anchor, logvar), words.replace("the posterior mean of ", "")
        elif selected is not None:
            order, order_words = (selected.posterior.mu, selected.posterior.logvar), selected.name
    return TraversalInputs(np.array(anchor, dtype=np.float64), None if logvar is None else np.array(logvar),
                           words, span, span_note, pixels, examples_words, examples_short,
                           None if order is None else tuple(np.array(a) for a in order), order_words)


def _example_pixels(state: ExplorerState, examples) -> tuple[np.ndarray | None, str, str]:
    """The first EXAMPLE_CAP examples, what they are in full and in short."""
    if examples is None or len(examples) == 0 or tuple(examples.pixels.shape[1:]) != tuple(state.model.image_shape):
        return None, "", ""
    n = min(len(examples), EXAMPLE_CAP)
    what = f"{examples.dataset} {examples.source}"
    short = f"{n:,} {'test' if examples.source == 'test split' else 'sample'} images"
    if n < examples.total:
        return examples.pixels[:n], f"the first {n:,} of {examples.total:,} {what} images", short
    return examples.pixels[:n], f"{n:,} {what} images", short


def caption(inputs: TraversalInputs, steps: int, kl) -> str:
    """What the figure shows, with `kl` the core.traversal.DimensionKL that ordered it (or None):
    a short paragraph (which dimensions are active; around what, over what), then after a blank
    line the longer explanation (the view's tooltip)."""
    sweep = ("its posterior mean ± 3σ" if inputs.span == "posterior" else f"-{SPAN:g} to +{SPAN:g}")
    where = f"Swept over {sweep} around {inputs.anchor_words}."
    details = (f"Each row sweeps one latent dimension over {sweep} "
               f"({'of the anchor image' if inputs.span == 'posterior' else 'the prior'}'s ±3σ) in {steps} steps, "
               f"the other coordinates held at {inputs.anchor_words}. {inputs.span_note}")
    if kl is None:
        return (f"Rows in dimension order: no test images and no encoded image to measure each dimension's KL by. "
                f"{where}\n\n{details}")
    dim = len(kl.kl)
    active = [f"z{int(i) + 1}" for i in kl.order if kl.active[int(i)]]
    if inputs.examples is not None:
        over = f"KL over {inputs.examples_short}"
        details += (f"Rows ordered by KL(q(z_u|x) ‖ p(z_u)) in nats, averaged over {inputs.examples_words} "
                    "(already binarised as the model was trained), highest first.")
    else:
        over = f"KL of {inputs.order_words}'s posterior alone: no test images here"
        details += (f"Rows ordered by the KL in nats of {inputs.order_words}'s posterior alone (no test images "
                    "here): one image's KL says little about the data.")
    if len(active) < dim:
        details += (" The grey rows under the line are collapsed (KL < "
                    f"{kl.threshold:g} nats, Burda et al.'s threshold): their posterior is the prior for every image, "
                    "so they carry nothing and the decoder ignores them.")
    short = (f"{len(active)} of {dim} dimensions active (KL ≥ {kl.threshold:g} nats)"
             + (f": {', '.join(active)}" if active else "")
             + ("; collapsed ones grey, under the line" if len(active) < dim else "") + f". {over}. {where}")
    return f"{short}\n\n{details}"
