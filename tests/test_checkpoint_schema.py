"""Every section of a checkpoint is validated on load: a bad field gives one CheckpointError that
names the file and the field, and what loads is clean enough for every caller.

The bad files are made the way they happen: a valid checkpoint written by the trainer, its payload
edited (torch.load weights_only, mutate, torch.save).
"""

import math
from pathlib import Path

import pytest
import torch

from latentlab import CheckpointError, VAEConfig, load_checkpoint
from latentlab.core import checkpoint_schema as schema
from latentlab.core import pipeline
from latentlab.core.checkpoint import read_payload
from latentlab.core.datasets import ImageDataset
from latentlab.core.session import TrainingSession, resumed_config
from latentlab.core.trainer import (
    EPOCH_COLUMNS,
    STEP_COLUMNS,
    History,
    TrainConfig,
    Trainer,
)

LATENT_DIM = 3
N_IMAGES = 48
TRAINED = Path(__file__).resolve().parents[1] / "trained"


def _images():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (N_IMAGES, 1, 28, 28), dtype=torch.uint8, generator=g)
    return ImageDataset("mnist", images, torch.arange(N_IMAGES) % 10, [str(d) for d in range(10)])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A checkpoint as latentlab writes one today: a TrainingSession's final save after a short run
    (the scatter extras of pipeline.scatter_extras, the data info and the run id of the session)."""
    data = _images()
    splits = pipeline.Splits(data.subset(slice(0, 40)), data.subset(slice(40, None)), data)
    path = tmp_path_factory.mktemp("written") / "model.pt"
    session = TrainingSession.new(pipeline.DataSpec("mnist"), VAEConfig(latent_dim=LATENT_DIM, hidden_sizes=(16,)),
                                  TrainConfig(epochs=1, batch_size=16, device="cpu"), path)
    session.splits = splits
    assert session.run() == "finished"
    return path


def _edited(src: Path, dst: Path, edit) -> Path:
    payload = torch.load(src, weights_only=True)
    edit(payload)
    torch.save(payload, dst)
    return dst


def _set(dotted: str, value):
    """An edit that sets payload[a][b]... = value (or deletes it when value is _DELETE)."""
    def edit(payload):
        *parents, last = dotted.split(".")
        d = payload
        for key in parents:
            d = d[int(key) if isinstance(d, list) else key]
        if value is _DELETE:
            del d[last]
        else:
            d[int(last) if isinstance(d, list) else last] = value
    return edit


_DELETE = object()
_FIRST_WEIGHT = "encoder.1.0.weight"  # MLP encoder: Flatten, then the Sequential of Linear layers


def _set_weight(value):
    def edit(payload):
        if value is _DELETE:
            del payload["state_dict"][_FIRST_WEIGHT]
        else:
            payload["state_dict"][_FIRST_WEIGHT] = value
    return edit


def _set_opt_state(name, value):
    def edit(payload):
        payload["optimizer"]["state"][0][name] = value
    return edit


def _drop_a_param(payload):
    payload["optimizer"]["param_groups"][0]["params"].pop()


BAD = [  # (id, edit, the field the message must name)
    # top-level types
    ("history-not-a-mapping", _set("history", [1, 2]), "history"),
    ("trainer_state-a-string", _set("trainer_state", "epoch 3"), "trainer_state"),
    ("train_config-a-list", _set("train_config", [0.001]), "train_config"),
    ("data-a-string", _set("data", "mnist"), "data"),
    ("extras-a-list", _set("extras", []), "extras"),
    ("optimizer-a-string", _set("optimizer", "adam"), "optimizer"),
    ("latentlab_version-an-int", _set("latentlab_version", 3), "latentlab_version"),
    # model_config (VAEConfig's own errors are wrapped with the field name)
    ("model_config-missing", _set("model_config", _DELETE), "model_config"),
    ("model_config-a-string", _set("model_config", "vae"), "model_config"),
    ("latent_dim-a-string", _set("model_config.latent_dim", "x"), "model_config.latent_dim"),
    ("latent_dim-too-large", _set("model_config.latent_dim", 300), "model_config.latent_dim"),
    ("hidden_sizes-negative", _set("model_config.hidden_sizes", [16, -1]), "model_config.hidden_sizes"),
    ("image_shape-two-numbers", _set("model_config.image_shape", [28, 28]), "model_config.image_shape"),
    ("likelihood-unknown", _set("model_config.likelihood", "poisson"), "model_config.likelihood"),
    ("model-setting-unknown", _set("model_config.surprise", 1), "model_config.surprise"),
    ("fixed_std-zero", _set("model_config.gaussian_fixed_std", 0.0), "model_config.gaussian_fixed_std"),
    # a config claiming a model of 10^12 weights: checked against the file's weights, nothing allocated
    ("hidden_sizes-huge", _set("model_config.hidden_sizes", [10**9]), "model_config.hidden_sizes"),
    # state_dict
    ("state_dict-missing", _set("state_dict", _DELETE), "state_dict"),
    ("state_dict-a-number", _set("state_dict", 5), "state_dict"),
    ("weight-a-string", _set_weight("w"), f"state_dict.{_FIRST_WEIGHT}"),
    ("weight-wrong-shape", _set_weight(torch.zeros(2, 2)), f"state_dict.{_FIRST_WEIGHT}"),
    ("weight-integers", _set_weight(torch.zeros(16, 784, dtype=torch.long)), f"state_dict.{_FIRST_WEIGHT}"),
    ("weight-on-meta", _set_weight(torch.empty(16, 784, device="meta")), f"state_dict.{_FIRST_WEIGHT}"),
    ("weight-missing", _set_weight(_DELETE), "state_dict"),
    ("weight-extra", _set("state_dict.extra", torch.zeros(1)), "state_dict.extra"),
    # train_config: known keys of the wrong type or range
    ("lr-a-string", _set("train_config.lr", "fast"), "train_config.lr"),
    ("lr-negative", _set("train_config.lr", -0.1), "train_config.lr"),
    ("epochs-zero", _set("train_config.epochs", 0), "train_config.epochs"),
    ("batch_size-a-fraction", _set("train_config.batch_size", 12.5), "train_config.batch_size"),
    ("train-binarize-unknown", _set("train_config.binarize", "sometimes"), "train_config.binarize"),
    ("seed-a-string", _set("train_config.seed", "0"), "train_config.seed"),
    ("beta-nan", _set("train_config.beta", math.nan), "train_config.beta"),
    # data
    ("image_shape-two-numbers", _set("data.image_shape", [1, 28]), "data.image_shape"),
    ("image_shape-a-string", _set("data.image_shape", "1x28x28"), "data.image_shape"),
    ("image_shape-a-zero", _set("data.image_shape", [1, 0, 28]), "data.image_shape"),
    ("dataset-a-number", _set("data.dataset", 5), "data.dataset"),
    ("folder-a-number", _set("data.folder", 3), "data.folder"),
    ("val_fraction-above-1", _set("data.val_fraction", 1.5), "data.val_fraction"),
    ("val_fraction-zero", _set("data.val_fraction", 0), "data.val_fraction"),
    ("data-binarize-unknown", _set("data.binarize", "maybe"), "data.binarize"),
    ("data-label_names-numbers", _set("data.label_names", ["0", 1]), "data.label_names"),
    # history
    ("steps-a-string", _set("history.steps", "x"), "history.steps"),
    ("neg_elbo-a-string", _set("history.steps.neg_elbo", "low"), "history.steps.neg_elbo"),
    ("neg_elbo-list-of-strings", _set("history.steps.neg_elbo", ["1", "2", "3"]), "history.steps.neg_elbo"),
    ("loss-shorter", _set("history.steps.loss", torch.zeros(1)), "history.steps.loss"),
    ("epoch-2d", _set("history.epochs.epoch", torch.zeros(1, 1)), "history.epochs.epoch"),
    ("kl_per_dim-3d", _set("history.epoch_kl_per_dim", torch.zeros(1, 3, 1)), "history.epoch_kl_per_dim"),
    ("kl_per_dim-ragged", _set("history.epoch_kl_per_dim", [[1.0], [1.0, 2.0]]), "history.epoch_kl_per_dim"),
    # optimizer
    ("optimizer-no-param_groups", _set("optimizer.param_groups", _DELETE), "optimizer"),
    ("optimizer-a-param-short", _drop_a_param, "optimizer.param_groups"),
    ("exp_avg-wrong-shape", _set_opt_state("exp_avg", torch.zeros(3)), "optimizer.state.0.exp_avg"),
    ("betas-a-string", _set("optimizer.param_groups.0.betas", "x"), "optimizer.param_groups.0.betas"),
    # trainer_state
    ("epoch-a-string", _set("trainer_state.epoch", "x"), "trainer_state.epoch"),
    ("epoch-negative", _set("trainer_state.epoch", -1), "trainer_state.epoch"),
    ("step-a-float", _set("trainer_state.step", 2.5), "trainer_state.step"),
    ("batch_in_epoch-a-bool", _set("trainer_state.batch_in_epoch", True), "trainer_state.batch_in_epoch"),
    ("run_id-a-number", _set("trainer_state.run_id", 7), "trainer_state.run_id"),
    # extras
    ("scatter_means-wrong-D", _set("extras.scatter_means", torch.zeros(N_IMAGES, LATENT_DIM + 1)),
     "extras.scatter_means"),
    ("scatter_means-1d", _set("extras.scatter_means", torch.zeros(N_IMAGES)), "extras.scatter_means"),
    ("scatter_means-a-string", _set("extras.scatter_means", "means"), "extras.scatter_means"),
    ("scatter_means-sparse", _set("extras.scatter_means", torch.zeros(N_IMAGES, LATENT_DIM).to_sparse()),
     "extras.scatter_means"),
    ("scatter_labels-too-few", _set("extras.scatter_labels", torch.zeros(N_IMAGES - 1, dtype=torch.long)),
     "extras.scatter_labels"),
    ("scatter_labels-floats", _set("extras.scatter_labels", torch.zeros(N_IMAGES)), "extras.scatter_labels"),
    ("scatter_labels-below-minus-1", _set("extras.scatter_labels", torch.full((N_IMAGES,), -2)),
     "extras.scatter_labels"),
    ("label_names-an-int", _set("extras.label_names", 10), "extras.label_names"),
]


@pytest.mark.parametrize("edit, field", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_bad_field_is_refused_with_a_message_naming_the_file_and_the_field(written, tmp_path, edit, field):
    bad = _edited(written, tmp_path / "bad.pt", edit)
    with pytest.raises(CheckpointError) as loading:
        load_checkpoint(bad)
    message = str(loading.value)
    assert message.startswith(f"{bad}: field {field} "), message
    assert "\n" not in message and len(message) < 300
    with pytest.raises(CheckpointError) as reading:
        read_payload(bad)
    assert str(reading.value) == message


def test_the_message_says_what_was_expected_and_what_was_found(written, tmp_path):
    bad = _edited(written, tmp_path / "model.pt", _set("trainer_state.epoch", "x"))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(bad)
    assert str(info.value) == f"{bad}: field trainer_state.epoch must be a non-negative integer, got 'x'"
    long = _edited(written, tmp_path / "long.pt", _set("extras.label_names", list(range(10_000))))
    with pytest.raises(CheckpointError, match=r"field extras.label_names must be a list of strings, "
                                              r"got a list of 10000 items$"):
        load_checkpoint(long)


def test_a_checkpoint_written_today_loads_and_every_caller_can_use_it(written):
    ck = load_checkpoint(written)
    assert ck.model.latent_dim == LATENT_DIM and len(ck.trainer_state.pop("run_id")) == 12
    assert ck.trainer_state == {"epoch": 1, "step": 3, "batch_in_epoch": 0}
    assert ck.data["image_shape"] == [1, 28, 28] and ck.data["label_names"] == [str(d) for d in range(10)]
    assert ck.extras["scatter_means"].shape == (N_IMAGES, LATENT_DIM) and ck.extras["scatter_means"].dtype == torch.float32
    assert ck.extras["scatter_labels"].dtype == torch.int64
    history = History.from_dict(ck.history)
    assert len(history.steps["step"]) == 3 and len(history.epochs["epoch"]) == 1
    assert len(history.epoch_kl_per_dim[0]) == LATENT_DIM
    assert pipeline.DataSpec.from_dict(ck.data).image_shape == (1, 28, 28)
    assert TrainConfig.from_dict(ck.train_config).batch_size == 16
    images = _images().images
    trainer = Trainer.from_checkpoint(ck, images[:40], images[40:],                    # train --resume
                                      resumed_config(ck.train_config, {"epochs": 2}))
    assert trainer.run() == "finished" and trainer.step == 6


@pytest.mark.parametrize("settings", [
    dict(architecture="mlp", likelihood="bernoulli"),
    dict(architecture="conv", likelihood="gaussian", image_shape=(3, 12, 10), conv_channels=(4, 8), conv_hidden=16),
    dict(architecture="mlp", likelihood="gaussian", gaussian_variance="fixed", gaussian_fixed_std=0.2),
], ids=["mlp-bernoulli", "conv-gaussian-learned", "mlp-gaussian-fixed"])
def test_every_architecture_and_decoder_round_trips(tmp_path, settings):
    from latentlab import VAE, save_checkpoint

    model = VAE(latent_dim=2, hidden_sizes=(8,), **settings)
    ck = load_checkpoint(save_checkpoint(tmp_path / "m.pt", model))
    assert ck.model.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), ck.model.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("path", sorted(TRAINED.glob("*.pt")), ids=lambda p: p.name)
def test_every_shipped_model_still_loads(path):
    ck = load_checkpoint(path)
    assert ck.extras["scatter_means"].shape[1] == ck.model.latent_dim
    assert len(ck.extras["scatter_labels"]) == len(ck.extras["scatter_means"])
    history = History.from_dict(ck.history)
    assert len(history.epochs["epoch"]) == ck.trainer_state["epoch"] > 0
    assert len({len(column) for column in history.epochs.values()}) == 1  # aligned, 'seconds' included
    pipeline.DataSpec.from_dict(ck.data)
    TrainConfig.from_dict(ck.train_config)


def test_the_shipped_models_are_all_tested():
    assert len(list(TRAINED.glob("*.pt"))) >= 6


def test_unknown_settings_are_refused_and_unknown_record_keys_kept(written, tmp_path):
    """One policy for settings (the config base's): an unknown key is refused by name. Records
    (history, trainer_state, extras, the top level) keep keys they do not know, uninterpreted."""
    def unknown_setting(payload):
        payload["train_config"]["scheduler"] = {"kind": "cosine"}
    with pytest.raises(CheckpointError, match="field train_config.scheduler is not one of the training settings"):
        load_checkpoint(_edited(written, tmp_path / "setting.pt", unknown_setting))

    def newer_records(payload):
        payload["history"]["notes"] = "x"
        payload["trainer_state"]["rng"] = torch.zeros(3)
        payload["extras"]["thumbnail"] = torch.zeros(8, 8)
        payload["future_section"] = 1
    ck = load_checkpoint(_edited(written, tmp_path / "newer.pt", newer_records))
    assert ck.trainer_state["rng"].shape == (3,) and ck.extras["thumbnail"].shape == (8, 8)
    assert TrainConfig.from_dict(ck.train_config).lr == pytest.approx(1e-3)


def test_loaded_values_are_cleaned_to_the_shapes_the_writers_produce(written, tmp_path):
    def loose(payload):
        payload["train_config"]["lr"] = 1          # an int where a float belongs: fine, made a float
        payload["data"]["image_shape"] = (1, 28, 28)
        payload["history"] = {"steps": {"step": [1, 2], "loss": torch.tensor([3, 2])},  # lists, int tensors
                              "epochs": {"epoch": [1.0]}, "epoch_kl_per_dim": []}
        payload["extras"]["scatter_means"] = payload["extras"]["scatter_means"].half()
        payload["extras"]["scatter_labels"] = payload["extras"]["scatter_labels"].int()
        payload["optimizer"] = None
        payload["trainer_state"] = None            # older writers: None for nothing
    ck = load_checkpoint(_edited(written, tmp_path / "loose.pt", loose))
    assert ck.train_config["lr"] == 1.0 and isinstance(ck.train_config["lr"], float)
    assert ck.data["image_shape"] == [1, 28, 28] and ck.trainer_state == {} and ck.optimizer_state is None
    steps = ck.history["steps"]
    assert set(steps) == set(STEP_COLUMNS) and all(t.dtype == torch.float64 for t in steps.values())
    assert steps["loss"].tolist() == [3.0, 2.0] and math.isnan(steps["kl"][1])  # missing column: NaN
    assert set(ck.history["epochs"]) == set(EPOCH_COLUMNS)
    assert ck.extras["scatter_means"].dtype == torch.float32 and ck.extras["scatter_labels"].dtype == torch.int64
    history = History.from_dict(ck.history)
    assert history.steps["loss"] == [3.0, 2.0] and history.epoch_kl_per_dim == []


def test_the_schema_reads_settings_through_the_config_dataclasses():
    """No second list of fields or ranges: a setting the dataclass refuses is refused by name."""
    assert schema.HISTORY_COLUMNS == {"steps": STEP_COLUMNS, "epochs": EPOCH_COLUMNS}
    assert not hasattr(schema, "TRAIN_CONFIG_FIELDS") and not hasattr(schema, "BINARIZE_MODES")
    with pytest.raises(schema.FieldError, match="field train_config.n_samples must be between 1 and 1000"):
        schema.validate_train_config({"n_samples": 5000})
    with pytest.raises(schema.FieldError, match="field data.bogus is not one of the data settings"):
        schema.validate_data({"dataset": "mnist", "bogus": 1})


def test_latentlab_eval_on_a_bad_checkpoint_prints_one_line_naming_the_field(written, tmp_path, capsys):
    from latentlab.cli import main

    bad = _edited(written, tmp_path / "bad.pt", _set("data.image_shape", [1, 28]))
    assert main(["eval", str(bad), "--no-progress", "--no-download", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"latentlab: error: {bad}: field data.image_shape must be three positive whole " \
                          f"numbers (C, H, W), got [1, 28]"
