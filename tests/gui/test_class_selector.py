"""Exploring an M2 / M1+M2 by class in the window (issue 12): the class selector (`classSelector`,
shown only for those models; keys 0-9 on the canvas), the hover drawing the chosen class, q(y|x)
as bars beside an encoded image (`classProbabilities`) and its prediction on the ellipse, an M1+M2
saying it has no likelihood, and an m2 checkpoint file opened in the real window."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

import image_files as files
from canvas_fixtures import WAIT_MS, canvas_of, decoded_of, make_explorer, small_model, wait_encoded  # noqa: F401
from latentlab.app.class_choice import NO_LIKELIHOOD
from latentlab.app.jobs import decode_point
from latentlab.core.checkpoint import save_checkpoint
from latentlab.core.m2 import M1M2, M2Config, PixelM2
from latentlab.core.models import VAEConfig
from latentlab.core.shipped import default_checkpoint


def tiny_m2(seed: int = 0) -> PixelM2:
    torch.manual_seed(seed)
    return PixelM2(M2Config(hidden_sizes=(16,), classifier_hidden=(16,))).eval()


def tiny_m1m2(seed: int = 0) -> M1M2:
    torch.manual_seed(seed)
    return M1M2(M2Config(hidden_sizes=(16,), classifier_hidden=(16,), likelihood="gaussian",
                         m1=VAEConfig(latent_dim=4, hidden_sizes=(16,)).to_dict())).eval()


def selector_of(widget) -> QComboBox:
    return widget.findChild(QComboBox, "classSelector")


def decoded_as(model, k: int, z) -> np.ndarray:
    with torch.no_grad():
        return decode_point(model.given(k), z)


def test_the_selector_is_shown_for_an_m2_only(qtbot, make_explorer):
    explorer = make_explorer(small_model(2))
    selector = selector_of(explorer)
    assert selector is not None and not selector.isVisible()
    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.set_model(tiny_m2())
    assert selector.isVisible() and selector.count() == 10 and selector.currentIndex() == 0
    assert [selector.itemText(i) for i in range(10)] == [str(k) for k in range(10)]
    caption = explorer.findChild(QLabel, "classCaption")
    assert caption.isVisible() and caption.text().startswith("M2: class 0 — hover draws a 0")
    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.set_model(small_model(2))
    assert not selector.isVisible()


def test_the_selector_and_the_digit_keys_choose_the_class_the_hover_draws(qtbot, make_explorer):
    m2 = tiny_m2()
    explorer = make_explorer(m2)
    selector, canvas = selector_of(explorer), canvas_of(explorer)
    z = np.array([0.6, -0.4])
    explorer.show_latent(z)
    qtbot.waitUntil(lambda: np.array_equal(decoded_of(explorer).image(), decoded_as(m2, 0, z)), timeout=WAIT_MS)
    selector.activated.emit(3)                   # what a click on the list's "3" sends
    assert explorer.state.selected_class == 3
    qtbot.waitUntil(lambda: np.array_equal(decoded_of(explorer).image(), decoded_as(m2, 3, z)), timeout=WAIT_MS)
    QTest.keyClick(canvas, Qt.Key.Key_5)
    assert explorer.state.selected_class == 5 and selector.currentIndex() == 5
    qtbot.waitUntil(lambda: np.array_equal(decoded_of(explorer).image(), decoded_as(m2, 5, z)), timeout=WAIT_MS)
    assert not np.array_equal(decoded_as(m2, 3, z), decoded_as(m2, 5, z))     # a 3 and a 5 of one style
    QTest.keyClick(canvas, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)  # not a plain digit
    assert explorer.state.selected_class == 5
    assert "class 5" in explorer.findChild(QLabel, "classCaption").text()


def test_an_encoded_image_shows_q_y_x_beside_it_and_its_prediction_on_the_ellipse(qtbot, make_explorer):
    explorer = make_explorer(tiny_m2())
    explorer.encode_files([files.sample("mnist", 20)])
    encoding, = wait_encoded(qtbot, explorer, 1)
    bars = explorer.findChild(QWidget, "classProbabilities")
    explorer.tabs.setCurrentWidget(explorer.encoded_panel)
    qtbot.waitUntil(bars.isVisible, timeout=WAIT_MS)
    np.testing.assert_allclose(bars.probabilities(), encoding.class_probs)
    predicted = int(np.argmax(encoding.class_probs))
    assert bars.predicted() == predicted
    assert bars.prediction() == f"{predicted} · {encoding.class_probs[predicted]:.2f}"
    line = bars.fontMetrics().height()
    assert bars.height() >= 5 * line and bars.width() >= 10 * bars.fontMetrics().horizontalAdvance("0")
    assert not bars.grab().toImage().isNull()                              # it paints
    label = canvas_of(explorer).posterior(encoding.id).text.toPlainText()
    assert label.endswith(f": {bars.prediction()}")
    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.set_model(small_model(2))                                 # a VAE: no classes, no bars
    wait_encoded(qtbot, explorer, 1)
    qtbot.waitUntil(lambda: not bars.isVisible(), timeout=WAIT_MS)
    assert ":" not in canvas_of(explorer).posterior(encoding.id).text.toPlainText()


def test_an_m1m2_says_it_has_no_likelihood_where_the_exact_numbers_would_be(qtbot, make_explorer):
    explorer = make_explorer(tiny_m1m2())
    assert selector_of(explorer).isVisible()
    assert explorer.findChild(QLabel, "classCaption").text().startswith("M1+M2: class 0")
    explorer.encode_files([files.sample("mnist", 3)])
    wait_encoded(qtbot, explorer, 1)
    gap_status = explorer.findChild(QLabel, "gapStatus")
    qtbot.waitUntil(lambda: gap_status.text() == NO_LIKELIHOOD, timeout=WAIT_MS)
    assert NO_LIKELIHOOD in explorer.posterior_controls.caption.text()
    assert not explorer.posterior_controls.toggle.isEnabled()


def test_an_m2_checkpoint_file_opens_in_the_window(qtbot, make_window, tmp_path):
    path = save_checkpoint(tmp_path / "m2.pt", tiny_m2(), data={"dataset": "mnist"},
                           trainer_state={"epoch": 3, "step": 1170})
    window = make_window(path)
    message = window.statusBar().currentMessage()
    assert message.startswith("Opened m2.pt: M2 with a 2-D style z on mnist, 3 epochs (1,170 steps)"), message
    assert window.explorer.state.semi_model is not None and selector_of(window).isVisible()
    assert window.training_panel.model_kind == "m2"          # the panel shows the run it would continue
    qtbot.waitUntil(lambda: window.explorer.state.hover_image is not None, timeout=WAIT_MS)
    assert window.open_checkpoint(default_checkpoint())                  # a VAE again: no selector
    assert not selector_of(window).isVisible()
    assert "2-D mlp VAE on mnist" in window.statusBar().currentMessage()
