"""The look of the curve plots, shared by the training curves (gui/curves.py), M2's curves beside
them (gui/class_curves.py) and the collapse view: colours, line widths, validation dots, axes.
"""

from __future__ import annotations

import pyqtgraph as pg

from .plot_axes import plain_number_axes

RAW_ALPHA = 40
# labelled, val_error: an M2 run's labelled bound -L and validation error (gui/class_curves.py);
# neg_iw_bound: an IWAE run's -L_K (gui/iwae_curves.py).
COLOURS = {"neg_elbo": "#5aa9ff", "recon": "#ffa24a", "kl": "#62d26f", "labelled": "#c792ea", "val_error": "#ff6f91",
           "neg_iw_bound": "#f2d45c"}
BACKGROUND, FOREGROUND = "#16181d", "#c8c8c8"   # the latent canvas's colours, so the window is one piece
AXIS_PEN = "#6b6f76"
LABELS = {"neg_elbo": "−ELBO", "recon": "reconstruction", "kl": "KL"}
SEMI_LABELS = {"neg_elbo": "−U unlabelled", "labelled": "−L labelled", "recon": "reconstruction", "kl": "KL"}
WIDTHS = {"neg_elbo": 2.0, "recon": 2.0, "kl": 2.0}
VAL_SIZE = 5
VAL_LIGHTER = 150                # validation dots: a lighter tint of their line's colour, no rim
GAP_ALPHA = 95                   # the KL band between -ELBO and the reconstruction


def iwae_label(k: int) -> str:
    """The name of an IWAE run's bound, -L_K with its K, in the readout and an exported key."""
    return f"−L_K (IWAE, K={k})"


def key_html(semi: bool = False, iw_k: int | None = None) -> str:
    """The legend of an exported figure (on screen the readout's row names are the legend); `semi`:
    an M2 run's, on two lines (one would widen the figure), whose gap between -U and the
    reconstruction is the KL of y and z together; `iw_k`: an IWAE run's, with its -L_K first
    (also on two lines)."""
    space = "&nbsp;&nbsp;&nbsp;"
    labels = SEMI_LABELS if semi else {**LABELS, "neg_iw_bound": iwae_label(iw_k)}
    names = ("neg_elbo", "labelled", "recon", "kl") if semi else ("neg_elbo", "recon", "kl")
    if iw_k is not None and not semi:
        names = ("neg_iw_bound", *names)
    lines = space.join(f"<span style='color:{COLOURS[n]}'>━━</span>&nbsp;{labels[n]}" for n in names)
    gap = "KL of y and z as the gap" if semi else "KL as the gap"
    error = f"{space}<span style='color:{COLOURS['val_error']}'>●</span>&nbsp;validation error %" if semi else ""
    two_lines = semi or iw_k is not None    # one line would widen the figure
    return (f"<span style='color:{FOREGROUND}'>{lines}{'<br>' if two_lines else space}"
            f"<span style='color:{COLOURS['kl']}'>▆</span>&nbsp;{gap}{space}"
            f"<span style='color:{COLOURS['neg_elbo']}'>●</span>&nbsp;validation, per epoch{error}</span>")


def style(plot: pg.PlotItem) -> None:
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(AXIS_PEN))
        axis.setTextPen(pg.mkPen(FOREGROUND))
    plot.showGrid(x=True, y=True, alpha=0.12)
    plain_number_axes(plot)


def tinted(colour: str, alpha: int):
    c = pg.mkColor(colour)
    c.setAlpha(alpha)
    return c
