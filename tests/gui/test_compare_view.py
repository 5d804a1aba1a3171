"""File > Compare With…: shipped models side by side on linked canvases, a hover decoded by every
model, a dropped digit encoded by each, the table, bad files, closing, and a run training live."""

from __future__ import annotations

import gc
import os
import shutil
import weakref

import image_files as files
import numpy as np
import pytest
import torch
from canvas_fixtures import WAIT_MS, drop_files
from PySide6.QtCore import QPoint
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from test_training_gui import click, small_run, wait_until_idle

from latentlab.app.jobs import decode_point
from latentlab.core.shipped import shipped_models_dir
from latentlab.gui.compare_view import IMAGE_KEY

SHIPPED = shipped_models_dir()


def hover(qtbot, view, canvas, u: float, v: float) -> None:
    """The mouse to (u, v) of `canvas` until the view reports that point (the canvases' layout
    settles over the first paints; each try moves the mouse again, to where (u, v) is now).
    Moved through the view's own window: offscreen every window sits at (0, 0), so a move aimed
    at the widget would reach the main window on top of it."""
    state, tries = view.state, [0]

    def there() -> bool:
        tries[0] += 1
        pos = canvas.map_from_canvas(u, v)
        QTest.mouseMove(view.windowHandle(), canvas.mapTo(view, pos + QPoint(tries[0] % 2, 0)))
        QTest.mouseMove(view.windowHandle(), canvas.mapTo(view, pos))
        panel = next(p for p in view.panels.values() if p.canvas is canvas)
        return (state.hover is not None and state.hover[0] == panel.model_id
                and np.allclose(state.plane_for(len(state.hover[1])).project(state.hover[1]), (u, v), atol=0.03))

    qtbot.waitUntil(there, timeout=WAIT_MS)


def open_compare(window, qtbot, paths):
    assert window.compare_with(paths), window.statusBar().currentMessage()
    view = window.findChild(QWidget, "compareView")
    assert view is window.comparing.view and view.isVisible()
    qtbot.waitExposed(view)
    return view, window.comparing.state


def test_a_hover_decodes_the_same_z_in_both_models_and_a_drop_is_encoded_by_each(make_window, qtbot):
    window = make_window()
    view, state = open_compare(window, qtbot, [SHIPPED / "fashion-2d.pt"])
    mnist, fashion = list(state.models.values())
    assert (mnist.name, fashion.name) == ("mnist-2d", "fashion-2d") and mnist.live
    assert view.panel(fashion.id).title.text() == "fashion-2d · D=2"
    canvas = view.panel(fashion.id).canvas
    hover(qtbot, view, canvas, 0.7, -1.2)
    qtbot.waitUntil(lambda: len(state.hover_images) == 2
                    and all(view.panel(m.id).decoded.image() is not None for m in (mnist, fashion)), timeout=WAIT_MS)
    z = state.hover[1]
    np.testing.assert_allclose(z, [0.7, -1.2], atol=0.03)      # the point under the mouse, on both planes
    with torch.no_grad():
        for m in (mnist, fashion):
            qtbot.waitUntil(lambda m=m: np.array_equal(view.panel(m.id).decoded.image(),
                                                       decode_point(m.model, state.hover[1])), timeout=WAIT_MS)
    assert not np.array_equal(view.panel(mnist.id).decoded.image(), view.panel(fashion.id).decoded.image())
    assert view.panel(mnist.id).marker.data["x"][0] == pytest.approx(z[0])     # marked on the other canvas too

    assert drop_files(view.panel(mnist.id).canvas, [files.sample("mnist", 30)])
    qtbot.waitUntil(lambda: len(state.posteriors) == 2, timeout=WAIT_MS)
    for m in (mnist, fashion):
        glyph = view.panel(m.id).canvas.posterior(IMAGE_KEY)
        assert glyph is not None and glyph.ellipse is not None
        np.testing.assert_allclose(glyph.ellipse.centre, state.posteriors[m.id].mu)
        assert np.array_equal(view.panel(m.id).reconstruction.image(), state.posteriors[m.id].reconstruction)
    # The table: both shipped models show their cards' numbers, marked as such.
    table = view.table
    assert table.cell(mnist.id, "neg_elbo") == f"{mnist.card['test']['neg_elbo']:.2f}"
    assert table.cell(fashion.id, "exact_nll") == f"{fashion.card['test_exact_nll']['exact_nll']:.2f}"
    assert table.cell(fashion.id, "source").startswith("model card")


