"""An IWAE run's numbers in the curves without a window (app/curve_data.py): its K, -L_K at a
step and the validation's, from events and from a checkpoint's history; none for an ELBO run."""

from __future__ import annotations

import math

from latentlab.app.curve_data import CurveData
from latentlab.core.events import EpochEvent, StepEvent
from latentlab.core.history import History


def step(i, k=4):
    extras = (("neg_iw_bound", 100.0 - i), ("iw_k", float(k))) if k else ()
    return StepEvent(step=i, epoch=1, epoch_fraction=i / 10, loss=100.0 - i, neg_elbo=105.0 - i, kl=2.0,
                     recon=103.0 - i, kl_per_dim=(2.0,), kl_weight=1.0, steps_per_sec=10.0, extras=extras)


def epoch(e, at, k=4):
    return EpochEvent(epoch=e, step=at, train_neg_elbo=100.0, val_neg_elbo=101.0, val_kl=2.0, val_recon=99.0,
                      val_kl_per_dim=(2.0,), active_units=1, seconds=1.0,
                      extras=(("val_neg_iw_bound", 97.5),) if k else ())


def test_an_iwae_runs_k_and_bound_from_events_and_from_a_history():
    data = CurveData(smoothing=0.0)
    data.add_steps([step(i) for i in range(1, 4)])
    assert data.iw_k() == 4 and data.values_at(1).neg_iw_bound == 98.0
    assert math.isnan(data.values_at(1).val_neg_iw_bound)          # no validation yet
    data.add_epoch(epoch(1, 3))
    assert data.latest().val_neg_iw_bound == 97.5 and data.latest().neg_iw_bound == 97.0
    history = History()
    for i in range(1, 4):
        history.add_step(step(i, k=7))
    history.add_epoch(epoch(1, 3, k=7))
    again = CurveData(smoothing=0.0)
    again.load_history(History.from_dict(history.to_dict()))
    assert again.iw_k() == 7 and again.values_at(2).val_neg_iw_bound == 97.5


def test_an_elbo_run_has_no_k_and_reads_nan_for_the_bound():
    data = CurveData(smoothing=0.0)
    data.add_steps([step(i, k=0) for i in range(1, 4)])
    data.add_epoch(epoch(1, 3, k=0))
    assert data.iw_k() is None
    assert math.isnan(data.latest().neg_iw_bound) and math.isnan(data.latest().val_neg_iw_bound)
