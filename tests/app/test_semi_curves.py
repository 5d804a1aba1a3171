"""An M2 run's own curves without a window (app/extra_curves.py through CurveData): the labelled
bound and the validation error stay aligned with the steps and epochs, from events, from a
checkpoint's history and from a metrics file, and a VAE run has none."""

from __future__ import annotations

import math

import numpy as np

from latentlab.app.curve_data import CurveData
from latentlab.app.extra_curves import ExtraCurves
from latentlab.core.events import EpochEvent, StepEvent
from latentlab.core.history import History


def step(i, extras=()):
    return StepEvent(step=i, epoch=1, epoch_fraction=i / 10, loss=300.0, neg_elbo=200.0 - i, kl=2.0, recon=198.0 - i,
                     kl_per_dim=(2.0,), kl_weight=1.0, steps_per_sec=10.0, extras=tuple(extras))


def epoch(e, at, extras=()):
    return EpochEvent(epoch=e, step=at, train_neg_elbo=190.0, val_neg_elbo=191.0, val_kl=2.0, val_recon=189.0,
                      val_kl_per_dim=(2.0,), active_units=1, seconds=1.0, extras=tuple(extras))


def m2_step(i):
    return step(i, (("labelled", 150.0 - i), ("class_loss", 2.0 / i)))


def test_a_vae_run_has_no_extra_curves_and_reads_nan_for_them():
    data = CurveData(smoothing=0.0)
    data.add_steps([step(i) for i in range(1, 4)])
    data.add_epoch(epoch(1, 3))
    assert not data.extras and data.extras.steps == {} and data.extras.epochs == {}
    latest = data.latest()
    assert math.isnan(latest.labelled) and math.isnan(latest.val_error)


def test_m2_steps_and_epochs_give_the_labelled_bound_and_the_validation_error():
    data = CurveData(smoothing=0.0)
    data.add_steps([m2_step(i) for i in range(1, 6)])
    data.add_epoch(epoch(1, 5, (("val_error", 41.2),)))
    data.add_steps([m2_step(i) for i in range(6, 8)])
    assert data.extras.steps["labelled"].raw.values.tolist() == [149.0, 148.0, 147.0, 146.0, 145.0, 144.0, 143.0]
    assert data.extras.epochs["val_error"].values.tolist() == [41.2]
    assert data.values_at(2).labelled == 147.0
    assert math.isnan(data.values_at(2).val_error)        # no validation before step 5
    assert data.values_at(4).val_error == 41.2
    assert data.latest().labelled == 143.0 and data.latest().val_error == 41.2
    data.clear()
    assert not data.extras and math.isnan(data.latest().labelled)


def test_a_name_that_starts_late_or_skips_a_row_is_nan_there_so_indices_stay_aligned():
    extras = ExtraCurves(smoothing=0.0)
    extras.add_steps([step(1), step(2)])
    extras.add_steps([step(3, (("labelled", 5.0),)), step(4)])
    values = extras.steps["labelled"].raw.values
    assert len(values) == 4 and np.isnan(values[[0, 1, 3]]).all() and values[2] == 5.0
    extras.add_epoch_columns({"val_error": [10.0]}, 2)      # a column cut short is padded
    assert np.isnan(extras.epochs["val_error"].values[1])


def test_a_checkpoints_history_brings_its_extra_columns_and_a_metrics_file_keeps_them_aligned():
    history = History()
    for i in range(1, 5):
        history.add_step(m2_step(i))
    history.add_epoch(epoch(1, 4, (("val_error", 30.0),)))
    history = History.from_dict(history.to_dict())          # as a checkpoint stores it
    data = CurveData(smoothing=0.0)
    data.load_history(history)
    assert set(data.extras.steps) == {"labelled", "class_loss"} and set(data.extras.epochs) == {"val_error"}
    assert data.latest().labelled == 146.0 and data.latest().val_error == 30.0
    # A metrics file (which has no extra columns) continues it: NaN there, the same length as the steps.
    rows = {"train": {"step": [5.0], "epoch": [2.0], "loss": [1.0], "neg_elbo": [1.0], "kl": [1.0], "recon": [1.0]},
            "val": {"step": [], "epoch": [], "neg_elbo": [], "kl": [], "recon": [], "active_units": []}}
    data.add_metrics_rows(rows)
    assert len(data.extras.steps["labelled"].raw) == len(data) == 5
    assert math.isnan(data.values_at(4).labelled)


def test_smoothing_applies_to_the_extra_curves_too():
    data = CurveData(smoothing=0.0)
    data.add_steps([m2_step(i) for i in range(1, 4)])
    data.set_smoothing(0.5)
    smooth = data.extras.steps["labelled"].smooth.values
    assert smooth[0] == 149.0 and 147.0 < smooth[-1] < 148.0