def test_a_model_without_card_is_measured_off_the_gui_thread_and_other_dimensions_say_so(
        make_window, qtbot, tmp_path):
    mine = tmp_path / "mine-5d.pt"
    shutil.copy(SHIPPED / "mnist-5d.pt", mine)
    window = make_window(mine)
    window.comparing.live_images = 4
    view, state = open_compare(window, qtbot, [SHIPPED / "mnist-2d.pt"])
    five, two = list(state.models.values())
    assert five.card is None and two.card is not None
    qtbot.waitUntil(lambda: five.id in state.rows or "no numbers" in state.row_status.get(five.id, ""),
                    timeout=WAIT_MS)
    assert view.table.cell(five.id, "source") == "4 sample images"
    assert view.table.cell(five.id, "exact_nll") == "—" and view.table.cell(five.id, "active_units").isdigit()
    assert float(view.table.cell(five.id, "neg_elbo")) > 0 and not view.table.progress.isVisible()
    hover(qtbot, view, view.panel(two.id).canvas, 1.0, 1.0)
    qtbot.waitUntil(lambda: state.hover[0] == two.id and two.id in state.hover_images, timeout=WAIT_MS)
    assert "5-D" in view.panel(five.id).note.text() and five.id not in state.hover_images


def test_bad_files_are_named_and_the_others_open(make_window, qtbot, tmp_path):
    window = make_window()
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x80\x04 not a checkpoint")
    folder = tmp_path / "folder.pt"
    folder.mkdir()
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    status = window.statusBar()
    assert not window.compare_with([garbage, folder, fifo, SHIPPED / "mnist-5d.pt"])
    assert "Pick 1 to 3" in status.currentMessage() and "4 were picked" in status.currentMessage()
    assert window.comparing.view is None
    view, state = open_compare(window, qtbot, [garbage, fifo, SHIPPED / "mnist-5d.pt"])
    assert [m.name for m in state.models.values()] == ["mnist-2d", "mnist-5d"]
    assert "garbage.pt" in status.currentMessage() and "pipe.pt" in status.currentMessage()
    assert not window.compare_with([folder])        # nothing usable (M2s: tests/app/test_compare_state.py)
    assert "folder.pt is a folder" in status.currentMessage()
    assert window.comparing.view is view and len(state.models) == 2


def test_closing_the_view_frees_its_models(make_window, qtbot):
    window = make_window()
    view, state = open_compare(window, qtbot, [SHIPPED / "mnist-5d.pt"])
    loaded = weakref.ref(list(state.models.values())[1].model)
    view.close()
    assert window.comparing.view is None and not state.models
    gc.collect()
    qtbot.waitUntil(lambda: gc.collect() is not None and loaded() is None, timeout=WAIT_MS)
    assert window.compare_with([SHIPPED / "mnist-5d.pt"])                  # and it opens again


def test_the_run_training_in_the_window_updates_live(make_window, qtbot, tiny_data):
    window = make_window()
    window.comparing.live_images = 4
    panel = window.training_panel
    small_run(panel, epochs=1)
    panel.latent_dim.setValue(3)         # (a 2-D model would add the exact NLL: ~1 s more)
    view, state = open_compare(window, qtbot, [SHIPPED / "mnist-5d.pt"])
    live_id = next(iter(state.models))
    weights, rows = [], []
    state.events.weights.connect(lambda model_id: weights.append(model_id))
    state.events.rows.connect(lambda: live_id in state.rows and rows.append(state.rows[live_id]))
    click(qtbot, panel.train_button)
    wait_until_idle(window, qtbot)
    run = window.training.live_run
    live = state.models[live_id]
    assert live.name == run.out.parent.name and live.card is None and live.dim == 3
    # Rows are measured on a thread of the lowest priority (nice 19): on a busy machine it waits.
    qtbot.waitUntil(lambda: bool(rows) and rows[-1].source == "4 test images" and not window.comparing.work.measuring(),
                    timeout=4 * WAIT_MS)
    assert weights.count(live_id) >= 2          # epoch-end snapshots reached its canvas
    final = run.trainer.model.state_dict()
    assert all(torch.equal(final[k].cpu(), v) for k, v in live.model.state_dict().items())
    hover(qtbot, view, view.panel(live_id).canvas, 0.5, 0.5)
    with torch.no_grad():
        qtbot.waitUntil(lambda: state.hover is not None and live_id in state.hover_images and np.array_equal(
            state.hover_images[live_id], decode_point(live.model, state.hover[1])), timeout=WAIT_MS)
    assert view.table.cell(live_id, "source") == "4 test images"
