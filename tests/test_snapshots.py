"""Training replay snapshots (core/snapshots.py): written per epoch, bounded, safe to read."""

from __future__ import annotations

import io
import pickle

import pytest
import torch

from latentlab import load_checkpoint
from latentlab.core import pipeline
from latentlab.core.models import VAE, VAEConfig
from latentlab.core.session import SessionEvent, TrainingSession
from latentlab.core.snapshots import (MAX_SNAPSHOTS, ReplayWriter, SnapshotError, kept_epochs, list_snapshots,
                                      load_snapshot, model_at, replay_dir, snapshot_path)
from latentlab.core.trainer import TrainConfig

SPEC = pipeline.DataSpec(dataset="mnist")
MODEL = VAEConfig(latent_dim=2, hidden_sizes=(32,))


def run(tiny_data_root, out, resume=None, replay=True, **cfg):
    config = TrainConfig(**{"epochs": 2, "batch_size": 16, "device": "cpu", **cfg})
    options = dict(data_dir=tiny_data_root, download=False, replay=replay)
    if resume is None:
        session = TrainingSession.new(SPEC, MODEL, config, out, **options)
    else:
        session = TrainingSession.resume(load_checkpoint(resume), out, {"epochs": cfg["epochs"]}, **options)
    assert session.run() == "finished"
    return session


def test_a_run_keeps_one_snapshot_per_epoch_beside_its_checkpoint(tiny_data_root, tmp_path):
    out = tmp_path / "run" / "model.pt"
    run(tiny_data_root, out)
    folder = replay_dir(out)
    assert folder == tmp_path / "run" / "model.replay"
    assert [e for e, _ in list_snapshots(folder)] == [0, 1, 2]       # the untrained model, then every epoch
    ckpt = load_checkpoint(out)
    last = load_snapshot(snapshot_path(folder, 2), ckpt.model)
    assert last.epoch == 2 and last.step == ckpt.trainer_state["step"]
    assert all(v.dtype == torch.float16 for v in last.weights.values())
    assert last.means.shape == (100, 2) and list(last.labels[:5]) == ckpt.extras["scatter_labels"][:5].tolist()
    # The last snapshot is the final model, to float16 precision.
    model = model_at(last, ckpt.model)
    for k, v in ckpt.model.state_dict().items():
        assert torch.allclose(model.state_dict()[k], v, atol=2e-3, rtol=2e-3), k
    first = model_at(load_snapshot(snapshot_path(folder, 0), ckpt.model), ckpt.model)
    assert any(not torch.allclose(a, b) for a, b in zip(first.state_dict().values(), model.state_dict().values()))


def test_no_replay_writes_none(tiny_data_root, tmp_path):
    out = tmp_path / "model.pt"
    run(tiny_data_root, out, replay=False)
    assert out.is_file() and not replay_dir(out).exists()


def test_a_resumed_run_continues_its_replay_folder(tiny_data_root, tmp_path):
    out = tmp_path / "model.pt"
    run(tiny_data_root, out, epochs=1)
    run(tiny_data_root, out, resume=out, epochs=3)
    assert [e for e, _ in list_snapshots(replay_dir(out))] == [0, 1, 2, 3]


def test_a_resume_from_an_earlier_epoch_drops_the_discarded_future(tmp_path):
    folder = tmp_path / "m.replay"
    writer = ReplayWriter(folder)
    model = VAE(MODEL)
    scatter = {"scatter_means": torch.zeros(4, 2), "scatter_labels": torch.arange(4), "label_names": []}
    for epoch in range(5):
        writer.write(epoch, epoch * 10, model, scatter)
    (folder / ".epoch-000005.pt.123.tmp").write_bytes(b"half")     # a killed write's leftover
    ReplayWriter(folder).start(2)
    assert [e for e, _ in list_snapshots(folder)] == [0, 1, 2]
    assert sorted(p.name for p in folder.iterdir()) == ["epoch-000000.pt", "epoch-000001.pt", "epoch-000002.pt"]


