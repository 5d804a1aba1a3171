"""What each section of a checkpoint may hold: the validation behind `load_checkpoint`.

`torch.load(weights_only=True)` guarantees that a file holds only tensors and plain containers, not
that they have the right shape: a file edited by hand, cut short by a bug or sent by a stranger
can put a string where an epoch count belongs, and that used to surface as a traceback in
whichever caller touched it first (the app, `eval`, `train --resume`). So every section is checked
here, once, on load. A bad field raises `FieldError` naming it (`trainer_state.epoch`);
checkpoint.py adds the file's path. What passes comes back as clean plain values in the shapes the
writers produce (`trainer.History.to_dict`, `pipeline.scatter_extras`, ...): callers need no checks.

Compatibility: every checkpoint written so far passes (the tests load those of `trained/` and
one written by the trainer). The settings sections (`model_config`, `train_config`, `data`) are
read by their dataclasses, with the config base's one policy: a key they do not know is refused
by name (a change that older versions cannot read raises the format version, which is refused
first); a missing key takes its default, so older files open. Sections that are records rather
than settings (`trainer_state`, `extras`, `history`) keep keys they do not know, uninterpreted.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

import torch

from .config import SettingError
from .history import EPOCH_COLUMNS, STEP_COLUMNS
from .m2 import M2Config, SemiSupervised, build_semi_supervised
from .models import VAE, VAEConfig
from .pipeline import DataSpec
from .training_config import TrainConfig


class FieldError(ValueError):
    """A checkpoint field has the wrong type or value; `field` is its dotted name."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"field {field} {problem}")


# -- small checks ---------------------------------------------------------------------------------
def describe(value: Any) -> str:
    """A short description of a bad value for an error message (never a 10,000-item dump)."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        kind = f"{'sparse ' if value.layout != torch.strided else ''}{dtype}"
        where = "" if value.device.type == "cpu" else f" on the {value.device.type} device"
        return f"{'an' if kind[0] in 'aeio' else 'a'} {kind} tensor of shape {tuple(value.shape)}{where}"
    if isinstance(value, dict):
        return f"a mapping with {len(value)} entries"
    text = repr(value)
    if isinstance(value, (list, tuple)) and len(text) > 40:
        return f"a list of {len(value)} items"
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(field: str, expected: str, value: Any) -> NoReturn:
    raise FieldError(field, f"must be {expected}, got {describe(value)}")


def _mapping(value: Any, field: str) -> dict:
    """A section that may be absent: None means empty (older writers stored None for 'nothing')."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(field, "a mapping", value)
    return value


def _int(value: Any, field: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool)
            and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)):
        if maximum is not None:
            _fail(field, f"an integer from {minimum} to {maximum}", value)
        names = {0: "a non-negative integer", 1: "a positive integer", None: "an integer"}
        _fail(field, names.get(minimum, f"an integer of at least {minimum}"), value)
    return value


