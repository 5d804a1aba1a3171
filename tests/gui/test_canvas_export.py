"""Exports at print quality from the window (issue 9): the figures without their tab ever opened, the
canvas as PNG at a multiple of its size and as vector SVG and PDF, all through the File menu's dialogs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from canvas_fixtures import WAIT_MS, make_explorer, shipped  # noqa: F401
from latentlab.gui.canvas_export import render_pdf, render_png, render_svg

S = "{http://www.w3.org/2000/svg}"


def small_scatter(shipped, count=500):
    """The shipped model's first `count` encoded test images: every kind of item on the canvas,
    without painting 10,000 points one by one in each test."""
    extras = shipped.extras
    return {"scatter_means": extras["scatter_means"][:count], "scatter_labels": extras["scatter_labels"][:count],
            "label_names": extras["label_names"]}


def export_through_menu(qtbot, explorer, action_name, path, filter_start=None, written=None):
    """Trigger the action, type the file name `path`, pick the filter starting with `filter_start`,
    accept, and wait for the file (`written`, default `path`). Returns the dialog's filters."""
    actions = {a.objectName(): a for a in explorer.menu_actions()}
    actions[action_name].trigger()
    dialog = explorer.findChild(QFileDialog)
    assert dialog is not None and dialog.isVisible()
    filters = dialog.nameFilters()
    dialog.selectFile(str(path))
    if filter_start is not None:
        label = next(f for f in filters if f.startswith(filter_start))
        dialog.selectNameFilter(label)
        dialog.filterSelected.emit(label)           # as a click on the filter box does
    dialog.accept()
    written = path if written is None else written
    qtbot.waitUntil(written.exists, timeout=WAIT_MS)
    return filters


def test_the_manifold_exports_at_4x_from_the_menu_with_its_tab_never_opened(qtbot, make_explorer, shipped, tmp_path):
    explorer = make_explorer(shipped.model, shipped.extras)
    messages = []
    explorer.statusMessage.connect(messages.append)
    assert explorer.tabs.currentWidget() is not explorer.manifold
    export_through_menu(qtbot, explorer, "actionExportManifold", tmp_path / "manifold.png")
    assert Image.open(tmp_path / "manifold.png").size == (2240, 2240)       # as `latentlab manifold --n 20`
    assert explorer.state.figure_arrays["manifold"] is None                  # the tab was never computed
    qtbot.waitUntil(lambda: messages and messages[-1].startswith("Saved the manifold, 2240 x 2240 px"),
                    timeout=WAIT_MS)


def test_the_dialog_offers_the_sizes_and_a_filter_brings_its_suffix(qtbot, make_explorer, shipped, tmp_path):
    explorer = make_explorer(shipped.model, shipped.extras)
    svg = tmp_path / "samples.svg"                                           # the name follows the filter
    filters = export_through_menu(qtbot, explorer, "actionExportSamples", tmp_path / "samples.png", "SVG", svg)
    assert filters[0] == "PNG, 4x: 1164 x 1164 px (*.png)"                   # 100 samples, 10 to a row: 291 px
    assert ET.parse(svg).getroot().get("width") == "1164" and not (tmp_path / "samples.png").exists()


def test_a_figure_that_cannot_be_made_opens_no_dialog_and_says_why(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    messages = []
    explorer.statusMessage.connect(messages.append)
    {a.objectName(): a for a in explorer.menu_actions()}["actionExportStrip"].trigger()
    assert explorer.findChild(QFileDialog) is None
    assert messages[-1].startswith("Cannot export the interpolation strip: the interpolation needs two ends")


def test_the_canvas_png_is_painted_at_the_scale_chosen_not_enlarged(qtbot, make_explorer, shipped, tmp_path):
    explorer = make_explorer(shipped.model, small_scatter(shipped))
    explorer.pin(np.array([0.5, -1.0]))
    canvas = explorer.canvas
    width, height = canvas.viewport().width(), canvas.viewport().height()
    export_through_menu(qtbot, explorer, "actionExportCanvas", tmp_path / "canvas.png", "PNG, 2x")
    assert Image.open(tmp_path / "canvas.png").size == (2 * width, 2 * height)
    one, four = render_png(canvas, 1), render_png(canvas, 4)
    assert one.shape == (height, width, 3) and four.shape == (4 * height, 4 * width, 3)
    # Painted at 4x, not a 1x picture enlarged: most 4 x 4 blocks where anything is drawn are not one colour.
    blocks = four.reshape(height, 4, width, 4, 3).transpose(0, 2, 1, 3, 4).reshape(height, width, 16, 3)
    drawn = np.any(one != one[2, -3], axis=2)                       # not the background
    mixed = np.any(blocks != blocks[:, :, :1], axis=(2, 3))
    assert mixed[drawn].mean() > 0.5


def test_the_canvas_svg_and_pdf_are_vectors(qtbot, make_explorer, shipped, tmp_path):
    scatter = small_scatter(shipped)
    explorer = make_explorer(shipped.model, scatter)
    explorer.pin(np.array([0.5, -1.0]))
    svg = ET.fromstring(render_svg(explorer.canvas))
    paths = list(svg.iter(S + "path")) + list(svg.iter(S + "polyline"))
    assert len(paths) > 0.9 * len(scatter["scatter_means"])                # every point in view a shape
    assert not list(svg.iter(S + "image"))                                 # nothing is a bitmap
    texts = {(t.text or "").strip() for t in svg.iter(S + "text")}
    assert {"1σ", "2σ", "z1", "z2", "0", "1"} <= texts                     # labels and axes as text
    assert [g.get("id") for g in svg if g.tag == S + "g"] == ["layer0", "layer1"]
    assert render_pdf(explorer.canvas).startswith(b"%PDF")
    export_through_menu(qtbot, explorer, "actionExportCanvas", tmp_path / "canvas.pdf", "PDF")
    qtbot.waitUntil(lambda: (tmp_path / "canvas.pdf").stat().st_size > 0, timeout=WAIT_MS)
    assert (tmp_path / "canvas.pdf").read_bytes().startswith(b"%PDF")
