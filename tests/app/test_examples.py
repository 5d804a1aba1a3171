"""The examples, without Qt: which images (test split, else the shipped samples), binarised as the
scatter was, the per-image numbers of the table computed in chunks, sorting, cancelling, and
picking an example from the table or from the scatter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.app.example_metrics import bound_columns, exact_column
from latentlab.app.examples import ExampleTable, load_examples
from latentlab.app.explorer_state import ExplorerState
from latentlab.app.explorer_work import ExplorerWork
from latentlab.app.ground_truth import GroundTruthState
from latentlab.app.ground_truth_work import EXAMPLE, TABLE, GroundTruthWork
from latentlab.app.job_queue import InlineRunner
from latentlab.core.samples import load_samples
from latentlab.core.shipped import default_checkpoint

MNIST = {"dataset": "mnist", "binarize": "dynamic"}


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """An empty data folder: the examples come from resources/samples."""
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path / "no-data"))


@pytest.fixture(scope="module")
def shipped():
    from latentlab import load_checkpoint

    return load_checkpoint(default_checkpoint())


def test_the_samples_are_the_first_test_images_with_labels_from_their_names():
    dataset, indices = load_samples("mnist")
    assert len(dataset) == 100 and list(indices) == list(range(100))
    assert dataset.images.shape == (100, 1, 28, 28) and dataset.labels[:3].tolist() == [7, 2, 1]
    faces, _ = load_samples("frey-face")
    assert faces.labels is None and faces.image_shape == (1, 28, 20)


def test_without_the_data_set_the_examples_are_the_samples_binarised_as_the_scatter(no_data, shipped):
    examples = load_examples(shipped.data, (1, 28, 28))
    assert examples.source == "sample images" and len(examples) == 100
    assert set(np.unique(examples.pixels)) == {0, 255}
    assert examples.image_name(0) == "test image 0 (7)" and examples.row_of(42) == 42 and examples.row_of(100) is None
    from latentlab.app.scatter import Scatter

    scatter = Scatter.from_extras(shipped.extras)
    assert examples.matches_scatter(scatter)
    with torch.no_grad():     # example i is point i of the checkpoint's scatter
        mu = shipped.model.encode(torch.from_numpy(examples.pixels[:20] / 255.0).float())[0].numpy()
    np.testing.assert_allclose(mu, scatter.means[:20], atol=5e-3)
    shuffled = Scatter(scatter.means, np.roll(scatter.labels, 1), scatter.names)
    assert not examples.matches_scatter(shuffled)


def test_with_the_data_set_the_examples_are_its_test_split(tiny_data_root):
    examples = load_examples({"dataset": "fashion-mnist", "binarize": "dynamic"}, (1, 28, 28),
                             data_dir=tiny_data_root)
    assert examples.source == "test split" and len(examples) == 100 and examples.label_name(0) == "Ankle boot"


def test_no_examples_for_a_folder_model_or_a_wrong_shape(no_data):
    with pytest.raises(ValueError, match="built-in data set"):
        load_examples({"dataset": "folder", "folder": "/x"}, (1, 28, 28))
    with pytest.raises(ValueError, match=r"\(1, 28, 28\)"):
        load_examples({"dataset": "mnist"}, (1, 28, 20))


def test_the_table_sorts_numerically_with_rows_not_computed_last(no_data, shipped):
    table = ExampleTable(load_examples(shipped.data, (1, 28, 28)), 5, exact=True)
    table.fill(0, {"neg_elbo": np.array([100.0, 9.0, 250.0]), "exact_nll": np.array([98.0, 8.5, 240.0])})
    assert list(table.order("neg_elbo")) == [1, 0, 2, 3, 4]          # 9 < 100 < 250, as numbers
    assert list(table.order("neg_elbo", descending=True)) == [2, 0, 1, 3, 4]
    np.testing.assert_allclose(table.values["gap"][:3], [2.0, 0.5, 10.0])
    assert table.text(0, "neg_elbo") == "100.00" and table.text(4, "gap") == "" and table.text(1, "label") == "2"
    assert ExampleTable(table.examples, 5, exact=False).text(0, "exact_nll") == "—"


def test_the_per_image_numbers_agree_with_each_other(make_model, no_data, shipped):
    model = make_model(2)
    pixels = load_examples(shipped.data, (1, 28, 28)).pixels[:4]
    with torch.inference_mode():
        bounds, exact = bound_columns(model, pixels, iw_k=200), exact_column(model, pixels)
    np.testing.assert_allclose(bounds["neg_elbo"], bounds["kl"] + bounds["recon"])
    assert np.all(bounds["iw_nll"] <= bounds["neg_elbo"] + 0.05)                  # L_k >= ELBO
    assert np.all(exact["exact_nll"] <= bounds["iw_nll"] + 0.05)                  # log p(x) >= L_k
    with torch.inference_mode():                                                  # seeded: repeatable
        np.testing.assert_array_equal(bound_columns(model, pixels, iw_k=200)["iw_nll"], bounds["iw_nll"])


def examples_on(runner, data=MNIST):
    explorer, truth = ExplorerState(), GroundTruthState()
    ExplorerWork(explorer, InlineRunner(), InlineRunner())
    work = GroundTruthWork(explorer, truth, InlineRunner(), runner, InlineRunner())
    work.set_data(data, update=False)
    explorer.messages_sent = []
    explorer.events.message.connect(explorer.messages_sent.append)
    return explorer, truth, work


class ChunkRunner:
    """Runs everything at once except the table's chunks, which wait for the test."""

    def __init__(self):
        self.chunks = []
        self.inline = InlineRunner()

    def submit(self, slot, fn, on_done, *, priority=10, on_error=None):
        if slot == TABLE:
            self.chunks.append((fn, on_done))
        else:
            self.inline.submit(slot, fn, on_done, priority=priority, on_error=on_error)

    def cancel(self, slot):
        pass

    def run_chunk(self):
        fn, on_done = self.chunks.pop(0)
        with torch.inference_mode():
            on_done(fn())


