"""core.map_figures: orientation, colour scale, the prior's circles, the holes' outline, the labelled
traversal; core.pixel_text."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from latentlab.core.aggregate import cell_centres
from latentlab.core.figures import to_uint8
from latentlab.core.map_figures import (CIRCLE_RGB, COLLAPSED_TEXT_GREY, DIVIDER_GREY, HOLE_RGB, VIRIDIS,
                                        TraversalLayout, aggregate_picture, colour_map, magnification_picture,
                                        traversal_figure, traversal_picture)
from latentlab.core.pixel_text import draw_text, text_mask, text_size


def test_magnification_picture_puts_v_up_and_spans_the_colour_map():
    values = np.zeros((4, 3))
    values[3, 2] = 5.0                      # largest u, largest v: the top-right pixel
    values[0, 0] = -np.inf                  # singular: darkest, like the smallest value
    rgb = magnification_picture(values)
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 3]) == tuple(VIRIDIS[-1]) and tuple(rgb[2, 0]) == tuple(VIRIDIS[0])
    assert tuple(rgb[1, 1]) == tuple(VIRIDIS[0])   # 0 is the smallest finite value
    assert (colour_map(np.full((2, 2), 7.0)) == VIRIDIS[0]).all()   # flat: no division by zero


def test_aggregate_picture_draws_both_circles_and_outlines_the_holes():
    z1, z2 = cell_centres((-3, 3, -3, 3), 60)
    density = torch.ones(60, 60, dtype=torch.float64)
    mask = torch.zeros(60, 60, dtype=torch.bool)
    mask[10:20, 30:40] = True
    rgb = aggregate_picture(density, density, mask, z1, z2)
    white = (rgb == CIRCLE_RGB).all(-1)
    r = np.hypot(*np.meshgrid(z1.numpy(), z2.numpy()[::-1]))   # picture rows are v from the top down
    assert white.any() and np.allclose(np.sort(np.unique(np.round(r[white]))), [1.0, 2.0])
    red = (rgb == HOLE_RGB).all(-1)
    assert red.sum() == 4 * 10 - 4                      # the outline of the 10 x 10 hole, not its inside
    assert red[60 - 40:60 - 30, 10:20].sum() == red.sum()


def test_traversal_picture_marks_active_and_collapsed_rows():
    images = torch.rand(2, 3, 1, 4, 4)
    pic = traversal_picture(images, [True, False])
    assert pic.shape == (2 * 5 + 1, 4 + 3 * 5 + 1)
    assert (pic[1:5, :3] == 255).all() and (pic[6:10, :3] == 64).all()


def _kl(values, threshold=0.01):
    kl = torch.tensor(values, dtype=torch.float64)
    return SimpleNamespace(kl=kl, active=kl >= threshold, order=torch.argsort(kl, descending=True))


def test_traversal_figure_labels_rows_marks_collapsed_ones_and_has_its_layout_shape():
    images = torch.rand(3, 5, 1, 28, 28)
    kl = _kl([0.0, 2.5, 0.3])
    pic = traversal_figure(images, [1, 2, 0], kl, latent_dim=3)
    layout = TraversalLayout(3, 5, (1, 28, 28))
    assert pic.shape == layout.shape and pic.dtype == np.uint8
    label = slice(layout.label_x, layout.strip_x)
    for r, grey in enumerate([255, 255, COLLAPSED_TEXT_GREY]):     # z2 2.50, z3 0.30 active; z1 0.00 not
        y = layout.row_y(r)
        assert pic[y:y + 28, label].max() == grey
        assert (pic[y:y + 28, layout.strip_x:layout.strip_x + 3] == (255 if grey == 255 else 64)).all()
    y = layout.row_y(2)
    assert (pic[y - 1] == DIVIDER_GREY).all() and not (pic[layout.row_y(1) - 1] == DIVIDER_GREY).any()
    # the first row's label is the text "z2 2.50" drawn at 2x, nothing else
    expected = text_mask("z2 2.50", 2)
    y = layout.row_y(0) + (28 - expected.shape[0]) // 2
    drawn = pic[y:y + expected.shape[0], layout.label_x:layout.label_x + expected.shape[1]] == 255
    np.testing.assert_array_equal(drawn, expected)
    np.testing.assert_array_equal(pic[layout.row_y(1):layout.row_y(1) + 28, layout.column_x(2):layout.column_x(2) + 28],
                                  to_uint8(images[1, 2:3])[0, ..., 0])
    assert pic[:layout.header_h, layout.images_x:].max() == 255                  # the swept values: -3 0 +3


def test_traversal_figure_without_kl_has_no_marks_and_keeps_rgb():
    images = torch.rand(2, 2, 3, 12, 10)
    pic = traversal_figure(images, [0, 1], None, span="posterior")
    layout = TraversalLayout(2, 2, (3, 12, 10))
    assert pic.shape == (*layout.shape, 3)
    assert (pic[layout.images_y:, layout.strip_x:layout.strip_x + 3] == 0).all()
    assert not (pic == DIVIDER_GREY).all(-1).all(-1).any()


def test_pixel_text_names_a_missing_glyph_and_clips_at_the_edge():
    assert text_size("z12", 2) == (14, (3 * 6 - 1) * 2)
    with pytest.raises(ValueError, match="no glyph for '€'"):
        text_mask("z€")
    picture = np.zeros((5, 5), np.uint8)
    draw_text(picture, "8", -2, 3, 200)                 # partly outside: the rest is drawn
    assert picture.max() == 200 and picture[:, :3].max() == 0
