"""The rate-distortion plane in the window: shipped models at their card numbers, the window's run
moving across it, a click opening a point, a sweep folder added."""

from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import QPointF, Qt

from latentlab.core.events import EpochEvent
from latentlab.core.models import VAE
from latentlab.core.rate_distortion import RDPoint
from latentlab.core.checkpoint import save_checkpoint
from latentlab.core.shipped import shipped_models_dir
from latentlab.gui.rd_plane import FOLDERS_KEY

from test_training_gui import click, small_run, wait_until_idle

WAIT_MS = 20_000


def show_plane(window, qtbot):
    """Raise the Rate–Distortion tab and wait for its first scan."""
    with qtbot.waitSignal(window.rd_plane.pointsChanged, timeout=WAIT_MS):
        window.rd_plane_dock.show()
        window.rd_plane_dock.raise_()
    return window.rd_plane


def by_name(view) -> dict[str, RDPoint]:
    return {p.name: p for p in view._shown}


def test_the_plane_shows_the_shipped_models_at_their_card_numbers(make_window, qtbot):
    window = make_window()
    view = show_plane(window, qtbot)
    assert window.findChild(type(view.plot_widget), "rdPlane") is view.plot_widget
    assert view.dataset_choice.currentData() == "mnist"          # the data set with the most models
    shown = by_name(view)
    assert set(shown) == {"mnist-2d", "mnist-2d-iwae", "mnist-5d", "mnist-10d", "mnist-20d", "mnist-50d"}
    for name, point in shown.items():
        card = json.loads((shipped_models_dir() / f"{name}.json").read_text())
        assert (point.rate, point.distortion) == (card["test"]["kl"], card["test"]["recon"])
    assert any("m2-2d.pt" in path for path, _ in view.skipped)   # an M2 is no point, and says why
    # Hovering a point names it with its numbers.
    point = shown["mnist-20d"]
    view._on_mouse_moved(view.scene_pos_of(point))
    card = json.loads((shipped_models_dir() / "mnist-20d.json").read_text())["test"]
    assert view.caption.text().startswith("mnist-20d · β 1 · 20-D")
    assert f"−ELBO {card['kl'] + card['recon']:.2f}" in view.caption.text()
    # Another data set: its own points only.
    view.dataset_choice.setCurrentIndex(view.dataset_choice.findData("frey-face"))
    assert set(by_name(view)) == {"frey-2d"}


def test_colour_by_latent_dimension_keys_each_dimension(make_window, qtbot):
    view = show_plane(make_window(), qtbot)
    view.colour_choice.setCurrentIndex(view.colour_choice.findData("latent_dim"))
    labels = [label.text for _, label in view.legend.items]
    assert labels == ["D = 2", "D = 5", "D = 10", "D = 20", "D = 50"]


def test_clicking_a_point_opens_its_model(make_window, qtbot):
    window = make_window()
    view = show_plane(window, qtbot)
    point = by_name(view)["mnist-5d"]
    with qtbot.waitSignal(view.openRequested, timeout=WAIT_MS) as opened:
        qtbot.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.plot_widget.mapFromScene(view.scene_pos_of(point)))
    assert opened.args == [point.path]
    qtbot.waitUntil(lambda: window.model is not None and window.model.latent_dim == 5, timeout=WAIT_MS)


def test_the_live_run_moves_after_an_epoch_and_clicks_are_refused_while_it_trains(make_window, qtbot, tiny_data):
    window = make_window()
    view = show_plane(window, qtbot)
    small_run(window.training_panel, epochs=2)
    click(qtbot, window.training_panel.train_button)
    qtbot.waitUntil(lambda: view.live is not None and len(view.live.path) >= 1, timeout=30_000)
    first = view.live.path[0]
    history = window.training.live_run.trainer.history.epochs
    assert first == (1, history["val_kl"][0], history["val_recon"][0])
    if window.is_training:
        assert not view.open_point(by_name(view)["mnist-2d"])
        assert "Stop training" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: len(view.live.path) == 2, timeout=30_000)
    assert view.live.path[1] != first                          # it moved
    wait_until_idle(window, qtbot)
    # Ended, its checkpoint is a point of the plane (the runs folder) where the star stopped.
    out = str(window.training.live_run.out)
    qtbot.waitUntil(lambda: any(str(p.path) == out for p in view.points), timeout=WAIT_MS)
    run = next(p for p in view.points if str(p.path) == out)
    assert run.source == "history"
    assert (run.rate, run.distortion) == view.live.path[-1][1:]