def test_the_table_fills_chunk_by_chunk_and_a_new_model_stops_it(make_model, no_data, monkeypatch):
    import latentlab.app.ground_truth_work as work_module

    monkeypatch.setattr(work_module, "EXAMPLE_LIMIT", 12)
    monkeypatch.setitem(work_module.CHUNK_ROWS, "bounds", 5)
    monkeypatch.setitem(work_module.CHUNK_ROWS, "exact", 6)
    runner = ChunkRunner()
    explorer, truth, work = examples_on(runner)
    explorer.set_model(make_model(2))
    assert truth.examples is not None and truth.table is None          # not on screen: not computed
    truth.set_table_wanted(True)
    work.start_table_if_wanted()
    table = truth.table
    assert table.rows == 12 and truth.progress.phase == "bounds"
    runner.run_chunk()
    assert np.isfinite(table.values["neg_elbo"][:5]).all() and np.isnan(table.values["neg_elbo"][5:]).all()
    assert truth.progress.text() == "-ELBO, KL and IW-NLL: 5 of 12 images…"
    runner.run_chunk(), runner.run_chunk()
    assert truth.progress.phase == "exact" and np.isfinite(table.values["iw_nll"]).all()
    runner.run_chunk()
    assert np.isfinite(table.values["exact_nll"][:6]).all() and np.all(table.values["gap"][:6] > -0.05)
    late_fn, late_done = runner.chunks.pop(0)
    with torch.inference_mode():
        late = late_fn()                                                # done just before...
    explorer.set_model(make_model(2, seed=5))                           # ...a new model: a new table
    late_done(late)                                                     # the old model's chunk, late
    assert truth.table is not table and np.isnan(truth.table.values["exact_nll"]).all()
    from latentlab.app.interrupt import Interrupted

    with torch.inference_mode(), pytest.raises(Interrupted):
        late_fn()                                                       # still running: it would stop
    work.cancel_table()
    assert truth.progress.phase == "cancelled"


def test_a_snapshot_of_the_same_run_marks_the_table_stale_instead(make_model, no_data, monkeypatch):
    import latentlab.app.ground_truth_work as work_module

    monkeypatch.setattr(work_module, "EXAMPLE_LIMIT", 3)
    explorer, truth, work = examples_on(InlineRunner())
    explorer.set_model(make_model(2))
    truth.set_table_wanted(True)
    work.start_table_if_wanted()
    assert truth.progress.phase == "done" and np.isfinite(truth.table.values["gap"]).all()
    table = truth.table
    explorer.set_model(make_model(2, seed=4), reset_view=False)
    assert truth.table is table and truth.progress.phase == "stale"


def test_picking_a_row_or_a_scatter_point_encodes_that_test_image(make_model, no_data, shipped):
    explorer, truth, work = examples_on(HeldAll(), data=shipped.data)
    explorer.set_model(shipped.model, shipped.extras)
    work.select_example(7)
    encoding = explorer.encodings[EXAMPLE]
    assert encoding.name == "test image 7 (9)" and np.array_equal(encoding.pixels, truth.examples.pixels[7])
    first = truth.picture
    assert truth.selected_name == "test image 7 (9)" and first.coarse
    u, v = explorer.plane.project(explorer.scatter.means[42:43])[0]
    assert work.pick_scatter_point(u + 0.001, v, (0.01, 0.01))
    assert list(explorer.encodings) == [EXAMPLE] and explorer.encodings[EXAMPLE].name == "test image 42 (4)"
    assert truth.selected_name == "test image 42 (4)" and truth.picture is not first    # another image
    assert explorer.messages_sent[-1].startswith("Encoded test image 42 (4)")
    far = explorer.scatter.means.max(0) + 1
    assert not work.pick_scatter_point(*far, (0.01, 0.01))
    u, v = explorer.plane.project(explorer.scatter.means[500:501])[0]   # not among the 100 samples
    assert not work.pick_scatter_point(u, v, (1e-4, 1e-4))
    explorer.set_scatter_visible(False)
    assert not work.pick_scatter_point(*explorer.plane.project(explorer.scatter.means[3:4])[0], (0.01, 0.01))


class HeldAll:
    """A runner that never runs anything (the picking test needs no pictures)."""

    def submit(self, *args, **kwargs):
        pass

    def cancel(self, slot):
        pass
