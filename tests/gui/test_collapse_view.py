"""The collapse view (gui/collapse_view.py): KL per dimension over epochs in the window, live while
a run trains, from opened and followed checkpoints, in the status line, and as a figure file."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from latentlab import load_checkpoint, save_checkpoint
from latentlab.core.events import EpochEvent
from latentlab.core.history import History
from latentlab.core.metrics import MetricsWriter, metrics_path_for
from latentlab.core.shipped import default_checkpoint
from latentlab.gui.collapse_view import EMPTY, NO_KL, CollapseView

from test_training_gui import click, small_run, wait_until_idle


def epoch(n: int, kl, active_units: int = -1) -> EpochEvent:
    return EpochEvent(epoch=n, step=10 * n, train_neg_elbo=100.0, val_neg_elbo=100.0, val_kl=float(sum(kl)),
                      val_recon=90.0, val_kl_per_dim=tuple(kl), active_units=active_units, seconds=1.0)


def history_of(*rows) -> History:
    h = History()
    for n, kl in enumerate(rows, start=1):
        h.add_epoch(epoch(n, kl, active_units=sum(v >= 0.01 for v in kl)))
    return h


def saved_with_history(path, history: History, run_id: str | None = None):
    """The shipped 2-D model saved with another history (2 dimensions per epoch)."""
    ckpt = load_checkpoint(default_checkpoint())
    state = {**ckpt.trainer_state, "epoch": len(history.epochs["epoch"])} | ({"run_id": run_id} if run_id else {})
    save_checkpoint(path, ckpt.model, train_config=ckpt.train_config, data=ckpt.data, history=history.to_dict(),
                    trainer_state=state, extras=ckpt.extras)
    return path


@pytest.fixture
def view(qtbot):
    view = CollapseView()
    qtbot.addWidget(view)
    view.resize(400, 600)
    return view


def test_epochs_fill_the_heat_map_in_kl_order_with_the_units_below(view):
    assert view.caption.text() == EMPTY and not view.image.isVisible()
    view.add_epoch(epoch(1, [0.5, 2.0, 0.02], active_units=3))
    view.add_epoch(epoch(2, [0.3, 2.5, 0.004], active_units=2))
    assert view.image.image.shape == (2, 3)                       # (epochs, dims)
    assert view._row_dims.tolist() == [1, 0, 2]                    # by the last epoch's KL, highest first
    ticks = [label for _, label in view.heat_plot.getAxis("left")._tickLevels[0]]
    assert ticks == ["z2", "z1", "z3"]
    # log-scaled: the top row at epoch 2 is log10(2.5), the collapsed one log10(0.004)
    np.testing.assert_allclose(view.image.image[1], np.log10([2.5, 0.3, 0.004]))
    assert view.boundary.isVisible() and view.boundary.value() == 2      # under the two active rows
    x, y = view.units_kl.getData()
    assert x.tolist() == [0.5, 1.5, 2.5] and y.tolist() == [3, 2]      # a step per epoch
    x, y = view.units_burda.getData()
    assert y.tolist() == [3, 2]                                           # Burda's column beside it
    assert view.caption.text() == "Epoch 2: 2 of 3 active, 1 collapsed (KL < 0.01 nats): z3"


def test_one_epoch_and_a_two_d_model_still_draw_and_no_kl_says_why(view):
    view.add_epoch(epoch(1, [1.0, 0.001]))
    assert view.image.image.shape == (1, 2) and view.image.isVisible()
    view.load_history(History.from_dict({"epochs": {"epoch": np.array([1.0, 2.0])}}), latent_dim=2)
    assert view.caption.text() == NO_KL and not view.image.isVisible()
    view.clear()
    assert view.caption.text() == EMPTY


def test_hovering_a_cell_says_its_epoch_dimension_and_kl(view, qtbot):
    view.show()
    qtbot.waitExposed(view)
    view.add_epoch(epoch(1, [1.0, 0.001]))
    view.add_epoch(epoch(2, [1.5, 0.002]))
    qtbot.waitUntil(lambda: view.heat_plot.vb.height() > 0)
    vb = view.heat_plot.vb
    view._on_mouse_moved(vb.mapViewToScene(QPointF(2, 1.5)))       # epoch 2, the second row
    assert view.caption.text() == "Epoch 2, z2: KL 0.002 nats (collapsed)"
    view._on_mouse_moved(QPointF(-5, -5))                             # off the heat map: the summary again
    assert view.caption.text().startswith("Epoch 2: 1 of 2 active")


def test_a_low_wide_dock_puts_the_units_beside_the_heat_map(view, qtbot):
    view.show()
    view.resize(1400, 260)
    qtbot.waitUntil(lambda: view.side_by_side)
    view.resize(400, 600)
    qtbot.waitUntil(lambda: not view.side_by_side)


def test_the_window_shows_an_opened_checkpoints_history(make_window, tmp_path):
    path = saved_with_history(tmp_path / "collapsing.pt", history_of([1.0, 0.5], [1.2, 0.004], [1.3, 0.003]))
    window = make_window(path)
    assert window.collapse_dock.objectName() == "collapseDock" and window.collapse.objectName() == "collapseView"
    assert window.collapse.image.image.shape == (3, 2)
    assert window.collapse.data.epochs == [1, 2, 3]
    assert "1 collapsed" in window.collapse.caption.text()
    assert "Opened collapsing.pt" in window.statusBar().currentMessage()   # opening announces nothing


def test_the_status_line_says_when_dimensions_collapse_once_per_change(make_window):
    window = make_window(show=False)
    window.collapse.clear()      # the epoch events of a run, as the training thread delivers them
    window.training._on_epoch(epoch(1, [1.0, 0.5]))
    assert "collapsed" not in window.statusBar().currentMessage()
    window.training._on_epoch(epoch(2, [1.0, 0.003]))
    said = window.statusBar().currentMessage()
    assert said == "Epoch 2: 1 of 2 dimensions collapsed (KL < 0.01 nats): z2"
    window.show_message("something else")
    window.training._on_epoch(epoch(3, [1.0, 0.002]))                  # the same set: not said again
    assert window.statusBar().currentMessage() == "something else"
    assert window.collapse.image.image.shape == (3, 2)


def test_a_real_run_fills_the_view_live(make_window, qtbot, tiny_data):
    window = make_window()
    small_run(window.training_panel, epochs=2)
    click(qtbot, window.training_panel.train_button)
    assert len(window.collapse.data) == 50                  # the shipped model's epochs, until the run's first
    qtbot.waitUntil(lambda: window.collapse.data.epochs in ([1], [1, 2]), timeout=30_000)
    wait_until_idle(window, qtbot)
    dims = window.training.live_run.trainer.model.latent_dim
    assert window.collapse.image.image.shape == (2, dims)
    assert window.collapse.data.matrix().tolist() == [list(r) for r in window.training.live_run.trainer.history.epoch_kl_per_dim]


def test_a_followed_run_reloads_and_says_when_it_collapses(make_window, qtbot, tmp_path):
    (tmp_path / "run").mkdir()
    path = saved_with_history(tmp_path / "run" / "model.pt", history_of([1.0, 0.5]), run_id="run1")
    writer = MetricsWriter(metrics_path_for(path), "run1")
    writer.flush()
    window = make_window(path)
    assert window._follower is not None and window.collapse.data.epochs == [1]
    saved_with_history(path, history_of([1.0, 0.5], [1.1, 0.005]), run_id="run1")   # the server's next epoch
    qtbot.waitUntil(lambda: window.collapse.data.epochs == [1, 2], timeout=5_000)
    assert window.statusBar().currentMessage() == "Epoch 2: 1 of 2 dimensions collapsed (KL < 0.01 nats): z2"
    writer.close()


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_export_writes_a_figure_and_a_bad_name_says_why(make_window, tmp_path, suffix):
    window = make_window(show=False)
    out = tmp_path / f"collapse.{suffix}"
    assert window.collapse.export(out)
    assert out.stat().st_size > 1000 and f"Exported the collapse view to {out}" == window.statusBar().currentMessage()
    if suffix == "png":
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert not window.collapse.export(tmp_path / "collapse.txt")
        assert "collapse.txt" in window.statusBar().currentMessage() and not (tmp_path / "collapse.txt").exists()
    else:
        assert "<svg" in out.read_text()
    assert window.findChild(type(window.open_action), "actionExportCollapse") is not None


def test_the_ui_zoom_scales_the_view(make_window):
    window = make_window(show=False)
    window.view.apply_zoom(1.5)
    assert math.isclose(window.collapse._ui_scale, 1.5)
    font = window.collapse.heat_plot.getAxis("left").style["tickFont"]
    assert font is not None and font.pointSizeF() > 9
