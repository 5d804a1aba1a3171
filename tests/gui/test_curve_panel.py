"""The curve panel as a person sees it: numbers beside the plots, the hover crosshair, axes with
plain numbers, steps or epochs on x, and figure exports that are real SVG, PDF and PNG files."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from latentlab.gui.curves import EXPORT_SIZE, CurvePanel
from latentlab.gui.plot_axes import plain_number_axes

STEPS_PER_EPOCH = 50


def step(i, rate=48.25):
    """Known values: -ELBO 300 - i, KL i / 100, reconstruction the difference."""
    epoch = (i - 1) // STEPS_PER_EPOCH + 1
    return SimpleNamespace(step=i, epoch=epoch, epoch_fraction=((i - 1) % STEPS_PER_EPOCH + 1) / STEPS_PER_EPOCH,
                           loss=300.0 - i, neg_elbo=300.0 - i, kl=i / 100, recon=300.0 - i - i / 100,
                           kl_per_dim=(i / 200, i / 200), steps_per_sec=rate)


def epoch_end(epoch):
    return SimpleNamespace(epoch=epoch, step=epoch * STEPS_PER_EPOCH, val_neg_elbo=310.0 - epoch * STEPS_PER_EPOCH,
                           val_kl=1.0, val_recon=309.0 - epoch * STEPS_PER_EPOCH, val_kl_per_dim=(0.5, 0.5),
                           active_units=2)


@pytest.fixture
def panel(qtbot):
    """A shown panel, the size of the curves dock in a 1280x720 window, fed 120 steps, 2 epochs."""
    panel = CurvePanel(smoothing=0.0)     # unsmoothed: the numbers shown are the steps' own
    qtbot.addWidget(panel)
    panel.resize(940, 230)
    panel.show()
    qtbot.waitExposed(panel)
    panel.add_steps([step(i) for i in range(1, 101)])
    panel.add_epoch(epoch_end(1))
    panel.add_epoch(epoch_end(2))
    panel.add_steps([step(i) for i in range(101, 121)])
    panel.redraw()
    return panel


def test_the_latest_values_are_shown_as_numbers(panel):
    r = panel.readout
    assert [r.latest_text(k) for k in ("step", "epoch", "neg_elbo", "recon", "kl", "val_neg_elbo", "steps_per_sec")] \
        == ["120", "3", "180.00", "178.80", "1.20", "210.00", "48.2"]
    assert r.cursor_text("neg_elbo") == ""                  # nothing under the mouse yet
    assert "Active units: 2 of 2 (epoch 2)" == panel.active_units.text()


def test_changing_numbers_move_nothing(panel, qtbot):
    figure, slider, width = panel.figure.geometry(), panel.smoothing_slider.geometry(), panel.readout.width()
    huge = {**vars(step(121)), "neg_elbo": -12345.678, "recon": 0.000123, "steps_per_sec": 12345.6}
    panel.add_steps([SimpleNamespace(**huge)])
    panel.redraw()
    panel.layout().activate()
    r = panel.readout
    assert r.latest_text("neg_elbo") == "-12,345.68" and r.latest_text("recon") == "0.000123"
    assert (panel.figure.geometry(), panel.smoothing_slider.geometry(), panel.readout.width()) == (figure, slider, width)


def test_the_crosshair_shows_the_step_and_the_values_under_the_mouse(panel, qtbot):
    vb = panel.loss_plot.vb
    scene_point = vb.mapViewToScene(QPointF(40.2, 250.0))           # over step 40 of the upper panel
    QTest.mouseMove(panel.figure.viewport(), panel.figure.mapFromScene(scene_point))
    qtbot.waitUntil(lambda: panel.readout.cursor_text("step") == "40", timeout=2_000)
    r = panel.readout
    assert [r.cursor_text(k) for k in ("epoch", "neg_elbo", "recon", "kl", "val_neg_elbo", "steps_per_sec")] \
        == ["1", "260.00", "259.60", "0.400", "–", ""]             # no validation before step 50 yet
    assert r.latest_text("step") == "120"                          # the latest values stay
    for key in ("loss", "kl"):
        assert panel.crosshair.lines[key].isVisible() and panel.crosshair.lines[key].value() == 40
    np.testing.assert_allclose(panel.crosshair.dots["loss"].yData, [260.0, 259.6])

    below = panel.kl_curve_plot.vb.mapViewToScene(QPointF(75, 0.5))  # the KL panel shares the x axis
    panel.hover_scene(below)
    assert r.cursor_text("step") == "75" and r.cursor_text("val_neg_elbo") == "260.00"   # epoch 1's validation
    panel.hover_scene(None)                                          # the mouse left
    assert r.cursor_text("step") == "" and not panel.crosshair.lines["loss"].isVisible()


def test_x_in_epochs(panel, qtbot):
    panel.epoch_axis.setChecked(True)
    panel.redraw()
    np.testing.assert_allclose(panel.val_items["neg_elbo"].xData, [1.0, 2.0])   # validation at whole epochs
    np.testing.assert_allclose(panel.smooth_items["kl"].xData, np.arange(1, 121) / STEPS_PER_EPOCH)
    assert panel.kl_curve_plot.getAxis("bottom").labelText == "epoch"
    panel.hover_at(1.5)
    assert panel.readout.cursor_text("step") == "75" and panel.readout.cursor_text("epoch") == "2"
    panel.epoch_axis.setChecked(False)
    panel.redraw()
    np.testing.assert_allclose(panel.val_items["neg_elbo"].xData, [50, 100])


def test_validation_points_are_small_and_unringed(panel):
    for item in panel.val_items.values():
        assert item.opts["symbolSize"] <= 6 and item.opts["symbolPen"] is None


def test_zoomed_axes_show_plain_numbers(panel, qtbot):
    panel.loss_plot.setYRange(0.0001, 0.0003, padding=0)     # would read "(x0.0001)" with SI prefixes
    panel.loss_plot.setXRange(10_000, 30_000, padding=0)     # would read "(x1000)"
    for plot in (panel.loss_plot, panel.kl_curve_plot, panel.kl_plot):
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            assert axis.autoSIPrefixScale == 1.0 and "(x" not in axis.labelString()
    left = panel.loss_plot.getAxis("left")
    assert left.tickStrings([0.0001, 0.0002], 1.0, 0.0001) == ["0.0001", "0.0002"]
    assert panel.kl_curve_plot.getAxis("bottom").tickStrings([20_000.0], 1.0, 5000) == ["20000"]
    assert left.logTickStrings([2.0, -2.0], 1.0, 1.0) == ["100", "0.01"]      # a log axis too: no 10²


def test_the_axis_helper_works_on_any_plot(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plain_number_axes(plot)
    assert all(not plot.getAxis(side).autoSIPrefix for side in ("left", "bottom", "right", "top"))


def test_figure_exports_are_real_svg_pdf_and_png(panel, tmp_path):
    svg = panel.export_figure(tmp_path / "curves.svg")
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert len(list(root.iter(f"{ns}path"))) + len(list(root.iter(f"{ns}polyline"))) > 10   # vector curves
    assert any("ELBO" in "".join(t.itertext()) for t in root.iter(f"{ns}text"))            # the key is in it

    pdf = panel.export_figure(tmp_path / "curves.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1                                                   # one page ...
    width, height = map(float, boxes[0])
    assert (width, height) == pytest.approx((EXPORT_SIZE[0] * 0.75, EXPORT_SIZE[1] * 0.75), abs=0.5)   # ... in points

    png = QImage(str(panel.export_png(tmp_path / "curves.png", scale=2)))
    assert (png.width(), png.height()) == (2 * EXPORT_SIZE[0], 2 * EXPORT_SIZE[1])
    assert panel.figure.ci.getItem(0, 0) is None                             # the key was for the export only


def test_the_curves_svg_draws_alike_in_every_renderer(qtbot, tmp_path):
    """What librsvg and Inkscape draw wrong in Qt's SVG is repaired (app/portable_svg.py): no stroke
    relies on vector-effect under a plot's scaling transform (librsvg drew pyqtgraph's SVG of the
    curves with strokes tens of pixels wide, or not at all), and the only clips are one per plot
    area, so the zoomed panel's first steps stop at its edge and no label's clip lingers."""
    panel = CurvePanel(smoothing=0.0)
    qtbot.addWidget(panel)
    first = step(1)
    first.neg_elbo = first.loss = 3000.0             # far above the zoomed loss panel's range
    first.recon = first.neg_elbo - first.kl
    panel.add_steps([first] + [step(i) for i in range(2, 121)])
    root = ET.parse(panel.export_figure(tmp_path / "curves.svg")).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert not [e for e in root.iter() if e.get("vector-effect") == "non-scaling-stroke"]
    for group in root.iter(f"{ns}g"):
        scaling = re.fullmatch(r"matrix\((.*)\)", group.get("transform", "matrix(1,0,0,1,0,0)")).group(1)
        if [float(v) for v in scaling.split(",")[:4]] != [1, 0, 0, 1]:
            stroked = [e for e in group if e.tag != f"{ns}text" and e.get("stroke", group.get("stroke")) != "none"]
            assert not stroked, "a stroke whose width the transform scales"

    layers = [g for g in root if g.tag == f"{ns}g"]
    assert [e for e in root.iter() if e.get("clip-path")] == layers[:3]     # the three plots; the axes unclipped
    clips = {c.get("id"): [float(c[0].get(k)) for k in ("x", "y", "width", "height")]
             for c in root.iter(f"{ns}clipPath")}

    def past_the_top(layer):          # paths in the figure's pixels: the curves, their groups flattened
        top = clips[layer.get("clip-path")[5:-1]][1]
        ys = [float(y) for g in layer.iter(f"{ns}g") if g.get("transform") is None for e in g if e.tag == f"{ns}path"
              for y in re.findall(r"[-\d.]+,([-\d.]+)", e.get("d", ""))]
        return bool(ys) and min(ys) < top - 10
    assert sum(map(past_the_top, layers[:3])) == 1                          # the loss panel's first step, clipped


def test_a_hidden_panel_exports_at_the_figure_size(qtbot, tmp_path):
    panel = CurvePanel()
    qtbot.addWidget(panel)                       # never shown: the dock was closed
    panel.add_steps([step(i) for i in range(1, 30)])
    png = QImage(str(panel.export_png(tmp_path / "hidden.png", scale=1)))
    assert (png.width(), png.height()) == EXPORT_SIZE


def test_a_figure_that_cannot_be_written_says_which_file(panel, tmp_path):
    with pytest.raises(OSError, match="nowhere"):
        panel.export_figure(tmp_path / "nowhere" / "curves.pdf")
    with pytest.raises(OSError, match=r"\.svg, \.pdf or \.png"):
        panel.export_figure(tmp_path / "curves.gif")


def test_the_window_exports_the_curves_as_svg_and_pdf(make_window, tmp_path):
    window = make_window()
    assert window.export_curves_figure(tmp_path / "c.svg") and window.export_curves_figure(tmp_path / "c.pdf")
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    assert "c.pdf" in window.statusBar().currentMessage()
    assert not window.export_curves_figure(tmp_path / "missing" / "c.svg")
    assert "missing" in window.statusBar().currentMessage()
    names = {a.objectName() for a in window.findChildren(pg.QtGui.QAction)}
    assert {"actionExportCurvesSvg", "actionExportCurvesPdf", "actionExportPng", "actionExportCsv"} <= names


def test_in_a_long_run_the_crosshair_reads_the_line_as_drawn(qtbot):
    """Steps averaged into one point of the line: the number is that average, not one noisy step."""
    panel = CurvePanel(smoothing=0.0)
    qtbot.addWidget(panel)
    noisy = [SimpleNamespace(**{**vars(step(i)), "neg_elbo": 100.0 + (5 if i % 2 else -5)}) for i in range(1, 4001)]
    panel.add_steps(noisy)
    panel.redraw()
    panel.hover_at(2001)
    assert panel.readout.cursor_text("step") == "2,001"
    assert panel.readout.cursor_text("neg_elbo") == "100.00"          # the step's own value is 105
    assert panel.readout.latest_text("neg_elbo") == "95.00"           # the last step itself


def test_a_larger_font_widens_the_numbers_column_so_that_nothing_is_cut(panel, qtbot):
    before = panel.side.width()
    font = panel.font()
    font.setPointSizeF(font.pointSizeF() * 1.5)            # the window's UI scale
    panel.setFont(font)
    qtbot.waitUntil(lambda: panel.side.width() > before, timeout=2_000)
    label = panel.readout.latest_labels["neg_elbo"]
    assert label.shown_text() == label.text() == "180.00"
    assert panel.side.width() >= panel.readout.width()


def test_a_narrow_dock_stacks_the_plots_and_the_numbers_and_a_wide_one_puts_them_side_by_side(qtbot):
    panel = CurvePanel()
    qtbot.addWidget(panel)
    panel.resize(300, 700)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.narrow and panel.minimumSizeHint().width() <= 300
    panel.layout().activate()
    figure, side = panel.figure.geometry(), panel.side.geometry()
    assert side.top() >= figure.bottom() and figure.width() > 250          # numbers under the plots
    loss, bars = panel.loss_plot.sceneBoundingRect(), panel.kl_plot.sceneBoundingRect()
    assert bars.top() >= loss.bottom()                                    # KL per dimension under the curves
    panel.resize(1200, 330)
    qtbot.waitUntil(lambda: not panel.narrow)
    panel.layout().activate()
    assert panel.side.geometry().left() >= panel.figure.geometry().right()
