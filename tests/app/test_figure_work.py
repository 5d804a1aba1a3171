"""Figures computed from the explorer's state for the exports, without their tab ever shown (issue 9),
run inline (no threads, no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.app.figure_work import FigureUnavailable, figure_function, figure_shape
from latentlab.core import figures as core_figures


@pytest.mark.parametrize("name, settings", [("manifold", {"manifold_size": 7}),
                                            ("samples", {"sample_count": 10}),
                                            ("interpolation", {"steps": 6})])
def test_the_shape_offered_before_any_work_is_the_shape_computed(explorer, make_model, name, settings):
    state = explorer.state
    state.set_model(make_model(2, image_shape=(1, 12, 10)))
    state.add_pin([-1.0, 0.5])
    state.add_pin([1.0, 0.25])
    state.set_figure_settings(**settings)
    with torch.inference_mode():
        array = figure_function(state, name)()
    assert array.shape == figure_shape(state, name)


def test_the_manifold_is_exported_at_4x_without_its_tab_ever_shown(explorer, make_model, tmp_path):
    state, model = explorer.state, make_model(2)
    state.set_model(model)
    assert state.visible_figure is None and state.figure_arrays["manifold"] is None
    assert explorer.work.exports.export_figure("manifold", tmp_path / "m.png")
    image = Image.open(tmp_path / "m.png")
    assert image.size == (2240, 2240)                              # 20 x 28 pixels, 4x: `latentlab manifold --n 20`
    with torch.no_grad():
        expected = core_figures.manifold(model, 20)
    np.testing.assert_array_equal(np.asarray(image)[::4, ::4], expected)
    assert explorer.messages[-1] == f"Saved the manifold, 2240 x 2240 px (4x), to {tmp_path / 'm.png'}"
    assert state.figure_arrays["manifold"] is None                 # the tab's picture is left alone


def test_every_figure_exports_in_each_format_at_its_scale(explorer, make_model, tmp_path):
    state = explorer.state
    state.set_model(make_model(3))
    state.add_pin([1.0, 0.0, 0.0])
    state.add_pin([0.0, 1.0, 0.5])
    exports = explorer.work.exports
    assert exports.export_figure("samples", tmp_path / "s.png", scale=2)
    assert Image.open(tmp_path / "s.png").size == (2 * (10 * 29 + 1),) * 2       # 100 samples, 10 to a row
    assert exports.export_figure("interpolation", tmp_path / "strip.pdf", scale=4)
    assert (tmp_path / "strip.pdf").read_bytes().startswith(b"%PDF")
    assert exports.export_figure("manifold", tmp_path / "m.svg", scale=1)
    assert b'width="560" height="560"' in (tmp_path / "m.svg").read_bytes()


def test_what_cannot_be_exported_says_why_and_writes_nothing(explorer, make_model, tmp_path):
    state, exports = explorer.state, explorer.work.exports
    assert not exports.export_figure("manifold", tmp_path / "m.png")
    assert explorer.messages[-1] == "Could not export the manifold: open a model first"
    state.set_model(make_model(2))
    with pytest.raises(FigureUnavailable, match="two ends"):
        figure_function(state, "interpolation")
    assert not exports.export_figure("interpolation", tmp_path / "strip.png")
    assert "the interpolation needs two ends" in explorer.messages[-1]
    assert not exports.export_figure("manifold", tmp_path / "no-such-folder" / "m.png")
    assert "the folder" in explorer.messages[-1] and "does not exist" in explorer.messages[-1]
    assert not exports.export_figure("manifold", tmp_path / "m.png", scale=33)
    assert "scale must be a whole number" in explorer.messages[-1]
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_is_reported_by_name(explorer, make_model, tmp_path):
    explorer.state.set_model(make_model(2))

    def broken():
        raise OSError("cannot write x.png: no space left on device")

    explorer.work.exports.write("canvas", tmp_path / "x.png", broken)
    assert explorer.messages[-1] == "Could not export the canvas: cannot write x.png: no space left on device"
