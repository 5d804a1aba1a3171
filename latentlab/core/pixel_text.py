"""A tiny 5 x 7 bitmap font for the few words drawn into figures (the traversal's row labels, the
analogies' class names), so an exported PNG carries its labels without a font file, Pillow's
text or Qt. No Qt.

Glyphs are drawn at a whole `scale` (each font pixel a scale x scale block), so they stay crisp
when core.figure_files enlarges the figure by nearest neighbour. The digits, the letters (their
descenders squeezed into the 7 rows) and the few signs the figures use are here; another
character is a ValueError naming it (`has_glyphs` asks first). Text can be drawn turned a
quarter to the left (`vertical`), reading upwards, for column headers longer than a column.
"""

from __future__ import annotations

import numpy as np

GLYPH_W, GLYPH_H = 5, 7
ADVANCE = GLYPH_W + 1          # font pixels from one character to the next

_GLYPHS = {
    " ": ".....|.....|.....|.....|.....|.....|.....",
    "0": ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
    "1": "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
    "2": ".###.|#...#|....#|...#.|..#..|.#...|#####",
    "3": "####.|....#|....#|.###.|....#|....#|####.",
    "4": "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
    "5": "#####|#....|####.|....#|....#|#...#|.###.",
    "6": "..##.|.#...|#....|####.|#...#|#...#|.###.",
    "7": "#####|....#|...#.|..#..|.#...|.#...|.#...",
    "8": ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
    "9": ".###.|#...#|#...#|.####|....#|...#.|.##..",
    ".": ".....|.....|.....|.....|.....|.##..|.##..",
    "-": ".....|.....|.....|.###.|.....|.....|.....",
    "+": ".....|..#..|..#..|#####|..#..|..#..|.....",
    "±": "..#..|..#..|#####|..#..|..#..|.....|#####",
    "<": "...#.|..#..|.#...|#....|.#...|..#..|...#.",
    "A": ".###.|#...#|#...#|#####|#...#|#...#|#...#",
    "B": "####.|#...#|#...#|####.|#...#|#...#|####.",
    "C": ".###.|#...#|#....|#....|#....|#...#|.###.",
    "D": "####.|#...#|#...#|#...#|#...#|#...#|####.",
    "E": "#####|#....|#....|####.|#....|#....|#####",
    "F": "#####|#....|#....|####.|#....|#....|#....",
    "G": ".###.|#...#|#....|#.###|#...#|#...#|.####",
    "H": "#...#|#...#|#...#|#####|#...#|#...#|#...#",
    "I": ".###.|..#..|..#..|..#..|..#..|..#..|.###.",
    "J": "..###|...#.|...#.|...#.|...#.|#..#.|.##..",
    "K": "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#",
    "L": "#....|#....|#....|#....|#....|#....|#####",
    "M": "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#",
    "N": "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#",
    "O": ".###.|#...#|#...#|#...#|#...#|#...#|.###.",
    "P": "####.|#...#|#...#|####.|#....|#....|#....",
    "Q": ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#",
    "R": "####.|#...#|#...#|####.|#.#..|#..#.|#...#",
    "S": ".####|#....|#....|.###.|....#|....#|####.",
    "T": "#####|..#..|..#..|..#..|..#..|..#..|..#..",
    "U": "#...#|#...#|#...#|#...#|#...#|#...#|.###.",
    "V": "#...#|#...#|#...#|#...#|#...#|.#.#.|..#..",
    "W": "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.",
    "X": "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#",
    "Y": "#...#|#...#|.#.#.|..#..|..#..|..#..|..#..",
    "Z": "#####|....#|...#.|..#..|.#...|#....|#####",
    "a": ".....|.....|.###.|....#|.####|#...#|.####",
    "b": "#....|#....|#.##.|##..#|#...#|#...#|####.",
    "c": ".....|.....|.###.|#....|#....|#...#|.###.",
    "d": "....#|....#|.##.#|#..##|#...#|#...#|.####",
    "e": ".....|.....|.###.|#...#|#####|#....|.###.",
    "f": "..##.|.#..#|.#...|###..|.#...|.#...|.#...",
    "g": ".....|.####|#...#|#...#|.####|....#|.###.",
    "h": "#....|#....|#.##.|##..#|#...#|#...#|#...#",
    "i": "..#..|.....|.##..|..#..|..#..|..#..|.###.",
    "j": "...#.|.....|..##.|...#.|...#.|#..#.|.##..",
    "k": "#....|#....|#..#.|#.#..|##...|#.#..|#..#.",
    "l": ".##..|..#..|..#..|..#..|..#..|..#..|.###.",
    "m": ".....|.....|##.#.|#.#.#|#.#.#|#...#|#...#",
    "n": ".....|.....|#.##.|##..#|#...#|#...#|#...#",
    "o": ".....|.....|.###.|#...#|#...#|#...#|.###.",
    "p": ".....|.....|####.|#...#|####.|#....|#....",
    "q": ".....|.....|.####|#...#|.####|....#|....#",
    "r": ".....|.....|#.##.|##..#|#....|#....|#....",
    "s": ".....|.....|.####|#....|.###.|....#|####.",
    "t": ".#...|.#...|####.|.#...|.#...|.#..#|..##.",
    "u": ".....|.....|#...#|#...#|#...#|#..##|.##.#",
    "v": ".....|.....|#...#|#...#|#...#|.#.#.|..#..",
    "w": ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.",
    "x": ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#",
    "y": ".....|.....|#...#|#...#|.####|....#|.###.",
    "z": ".....|.....|#####|...#.|..#..|.#...|#####",
    "/": ".....|....#|...#.|..#..|.#...|#....|.....",
    "(": "...#.|..#..|.#...|.#...|.#...|..#..|...#.",
    ")": ".#...|..#..|...#.|...#.|...#.|..#..|.#...",
    ":": ".....|.##..|.##..|.....|.##..|.##..|.....",
    ",": ".....|.....|.....|.....|.##..|..#..|.#...",
    "'": "..#..|..#..|.#...|.....|.....|.....|.....",
    "_": ".....|.....|.....|.....|.....|.....|#####",
    "σ": ".....|.....|.####|#..#.|#...#|#...#|.###.",
    "μ": ".....|.....|#...#|#...#|#...#|##.##|#.#..",
}
GLYPHS = {c: np.array([[p == "#" for p in row] for row in rows.split("|")], dtype=bool)
          for c, rows in _GLYPHS.items()}


