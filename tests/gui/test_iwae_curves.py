"""A run trained on the IWAE bound (gui/iwae_curves.py): -L_K beside -ELBO on the loss panel, per
step and per validation, its rows in the readout named with the run's K, live and from a
checkpoint; an ELBO run shows none of it."""

from __future__ import annotations

import pytest

from latentlab.core.events import EpochEvent, StepEvent
from latentlab.core.history import History
from latentlab.gui.curves import CurvePanel

STEPS_PER_EPOCH = 20


def step(i, k=5):
    extras = (("neg_iw_bound", 290.0 - i), ("iw_k", float(k))) if k else ()
    return StepEvent(step=i, epoch=(i - 1) // STEPS_PER_EPOCH + 1, epoch_fraction=0.5, loss=290.0 - i,
                     neg_elbo=300.0 - i, kl=3.0, recon=297.0 - i, kl_per_dim=(1.0, 2.0), kl_weight=1.0,
                     steps_per_sec=20.0, extras=extras)


def epoch_end(e, k=5):
    return EpochEvent(epoch=e, step=e * STEPS_PER_EPOCH, train_neg_elbo=0.0, val_neg_elbo=290.0 - e, val_kl=3.0,
                      val_recon=287.0 - e, val_kl_per_dim=(1.0, 2.0), active_units=2, seconds=1.0,
                      extras=(("val_neg_iw_bound", 285.0 - e),) if k else ())


def feed(panel, k=5) -> None:
    for e in (1, 2):
        panel.add_steps([step(i, k) for i in range((e - 1) * STEPS_PER_EPOCH + 1, e * STEPS_PER_EPOCH + 1)])
        panel.add_epoch(epoch_end(e, k))
    panel.redraw()


@pytest.fixture
def panel(qtbot):
    panel = CurvePanel(smoothing=0.0)
    qtbot.addWidget(panel)
    panel.resize(940, 300)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def shown(panel, key) -> bool:
    return not panel.readout.latest_labels[key].isHidden()


def test_an_iwae_run_shows_its_bound_beside_the_elbo_named_with_its_k(panel):
    feed(panel, k=5)
    curves = panel.iwae_curves
    assert curves.active and curves.k == 5 and curves.smooth.isVisible() and curves.val.isVisible()
    assert curves.smooth.yData[-1] == 290.0 - 2 * STEPS_PER_EPOCH
    assert panel.smooth_items["neg_elbo"].yData[-1] == 300.0 - 2 * STEPS_PER_EPOCH     # -ELBO still drawn
    assert curves.val.getData()[0].tolist() == [STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH]
    assert curves.val.getData()[1].tolist() == [284.0, 283.0]
    readout = panel.readout
    assert "−L_K (IWAE, K=5)" in readout._name_of["neg_iw_bound"].text()
    assert shown(panel, "neg_iw_bound") and shown(panel, "val_neg_iw_bound")
    assert readout.latest_text("neg_iw_bound") == "250.00" and readout.latest_text("val_neg_iw_bound") == "283.00"
    panel.hover_at(30)
    assert panel.readout.cursor_text("neg_iw_bound") == "260.00"
    assert panel.readout.cursor_text("val_neg_iw_bound") == "284.00"     # the last validation before step 30
    assert len(panel.crosshair.dots["loss"].getData()[1]) == 3            # -ELBO, reconstruction and -L_K


def test_an_elbo_run_has_no_iwae_curve_or_rows(panel):
    feed(panel, k=0)
    assert not panel.iwae_curves.active and not panel.iwae_curves.smooth.isVisible()
    assert not shown(panel, "neg_iw_bound") and not shown(panel, "val_neg_iw_bound")
    panel.hover_at(30)
    assert len(panel.crosshair.dots["loss"].getData()[1]) == 2            # -ELBO and reconstruction only
    assert panel.readout.cursor_text("neg_iw_bound") == "–"


def test_an_elbo_run_after_an_iwae_run_loses_the_bound(panel):
    feed(panel, k=50)
    assert "K=50" in panel.readout._name_of["neg_iw_bound"].text()
    panel.clear()
    feed(panel, k=0)
    curves = panel.iwae_curves
    assert not curves.active and not curves.smooth.isVisible() and not curves.val.isVisible()
    assert curves.smooth.yData is None or len(curves.smooth.yData) == 0
    assert not shown(panel, "neg_iw_bound")


def test_a_checkpoints_history_shows_the_same_curve(panel):
    history = History()
    for i in range(1, STEPS_PER_EPOCH + 1):
        history.add_step(step(i, k=3))
    history.add_epoch(epoch_end(1, k=3))
    panel.load_history(History.from_dict(history.to_dict()), latent_dim=2)
    panel.redraw()
    assert panel.iwae_curves.k == 3 and "K=3" in panel.readout._name_of["neg_iw_bound"].text()
    assert panel.iwae_curves.val.getData()[1].tolist() == [284.0]
    assert panel.readout.latest_text("neg_iw_bound") == "270.00"


def test_the_exported_figure_of_an_iwae_run_has_the_bound_in_its_key(panel, qtbot, tmp_path):
    feed(panel, k=5)
    svg = panel.export_svg(tmp_path / "iwae.svg").read_text()
    assert "−L_K (IWAE, K=5)" in svg and "−ELBO" in svg
    elbo = CurvePanel(smoothing=0.0)
    qtbot.addWidget(elbo)
    feed(elbo, k=0)
    assert "IWAE" not in elbo.export_svg(tmp_path / "elbo.svg").read_text()
