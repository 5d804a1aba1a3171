"""Qt's SVG made portable: cosmetic strokes flattened into pixel coordinates, stale clips replaced
by one clip per layer, ids kept apart (no Qt: the documents are written here as Qt writes them)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from latentlab.app.portable_svg import combine_layers

S = "{http://www.w3.org/2000/svg}"


def qt_svg(body: str, clip_defs: str = "") -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
            '<svg width="105.833mm" height="52.9167mm" viewBox="0 0 400 200" '
            'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1">\n'
            f'<title>t</title><desc>d</desc><defs>{clip_defs}</defs>\n'
            f'<g fill="none" stroke="black">{body}</g></svg>').encode()


CIRCLE = ('<g clip-path="url(#clipPath1)"><g fill="none" stroke="#c8c8c8" stroke-width="1.2" '
          'stroke-dasharray="4.8,2.4" transform="matrix(80,0,0,-80,200,100)">'
          '<path vector-effect="non-scaling-stroke" fill-rule="evenodd" d="M1,0 L0,1 C-1,0 0,-1 1,0 Z"/>'
          '<polyline vector-effect="non-scaling-stroke" points="0,0 0.5,0.25"/></g></g>')
LABEL = ('<g clip-path="url(#clipPath2)"><g fill="none" stroke="#ffffff" transform="matrix(1,0,0,1,30,40)">'
         '<text fill="#ffffff" x="4" y="15">1σ</text></g></g>')
CLIPS = ('<clipPath id="clipPath1"><path d="M0,0 L400,0 L400,200 L0,200 Z"/></clipPath>'
         '<clipPath id="clipPath2"><path d="M30,40 L50,40 L50,60 L30,60 Z"/></clipPath>')


def elements(data: bytes, tag: str):
    return list(ET.fromstring(data).iter(S + tag))


def test_cosmetic_strokes_are_drawn_in_pixels_without_a_scaling_transform():
    out = combine_layers([qt_svg(CIRCLE, CLIPS)], [None])
    path, = elements(out, "path")
    assert path.get("d") == "M 280,100 L 200,20 C 120,100 200,180 280,100 Z"     # x 80 + 200, y -80 + 100
    polyline, = elements(out, "polyline")
    assert polyline.get("points") == "200,100 240,80"
    group = next(g for g in elements(out, "g") if g.get("stroke") == "#c8c8c8")
    assert group.get("transform") is None and group.get("stroke-dasharray") == "4.8,2.4"   # pixels, as before
    assert b"non-scaling-stroke" not in out


def test_text_and_strokes_meant_to_scale_keep_their_transform():
    scaling = ('<g stroke="#000" stroke-width="0.1" transform="matrix(10,0,0,10,0,0)">'
               '<path d="M0,0 L1,1"/></g>')
    out = combine_layers([qt_svg(LABEL + scaling, CLIPS)], [None])
    transforms = {g.get("transform") for g in elements(out, "g")}
    assert {"matrix(1,0,0,1,30,40)", "matrix(10,0,0,10,0,0)"} <= transforms
    assert elements(out, "path")[0].get("d") == "M0,0 L1,1"


def test_qt_clips_are_dropped_and_each_layer_gets_its_own():
    inside, axes = qt_svg(LABEL + CIRCLE, CLIPS), qt_svg(LABEL, CLIPS)
    out = combine_layers([inside, axes], [(36, 1, 300, 150), None], background="#16181d")
    root = ET.fromstring(out)
    clip_paths = list(root.iter(S + "clipPath"))
    assert [c.get("id") for c in clip_paths] == ["layer0-clip"]
    rect, = clip_paths[0]
    assert (rect.get("x"), rect.get("y"), rect.get("width"), rect.get("height")) == ("36", "1", "300", "150")
    layers = [g for g in root if g.tag == S + "g"]
    assert [(g.get("id"), g.get("clip-path")) for g in layers] == [("layer0", "url(#layer0-clip)"), ("layer1", None)]
    assert all(e.get("clip-path") is None for layer in layers for e in layer.iter() if e is not layer)
    background = root.find(S + "rect")
    assert background.get("fill") == "#16181d" and list(root).index(background) < list(root).index(layers[0])
    assert len(list(root.iter(S + "text"))) == 2 and root.get("viewBox") == "0 0 400 200"


def test_ids_of_two_layers_never_collide():
    gradient = ('<linearGradient id="gradient1"><stop offset="0" stop-color="#fff"/></linearGradient>')
    body = '<g fill="url(#gradient1)"><rect x="0" y="0" width="5" height="5"/></g>'
    out = combine_layers([qt_svg(body, gradient), qt_svg(body, gradient)], [None, None])
    ids = [e.get("id") for e in ET.fromstring(out).iter() if e.get("id")]
    assert len(ids) == len(set(ids)) and {"l0-gradient1", "l1-gradient1"} <= set(ids)
    fills = {g.get("fill") for g in elements(out, "g") if (g.get("fill") or "").startswith("url")}
    assert fills == {"url(#l0-gradient1)", "url(#l1-gradient1)"}


def test_a_clip_for_each_layer_is_required():
    with pytest.raises(ValueError, match="one clip"):
        combine_layers([qt_svg(LABEL)], [None, None])
