"""Axes that show the numbers themselves: no SI-prefix scaling, no powers of ten on a log axis.

By default pyqtgraph rescales an axis whose numbers are very small or large and moves the factor
into the label: a zoomed loss axis reads "0.2 0.4 (x0.001)" and a long run "5 10 15 (x1000)",
and a log axis reads "2·10²". A reader (and a printed figure) should see 137.2, 15000 and 200.
Every plot of latentlab calls `plain_number_axes` once after making it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

SIDES = ("left", "bottom", "right", "top")


def plain_number_axes(plot: pg.PlotItem | pg.PlotWidget) -> None:
    """Turn off the SI-prefix scaling on every axis of `plot` (shown or not), and write the
    ticks of a log axis as plain numbers (500, 0.01) instead of powers of ten."""
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    for side in SIDES:
        axis = item.getAxis(side)
        axis.enableAutoSIPrefix(False)
        axis.logTickStrings = _plain_log_tick_strings   # pyqtgraph's documented override point


def _plain_log_tick_strings(values, scale, spacing) -> list[str]:
    return [f"{v:g}" for v in 10 ** np.asarray(values, dtype=float) * scale]
