"""The traversal tab (objectName traversalFigure): computed when shown, ordered by the examples' KL
once they arrive, following its settings and a training snapshot, exported like the other figures."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from PySide6.QtWidgets import QWidget

from canvas_fixtures import WAIT_MS, make_explorer, small_model  # noqa: F401
from latentlab.app.examples import ExampleSet
from latentlab.app.figure_work import figure_function, figure_shape
from latentlab.core.map_figures import TraversalLayout


def spread(model):
    """An untrained encoder's KL is below 0.01 nats in every dimension: spread its means out."""
    last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight[:model.latent_dim] *= 20.0
    return model


def test_the_traversal_tab_computes_when_shown_follows_examples_settings_and_snapshots(qtbot, make_explorer,
                                                                                        tmp_path):
    explorer = make_explorer(spread(small_model(4)))
    state = explorer.state
    figure = explorer.findChild(QWidget, "traversalFigure")
    assert figure is explorer.traversal and explorer.tabs.tabText(explorer.tabs.indexOf(figure)) == "Traversal"
    assert figure.array() is None and "traversal" in state.stale_figures          # not shown: not computed

    explorer.tabs.setCurrentWidget(figure)
    qtbot.waitUntil(lambda: figure.array() is not None, timeout=WAIT_MS)
    assert figure.array().shape == figure_shape(state, "traversal") == TraversalLayout(4, 7, (1, 28, 28)).shape
    np.testing.assert_array_equal(figure.view.image(), figure.array())
    assert figure.caption.text().startswith("Rows in dimension order")

    rng = np.random.default_rng(0)
    pixels = (rng.random((20, 1, 28, 28)) < 0.2).astype(np.uint8) * 255
    examples = ExampleSet("mnist", "test split", pixels, np.arange(20), None, (), "dynamic", 20)
    explorer.truth.set_examples(examples, "20 test images")          # as the ground truth's loader does
    qtbot.waitUntil(lambda: "KL over 20 test images" in figure.caption.text(), timeout=WAIT_MS)
    assert figure.caption.text().startswith("4 of 4 dimensions active (KL ≥ 0.01 nats): z")
    assert "averaged over 20 mnist test split images" in figure.caption.toolTip()

    figure.steps.setValue(3)
    qtbot.waitUntil(lambda: figure.array().shape == TraversalLayout(4, 3, (1, 28, 28)).shape, timeout=WAIT_MS)
    assert state.figure_settings.traversal_steps == 3
    before = figure.array()

    snapshot = small_model(4, seed=1)
    explorer.set_model(snapshot, reset_view=False)                   # a newer state of the run being trained
    qtbot.waitUntil(lambda: figure.array() is not before, timeout=WAIT_MS)
    with torch.inference_mode():
        expected = figure_function(state, "traversal", examples)()
    np.testing.assert_array_equal(figure.array(), expected)
    assert not np.array_equal(expected, before)

    assert "actionExportTraversal" in [action.objectName() for action in explorer.menu_actions()]
    assert explorer.work.exports.export_figure("traversal", tmp_path / "t.png")
    qtbot.waitUntil(lambda: (tmp_path / "t.png").exists(), timeout=WAIT_MS)
    image = Image.open(tmp_path / "t.png")
    assert image.size == (4 * expected.shape[1], 4 * expected.shape[0])
    np.testing.assert_array_equal(np.asarray(image)[::4, ::4], expected)
