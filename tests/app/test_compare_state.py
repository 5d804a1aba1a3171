"""The comparison's state with its background work, without Qt: linked hover, one image encoded by
every model, a row per model (card or live, cancellable, latest wins), and files refused by name."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import image_files as files
import numpy as np
import pytest
import torch

from latentlab.app.compare_models import (
    ComparedModel,
    CompareError,
    comparison_images,
    read_compared,
)
from latentlab.app.compare_state import MAX_MODELS, CompareState
from latentlab.app.compare_work import CompareWork
from latentlab.app.example_metrics import bound_columns
from latentlab.app.job_queue import InlineRunner
from latentlab.app.jobs import ImageSource, decode_point, encode_pixels
from latentlab.app.plane import LatentPlane
from latentlab.core.shipped import shipped_models_dir

DATA = {"dataset": "mnist", "binarize": "dynamic"}


class ManualRunner:
    """Keeps every job until `run_all` (latest wins per slot, as the real queue)."""

    def __init__(self):
        self.jobs: dict = {}

    def submit(self, slot, fn, on_done, *, priority=10, on_error=None):
        self.jobs[slot] = (fn, on_done, on_error)

    def cancel(self, slot):
        self.jobs.pop(slot, None)

    def run_all(self):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)             # as the real runners do (on a busy machine, 2 are slower)
        try:
            while self.jobs:
                slot = next(iter(self.jobs))
                fn, on_done, _ = self.jobs.pop(slot)
                with torch.inference_mode():
                    on_done(fn())
        finally:
            torch.set_num_threads(threads)


@pytest.fixture
def compare():
    state = CompareState()
    messages: list[str] = []
    state.events.message.connect(messages.append)
    metrics = ManualRunner()
    work = CompareWork(state, InlineRunner(), metrics, live_images=20)
    return SimpleNamespace(state=state, work=work, metrics=metrics, messages=messages)


def add(state, model, name, **kwargs) -> ComparedModel:
    compared = ComparedModel(state.new_id(), name, model, dict(DATA), **kwargs)
    assert state.add_model(compared)
    return compared


def test_a_hover_decodes_the_same_z_in_every_model_of_its_dimension(compare, make_model):
    state = compare.state
    a, b = add(state, make_model(2, seed=1), "a"), add(state, make_model(2, seed=2), "b")
    c = add(state, make_model(3, seed=3), "c")
    state.set_hover(a.id, 0.5, -1.25)
    z = state.hover[1]
    np.testing.assert_array_equal(z, [0.5, -1.25])
    with torch.no_grad():
        for m in (a, b):
            np.testing.assert_array_equal(state.hover_images[m.id], decode_point(m.model, z))
    assert c.id not in state.hover_images and "c is 3-D" in state.hover_notes[c.id]
    state.set_hover(c.id, 1.0, 2.0)          # the other way round: only c decodes
    assert set(state.hover_images) == {c.id} and "2-D" in state.hover_notes[a.id]


def test_models_of_the_explorers_dimension_share_its_plane(compare, make_model):
    state = compare.state
    a, b = add(state, make_model(5, seed=1), "a"), add(state, make_model(5, seed=2), "b")
    anchor = np.arange(5, dtype=np.float64)
    state.set_reference_plane(LatentPlane.axes(5, 2, 4, anchor))
    state.set_hover(b.id, 1.5, -0.5)
    z = state.hover[1]
    np.testing.assert_array_equal(z, [0, 1, 1.5, 3, -0.5])
    with torch.no_grad():
        np.testing.assert_array_equal(state.hover_images[a.id], decode_point(a.model, z))
    assert state.plane_for(2).labels == ("z1", "z2")        # another dimension: its own z1, z2


def test_an_image_is_encoded_by_every_model_at_its_own_image_shape(compare, make_model):
    state = compare.state
    a, frey = add(state, make_model(2, seed=1), "a"), add(state, make_model(2, (1, 28, 20), seed=2), "frey")
    source = ImageSource.of_file(str(files.sample("mnist", 3)))
    state.set_image(source)
    with torch.no_grad():
        for m in (a, frey):
            expected = encode_pixels(m.model, source.prepare(m.image_shape).pixels)
            np.testing.assert_array_equal(state.posteriors[m.id].mu, expected.mu)
    state.set_image(ImageSource.of_file("/nonexistent/digit.png"))
    assert not state.posteriors and "digit.png" in state.image_notes[a.id]


def test_new_weights_decode_and_encode_again(compare, make_model):
    state = compare.state
    a, b = add(state, make_model(2, seed=1), "a", live=True), add(state, make_model(2, seed=2), "b")
    state.set_hover(b.id, 1.0, 1.0)
    state.set_image(ImageSource.of_file(str(files.sample("mnist", 0))))
    before = state.posteriors[a.id].mu
    newer = make_model(2, seed=9)
    state.set_weights(a.id, newer)
    with torch.no_grad():
        np.testing.assert_array_equal(state.hover_images[a.id], decode_point(newer, state.hover[1]))
    assert not np.array_equal(state.posteriors[a.id].mu, before)
    state.set_posterior(a.id, state.posteriors[b.id], a.generation - 1, state.image_ticket)   # stale: dropped
    assert state.posteriors[a.id] is not state.posteriors[b.id]


def test_a_live_row_is_the_mean_of_the_per_image_numbers(compare, make_model, monkeypatch):
    monkeypatch.setattr("latentlab.app.compare_work.ROW_CHUNK", 2)
    compare.work.live_images = 4
    state, model = compare.state, make_model(3, seed=4)     # 3-D: no exact NLL (~1 s a chunk)
    progress = []
    state.events.progress.connect(lambda done, total, text: progress.append((done, total)))
    a = add(state, model, "a")
    assert state.row_status[a.id] == "measuring…"
    compare.metrics.run_all()
    row = state.rows[a.id]
    images = comparison_images(DATA, model.image_shape, 4)
    with torch.inference_mode():        # chunk by chunk, as measured (the IW draws depend on the batch)
        parts = [bound_columns(model, images.pixels[i:i + 2], iw_k=1000) for i in (0, 2)]
    expected = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    assert row.source == "4 sample images" and "sample" in row.notes
    for key in ("neg_elbo", "kl", "recon", "iw_nll"):
        assert row.values[key] == pytest.approx(float(np.mean(expected[key])), rel=1e-6), key
    assert row.values["exact_nll"] is None and row.text("exact_nll") == "—"
    assert 0 <= row.values["active_units"] <= 3 and row.text("active_units").isdigit()
    assert (1, 2) in progress and progress[-1] == (0, 0)


def test_the_exact_nll_applies_to_2d_bernoulli_vaes(make_model):
    def compared(model):
        return ComparedModel("x", "x", model)

    assert compared(make_model(2)).exact_applies
    assert not compared(make_model(3)).exact_applies
    assert not compared(make_model(2, likelihood="gaussian")).exact_applies


def test_measuring_again_drops_the_old_measurement_and_cancel_stops_it(compare, make_model):
    state = compare.state
    a = add(state, make_model(3, seed=5), "a")
    old = compare.metrics.jobs[("row", a.id)]
    state.set_weights(a.id, make_model(3, seed=6))
    compare.work.measure(a.id)
    old[1](old[0]())                         # the old measurement's result arrives late: ignored
    assert compare.work.measuring() == [a.id]
    compare.work.cancel_rows()
    assert state.row_status[a.id] == "cancelled" and not compare.metrics.jobs
    assert state.progress[:2] == (0, 0) and a.id not in state.rows


def test_shipped_models_show_their_card(compare):
    state = compare.state
    compared = read_compared(shipped_models_dir() / "mnist-2d.pt", state.new_id())
    assert state.add_model(compared)
    row = state.rows[compared.id]
    assert row.source == "model card (10,000 test images)" and row.values["neg_elbo"] == compared.card["test"]["neg_elbo"]
    assert row.values["exact_nll"] == compared.card["test_exact_nll"]["exact_nll"]
    assert not compare.metrics.jobs                       # nothing to measure


def test_a_copied_shipped_model_is_measured_not_taken_from_the_card(tmp_path):
    copy = tmp_path / "mnist-2d.pt"
    shutil.copy(shipped_models_dir() / "mnist-2d.pt", copy)
    shutil.copy(shipped_models_dir() / "mnist-2d.json", tmp_path / "mnist-2d.json")
    assert read_compared(copy, "x").card is None


def test_bad_files_are_refused_by_name(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.pt"
    folder.mkdir()
    for path in (garbage, fifo, folder, shipped_models_dir() / "m2-2d.pt"):
        with pytest.raises(CompareError, match=path.name.replace(".", r"\.")):
            read_compared(path, "x")


def test_at_most_four_models(compare, make_model):
    state = compare.state
    for i in range(MAX_MODELS):
        add(state, make_model(2, seed=i), f"m{i}")
    assert not state.add_model(ComparedModel(state.new_id(), "fifth", make_model(2), dict(DATA)))
    assert "fifth" in compare.messages[-1] and len(state.models) == MAX_MODELS
    state.clear()
    assert not state.models and not state.rows


def test_a_result_of_an_older_hover_is_dropped(compare, make_model):
    state = compare.state
    a = add(state, make_model(2), "a")
    state.set_hover(a.id, 0.0, 0.0)
    ticket = state.hover_ticket
    state.set_hover(a.id, 1.0, 1.0)
    state.set_hover_image(a.id, np.zeros((28, 28), np.uint8), a.generation, ticket)
    assert state.hover_images[a.id].any()
