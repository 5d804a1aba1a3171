"""Where the canvas' text labels go so that none covers another. No Qt here.

Every label (a pin's number, an image's name, s1...s4 beside the draws from q(z|x), the prior's
1σ and 2σ) comes with candidate rectangles in screen pixels, best first: around the point it
labels, or along its circle. Labels are placed in priority order, each in the first candidate that
overlaps no label placed before it and no marker and lies inside the plot; when every candidate
overlaps something, the one that covers the least wins (a label over a label, or cut off by the
plot's edge, counts far more than a label over a marker).
Greedy and cheap (a few dozen labels, a millisecond), so it runs on every pan and zoom.
"""

from __future__ import annotations

import math
from typing import Sequence

Rect = tuple[float, float, float, float]      # x, y (top-left), width, height; y grows downwards
LABEL_WEIGHT = 1000.0                         # a label over a label costs this much more than over a marker


def place_labels(candidates: Sequence[Sequence[Rect]], obstacles: Sequence[Rect] = (),
                 bounds: Rect | None = None) -> list[int]:
    """For each label, the index of its chosen candidate (see the module docstring); `bounds` is
    the plot's rectangle (None: no edge)."""
    placed: list[Rect] = []
    chosen = []
    for options in candidates:
        best, best_cost = 0, math.inf
        for index, rect in enumerate(options):
            outside = 0.0 if bounds is None else rect[2] * rect[3] - overlap(rect, bounds)
            cost = (LABEL_WEIGHT * (sum(overlap(rect, other) for other in placed) + outside)
                    + sum(overlap(rect, other) for other in obstacles))
            if cost < best_cost:
                best, best_cost = index, cost
                if cost == 0:
                    break
        chosen.append(best)
        if options:
            placed.append(options[best])
    return chosen


def overlap(a: Rect, b: Rect) -> float:
    """The area two rectangles share (0 when they only touch)."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def around_point(x: float, y: float, width: float, height: float, gap: float) -> list[Rect]:
    """Candidates for a label of (width, height) beside the point (x, y), `gap` pixels from it:
    right-above first (where readers look for a label), then right, the other corners, the sides;
    then the same a line further out, for crowds (four draws from q(z|x) around a pin)."""
    rects = []
    for distance in (gap, gap + height):
        right, left = x + distance, x - distance - width
        above, below = y - distance - height, y + distance
        middle_x, middle_y = x - width / 2, y - height / 2
        rects += [(right, above, width, height), (right, middle_y, width, height), (right, below, width, height),
                  (left, above, width, height), (left, middle_y, width, height), (left, below, width, height),
                  (middle_x, above, width, height), (middle_x, below, width, height)]
    return rects


def around_box(box: Rect, width: float, height: float, gap: float) -> list[Rect]:
    """Candidates for a label of (width, height) outside the box (an ellipse's extent), touching it
    at a corner or a side: above-right first."""
    x, y, w, h = box
    right, left = x + w + gap, x - gap - width
    above, below = y - gap - height, y + h + gap
    middle_y = y + h / 2 - height / 2
    return [(x + w / 2, above, width, height), (right, above, width, height), (right, middle_y, width, height),
            (right, below, width, height), (x + w / 2 - width, below, width, height),
            (left, below, width, height), (left, middle_y, width, height), (left, above, width, height)]


ALONG_CIRCLE_DEGREES = (45, 35, 55, 25, 65, 135, 315, 225, 15, 75, 165, 105, 285, 255, 195, 345)


def along_circle(cx: float, cy: float, radius: float, width: float, height: float,
                 degrees: Sequence[float] = ALONG_CIRCLE_DEGREES) -> list[Rect]:
    """Candidates for a circle's label (1σ, 2σ) just outside the circle of `radius` pixels around
    (cx, cy), at each angle in `degrees` (counter-clockwise from the right, as on a plot)."""
    rects = []
    for angle in degrees:
        dx, dy = math.cos(math.radians(angle)), -math.sin(math.radians(angle))   # screen y grows down
        px, py = cx + radius * dx, cy + radius * dy
        # The corner of the label nearest the centre sits on the circle: the label lies outside it.
        rects.append((px if dx >= 0 else px - width, py - height if dy <= 0 else py, width, height))
    return rects