def _float(value: Any, field: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """A finite number (an int is fine: JSON-ish writers drop the .0) within optional bounds."""
    number = math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range
            pass
    ok = math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        if high is not None:
            _fail(field, f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}", value)
        if low == 0:
            _fail(field, "a positive number" if low_open else "a non-negative number", value)
        _fail(field, "a finite number", value)
    return number


def _str(value: Any, field: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or (choices is not None and value not in choices):
        _fail(field, f"one of {', '.join(choices)}" if choices else "a string", value)
    return value


def _str_list(value: Any, field: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        _fail(field, "a list of strings", value)
    return list(value)


def _positive_ints(value: Any, field: str, length: int | None = None) -> list[int]:
    ok = isinstance(value, (list, tuple)) and (length is None or len(value) == length) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    if not ok:
        _fail(field, f"a list of {length} positive integers" if length else "a list of positive integers", value)
    return list(value)


def _betas(value: Any, field: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        _fail(field, "a list of two numbers in [0, 1)", value)
    return [_float(b, field, low=0, high=1, high_open=True) for b in value]


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        _fail(field, "true or false", value)
    return value


def _tensor(value: Any, field: str, expected: str) -> torch.Tensor:
    """An ordinary (dense, CPU) tensor. A meta, sparse or quantized tensor passes weights_only
    loading but fails later in whichever operation touches it."""
    if not isinstance(value, torch.Tensor) or value.layout != torch.strided or value.is_quantized \
            or value.device.type != "cpu":
        _fail(field, expected, value)
    return value


def _is_real(t: torch.Tensor) -> bool:
    return not (t.is_complex() or t.dtype == torch.bool)


def _numbers(value: Any, field: str, expected: str) -> torch.Tensor:
    """A tensor or a (nested) list of real numbers, as float64."""
    if isinstance(value, torch.Tensor):
        t = _tensor(value, field, expected)
        if not _is_real(t):
            _fail(field, expected, value)
        return t.to(torch.float64)
    if not isinstance(value, (list, tuple)):
        _fail(field, expected, value)
    stack = [value]
    while stack:  # every leaf must be a number: torch.tensor would accept bools and give odd errors
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            _fail(field, expected, value)
    try:
        return torch.tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError, OverflowError):  # ragged lists, huge ints
        _fail(field, expected, value)


# -- the sections ---------------------------------------------------------------------------------
# model_config, train_config and data are checked by their own dataclasses (core/config.py): the
# ranges and vocabularies live there, once, and their errors name the field.
HISTORY_COLUMNS = {"steps": STEP_COLUMNS, "epochs": EPOCH_COLUMNS}

TRAINER_STATE_FIELDS = {
    "epoch": lambda v, f: _int(v, f, 0),
    "step": lambda v, f: _int(v, f, 0),
    "batch_in_epoch": lambda v, f: _int(v, f, 0),
    "run_id": _str,
    "diverged": lambda v, f: _fields(v, f, {"step": lambda w, g: _int(w, g, 0),
                                            "lr": lambda w, g: _float(w, g, low=0, low_open=True)}),
}


def _config(cls, value: Any, section: str, optional: bool):
    """A config section through its dataclass: (clean dict, typed config or None when empty)."""
    d = _mapping(value if value is not None or not optional else {}, section)
    if not d and optional:
        return {}, None    # a model saved without a run (save_checkpoint(path, model))
    try:
        config = cls.from_dict(d)
    except SettingError as e:
        raise FieldError(f"{section}.{e.field}", e.problem) from e
    except (TypeError, ValueError) as e:
        raise FieldError(section, f"is invalid: {e}") from e
    return config.to_dict(), config


def _fields(value: Any, section: str, checks: dict) -> dict:
    """Check the known keys of a flat section; unknown keys are kept as read."""
    d = _mapping(value, section)
    return {k: checks[k](v, f"{section}.{k}") if k in checks else v for k, v in d.items()}


MODEL_KINDS = ("vae", "m2", "m1m2")


def validate_model_kind(value: Any) -> str:
    """Which model the file holds: "vae" (also when absent: files from before M2), "m2" or "m1m2"."""
    return "vae" if value is None else _str(value, "model_kind", MODEL_KINDS)


def validate_model_config(value: Any, kind: str = "vae") -> tuple[dict, VAEConfig | M2Config, VAE | SemiSupervised]:
    """The config as a dict, the config object, and a weightless model (on the meta device) to
    check the weights against: building it allocates nothing, however large the config claims."""
    if value is None:
        raise FieldError("model_config", "is missing")
    d, config = _config(VAEConfig if kind == "vae" else M2Config, value, "model_config", optional=False)
    if kind != "vae" and config.kind != kind:
        raise FieldError("model_config", f"describes an {config.kind} model, but model_kind says {kind}")
    try:
        with torch.device("meta"):
            skeleton = VAE(config) if kind == "vae" else build_semi_supervised(config)
    except (TypeError, ValueError, RuntimeError) as e:
        raise FieldError("model_config", f"is invalid: {e}") from e
    return d, config, skeleton


def validate_state_dict(value: Any, skeleton: VAE) -> dict:
    """The weights: exactly the model's entries, floating-point tensors of the model's shapes."""
    if value is None:
        raise FieldError("state_dict", "is missing")
    sd = _mapping(value, "state_dict")
    expected = skeleton.state_dict()
    missing = [k for k in expected if k not in sd]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise FieldError("state_dict", f"lacks {missing[0]}{more}, which model_config needs")
    for key, t in sd.items():
        field = f"state_dict.{key}"
        if key not in expected:
            raise FieldError(field, "is not a weight of the model that model_config describes")
        want = f"a floating-point tensor of shape {tuple(expected[key].shape)}"
        _tensor(t, field, want)
        if not t.is_floating_point() or t.shape != expected[key].shape:
            _fail(field, want, t)
    return dict(sd)


def validate_train_config(value: Any) -> dict:
    return _config(TrainConfig, value, "train_config", optional=True)[0]


def validate_data(value: Any) -> dict:
    return _config(DataSpec, value, "data", optional=True)[0]


def validate_trainer_state(value: Any) -> dict:
    return _fields(value, "trainer_state", TRAINER_STATE_FIELDS)


def validate_history(value: Any) -> dict:
    """Curves: `steps` and `epochs` map column names to 1-D float64 tensors, one length per group;
    `epoch_kl_per_dim` is (epochs, latent_dim), or empty when there was no validation set.

    A known column missing from a non-empty group (a file written before the column existed, or
    by hand) is filled with NaN, so every curve the app plots has as many points as its x axis.
    """
    h = dict(_mapping(value, "history"))
    for group, known in HISTORY_COLUMNS.items():
        if group not in h:
            continue
        columns, first = {}, None
        for name, column in _mapping(h[group], f"history.{group}").items():
            if not isinstance(name, str):
                raise FieldError(f"history.{group}", f"must map column names to curves, got the key {describe(name)}")
            field = f"history.{group}.{name}"
            t = _numbers(column, field, "a 1-D list or tensor of numbers")
            if t.dim() != 1:
                _fail(field, "a 1-D list or tensor of numbers", column)
            if first is None:
                first = name
            elif len(t) != len(columns[first]):
                raise FieldError(field, f"must have as many values as history.{group}.{first} "
                                        f"({len(columns[first])}), got {len(t)}")
            columns[name] = t
        if columns:
            n = len(columns[first])
            columns.update({c: torch.full((n,), math.nan, dtype=torch.float64) for c in known if c not in columns})
        h[group] = columns
    if h.get("epoch_kl_per_dim") is not None:
        kl = h["epoch_kl_per_dim"]
        expected = "a 2-D list or tensor of numbers (epochs x latent dimensions), or empty"
        t = _numbers(kl, "history.epoch_kl_per_dim", expected)
        if t.numel() and t.dim() != 2:
            _fail("history.epoch_kl_per_dim", expected, kl)
        h["epoch_kl_per_dim"] = t
    return h


_ADAM_GROUP_FIELDS = {  # the group settings Adam reads on every step (lr, weight_decay are reset on resume)
    "lr": lambda v, f: _float(v, f, low=0),
    "eps": lambda v, f: _float(v, f, low=0),
    "weight_decay": lambda v, f: _float(v, f, low=0),
    "betas": _betas,
    "amsgrad": _bool,
    "maximize": _bool,
}



def validate_optimizer(value: Any, skeleton: VAE) -> dict | None:
    """Adam's state for resume, or None. Its groups must list as many parameters as the model has
    and each moment estimate must have its parameter's shape: otherwise loading it succeeds and
    the first training step fails on the training thread."""
    if value is None:
        return None
    opt = _mapping(value, "optimizer")
    if "state" not in opt or "param_groups" not in opt:
        raise FieldError("optimizer", "must be None or an optimizer state with 'state' and 'param_groups'")
    state = _mapping(opt["state"], "optimizer.state")
    groups = opt["param_groups"]
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) for g in groups):
        _fail("optimizer.param_groups", "a list of mappings", groups)
    ids: list[int] = []
    for i, group in enumerate(groups):
        field = f"optimizer.param_groups.{i}"
        params = group.get("params")
        if not isinstance(params, (list, tuple)) or not all(
                isinstance(p, int) and not isinstance(p, bool) for p in params):
            _fail(f"{field}.params", "a list of parameter indices", params)
        ids.extend(params)
        for key, check in _ADAM_GROUP_FIELDS.items():
            if key in group:
                check(group[key], f"{field}.{key}")
    shapes = [p.shape for p in skeleton.parameters()]
    if len(ids) != len(shapes) or len(set(ids)) != len(ids):
        raise FieldError("optimizer.param_groups",
                         f"must list the model's {len(shapes)} parameters once each, got {len(ids)} entries")
    shape_of = dict(zip(ids, shapes))  # how torch pairs them: in order, group by group
    for key, entry in state.items():
        field = f"optimizer.state.{key}"
        if key not in shape_of:
            raise FieldError(field, "belongs to no parameter listed in optimizer.param_groups")
        for name, t in _mapping(entry, field).items():
            if isinstance(t, torch.Tensor):
                _tensor(t, f"{field}.{name}", "an ordinary tensor")
                if t.dim() > 0 and t.shape != shape_of[key]:
                    _fail(f"{field}.{name}", f"a tensor of shape {tuple(shape_of[key])}", t)
    return opt


def validate_extras(value: Any, latent_dim: int) -> dict:
    """What the app shows without the data set: the encoded test means (N, latent_dim) as float32,
    their labels (N,) as int64 (-1 = unlabelled) and the label names. Other keys are kept."""
    ex = dict(_mapping(value, "extras"))
    means = ex.get("scatter_means")
    if means is not None:
        want = f"a floating-point tensor of shape (N, {latent_dim})"
        _tensor(means, "extras.scatter_means", want)
        if not means.is_floating_point() or means.dim() != 2 or means.shape[1] != latent_dim:
            _fail("extras.scatter_means", want, means)
        ex["scatter_means"] = means.float()
    labels = ex.get("scatter_labels")
    if labels is not None:
        n = "N" if means is None else len(means)
        want = f"an integer tensor of shape ({n},)" + ("" if means is None else ", one label per scatter mean")
        _tensor(labels, "extras.scatter_labels", want)
        if labels.is_floating_point() or not _is_real(labels) or labels.dim() != 1 \
                or (means is not None and len(labels) != len(means)):
            _fail("extras.scatter_labels", want, labels)
        if labels.numel() and labels.min() < -1:
            raise FieldError("extras.scatter_labels", f"must hold labels >= -1 (-1: unlabelled), "
                                                      f"got {int(labels.min())}")
        ex["scatter_labels"] = labels.long()
    if ex.get("label_names") is not None:
        ex["label_names"] = _str_list(ex["label_names"], "extras.label_names")
    return ex


def validate_payload(payload: dict) -> dict:
    """Every section of a loaded checkpoint, checked and cleaned (format and version are checked
    by the reader first). Raises FieldError for the first bad field."""
    clean = dict(payload)
    if payload.get("latentlab_version") is not None:
        clean["latentlab_version"] = _str(payload["latentlab_version"], "latentlab_version")
    clean["model_kind"] = validate_model_kind(payload.get("model_kind"))
    clean["model_config"], config, skeleton = validate_model_config(payload.get("model_config"),
                                                                    clean["model_kind"])
    clean["state_dict"] = validate_state_dict(payload.get("state_dict"), skeleton)
    clean["train_config"] = validate_train_config(payload.get("train_config"))
    clean["data"] = validate_data(payload.get("data"))
    clean["history"] = validate_history(payload.get("history"))
    clean["optimizer"] = validate_optimizer(payload.get("optimizer"), skeleton)
    clean["trainer_state"] = validate_trainer_state(payload.get("trainer_state"))
    clean["extras"] = validate_extras(payload.get("extras"), config.latent_dim)
    return clean
