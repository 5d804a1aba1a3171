"""The ground truth of the selected image, without Qt: pictures of p(z|x) (coarse, then full),
the gaps, and the rules that keep late results of an older image or model off the screen."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from latentlab.app.explorer_state import DRAWING, ExplorerState
from latentlab.app.explorer_work import ExplorerWork
from latentlab.app.ground_truth import HPD_MASSES, GroundTruthState, hpd_levels
from latentlab.app.ground_truth_work import COARSE, FULL, GAPS, GroundTruthWork, nearest_point
from latentlab.app.job_queue import InlineRunner
from latentlab.core import exact


class HeldRunner:
    """Keeps every job until the test runs it, and then calls back even if it was cancelled
    meanwhile (as a job already running when its model changed would finish): the work itself
    must recognise late results."""

    def __init__(self):
        self.jobs = []

    def submit(self, slot, fn, on_done, *, priority=10, on_error=None):
        self.jobs = [job for job in self.jobs if job.slot != slot]       # a waiting job is replaced
        self.jobs.append(SimpleNamespace(slot=slot, fn=fn, on_done=on_done, on_error=on_error))

    def cancel(self, slot):
        pass

    def slots(self):
        return [job.slot for job in self.jobs]

    def run(self, slot):
        job = next(job for job in self.jobs if job.slot == slot)
        self.jobs.remove(job)
        with torch.inference_mode():
            value = job.fn()
        job.on_done(value)
        return value


def truth_on(live, exact_runner):
    explorer = ExplorerState()
    ExplorerWork(explorer, InlineRunner(), InlineRunner())
    truth = GroundTruthState()
    work = GroundTruthWork(explorer, truth, live, exact_runner, InlineRunner())
    pictures = []
    truth.events.picture.connect(lambda: pictures.append(truth.picture))
    return explorer, truth, work, pictures


def digit(shift: int = 0) -> np.ndarray:
    pixels = np.zeros((1, 28, 28), np.uint8)
    pixels[0, 5:23, 12 + shift:16 + shift] = 255
    return pixels


def test_hpd_levels_of_a_gaussian_are_its_1_and_2_sigma_ellipses():
    """For N(0, I) the regions holding 39 % and 86 % of the mass are the discs of radius 1 and 2."""
    z = np.linspace(-6, 6, 601)
    g1, g2 = np.meshgrid(z, z, indexing="ij")
    density = np.exp(-0.5 * (g1 ** 2 + g2 ** 2)) / (2 * math.pi)
    levels = hpd_levels(density, (z[1] - z[0]) ** 2)
    expected = [math.exp(-0.5 * k * k) / (2 * math.pi) for k in (1, 2)]
    np.testing.assert_allclose(levels, expected, rtol=0.02)
    assert HPD_MASSES[0] == pytest.approx(0.3935, abs=1e-4) and HPD_MASSES[1] == pytest.approx(0.8647, abs=1e-4)


def test_an_encoded_image_gets_a_coarse_picture_then_the_full_one_then_its_gaps(make_model):
    explorer, truth, work, pictures = truth_on(InlineRunner(), InlineRunner())
    explorer.set_model(make_model(2))
    explorer.add_encoding(_source(), digit())
    assert [p.coarse for p in pictures] == [True, False]
    picture, gaps = truth.picture, truth.gaps
    assert picture.log_px == pytest.approx(gaps.log_px, abs=0.02)      # two quadratures, two resolutions
    area = (picture.extent[1] - picture.extent[0]) * (picture.extent[3] - picture.extent[2]) / picture.density.size
    assert picture.density.sum() * area == pytest.approx(1.0, abs=0.01)
    assert picture.levels[0] > picture.levels[1] > 0
    assert not truth.gaps_pending and gaps.log_px == pytest.approx(picture.log_px, abs=0.02)
    assert gaps.log_px >= gaps.elbo_star - 0.01 and gaps.elbo_star >= gaps.elbo - 0.01
    assert gaps.kl_q_posterior == pytest.approx(gaps.log_px - gaps.elbo, abs=0.05)


def test_above_two_dimensions_there_are_gaps_but_no_picture(make_model):
    explorer, truth, work, pictures = truth_on(InlineRunner(), InlineRunner())
    explorer.set_model(make_model(5))
    explorer.add_encoding(_source(), digit())
    assert pictures == [] and not truth.exact_available
    gaps = truth.gaps
    assert gaps.log_px is None and gaps.approximation_gap is None and gaps.elbo_star >= gaps.elbo - 0.05
    assert [k for k, _ in gaps.iw_curve][-1] == 5000


def test_a_drawing_gets_a_picture_per_finished_coarse_job_and_the_full_one_when_it_rests(make_model):
    """One coarse job in flight: strokes meanwhile wait, and only the newest follows it; the full
    picture and the gaps are asked for once a coarse picture of the current pixels is back."""
    live, slow = HeldRunner(), HeldRunner()
    explorer, truth, work, pictures = truth_on(live, slow)
    explorer.set_model(make_model(2))
    strokes = [digit(shift) for shift in range(4)]
    explorer.add_encoding(_drawing(strokes[0]), strokes[0], encoding_id=DRAWING)
    assert live.slots() == [COARSE]
    for stroke in strokes[1:]:
        explorer.add_encoding(_drawing(stroke), stroke, encoding_id=DRAWING)
    assert len(live.jobs) == 1                         # still the first stroke's, nothing queued behind
    first = live.run(COARSE)
    assert truth.picture is first and slow.slots() == []   # shown, but the pixels moved on: no full one
    assert live.slots() == [COARSE]                    # the newest stroke's, at once
    last = live.run(COARSE)
    np.testing.assert_allclose(last.log_px, exact.posterior_picture(
        explorer.model, torch.from_numpy(strokes[-1][None] / 255.0).float(), coarse=True).log_px)
    assert slow.slots() == [FULL]
    full = slow.run(FULL)
    assert truth.picture is full and not full.coarse and slow.slots() == [GAPS]


def test_results_of_an_older_model_or_image_are_dropped(make_model):
    live, slow = HeldRunner(), HeldRunner()
    explorer, truth, work, pictures = truth_on(live, slow)
    explorer.set_model(make_model(2, seed=1))
    explorer.add_encoding(_source(), digit())
    live.run(COARSE)
    old_full = next(job for job in slow.jobs if job.slot == FULL)
    slow.jobs.remove(old_full)
    with torch.inference_mode():
        value = old_full.fn()                          # finished just before the model changes...
    explorer.set_model(make_model(2, seed=2))
    assert truth.picture is None and truth.gaps_pending
    old_full.on_done(value)                            # ...and delivered after: dropped
    assert truth.picture is None
    from latentlab.app.interrupt import Interrupted

    with torch.inference_mode(), pytest.raises(Interrupted):
        old_full.fn()                                  # had it still been running, it would stop
    new_coarse = live.run(COARSE)
    assert truth.picture is new_coarse
    explorer.add_encoding(_source("other.png"), digit(3))  # another image: the old one's picture goes
    assert truth.picture is None and truth.selected_name == "other.png"


def test_a_new_model_of_another_dimension_clears_everything(make_model):
    slow = HeldRunner()
    explorer, truth, work, pictures = truth_on(InlineRunner(), slow)
    explorer.set_model(make_model(2))
    explorer.add_encoding(_source(), digit())
    slow.run(FULL)
    assert truth.picture is not None and not truth.picture.coarse and slow.slots() == [GAPS]
    explorer.set_model(make_model(3))
    assert truth.picture is None and truth.latent_dim == 3 and truth.gaps is None and truth.gaps_pending
    assert not truth.exact_available and slow.slots() == [GAPS]       # the 3-D model's, at once


def test_nearest_point_counts_screen_pixels():
    points = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert nearest_point(points, 0.9, 1.07, (0.1, 0.01), radius_px=6) is None     # 1 px in u, 7 in v
    assert nearest_point(points, 0.95, 1.0, (0.01, 0.01), radius_px=6) == 1
    assert nearest_point(points, 0.5, 0.5, (0.01, 0.01), radius_px=6) is None
    assert nearest_point(np.empty((0, 2)), 0, 0, (1, 1), 6) is None


def _source(name: str = "digit.png"):
    from latentlab.app.jobs import ImageSource

    return ImageSource(name, drawing=digit()[0])


def _drawing(pixels):
    from latentlab.app.jobs import ImageSource

    return ImageSource.of_drawing(pixels[0])


def test_a_job_no_longer_wanted_stops_at_its_next_decoder_call_and_others_are_untouched(make_model):
    import threading

    from latentlab.app.interrupt import Interrupted, run_stoppable

    model, stop = make_model(2), threading.Event()
    calls = []

    def long_job():
        for i in range(100):
            model.decode(torch.zeros(1, 2))
            calls.append(i)
            if i == 2:
                stop.set()                      # as another thread would, mid-job

    with torch.inference_mode(), pytest.raises(Interrupted):
        run_stoppable(model, stop, long_job)
    assert calls == [0, 1, 2]
    with torch.inference_mode():
        model.decode(torch.zeros(1, 2))         # outside a stoppable job (the hover thread): unaffected
    worker = threading.Thread(target=lambda: calls.append(model.decode(torch.zeros(1, 2)).shape))
    worker.start()
    worker.join()
    assert calls[-1] == (1, 1, 28, 28)


def test_a_hidden_true_posterior_is_not_computed_and_comes_back_when_shown(make_model):
    live, slow = HeldRunner(), HeldRunner()
    explorer, truth, work, pictures = truth_on(live, slow)
    explorer.set_model(make_model(2))
    truth.set_display(shown=False)
    explorer.add_encoding(_source(), digit())
    assert live.slots() == [] and slow.slots() == [GAPS]          # no picture: the gaps at once
    truth.set_display(shown=True)
    assert live.slots() == [COARSE]
    live.run(COARSE)
    assert slow.slots() == [GAPS, FULL]                           # the gaps are not asked twice
    slow.run(FULL)
    assert slow.slots() == [GAPS] and not truth.picture.coarse
