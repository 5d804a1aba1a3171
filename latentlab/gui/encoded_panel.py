"""The "Encoded" tab: the newest encoded image, its reconstruction and decoded draws from q(z|x);
for an M2 / M1+M2 also q(y|x) as a bar chart beside them (gui/class_bars.py).

A view of `ExplorerState.detailed_encoding()`; with no image it is empty and shows how to add one.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from latentlab.app import captions
from latentlab.app.explorer_state import ExplorerState

from .class_bars import ClassBars
from .image_view import ImageView, ThumbnailRow


class EncodedPanel(QWidget):
    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.input_view = ImageView(self, min_side=56, caption="input")
        self.reconstruction_view = ImageView(self, min_side=56, caption="reconstruction")
        self.sample_row = ThumbnailRow(self)
        self.class_bars = ClassBars(self)
        self.class_bars.hide()
        self.hint = QLabel(captions.ENCODED_HINT, objectName="encodedHint")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        pair = QHBoxLayout()
        pair.addWidget(self.input_view, 2)
        pair.addWidget(self.reconstruction_view, 2)
        pair.addWidget(self.class_bars, 2)      # (shown for an M2 / M1+M2 only)
        layout.addLayout(pair, 1)
        layout.addWidget(QLabel("Samples z ~ q(z|x), decoded:"))
        layout.addWidget(self.sample_row)
        layout.addWidget(self.hint)
        state.events.encodings.connect(self.render)
        state.events.posterior.connect(self._on_posterior)

    def _on_posterior(self, encoding_id: str) -> None:
        detailed = self.state.detailed_encoding()
        if detailed is not None and detailed.id == encoding_id:
            self.render()

    def render(self) -> None:
        encoding = self.state.detailed_encoding()
        self.hint.setText(captions.encoded_hint(self.state))
        if encoding is None:
            self.input_view.set_image(None)
            self.reconstruction_view.set_image(None)
            self.sample_row.set_images([])
            self.class_bars.set_probabilities(None)
            return
        posterior = encoding.posterior
        self.input_view.set_image(encoding.input_image())
        self.reconstruction_view.set_image(posterior.reconstruction)
        self.class_bars.set_probabilities(posterior.class_probs, self.state.class_names)
        images = posterior.sample_images
        self.sample_row.set_images(images, [captions.sample_label(i) for i in range(len(images))])
