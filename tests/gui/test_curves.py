"""Curve bookkeeping (no window): TensorBoard smoothing, decimation, CSV, pacing, following a file."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from latentlab.app.curve_data import CurveData, GrowingArray, ema_smooth, peak_decimate
from latentlab.app.pacing import UpdatePacer
from latentlab.core.metrics import read_metrics_csv


def tensorboard_smoothing(values, weight):
    """TensorBoard's own algorithm (vz_line_chart2 resetSmoothedData), transcribed literally."""
    last, num_accum, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        num_accum += 1
        debias = 1.0 if weight == 1.0 else 1.0 - weight ** num_accum
        out.append(last / debias)
    return np.array(out)


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.95, 0.999])
def test_ema_matches_tensorboard_and_can_be_computed_in_pieces(weight):
    values = np.random.default_rng(0).normal(100, 10, 500)
    values[123] = math.nan
    whole, _ = ema_smooth(values, weight)
    np.testing.assert_allclose(whole, tensorboard_smoothing(values, weight), rtol=1e-12, equal_nan=True)
    first, state = ema_smooth(values[:200], weight)
    rest, _ = ema_smooth(values[200:], weight, state)
    np.testing.assert_allclose(np.concatenate([first, rest]), whole, rtol=1e-12, equal_nan=True)


def test_bias_correction_keeps_a_constant_series_constant():
    smoothed, _ = ema_smooth(np.full(50, 7.0), 0.99)
    np.testing.assert_allclose(smoothed, 7.0)  # without the correction it would rise slowly from 0


def test_growing_array_appends_without_losing_values():
    a = GrowingArray(capacity=16)
    for chunk in np.array_split(np.arange(1000.0), 37):
        a.extend(chunk)
    np.testing.assert_array_equal(a.values, np.arange(1000.0))


def test_peak_decimation_keeps_extremes_and_order():
    x = np.arange(10_000.0)
    y = np.sin(x / 300)
    y[4321] = 50.0   # one spike must survive
    dx, dy = peak_decimate(x, y, 1000)
    assert len(dx) <= 1000 + 20
    assert np.all(np.diff(dx) > 0)
    assert dy.max() == 50.0 and dy.min() == y.min()
    short_x, short_y = peak_decimate(x[:500], y[:500], 1000)
    assert short_x is x[:500] or np.array_equal(short_x, x[:500])


def step(i, epoch=1):
    return SimpleNamespace(step=i, epoch=epoch, loss=200.0 - i, neg_elbo=200.0 - i, kl=1.0 + i / 100,
                           recon=199.0 - i - i / 100, kl_per_dim=(0.5, 0.5 + i / 100))


def test_csv_export_reads_back_like_a_metrics_file(tmp_path):
    data = CurveData(smoothing=0.5)
    data.add_steps([step(i) for i in range(1, 11)])
    data.add_epoch(SimpleNamespace(epoch=1, step=10, val_neg_elbo=190.0, val_kl=1.5, val_recon=188.5,
                                   val_kl_per_dim=(0.5, 1.0), active_units=2))
    data.add_steps([step(i, 2) for i in range(11, 16)])
    rows, _ = read_metrics_csv(data.write_csv(tmp_path / "c.csv"))
    assert rows["train"]["step"] == list(map(float, range(1, 16)))
    assert rows["train"]["epoch"] == [1.0] * 10 + [2.0] * 5
    assert rows["val"] == {"step": [10.0], "epoch": [1.0], "loss": [190.0], "neg_elbo": [190.0], "kl": [1.5],
                           "recon": [188.5], "active_units": [2.0]}
    fresh = CurveData()
    fresh.add_metrics_rows(rows)
    np.testing.assert_allclose(fresh.train["kl"].raw.values, data.train["kl"].raw.values, rtol=1e-6)


def test_pacer_spaces_an_update_by_its_cost():
    pacer = UpdatePacer(share=0.02, min_interval=1 / 30, max_interval=2.0)
    assert pacer.wait_time("curves") == 0.0
    started = pacer.begin("curves")
    pacer.end("curves", started - 0.010)   # the call took 10 ms ...
    pacer.add_paint(0.010)                 # ... and its repaint 10 ms more
    pacer.begin("curves")                  # the next update folds in the measured cost
    assert pacer.costs["curves"] == pytest.approx(0.020, rel=0.05)
    assert pacer.interval("curves") == pytest.approx(1.0, rel=0.05)   # 20 ms is 2% of 1 s
    # the measured cost includes the microseconds between begin and end, so compare the wait
    # with the interval it was derived from, not with the round 1 s
    assert 0.9 < pacer.wait_time("curves") <= pacer.interval("curves")
    pacer.costs["cheap"] = 0.0001
    assert pacer.interval("cheap") == pytest.approx(1 / 30)     # never more than ~30 a second
    pacer.costs["slow"] = 1.0
    assert pacer.interval("slow") == 2.0                        # never frozen for long
