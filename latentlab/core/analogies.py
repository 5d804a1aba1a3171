"""The analogies of Kingma, Rezende, Mohamed & Welling (2014), Figure 1: one row per image, the
image itself, then every class decoded in that image's style. No Qt.

An M2 (or M1+M2) separates the class y from the style z. Reading an image's style as the mean of
q(z|x, y) (y its label when it is known, else the classifier's argmax q(y|x)) and decoding
p(x|y', z) for each class y' draws "this image's handwriting, every digit".

`analogy_rows` does the model work; `analogies` is the plain grid (input column, a thin grey line,
the decoded columns); `analogies_figure` the labelled picture the window shows and
`latentlab figure --kind analogies` writes (class names over the columns in core.pixel_text's
font, the tile of the class each style was read as framed in grey). `AnalogiesLayout` says where
everything goes before any decoding (the window's export dialog offers sizes first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .figures import to_uint8
from .pixel_text import GLYPH_H, draw_text, has_glyphs, text_size

LINE_GREY = 128          # the line between the input column and the decoded ones
FRAME_GREY = 128         # the frame around the tile of the class a row's style was read as
INPUT_HEADER = "x"       # over the input column


def example_rows(total: int, n: int, seed: int = 0) -> np.ndarray:
    """Which of `total` images make the rows: the first n for seed 0 (the figure of the paper's
    test set order), else n of them drawn without replacement with `seed`, in drawn order."""
    n = min(int(n), int(total))
    if seed == 0:
        return np.arange(n)
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(int(total), generator=g)[:n].numpy()


@dataclass(frozen=True, eq=False)
class Analogies:
    """Row b: inputs[b], then images[b, k] = decode(z[b], classes[k])."""

    inputs: torch.Tensor          # (B, C, H, W) in [0, 1]
    images: torch.Tensor          # (B, len(classes), C, H, W): the decoded means
    classes: tuple[int, ...]      # the class of each column
    style_classes: torch.Tensor   # (B,) the class each row's style z was inferred under
    from_label: torch.Tensor      # (B,) bool: that class is the row's label (else the classifier's guess)
    z: torch.Tensor               # (B, D) the style: the mean of q(z|x, style class)

    def __len__(self) -> int:
        return len(self.inputs)


def _column_classes(model, classes) -> tuple[int, ...]:
    k = model.num_classes
    chosen = tuple(range(k)) if classes is None else tuple(int(c) for c in classes)
    if not chosen:
        raise ValueError("the analogies need at least one class to decode")
    bad = [c for c in chosen if not 0 <= c < k]
    if bad:
        raise ValueError(f"classes must lie in 0..{k - 1}, got {bad}")
    return chosen


@torch.no_grad()
def analogy_rows(model, images, classes=None, labels=None) -> Analogies:
    """The analogies of `images` ((B, C, H, W) in [0, 1], as the model takes them) under a
    semi-supervised `model` (core/m2.py: M2 or M1+M2): each image's style z is the mean of
    q(z|x, y) with y its label (`labels`, (B,); a negative entry, or no labels, means unknown:
    the argmax of q(y|x)), decoded with each class of `classes` (default: all, in order)."""
    if not hasattr(model, "num_classes"):
        raise ValueError("the analogies need an M2 or M1+M2 model (a class beside the style z)")
    columns = _column_classes(model, classes)
    x = torch.as_tensor(images, dtype=torch.float32).to(model.device)
    if x.dim() != 4 or tuple(x.shape[1:]) != tuple(model.image_shape):
        raise ValueError(f"images must be (B, {', '.join(map(str, model.image_shape))}) for this model, "
                         f"got {tuple(x.shape)}")
    b = x.shape[0]
    if labels is None:
        known = torch.full((b,), -1, dtype=torch.long, device=x.device)
    else:
        known = torch.as_tensor(np.asarray(labels), dtype=torch.long).reshape(-1).to(x.device)
        if known.shape[0] != b:
            raise ValueError(f"labels must give one class per image ({b}), got {known.shape[0]}")
        if known.numel() and int(known.max()) >= model.num_classes:
            raise ValueError(f"labels must lie in 0..{model.num_classes - 1} (or be negative: unknown)")
    from_label = known >= 0
    y = torch.where(from_label, known, model.predict(x)) if b else known
    z, _ = model.encode(x, y)
    cols = torch.tensor(columns, dtype=torch.long, device=x.device)
    # Row by row, so each row is exactly decode(z_b, classes) (a bigger batch may round differently).
    decoded = [model.decode(z[r:r + 1].expand(len(columns), z.shape[-1]), cols).cpu() for r in range(b)]
    decoded = torch.stack(decoded) if decoded else torch.zeros(0, len(columns), *x.shape[1:])
    return Analogies(x.cpu(), decoded, columns, y.cpu(), from_label.cpu(), z.cpu())


# -- pictures ---------------------------------------------------------------------------------------
class AnalogiesLayout:
    """Where everything of an analogies picture goes, known before any decoding.

    Left to right: the input column, a 1-px grey line (`padding` px before it, one more than that
    after it, so the frame of a first column never touches it), the decoded columns `padding` px apart. With `column_names` (one per decoded column) a header line above: the
    names at the label scale (14-px letters beside a 28-px digit) when every one fits its column,
    else at scale 1, else turned upwards at scale 1 when they fit no other way, else the column
    numbers; and "x" over the input column. Without names, no header (the plain grid)."""

    def __init__(self, rows: int, image_shape, column_names=None, columns: int | None = None, padding: int = 1):
        _, self.h, self.w = (int(v) for v in image_shape)
        self.rows, self.pad = int(rows), int(padding)
        self.columns = int(columns if columns is not None else len(column_names))
        self.input_x = self.pad
        self.line_x = self.input_x + self.w + self.pad
        self.images_x = self.line_x + 2 + self.pad        # a black pixel after the line keeps a frame off it
        self.width = self.images_x + self.columns * (self.w + self.pad)
        self.names: list[str] = []
        self.scale, self.vertical, self.header_h = 1, False, 0
        if column_names is not None:
            if len(column_names) != self.columns:
                raise ValueError(f"column_names must name each of the {self.columns} columns, got {len(column_names)}")
            self._fit_header([str(n) for n in column_names])
        self.images_y = self.header_h + self.pad
        self.height = self.images_y + self.rows * (self.h + self.pad)

    def _fit_header(self, names: list[str]) -> None:
        label_scale = max(1, self.h // 14)
        room = self.w + self.pad                          # a name may run into the padding after its column
        numbers = [str(k) for k in range(self.columns)]
        for candidate in ([names] if all(map(has_glyphs, names)) else []) + [numbers]:
            widest = max(text_size(n, 1)[1] for n in candidate)
            fitting = [s for s in dict.fromkeys((label_scale, 1)) if widest * s <= room]
            if fitting:
                self.names, self.scale, self.vertical = candidate, fitting[0], False
                break
            if GLYPH_H <= self.w and candidate is names:
                self.names, self.scale, self.vertical = candidate, 1, True
                break
        else:
            return                                        # images too small for any header
        if self.vertical:
            tallest = max(text_size(n, 1)[1] for n in self.names)
            self.header_h = max(tallest, GLYPH_H) + 2 * self.scale
        else:
            self.header_h = GLYPH_H * self.scale + 2 * self.scale

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def row_y(self, r: int) -> int:
        return self.images_y + r * (self.h + self.pad)

    def column_x(self, k: int) -> int:
        return self.images_x + k * (self.w + self.pad)


def analogies(model, images, classes=None, labels=None, padding: int = 1) -> np.ndarray:
    """The plain grid of analogy_rows (no header, no frames): uint8 (H, W) for grey images,
    (H, W, 3) for RGB."""
    return analogies_picture(analogy_rows(model, images, classes, labels), padding=padding)


def analogies_picture(rows: Analogies, padding: int = 1) -> np.ndarray:
    """The plain grid of `rows`, as AnalogiesLayout without names places it."""
    layout = AnalogiesLayout(len(rows), rows.inputs.shape[1:], columns=len(rows.classes), padding=padding)
    return _draw(rows, layout, frames=False)


def analogies_figure(rows: Analogies, class_names=None, padding: int = 1) -> np.ndarray:
    """The labelled picture of `rows`: the class names (`class_names` indexed by class; default the
    class numbers) over the decoded columns, "x" over the inputs, and a grey frame around the tile
    of the class each row's style was read as (its label, or the classifier's guess)."""
    names = [str(c) if class_names is None or c >= len(class_names) else str(class_names[c]) for c in rows.classes]
    layout = AnalogiesLayout(len(rows), rows.inputs.shape[1:], names, padding=padding)
    return _draw(rows, layout, frames=True)


def _draw(rows: Analogies, layout: AnalogiesLayout, frames: bool) -> np.ndarray:
    c = rows.inputs.shape[1]
    picture = np.zeros((layout.height, layout.width, c), np.uint8)
    h, w, pad = layout.h, layout.w, layout.pad
    picture[layout.images_y - pad:, layout.line_x] = LINE_GREY
    inputs = to_uint8(rows.inputs)                                         # (B, H, W, C)
    n = len(rows.classes)
    tiles = to_uint8(rows.images.reshape(-1, *rows.images.shape[2:])) if len(rows) else inputs
    for r in range(len(rows)):
        y = layout.row_y(r)
        picture[y:y + h, layout.input_x:layout.input_x + w] = inputs[r]
        for k in range(n):
            x = layout.column_x(k)
            picture[y:y + h, x:x + w] = tiles[r * n + k]
        style = int(rows.style_classes[r])
        if frames and pad > 0 and style in rows.classes:
            x = layout.column_x(rows.classes.index(style))
            picture[y - pad, x - pad:x + w + pad] = FRAME_GREY
            picture[y + h, x - pad:x + w + pad] = FRAME_GREY
            picture[y - pad:y + h + pad, x - pad] = FRAME_GREY
            picture[y - pad:y + h + pad, x + w] = FRAME_GREY
    if layout.names:
        _draw_header(picture, layout)
    return picture[..., 0] if c == 1 else picture


def _draw_header(picture: np.ndarray, layout: AnalogiesLayout) -> None:
    """Each name centred over its column, bottoms on one line (vertical names start there)."""
    s, bottom = layout.scale, layout.header_h - layout.scale
    for k, name in enumerate(layout.names):
        height, width = text_size(name, 1 if layout.vertical else s)
        x = layout.column_x(k)
        if layout.vertical:
            draw_text(picture, name, bottom - width, x + (layout.w - height) // 2, 255, 1, vertical=True)
        else:
            draw_text(picture, name, bottom - height, x + (layout.w - width) // 2, 255, s)
    hs = layout.scale if not layout.vertical else max(1, layout.h // 14)
    if text_size(INPUT_HEADER, hs)[1] > layout.w:
        hs = 1
    height, width = text_size(INPUT_HEADER, hs)
    draw_text(picture, INPUT_HEADER, max(0, bottom - height), layout.input_x + (layout.w - width) // 2, 255, hs)

