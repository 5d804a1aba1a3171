"""The curves' numbers without a window: steps placed in epochs, the trend line's decimation, and
the values the readout shows (latest, at a step, nearest step to an x)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from latentlab.app.curve_data import CurveData, epoch_positions, mean_decimate


def step(i, epoch, fraction=None, rate=40.0):
    return SimpleNamespace(step=i, epoch=epoch, epoch_fraction=fraction, loss=200.0 - i, neg_elbo=200.0 - i,
                           kl=1.0 + i / 10, recon=199.0 - i - i / 10, kl_per_dim=(0.5,), steps_per_sec=rate)


def epoch_end(epoch, at, val):
    return SimpleNamespace(epoch=epoch, step=at, val_neg_elbo=val, val_kl=2.0, val_recon=val - 2.0,
                           val_kl_per_dim=(2.0,), active_units=1)


def test_steps_spread_evenly_over_their_epoch_and_validation_lands_on_whole_epochs():
    # 4 steps per epoch; epochs 1 and 2 ended at steps 4 and 8; epoch 3 is running
    x = epoch_positions(range(1, 11), [1] * 4 + [2] * 4 + [3] * 2, [4, 8], [1, 2])
    np.testing.assert_allclose(x, [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5])


def test_a_first_epoch_still_running_is_placed_by_the_trainers_fraction():
    x = epoch_positions([1, 2, 3], [1, 1, 1], [], [], last_fraction=(3, 0.5))   # 6 steps per epoch
    np.testing.assert_allclose(x, [1 / 6, 2 / 6, 3 / 6])
    unknown = epoch_positions([1, 2, 3], [1, 1, 1], [], [])                         # nothing known: as if it ended
    np.testing.assert_allclose(unknown, [1 / 3, 2 / 3, 1.0])


def test_a_run_resumed_mid_epoch_keeps_its_steps_in_place():
    # curves read from a metrics file starting in epoch 3 (steps 9, 10 of 4-step epochs)
    x = epoch_positions([9, 10, 11, 12, 13], [3, 3, 3, 3, 4], [8, 12], [2, 3])
    np.testing.assert_allclose(x, [2.25, 2.5, 2.75, 3.0, 3.25])


def test_mean_decimation_draws_the_trend_and_ends_at_the_latest_value():
    x = np.arange(1.0, 10_001.0)
    y = 100 + np.where(np.arange(10_000) % 2, 5.0, -5.0)     # noise of +-5 around 100
    dx, dy = mean_decimate(x, y, 1000)
    assert len(dx) <= 1001 and np.all(np.diff(dx) > 0)
    np.testing.assert_allclose(dy[:-1], 100.0)               # the noise averages out in each bucket
    assert (dx[-1], dy[-1]) == (x[-1], y[-1])
    _, short_y = mean_decimate(x[:500], y[:500], 1000)
    np.testing.assert_array_equal(short_y, y[:500])          # short enough: every point as it is


def test_latest_values_and_the_values_at_a_step():
    data = CurveData(smoothing=0.0)          # no smoothing: the values are the steps' own
    data.add_steps([step(i, 1 + (i > 4), fraction=((i - 1) % 4 + 1) / 4) for i in range(1, 8)])
    data.add_epoch(epoch_end(1, 4, 150.0))
    latest = data.latest()
    assert (latest.step, latest.epoch, latest.neg_elbo, latest.kl) == (7, 2, 193.0, 1.7)
    assert latest.recon == pytest.approx(191.3)
    assert (latest.val_neg_elbo, latest.val_epoch, latest.steps_per_sec) == (150.0, 1, 40.0)
    early = data.values_at(2)                # step 3: before the first validation
    assert early.step == 3 and early.neg_elbo == 197.0 and math.isnan(early.val_neg_elbo)
    assert data.values_at(4).val_neg_elbo == 150.0          # step 5: after epoch 1's validation
    assert math.isnan(data.values_at(99).step)


def test_nearest_step_to_an_x_in_steps_or_epochs():
    data = CurveData()
    data.add_steps([step(i, 1 + (i > 4)) for i in range(1, 9)])
    data.add_epoch(epoch_end(1, 4, 150.0))
    assert data.index_near(2.4) == 1 and data.index_near(2.6) == 2
    assert data.index_near(-50) == 0 and data.index_near(1e9) == 7
    assert data.index_near(1.5, in_epochs=True) == 5        # epoch 1.5 is step 6 (4 steps per epoch)
    assert CurveData().index_near(3) is None and data.index_near(math.nan) is None


def test_clearing_forgets_the_speed():
    data = CurveData()
    data.add_steps([step(1, 1)])
    assert data.latest().steps_per_sec == 40.0
    data.clear()
    assert math.isnan(data.latest().steps_per_sec) and math.isnan(data.latest().neg_elbo)
