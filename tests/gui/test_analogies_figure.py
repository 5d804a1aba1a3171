"""The analogies tab (objectName analogiesFigure): for a VAE it says what it needs and offers no
settings; for an M2 it is computed when shown, from the test images and the user's own drawing,
follows its settings and a training snapshot, and is exported like the other figures."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from PySide6.QtWidgets import QWidget

from canvas_fixtures import WAIT_MS, make_explorer, small_model  # noqa: F401
from latentlab.app.analogy_inputs import NEEDS_M2
from latentlab.app.examples import ExampleSet
from latentlab.app.figure_work import figure_function, figure_shape
from latentlab.core.analogies import AnalogiesLayout
from latentlab.core.m2 import M2Config, PixelM2
from latentlab.gui import explorer_menu

NAMES = tuple(str(k) for k in range(10))


def tiny_m2(seed=0):
    torch.manual_seed(seed)
    return PixelM2(M2Config(hidden_sizes=(16,), classifier_hidden=(16,))).eval()


def examples(n=20):
    rng = np.random.default_rng(0)
    pixels = (rng.random((n, 1, 28, 28)) < 0.2).astype(np.uint8) * 255
    return ExampleSet("mnist", "test split", pixels, np.arange(n), np.arange(n) % 10, NAMES, "dynamic", n)


def settings_enabled(figure) -> list[bool]:
    return [w.isEnabled() for w in (figure.rows, figure.seed, figure.reseed)]


def test_for_a_vae_the_page_says_it_needs_an_m2_and_the_export_says_why(qtbot, make_explorer):
    explorer = make_explorer(small_model(2))
    figure = explorer.findChild(QWidget, "analogiesFigure")
    assert figure is explorer.analogies and explorer.tabs.tabText(explorer.tabs.indexOf(figure)) == "Analogies"
    assert figure.caption.text() == NEEDS_M2 == "Analogies need an M2 model (Train → M2, or open trained/m2-2d.pt)"
    assert settings_enabled(figure) == [False, False, False]
    explorer.tabs.setCurrentWidget(figure)
    qtbot.waitUntil(lambda: "analogies" not in explorer.state.stale_figures, timeout=WAIT_MS)
    assert figure.array() is None and figure.view.image() is None and figure.caption.text() == NEEDS_M2
    assert "actionExportAnalogies" in [action.objectName() for action in explorer.menu_actions()]
    with qtbot.waitSignal(explorer.statusMessage, timeout=WAIT_MS) as message:
        explorer_menu.export_figure(explorer, "analogies")              # no dialog: the reason at once
    assert message.args == [f"Cannot export the analogies: {NEEDS_M2}"]


def test_for_an_m2_the_page_draws_test_images_and_the_drawing_follows_and_exports(qtbot, make_explorer, tmp_path):
    model = tiny_m2()
    explorer = make_explorer(model.given(0))
    state, figure = explorer.state, explorer.analogies
    assert settings_enabled(figure) == [True, True, True] and figure.caption.text() != NEEDS_M2
    explorer.tabs.setCurrentWidget(figure)
    qtbot.waitUntil(lambda: "need images" in figure.caption.text(), timeout=WAIT_MS)   # no examples yet

    test_images = examples()
    explorer.truth.set_examples(test_images, "20 test images")       # as the ground truth's loader does
    qtbot.waitUntil(lambda: figure.array() is not None, timeout=WAIT_MS)
    assert figure.array().shape == figure_shape(state, "analogies", test_images) == \
        AnalogiesLayout(5, (1, 28, 28), NAMES).shape                  # 5 rows by default
    np.testing.assert_array_equal(figure.view.image(), figure.array())
    assert figure.caption.text().startswith("Rows: 5 test images, each read as its label")
    assert "the first 5 of 20 mnist test split images" in figure.caption.toolTip()

    figure.rows.setValue(3)
    qtbot.waitUntil(lambda: figure.array().shape == AnalogiesLayout(3, (1, 28, 28), NAMES).shape, timeout=WAIT_MS)
    assert state.figure_settings.analogy_rows == 3
    g = np.random.default_rng(5)
    explorer.work.set_drawing(((g.random((28, 28)) < 0.2) * 255).astype(np.uint8))
    qtbot.waitUntil(lambda: "drawing" in state.encodings and state.encodings["drawing"].posterior is not None,
                    timeout=WAIT_MS)
    assert explorer.tabs.currentWidget() is explorer.encoded_panel   # a newly encoded image comes forward
    explorer.tabs.setCurrentWidget(figure)
    qtbot.waitUntil(lambda: figure.caption.text().startswith("Row 1: drawing, classified as "), timeout=WAIT_MS)
    with torch.inference_mode():
        expected = figure_function(state, "analogies", test_images)()
    np.testing.assert_array_equal(figure.array(), expected)
    drawn = state.encodings["drawing"].pixels[0]
    layout = AnalogiesLayout(3, (1, 28, 28), NAMES)
    y = layout.row_y(0)
    np.testing.assert_array_equal(expected[y:y + 28, layout.input_x:layout.input_x + 28], drawn)

    before = figure.array()
    explorer.set_model(tiny_m2(seed=1).given(0), reset_view=False)    # a newer state of the run being trained
    qtbot.waitUntil(lambda: figure.array() is not before, timeout=WAIT_MS)
    assert not np.array_equal(figure.array(), before)

    assert explorer.work.exports.export_figure("analogies", tmp_path / "a.png")
    qtbot.waitUntil(lambda: (tmp_path / "a.png").exists(), timeout=WAIT_MS)
    picture = figure.array()
    image = np.asarray(Image.open(tmp_path / "a.png"))
    assert image.shape == (4 * picture.shape[0], 4 * picture.shape[1])
    np.testing.assert_array_equal(image[::4, ::4], picture)

    explorer.set_model(small_model(2))                                  # a VAE again: the page says so
    qtbot.waitUntil(lambda: figure.caption.text() == NEEDS_M2, timeout=WAIT_MS)
    assert settings_enabled(figure) == [False, False, False]
    qtbot.waitUntil(lambda: figure.view.image() is None, timeout=WAIT_MS)