def test_thinning_keeps_the_bound_and_the_first_and_last_epochs():
    kept = list(range(1, MAX_SNAPSHOTS + 1))
    assert kept_epochs(kept) == kept                   # every epoch up to the cap
    for epoch in range(MAX_SNAPSHOTS + 1, 1000):       # applied after each epoch, as the writer does
        kept = kept_epochs(kept + [epoch])
        assert len(kept) == MAX_SNAPSHOTS and kept[0] == 1 and kept[-1] == epoch
    gaps = [b - a for a, b in zip(kept, kept[1:])]
    assert max(gaps) <= 2 * min(gaps) + 1              # spread evenly, not bunched at one end
    assert kept_epochs([5, 1, 3], cap=2) == [1, 5]


def test_the_writer_keeps_at_most_its_cap_of_files(tmp_path):
    writer = ReplayWriter(tmp_path / "r", cap=4)
    model = VAE(MODEL)
    scatter = {"scatter_means": torch.zeros(3, 2), "scatter_labels": None, "label_names": []}
    for epoch in range(10):
        writer.write(epoch, epoch, model, scatter)
    kept = []
    for epoch in range(10):
        kept = kept_epochs(kept + [epoch], 4)
    assert [e for e, _ in list_snapshots(tmp_path / "r")] == kept == [0, 4, 7, 9]
    assert len(list((tmp_path / "r").iterdir())) == 4


def _snapshot_file(tmp_path, **changes):
    model = VAE(MODEL)
    ReplayWriter(tmp_path).write(1, 5, model, {"scatter_means": torch.zeros(3, 2), "scatter_labels": torch.arange(3),
                                               "label_names": ["a"]})
    path = snapshot_path(tmp_path, 1)
    if changes:
        payload = torch.load(path, weights_only=True)
        payload.update(changes)
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        path.write_bytes(buffer.getvalue())
    return path, model


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "not a readable replay snapshot"),
    (lambda p: p.write_bytes(b"hello"), "not a readable replay snapshot"),
])
def test_a_damaged_snapshot_is_named(tmp_path, damage, words):
    path, model = _snapshot_file(tmp_path)
    damage(path)
    with pytest.raises(SnapshotError, match=words) as info:
        load_snapshot(path, model)
    assert str(path) in str(info.value)


def test_a_foreign_or_mismatched_snapshot_is_refused_by_name(tmp_path):
    path, model = _snapshot_file(tmp_path, format="something-else")
    with pytest.raises(SnapshotError, match="does not say it is one"):
        load_snapshot(path)
    path, model = _snapshot_file(tmp_path)
    other = VAE(VAEConfig(latent_dim=3, hidden_sizes=(32,)))
    with pytest.raises(SnapshotError, match="another model") as info:
        load_snapshot(path, other)
    assert str(path) in str(info.value)
    path, model = _snapshot_file(tmp_path, scatter_means=torch.zeros(3))
    with pytest.raises(SnapshotError, match="scatter_means"):
        load_snapshot(path, model)


class _Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_snapshot_that_names_code_is_refused_never_run(tmp_path, capsys):
    path = tmp_path / "epoch-000001.pt"
    path.write_bytes(pickle.dumps({"format": "latentlab-replay", "x": _Boom()}, protocol=2))
    with pytest.raises(SnapshotError, match="not a readable replay snapshot"):
        load_snapshot(path)
    assert "must never run" not in capsys.readouterr().out


def test_a_failed_replay_write_is_reported_and_training_goes_on(tiny_data_root, tmp_path):
    out = tmp_path / "model.pt"
    replay_dir(out).write_text("a file where the folder should be")
    session = TrainingSession.new(SPEC, MODEL, TrainConfig(epochs=1, batch_size=16, device="cpu"), out,
                                  data_dir=tiny_data_root, download=False)
    events = []
    session.add_listener(events.append)
    assert session.run() == "finished" and out.is_file()
    failed = [e for e in events if isinstance(e, SessionEvent) and e.kind == "replay_failed"]
    assert failed and str(replay_dir(out)) in failed[0].message