def test_an_epoch_event_moves_the_star(make_window, qtbot):
    """The live marker follows EpochEvents (as the training thread sends them)."""
    from latentlab.app.rd_plane import LiveRun

    view = show_plane(make_window(), qtbot)
    view.live = LiveRun("r", 1.0, 2, "mnist")
    for epoch, kl, recon in ((1, 3.0, 160.0), (2, 4.5, 150.0)):
        view.add_epoch(EpochEvent(epoch=epoch, step=epoch, train_neg_elbo=0, val_neg_elbo=kl + recon, val_kl=kl,
                                  val_recon=recon, val_kl_per_dim=(), active_units=2, seconds=1.0))
    stars = [item for item in view.plot.items if getattr(item, "name", lambda: None)() == "this window's run"]
    assert len(stars) == 1 and list(stars[0].getData()[0]) == [4.5] and list(stars[0].getData()[1]) == [150.0]


def test_a_zoom_survives_new_epochs_and_a_double_click_fits_again(make_window, qtbot):
    """A person's zoom is theirs: a live epoch (a redraw) keeps it; double-clicking shows all."""
    from latentlab.app.rd_plane import LiveRun

    view = show_plane(make_window(), qtbot)
    fitted = view.plot.getViewBox().viewRange()
    view.plot.getViewBox().scaleBy((0.5, 0.5))                  # what a wheel turn does
    view.plot.getViewBox().sigRangeChangedManually.emit([True, True])
    zoomed = view.plot.getViewBox().viewRange()
    assert zoomed != fitted
    view.live = LiveRun("r", 1.0, 2, "mnist")
    view.add_epoch(EpochEvent(epoch=1, step=1, train_neg_elbo=0, val_neg_elbo=300.0, val_kl=40.0, val_recon=260.0,
                              val_kl_per_dim=(), active_units=2, seconds=1.0))
    assert view.plot.getViewBox().viewRange() == zoomed
    view._on_click(_DoubleClick())
    fit = view.plot.getViewBox().viewRange()
    assert fit[0][1] > 40.0 and fit[1][1] > 260.0                # the far-out live point is in view again


class _DoubleClick:
    def double(self):
        return True


def test_add_sweep_folder_shows_its_runs_and_is_remembered(make_window, qtbot, tmp_path):
    window = make_window()
    view = show_plane(window, qtbot)
    folder = tmp_path / "sweep"
    for beta in (0.5, 4.0):
        run = folder / f"beta-{beta:g}-d2" / "model.pt"
        run.parent.mkdir(parents=True)
        history = {"epochs": {"epoch": [1.0], "val_kl": [2.0 / beta], "val_recon": [150.0 + beta]}}
        save_checkpoint(run, VAE(latent_dim=2, hidden_sizes=(8,)), train_config={"beta": beta},
                        data={"dataset": "mnist"}, history=history)
    (folder / "broken.pt").write_bytes(b"not a checkpoint")
    with qtbot.waitSignal(view.pointsChanged, timeout=WAIT_MS):
        view.add_folder(folder)
    shown = by_name(view)
    assert shown["beta-0.5-d2"].beta == 0.5 and shown["beta-4-d2"].rate == 0.5
    assert str(folder / "broken.pt") in dict(view.skipped)
    assert "1 file(s) not shown" in view.caption.text() or "file(s) not shown" in view.caption.text()
    assert str(folder.resolve()) in view.sweep_folders()
    assert window.findChild(type(window.open_action), "actionAddSweep") is not None


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_export_writes_a_figure(make_window, qtbot, tmp_path, suffix):
    view = show_plane(make_window(), qtbot)
    path = tmp_path / f"rd.{suffix}"
    assert view.export(path) and path.stat().st_size > 1000
    assert not view.export(tmp_path / "rd.bmp")
