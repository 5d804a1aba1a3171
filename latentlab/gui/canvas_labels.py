"""Places the latent canvas' text labels so that none covers another (the choice: app/label_layout.py).

The labels are the canvas' own: pins' numbers, encoded images' names, s1...s4 beside the draws
from q(z|x), the note at the far point of an interpolation path, and the prior's 1σ and 2σ (which
slide along their circles). They are laid out in screen pixels, in that order of priority, around
markers and other labels on the plot (the legends, the layers' colour keys, the q* label) that they must not cover; then each
is pinned at its place in latent coordinates. The canvas runs `layout_labels` once per pass of the
event loop after any change of what it shows or of its view (pan, zoom, resize): a millisecond or
two for a few dozen labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QPointF

from latentlab.app.label_layout import Rect, along_circle, around_box, around_point, place_labels

if TYPE_CHECKING:
    from .canvas import LatentCanvas

# What markers cover on screen (canvas.py), and labels' gaps from a marker's centre (at least half
# a marker, so a label never touches its own marker) or from an ellipse's extent, in pixels.
PIN_MARK, SAMPLE_MARK, CENTRE_MARK = 14.0, 8.0, 12.0
PIN_GAP, SAMPLE_GAP, NOTE_GAP, BOX_GAP = 8.0, 5.0, 5.0, 2.0


def layout_labels(canvas: "LatentCanvas") -> None:
    vb = canvas.plot_item.vb
    view = vb.sceneBoundingRect()
    if view.width() < 2 or view.height() < 2:
        return                                                # not laid out yet

    def pixel(x: float, y: float) -> QPointF:
        return vb.mapViewToScene(QPointF(x, y))

    labels: list[tuple[pg.TextItem, list[Rect]]] = []
    markers: list[Rect] = []

    def add_point_label(item: pg.TextItem, x: float, y: float, gap: float, mark: float) -> None:
        p = pixel(x, y)
        markers.append((p.x() - mark / 2, p.y() - mark / 2, mark, mark))
        if item.isVisible() and item.toPlainText() and view.contains(p):
            width, height = _size(item)
            labels.append((item, around_point(p.x(), p.y(), width, height, gap)))

    for item, (x, y) in zip(canvas.pin_labels(), canvas.pin_points()):
        add_point_label(item, x, y, PIN_GAP, PIN_MARK)
    for glyph in canvas.posterior_glyphs():
        if glyph.ellipse is None:
            continue
        cx, cy = (float(v) for v in glyph.ellipse.centre)
        p = pixel(cx, cy)
        markers.append((p.x() - CENTRE_MARK / 2, p.y() - CENTRE_MARK / 2, CENTRE_MARK, CENTRE_MARK))
        if glyph.text.isVisible() and glyph.text.toPlainText() and view.contains(p):
            outline = glyph.ellipse.outline(2.0)
            corners = [pixel(float(u), float(v)) for u, v in (outline.min(axis=0), outline.max(axis=0))]
            xs, ys = [c.x() for c in corners], [c.y() for c in corners]
            box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
            width, height = _size(glyph.text)
            labels.append((glyph.text, around_box(box, width, height, BOX_GAP)))
    for item, (x, y) in zip(canvas.sample_labels(), canvas.sample_points()):
        add_point_label(item, x, y, SAMPLE_GAP, SAMPLE_MARK)
    note = canvas.path_note
    if note.isVisible() and canvas.path_note_point is not None:
        add_point_label(note, *canvas.path_note_point, NOTE_GAP, SAMPLE_MARK)
    centre, unit = pixel(0.0, 0.0), pixel(1.0, 0.0)
    for item, radius in canvas.sigma_labels:
        width, height = _size(item)
        labels.append((item, along_circle(centre.x(), centre.y(), radius * (unit.x() - centre.x()), width, height)))

    ours = {id(item) for item, _ in labels}
    others = [item for item in vb.addedItems
              if isinstance(item, pg.TextItem) and item.isVisible() and id(item) not in ours]
    # Boxes floating over the plot at its corners: the scatter's legend, the paths' legend, the
    # layers' colour keys (all anchored to the view box as pyqtgraph's legend is).
    others += [child for child in vb.childItems()
               if isinstance(child, pg.GraphicsWidgetAnchor) and child.isVisible()]
    obstacles = markers + [_rect(item.sceneBoundingRect()) for item in others]
    chosen = place_labels([options for _, options in labels], obstacles, _rect(view))
    for (item, options), index in zip(labels, chosen):
        x, y = options[index][:2]
        point = vb.mapSceneToView(QPointF(x, y))          # labels are anchored at their top-left (0, 0)
        if item.pos() != point:
            item.setPos(point)


def label_rects(canvas: "LatentCanvas") -> dict[str, Rect]:
    """The screen rectangle of every label of the canvas one can see (in the plot), by its text."""
    items = [*canvas.pin_labels(), *(g.text for g in canvas.posterior_glyphs()), *canvas.sample_labels(),
             canvas.path_note, *(item for item, _ in canvas.sigma_labels)]
    view = canvas.plot_item.vb.sceneBoundingRect()
    rects = {}
    for item in items:
        if item.isVisible() and item.toPlainText():
            item.updateTransform(force=True)          # as before a paint: its scale is the screen's
            rect = item.textItem.mapRectToScene(item.textItem.boundingRect())
            if rect.intersects(view):
                rects[item.toPlainText()] = _rect(rect)
    return rects


def _size(item: pg.TextItem) -> tuple[float, float]:
    rect = item.textItem.boundingRect()
    return rect.width(), rect.height()


def _rect(rect) -> Rect:
    return rect.x(), rect.y(), rect.width(), rect.height()
