"""An M2 run's curves (gui/class_curves.py): -U and -L on the loss panel, the validation error in
a panel of its own under the KL, their numbers in the readout; a VAE's panel stays as it was."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from latentlab.core.events import EpochEvent, StepEvent
from latentlab.core.history import History
from latentlab.gui.curves import CurvePanel

STEPS_PER_EPOCH = 20


def step(i, m2=True):
    extras = (("labelled", 250.0 - i), ("class_loss", 1.0)) if m2 else ()
    return StepEvent(step=i, epoch=(i - 1) // STEPS_PER_EPOCH + 1, epoch_fraction=0.5, loss=300.0 - i,
                     neg_elbo=300.0 - i, kl=3.0, recon=297.0 - i, kl_per_dim=(1.0, 2.0), kl_weight=1.0,
                     steps_per_sec=20.0, extras=extras)


def epoch_end(e, error=None):
    return EpochEvent(epoch=e, step=e * STEPS_PER_EPOCH, train_neg_elbo=0.0, val_neg_elbo=290.0 - e, val_kl=3.0,
                      val_recon=287.0 - e, val_kl_per_dim=(1.0, 2.0), active_units=2, seconds=1.0,
                      extras=(("val_error", error),) if error is not None else ())


def feed(panel, m2=True) -> None:
    panel.add_steps([step(i, m2) for i in range(1, STEPS_PER_EPOCH + 1)])
    panel.add_epoch(epoch_end(1, 62.5 if m2 else None))
    panel.add_steps([step(i, m2) for i in range(STEPS_PER_EPOCH + 1, 2 * STEPS_PER_EPOCH + 1)])
    panel.add_epoch(epoch_end(2, 25.0 if m2 else None))
    panel.redraw()


@pytest.fixture
def panel(qtbot):
    panel = CurvePanel(smoothing=0.0)
    qtbot.addWidget(panel)
    panel.resize(940, 300)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def shown_rows(panel) -> dict[str, bool]:
    return {key: not label.isHidden() for key, label in panel.readout.latest_labels.items()}


def test_an_m2_run_shows_the_labelled_bound_and_the_validation_error_in_its_own_panel(panel):
    feed(panel)
    curves = panel.class_curves
    assert curves.active and curves.error_plot in panel.figure.ci.items
    assert panel.figure.ci.items[curves.error_plot] == [(3, 0)]          # under the KL, sharing x
    assert curves.smooth.isVisible() and curves.smooth.yData[-1] == 250.0 - 2 * STEPS_PER_EPOCH
    xs, ys = curves.error_points.getData()
    assert xs.tolist() == [STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH] and ys.tolist() == [62.5, 25.0]
    low, high = curves.error_plot.viewRange()[1]
    assert -5.0 < low <= 0.0 and 62.5 <= high < 80.0                    # percent, from 0
    assert curves.error_plot.getAxis("bottom").labelText == "step"
    assert not panel.kl_curve_plot.getAxis("bottom").label.isVisible()  # one x axis name, at the bottom
    readout = panel.readout
    assert shown_rows(panel)["labelled"] and shown_rows(panel)["val_error"]
    assert readout.latest_text("labelled") == "210.00" and readout.latest_text("val_error") == "25.0 %"
    assert "−U" in readout._name_of["neg_elbo"].text() and "−L" in readout._name_of["labelled"].text()
    panel.epoch_axis.setChecked(True)
    panel.redraw()
    assert curves.error_plot.getAxis("bottom").labelText == "epoch"
    assert curves.error_points.getData()[0].tolist() == [1.0, 2.0]


def test_the_crosshair_reads_the_labelled_bound_and_the_error_of_that_epoch(panel):
    feed(panel)
    panel.hover_at(30)
    assert panel.readout.cursor_text("labelled") == "220.00"
    assert panel.readout.cursor_text("val_error") == "62.5 %"          # the last validation before step 30
    assert len(panel.crosshair.dots["loss"].getData()[1]) == 3          # -U, reconstruction and -L


def test_a_vae_run_after_an_m2_run_gets_the_vae_panel_back(panel):
    feed(panel)
    panel.clear()
    feed(panel, m2=False)
    curves = panel.class_curves
    assert not curves.active and curves.error_plot not in panel.figure.ci.items
    assert panel.figure.ci.items[panel.kl_plot] == [(1, 1), (2, 1)]
    assert not curves.smooth.isVisible() and not curves.raw.isVisible()
    assert not shown_rows(panel)["labelled"] and not shown_rows(panel)["val_error"]
    assert panel.readout._name_of["neg_elbo"].text().endswith("−ELBO")
    assert panel.kl_curve_plot.getAxis("bottom").label.isVisible()


def test_a_vae_panel_never_shows_the_m2_parts(panel):
    feed(panel, m2=False)
    assert not panel.class_curves.active and panel.class_curves.error_plot not in panel.figure.ci.items
    hidden = ("labelled", "val_error", "neg_iw_bound", "val_neg_iw_bound")   # M2's rows, and an IWAE run's
    assert shown_rows(panel) == {key: key not in hidden for key in shown_rows(panel)}


def test_a_narrow_dock_puts_the_error_panel_under_the_kl_and_the_bars_last(qtbot):
    panel = CurvePanel(smoothing=0.0)
    qtbot.addWidget(panel)
    panel.resize(300, 800)
    panel.show()
    qtbot.waitExposed(panel)
    feed(panel)
    items = panel.figure.ci.items
    assert panel.narrow and items[panel.class_curves.error_plot] == [(3, 0)] and items[panel.kl_plot] == [(4, 0)]
    panel.resize(1200, 300)
    qtbot.waitUntil(lambda: not panel.narrow, timeout=2_000)
    assert items[panel.kl_plot] == [(1, 1), (2, 1), (3, 1)]


def test_a_checkpoints_history_shows_the_same_curves(panel):
    history = History()
    for i in range(1, STEPS_PER_EPOCH + 1):
        history.add_step(step(i))
    history.add_epoch(epoch_end(1, 40.0))
    panel.load_history(History.from_dict(history.to_dict()), latent_dim=2)
    panel.redraw()
    assert panel.class_curves.active
    assert panel.class_curves.error_points.getData()[1].tolist() == [40.0]
    assert panel.readout.latest_text("val_error") == "40.0 %"


def test_the_exported_figure_of_an_m2_run_has_its_key(panel, tmp_path):
    feed(panel)
    path = panel.export_svg(tmp_path / "m2.svg")
    svg = path.read_text()
    assert "−L labelled" in svg and "validation error" in svg and "−U unlabelled" in svg
    assert panel.class_curves.error_plot in panel.figure.ci.items     # the panel is as it was


def test_steps_without_extras_are_vae_steps(panel):
    """Objects without an `extras` attribute (older callers, the tests' stand-ins) are VAE steps."""
    bare = SimpleNamespace(step=1, epoch=1, epoch_fraction=0.1, loss=1.0, neg_elbo=1.0, kl=0.5, recon=0.5,
                           kl_per_dim=(0.5,), steps_per_sec=1.0)
    panel.add_steps([bare])
    panel.redraw()
    assert not panel.class_curves.active
