"""The ground truth in the window (issue 10): the true posterior under an encoded image's ellipse
(coarse, then full), its style toggle and q*, the gap panel, the D > 2 message, the examples
table (filled from the shipped samples, sorted numerically, a row click selects its image) and a
click on a scatter point selecting that test image."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QTableView, QWidget

import image_files as files
from canvas_fixtures import WAIT_MS, canvas_of, drop_files, make_explorer, pixel_at, shipped  # noqa: F401
from latentlab.app.examples import COLUMN_KEYS
from latentlab.app.ground_truth_work import EXAMPLE

SLOW_MS = 60_000      # the gaps of a 2-D image: seconds on a busy 2-core machine


@pytest.fixture
def samples_only(tmp_path, monkeypatch):
    """No data folder: the examples are resources/samples (the first 100 test images)."""
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path / "no-data"))


def number(panel, key: str) -> float:
    return float(panel.value_text(key).split()[0])


def test_the_true_posterior_appears_under_the_ellipse_first_coarse_then_full(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    truth, layer = explorer.truth, explorer.posterior_presenter.layer
    seen = []
    truth.events.picture.connect(lambda: seen.append(None if truth.picture is None else truth.picture.coarse))
    drop_files(canvas_of(explorer), [files.sample("mnist", 3)])
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] is False, timeout=WAIT_MS)
    assert [s for s in seen if s is not None] == [True, False]            # a first look, then the full picture
    picture = truth.picture
    encoding, = explorer.encodings()
    assert picture.encoding_id == encoding.id and layer.heat.isVisible()
    rect = layer.heat.mapRectToParent(layer.heat.boundingRect())
    e = picture.extent
    np.testing.assert_allclose([rect.left(), rect.right(), rect.top(), rect.bottom()], [e[0], e[1], e[2], e[3]],
                               atol=1e-6)
    glyph = explorer.canvas.posterior(encoding.id)
    scatter_z = max(item.zValue() for item in explorer.canvas.scatter_items())
    assert scatter_z < layer.heat.zValue() < min(item.zValue() for item in glyph.items)
    assert "log p(x) =" in explorer.posterior_controls.caption.text()
    before = explorer.canvas.plot_item.vb.viewRange()
    explorer.findChild(QWidget, "posteriorZoom").click()             # onto the posterior and its ellipses
    (u0, u1), (v0, v1) = explorer.canvas.plot_item.vb.viewRange()
    assert u1 - u0 < 0.5 * (before[0][1] - before[0][0])
    mu = encoding.posterior.mu
    assert u0 < mu[0] < u1 and v0 < mu[1] < v1

    style = explorer.findChild(QComboBox, "posteriorStyle")
    style.setCurrentText("contours")                                      # filled contours instead
    assert not layer.heat.isVisible() and all(item.isVisible() for item in layer.regions)
    outer, inner = (item.path().boundingRect() for item in layer.regions)
    assert outer.contains(inner) and 0 < inner.width() < outer.width()    # 39 % inside 86 %
    explorer.findChild(QCheckBox, "posteriorToggle").setChecked(False)
    assert not layer.heat.isVisible() and not any(item.isVisible() for item in layer.regions)


def test_the_gap_panel_shows_the_three_numbers_and_q_star_follows(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    panel = explorer.findChild(QWidget, "gapPanel")
    explorer.tabs.setCurrentWidget(panel)
    explorer.findChild(QCheckBox, "qStarToggle").setChecked(True)
    drop_files(canvas_of(explorer), [files.sample("mnist", 0)])
    qtbot.waitUntil(lambda: panel.status.text().startswith("computing…"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.value_text("log_px") != "", timeout=SLOW_MS)
    log_px, star, elbo = (number(panel, key) for key in ("log_px", "elbo_star", "elbo"))
    assert log_px >= star - 0.01 and star >= elbo - 0.01
    assert number(panel, "amortisation") == pytest.approx(star - elbo, abs=0.011)
    assert number(panel, "kl") == pytest.approx(log_px - elbo, abs=0.06)
    picture = explorer.truth.picture            # another quadrature of core.exact, at other resolutions
    assert log_px == pytest.approx(picture.log_px, abs=0.02) and not picture.coarse
    ks, values = panel.curve.getData()
    assert 10 ** ks[-1] == pytest.approx(5000) and values[-1] <= log_px + 0.5 and panel.log_px_line.isVisible()
    gaps = explorer.truth.gaps
    np.testing.assert_allclose(explorer.posterior_presenter.layer.q_star[0][1].getData()[0].mean(), gaps.mu_star[0],
                               atol=1e-3)                                # q*'s dashed ellipse around mu*


def test_above_two_dimensions_the_window_says_the_exact_value_needs_2d(qtbot, make_explorer):
    from latentlab import load_checkpoint
    from latentlab.core.shipped import shipped_models_dir

    ten = load_checkpoint(shipped_models_dir() / "mnist-10d.pt")
    explorer = make_explorer(ten.model, ten.extras)
    drop_files(canvas_of(explorer), [files.sample("mnist", 1)])
    panel = explorer.findChild(QWidget, "gapPanel")
    qtbot.waitUntil(lambda: explorer.truth.selected is not None, timeout=WAIT_MS)
    assert "need a 2-D latent space (this model has 10)" in panel.status.text()
    assert not explorer.findChild(QCheckBox, "posteriorToggle").isEnabled()
    assert "need a 2-D latent space" in explorer.posterior_controls.caption.text()
    assert explorer.truth.picture is None and not explorer.posterior_presenter.layer.heat.isVisible()


def test_the_examples_table_fills_sorts_numerically_and_a_row_selects_its_image(qtbot, make_explorer, shipped,
                                                                                samples_only, monkeypatch):
    import latentlab.app.ground_truth_work as work_module

    monkeypatch.setattr(work_module, "EXAMPLE_LIMIT", 12)
    explorer = make_explorer(shipped.model, None)
    explorer.set_model(shipped.model, shipped.extras, data=shipped.data)
    table = explorer.findChild(QTableView, "exampleTable")
    explorer.tabs.setCurrentWidget(explorer.examples)
    qtbot.waitUntil(lambda: explorer.truth.progress.running, timeout=WAIT_MS)
    geometry = explorer.canvas.geometry()
    qtbot.waitUntil(lambda: explorer.truth.progress.phase == "done", timeout=SLOW_MS)
    assert explorer.canvas.geometry() == geometry        # the progress text never pushes the canvas aside
    model = table.model()
    assert model.rowCount() == 12 and "100 mnist sample images" in explorer.examples.note.text()
    assert "the first 12 of 100" in explorer.examples.note.text()
    column = COLUMN_KEYS.index("exact_nll")
    header = table.horizontalHeader()
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,        # one click on "exact NLL"
                     pos=QPoint(header.sectionViewportPosition(column) + 5, header.height() // 2))
    shown = [float(model.index(r, column).data()) for r in range(12)]
    assert shown == sorted(shown, reverse=True)                          # worst first, as numbers
    worst = int(model.index(0, 0).data())
    rect = table.visualRect(model.index(0, 2))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: EXAMPLE in explorer.state.encodings
                    and explorer.state.encodings[EXAMPLE].posterior is not None, timeout=WAIT_MS)
    assert explorer.state.encodings[EXAMPLE].name.startswith(f"test image {worst} (")
    table.sortByColumn(0, Qt.SortOrder.AscendingOrder)                   # by index: the selection follows
    assert int(model.index(table.currentIndex().row(), 0).data()) == worst
    qtbot.waitUntil(lambda: explorer.truth.picture is not None, timeout=WAIT_MS)
    assert explorer.truth.selected == EXAMPLE


def test_clicking_a_scatter_point_selects_its_test_image_and_elsewhere_pins(qtbot, make_explorer, shipped,
                                                                            samples_only):
    explorer = make_explorer(shipped.model, None)
    explorer.set_model(shipped.model, shipped.extras, data=shipped.data)
    qtbot.waitUntil(lambda: explorer.truth.examples is not None, timeout=WAIT_MS)
    canvas = canvas_of(explorer)
    means = explorer.state.scatter.means
    # a point of the first 100 with no other point within 8 pixels, so the click is unambiguous
    px = np.array([[p.x(), p.y()] for p in (pixel_at(canvas, *m) for m in means)], dtype=float)
    index = next(i for i in range(100)
                 if np.sort(np.hypot(*(px - px[i]).T))[1] > 8 and canvas.rect().contains(pixel_at(canvas, *means[i])))
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pixel_at(canvas, *means[index]))
    qtbot.waitUntil(lambda: EXAMPLE in explorer.state.encodings, timeout=WAIT_MS)
    assert explorer.state.encodings[EXAMPLE].name.startswith(f"test image {index} (") and explorer.pins() == []
    (u0, u1), (v0, v1) = explorer.canvas.plot_item.vb.viewRange()
    candidates = [pixel_at(canvas, u, v) for u in np.linspace(u0, u1, 12)[1:-1] for v in np.linspace(v0, v1, 12)[1:-1]]
    far = max(candidates, key=lambda p: np.hypot(*(px - [p.x(), p.y()]).T).min())   # the emptiest place
    assert np.hypot(*(px - [far.x(), far.y()]).T).min() > 8
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=far)
    qtbot.waitUntil(lambda: len(explorer.pins()) == 1, timeout=WAIT_MS)


def test_a_new_model_while_the_table_is_computed_starts_it_again(qtbot, make_explorer, shipped, samples_only):
    from canvas_fixtures import small_model

    explorer = make_explorer(shipped.model, None)
    explorer.set_model(shipped.model, shipped.extras, data=shipped.data)
    explorer.tabs.setCurrentWidget(explorer.examples)
    qtbot.waitUntil(lambda: explorer.truth.progress.running, timeout=WAIT_MS)
    old = explorer.truth.table
    other = small_model(2)
    explorer.set_model(other, None, data=shipped.data)
    assert explorer.truth.table is not old                 # the old model's table is gone at once
    qtbot.waitUntil(lambda: explorer.truth.progress.running or explorer.truth.progress.phase == "done",
                    timeout=WAIT_MS)
    explorer.findChild(QWidget, "exampleCancel").click()
    assert explorer.truth.progress.phase == "cancelled"
