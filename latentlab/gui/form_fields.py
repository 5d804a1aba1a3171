"""The training panel's fields: spin boxes whose range and default come from a config field,
combo boxes of (label, value), and the two texts the panel reads and writes (hidden sizes, a
duration)."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox

from latentlab.core.models import MAX_LAYER_WIDTH


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def parse_hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1 or max(sizes) > MAX_LAYER_WIDTH:
        raise ValueError(f"Hidden sizes must be whole numbers from 1 to {MAX_LAYER_WIDTH} separated by commas, "
                         f"e.g. 512, 512 (got {text!r}).")
    return sizes


def spin(lo, hi, value, step=None, decimals=None, suffix="") -> QSpinBox | QDoubleSpinBox:
    """A spin box set up in the order that keeps `value` exact (decimals and range first)."""
    box = QDoubleSpinBox() if decimals is not None else QSpinBox()
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(lo, hi)
    if step is not None:
        box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setValue(value)
    return box


def setting_spin(cls, name: str, step=None, decimals=None, suffix="", hi=None):
    """A spin box whose range and default are the config field's (see core/config.py)."""
    lim = cls.limits(name)
    return spin(lim.min, hi if hi is not None else lim.max, cls.default(name), step, decimals, suffix)


def combo(items) -> QComboBox:
    box = QComboBox()
    for label, value in items:
        box.addItem(label, value)
    return box


def select(box: QComboBox, value) -> None:
    index = box.findData(value)
    if index >= 0:
        box.setCurrentIndex(index)