def has_glyphs(text: str) -> bool:
    """Whether every character of `text` can be drawn."""
    return all(c in GLYPHS for c in text)


def text_size(text: str, scale: int = 1) -> tuple[int, int]:
    """(height, width) in pixels of `text` at `scale` (no space after the last character)."""
    if not text:
        return GLYPH_H * scale, 0
    return GLYPH_H * scale, (len(text) * ADVANCE - 1) * scale


def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """(height, width) bool: the pixels of `text` drawn at a whole `scale`."""
    missing = sorted({c for c in text if c not in GLYPHS})
    if missing:
        raise ValueError(f"pixel_text has no glyph for {''.join(missing)!r} (in {text!r})")
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"the text scale must be a whole number of at least 1, got {scale!r}")
    height, width = text_size(text, 1)
    mask = np.zeros((height, width), dtype=bool)
    for k, c in enumerate(text):
        mask[:, k * ADVANCE:k * ADVANCE + GLYPH_W] = GLYPHS[c]
    return np.repeat(np.repeat(mask, scale, axis=0), scale, axis=1)


def draw_text(picture: np.ndarray, text: str, top: int, left: int, value, scale: int = 1,
              vertical: bool = False) -> None:
    """Set the pixels of `text` in `picture` ((H, W) or (H, W, 3)) to `value`, its top-left corner
    at (top, left); what falls outside the picture is left out. `vertical`: turned a quarter to
    the left (reading upwards, text_size's height and width swapped)."""
    mask = text_mask(text, scale)
    if vertical:
        mask = np.rot90(mask)
    h, w = mask.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, picture.shape[0]), min(left + w, picture.shape[1])
    if y1 <= y0 or x1 <= x0:
        return
    picture[y0:y1, x0:x1][mask[y0 - top:y1 - top, x0 - left:x1 - left]] = value
