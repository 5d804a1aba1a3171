"""CSV exports of pins and of the encoded test set (no Qt)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from latentlab.app.exports import write_pins_csv, write_scatter_csv
from latentlab.app.plane import LatentPlane
from latentlab.app.scatter import Scatter


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_pins_have_their_canvas_coordinates_on_the_plane_shown_and_the_full_latent(tmp_path):
    plane = LatentPlane.axes(3, 2, 0, anchor=np.array([9.0, 9.0, 9.0]))
    write_pins_csv(tmp_path / "pins.csv", [np.array([0.25, -0.5, 1.5])], plane)
    assert rows(tmp_path / "pins.csv") == [["pin", "u", "v", "z1", "z2", "z3"],
                                           ["1", "1.5", "0.25", "0.25", "-0.5", "1.5"]]


def test_the_scatter_has_labels_and_their_names_where_there_are_any(tmp_path):
    scatter = Scatter(np.array([[0.5, 1.0], [2.0, -1.0], [0.0, 0.0]]), np.array([1, 0, -1]), ["zero", "one"])
    write_scatter_csv(tmp_path / "scatter.csv", scatter)
    assert rows(tmp_path / "scatter.csv") == [["label", "label_name", "z1", "z2"], ["1", "one", "0.5", "1"],
                                              ["0", "zero", "2", "-1"], ["-1", "", "0", "0"]]
    write_scatter_csv(tmp_path / "plain.csv", Scatter(np.zeros((1, 2))))
    assert rows(tmp_path / "plain.csv")[1] == ["", "", "0", "0"]
    with pytest.raises(ValueError, match="no encoded test set"):
        write_scatter_csv(tmp_path / "none.csv", None)


def test_a_checkpoints_scatter_without_labels_has_none():
    extras = {"scatter_means": np.zeros((4, 2)), "scatter_labels": np.full(4, -1), "label_names": []}
    scatter = Scatter.from_extras(extras)
    assert scatter.means.shape == (4, 2) and scatter.labels is None and scatter.names is None
    assert Scatter.from_extras({"scatter_means": np.zeros(3)}) is None and Scatter.from_extras(None) is None


# -- pictures: format and scale ---------------------------------------------------------------------
def test_figure_options_offer_png_at_each_scale_with_its_size_then_svg_and_pdf():
    from latentlab.app.exports import figure_options

    options = figure_options(560, 560)
    assert options[0].label == "PNG, 4x: 2240 x 2240 px (*.png)" and (options[0].format, options[0].scale) == ("png", 4)
    assert [o.scale for o in options if o.format == "png"] == [4, 8, 2, 1]
    assert [o.format for o in options[-2:]] == ["svg", "pdf"] and {o.scale for o in options[-2:]} == {4}
    huge = figure_options(1300, 1300)                            # 8x would be 10,400 px square: over 100 MP
    assert [o.scale for o in huge if o.format == "png"] == [4, 2, 1]


def test_canvas_options_scale_the_canvas_or_draw_it_as_vectors():
    from latentlab.app.exports import canvas_options

    options = canvas_options(600, 500)
    assert options[0].label.startswith("PNG, 4x the canvas: 2400 x 2000 px")
    assert [(o.format, o.scale) for o in options] == [("png", 4), ("png", 2), ("png", 1), ("svg", 1), ("pdf", 1)]


def test_the_suffix_typed_wins_and_a_missing_one_comes_from_the_filter(tmp_path):
    from latentlab.app.exports import ExportOption, resolve_export

    svg = ExportOption("SVG (*.svg)", "svg", 4)
    assert resolve_export(tmp_path / "figure", svg) == (tmp_path / "figure.svg", "svg")
    assert resolve_export(tmp_path / "figure.PDF", svg) == (tmp_path / "figure.PDF", "pdf")
    assert resolve_export(tmp_path / "figure.v2", svg) == (tmp_path / "figure.v2.svg", "svg")
