"""An image the user gave the explorer (a file, the clipboard, the drawing pad, an example) and what
the model shown made of it: its posterior, and for an M2 / M1+M2 its q(y|x). No Qt.

Kept by ExplorerState (`state.encodings`); the background work (explorer_work.py) fills in the
posterior.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .class_choice import prediction_text
from .jobs import ImageSource, Posterior


@dataclass(eq=False)
class Encoding:
    """An image the user gave (file, clipboard, drawing) and its posterior under the current model."""

    id: str
    name: str
    source: ImageSource
    pixels: np.ndarray | None          # uint8 (C, H, W) for the current model; None while prepared again
    posterior: Posterior | None = None
    notes: list[str] = field(default_factory=list)   # conversions to mention when first encoded
    announced: bool = False            # its "Encoded ..." message was shown

    @property
    def class_probs(self) -> np.ndarray | None:
        """q(y|x) (K,) of an image an M2 / M1+M2 encoded; else None."""
        return None if self.posterior is None else self.posterior.class_probs

    def input_image(self) -> np.ndarray | None:
        if self.pixels is None:
            return None
        return self.pixels[0] if self.pixels.shape[0] == 1 else self.pixels.transpose(1, 2, 0)


def encoded_message(encoding: Encoding, class_names=()) -> str:
    """'Encoded 3.png: posterior mean (+0.12, -1.30), σ (0.08, 0.11)' plus any conversion notes;
    an M2's says what the image is read as first ('Encoded 3.png as 3 · 0.97: ...')."""
    posterior = encoding.posterior
    more = ", …" if len(posterior.mu) > 4 else ""
    read_as = "" if posterior.class_probs is None else f" as {prediction_text(posterior.class_probs, class_names)}"
    message = (f"Encoded {encoding.name}{read_as}: posterior mean "
               f"({', '.join(f'{v:+.2f}' for v in posterior.mu[:4])}{more}), "
               f"σ ({', '.join(f'{v:.2f}' for v in posterior.std[:4])}{more})")
    return message + (" — " + "; ".join(encoding.notes) if encoding.notes else "")
