"""Qt's SVG output made portable, and layers of it stacked into one picture. No Qt here.

QSvgGenerator (SVG 1.1) gets two things wrong for other renderers, which this repairs:

* It writes a plot's curves in data coordinates under a group transform (a 1σ circle of radius 1
  under `matrix(80,0,0,-80,...)`) and keeps their 1-pixel pens thin with
  `vector-effect="non-scaling-stroke"`. Browsers and Qt honour that; librsvg (GNOME, many
  converters) and older Inkscape do not, and draw that circle with an 80-pixel-wide stroke: a grey
  disc over the whole canvas. Such groups are flattened: the transform goes into the points of
  their paths and polylines, after which the stroke widths and dash lengths Qt wrote (in pixels)
  mean the same everywhere. Groups whose strokes should scale, or that hold text or images, keep
  their transform (every renderer gets those right).
* Its clipping is stale: after an item that clipped (every text label does), the next items keep
  that clip, so in librsvg the pins after a label vanish. So the clips Qt wrote are dropped and each
  layer gets the one clip it needs (the plot area for what is drawn inside it, none for the axes),
  which is why plots are rendered in layers, one per ViewBox (gui/plot_export.py).

Images (the true posterior's heat map) are marked to stay blocky when enlarged, as on screen.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Sequence

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"([A-Za-z])|({_NUMBER})")
_GEOMETRY = {f"{{{SVG}}}path", f"{{{SVG}}}polyline", f"{{{SVG}}}polygon"}
_NON_SCALING = "non-scaling-stroke"
_HEAD = {f"{{{SVG}}}title", f"{{{SVG}}}desc", f"{{{SVG}}}defs"}

ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)

Rect = tuple[float, float, float, float]       # x, y, width, height in the picture's pixels


def combine_layers(layers: Sequence[bytes], clips: Sequence[Rect | None], background: str | None = None) -> bytes:
    """One SVG document from `layers` (documents of the same size from QSvgGenerator), drawn in
    order on `background` (a colour; None: transparent), each clipped to its rectangle in `clips`
    (None: not clipped), made portable."""
    if not layers or len(layers) != len(clips):
        raise ValueError("give one clip (or None) for each of one or more layers")
    roots = [ET.fromstring(data) for data in layers]
    out = ET.Element(f"{{{SVG}}}svg", {k: v for k, v in roots[0].attrib.items()})
    out.set("version", "1.1")
    out.attrib.pop("baseProfile", None)
    for element in roots[0]:
        if element.tag in (f"{{{SVG}}}title", f"{{{SVG}}}desc"):
            out.append(element)
    defs = ET.SubElement(out, f"{{{SVG}}}defs")
    if background is not None:
        ET.SubElement(out, f"{{{SVG}}}rect", {"id": "background", "x": "0", "y": "0", "width": "100%",
                                              "height": "100%", "fill": background, "stroke": "none"})
    for index, (root, clip) in enumerate(zip(roots, clips)):
        _rename_ids(root, f"l{index}-")
        for old_defs in root.iter(f"{{{SVG}}}defs"):
            defs.extend(d for d in old_defs if d.tag != f"{{{SVG}}}clipPath")
        layer = ET.SubElement(out, f"{{{SVG}}}g", {"id": f"layer{index}"})
        if clip is not None:
            clip_id = f"layer{index}-clip"
            path = ET.SubElement(defs, f"{{{SVG}}}clipPath", {"id": clip_id})
            ET.SubElement(path, f"{{{SVG}}}rect", {k: _fmt(v) for k, v in zip(("x", "y", "width", "height"), clip)})
            layer.set("clip-path", f"url(#{clip_id})")
        layer.extend(element for element in root if element.tag not in _HEAD)
        _make_portable(layer)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(out, encoding="utf-8")


def _make_portable(layer: ET.Element) -> None:
    for element in layer.iter():
        if element is not layer:
            element.attrib.pop("clip-path", None)
        if element.tag == f"{{{SVG}}}g":
            matrix = _matrix(element.get("transform"))
            if matrix is not None and _flattenable(element, matrix):
                for child in element:
                    _transform_element(child, matrix)
                del element.attrib["transform"]
        elif element.tag == f"{{{SVG}}}image":
            element.set("image-rendering", "optimizeSpeed")
            element.set("style", "image-rendering:optimizeSpeed;image-rendering:pixelated")
    for element in layer.iter():
        if element.get("vector-effect") == _NON_SCALING:
            del element.attrib["vector-effect"]     # lines now scale with the picture when it is enlarged


def _rename_ids(root: ET.Element, prefix: str) -> None:
    """Prefix every id and its references, so ids of two layers never collide."""
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    if not ids:
        return
    for element in root.iter():
        for key, value in element.attrib.items():
            if key == "id":
                element.set(key, prefix + value)
            elif "#" in value:
                element.set(key, re.sub(r"#([\w.-]+)", lambda m: "#" + (prefix + m.group(1) if m.group(1) in ids
                                                                       else m.group(1)), value))


def _matrix(transform: str | None) -> tuple[float, ...] | None:
    if not transform:
        return None
    match = re.fullmatch(r"\s*matrix\(([^)]*)\)\s*", transform)
    if match is None:
        return None
    values = [float(v) for v in re.split(r"[\s,]+", match.group(1).strip())]
    return tuple(values) if len(values) == 6 else None


def _flattenable(group: ET.Element, matrix) -> bool:
    """Only geometry children (no nested groups, text or images), all with cosmetic strokes or
    none at all, and only absolute M/L/C/Z paths (what Qt writes)."""
    children = list(group)
    if not children or matrix[:4] == (1.0, 0.0, 0.0, 1.0):
        return False            # a pure translation draws the same everywhere: leave it
    stroked = group.get("stroke", "none") != "none"
    for element in children:
        if element.tag not in _GEOMETRY:
            return False
        strokes = stroked if element.get("stroke") is None else element.get("stroke") != "none"
        if strokes and element.get("vector-effect") != _NON_SCALING:
            return False        # a stroke meant to scale with the transform: keep the transform
        if element.tag.endswith("path") and not _plain_path(element.get("d", "")):
            return False
    return True


def _plain_path(d: str) -> bool:
    commands = {command for command, _ in _TOKEN.findall(d) if command}
    rest = _TOKEN.sub("", d).replace(",", "").strip()
    return not rest and commands <= set("MLCZ")


def _apply(matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


def _transform_element(element: ET.Element, matrix) -> None:
    if element.tag.endswith("path"):
        element.set("d", _transform_path(element.get("d", ""), matrix))
    else:
        numbers = [float(v) for v in re.findall(_NUMBER, element.get("points", ""))]
        element.set("points", " ".join(_pairs(numbers, matrix)))


def _transform_path(d: str, matrix) -> str:
    out, numbers = [], []
    for command, number in _TOKEN.findall(d):
        if command:
            out.extend(_pairs(numbers, matrix))
            numbers = []
            out.append(command)
        else:
            numbers.append(float(number))
    out.extend(_pairs(numbers, matrix))
    return " ".join(out)


def _pairs(numbers: list[float], matrix) -> list[str]:
    return [f"{_fmt(x)},{_fmt(y)}" for x, y in (_apply(matrix, *p) for p in zip(numbers[::2], numbers[1::2]))]


def _fmt(value: float) -> str:
    """Coordinates in pixels to a hundredth: invisible at any print size, and short."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
