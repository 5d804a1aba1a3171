"""One base for every settings dataclass (model, training, data): plain-JSON round trips,
validation from field metadata, and the ranges the CLI and the training panel are built from.

A field says what it accepts in its metadata, once:

    latent_dim: int = setting(2, "latent dimension", min=1, max=256)
    architecture: str = setting("mlp", "network body", choices=ARCHITECTURES)

and from that (a) `Config.__post_init__` checks every value and raises ValueError naming the
field and its allowed range, (b) `latentlab train` builds its flags (type, choices, default shown
once in --help, the range checked by argparse), and (c) the training panel sets its spin-box
ranges. So a default or a vocabulary is written in one place.

Unknown keys: one policy everywhere. `from_dict` refuses keys it does not know, naming them: a
checkpoint carries a format version (a newer format is refused before we get here), so within
one format an unknown key means a damaged or foreign file, never something to silently drop.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import MISSING, dataclass
from typing import Any, ClassVar


def setting(default: Any, help: str = "", *, min: float | None = None, max: float | None = None,
            choices: tuple | None = None, min_exclusive: bool = False, flag: str | None = None,
            default_factory=MISSING) -> Any:
    """A dataclass field with what it accepts. `flag` is the CLI name when it is not the field's."""
    metadata = {"help": help, "min": min, "max": max, "choices": choices, "min_exclusive": min_exclusive,
                "flag": flag}
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Limits:
    """What one setting accepts (from its field metadata)."""

    name: str
    kind: type
    min: float | None
    max: float | None
    choices: tuple | None
    min_exclusive: bool

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.min is not None and self.max is not None:
            if self.min_exclusive:
                return f"greater than {_num(self.min)} and at most {_num(self.max)}"
            return f"between {_num(self.min)} and {_num(self.max)}"
        if self.min is not None:
            return f"greater than {_num(self.min)}" if self.min_exclusive else f"at least {_num(self.min)}"
        if self.max is not None:
            return f"at most {_num(self.max)}"
        return "any value"

    def check(self, value: Any) -> Any:
        """The value converted to the field's type; ValueError (without the field's name) if not allowed."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {value!r}")
            return value
        if self.kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"must be a number, got {value!r}")
            if self.kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError(f"must be a whole number, got {value!r}")
                value = int(value)
            else:
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError(f"must be a finite number, got {value!r}")
            too_low = self.min is not None and (value <= self.min if self.min_exclusive else value < self.min)
            too_high = self.max is not None and value > self.max
            if too_low or too_high:
                raise ValueError(f"must be {self.describe()}, got {_num(value)}")
            return value
        if self.kind is str:
            if not isinstance(value, str):
                raise ValueError(f"must be a string, got {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"must be {self.describe()}, got {value!r}")
        return value


class SettingError(ValueError):
    """A setting's value is not allowed; `field` names it, `problem` says why ("must be ...")."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field} {problem}")


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


_KINDS = {"int": int, "float": float, "str": str, "bool": bool}


class Config:
    """Base of the settings dataclasses. Subclasses are @dataclass'es whose fields use `setting`."""

    # What the section is called in messages ("model settings", "training settings", ...).
    section: ClassVar[str] = "settings"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            limits = self.limits(f.name)
            if limits is None:
                continue
            value = getattr(self, f.name)
            if value is None and _optional(f):
                continue
            try:
                object.__setattr__(self, f.name, limits.check(value))
            except ValueError as e:
                raise SettingError(f.name, str(e)) from None
        try:
            self.validate()
        except SettingError:
            raise
        except ValueError as e:   # validate() says "image_shape must be ...": the field leads
            field, _, problem = str(e).partition(" ")
            raise SettingError(field if field in self.__dataclass_fields__ else self.section,
                               problem if field in self.__dataclass_fields__ else str(e)) from None

    def validate(self) -> None:
        """Checks that involve several fields; subclasses override."""

    @classmethod
    def limits(cls, name: str) -> Limits | None:
        """What field `name` accepts, or None for a field with no scalar type (tuples, say)."""
        f = {f.name: f for f in dataclasses.fields(cls)}[name]
        kind = _KINDS.get(_base_type(f.type))
        if kind is None:
            return None
        m = f.metadata
        return Limits(name, kind, m.get("min"), m.get("max"), m.get("choices"), bool(m.get("min_exclusive")))

    @classmethod
    def default(cls, name: str) -> Any:
        f = {f.name: f for f in dataclasses.fields(cls)}[name]
        return f.default_factory() if f.default_factory is not MISSING else f.default

    @classmethod
    def help(cls, name: str) -> str:
        f = {f.name: f for f in dataclasses.fields(cls)}[name]
        return f.metadata.get("help", "")

    def to_dict(self) -> dict:
        """Plain JSON values (tuples become lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict):
        if not isinstance(d, dict):
            raise ValueError(f"{cls.section} must be a mapping, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SettingError(unknown[0], f"is not one of the {cls.section} (unknown: {unknown})")
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _base_type(annotation: Any) -> str:
    """'int' from 'int', 'int | None', int; '' for containers."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = [p.strip() for p in text.split("|") if p.strip() != "None"]
    return parts[0] if len(parts) == 1 else ""


def _optional(f: dataclasses.Field) -> bool:
    text = f.type if isinstance(f.type, str) else str(f.type)
    return "None" in text
