"""core.map_figures: orientation, colour scale, the prior's circles and the holes' outline."""

import numpy as np
import torch

from latentlab.core.aggregate import cell_centres
from latentlab.core.map_figures import (CIRCLE_RGB, HOLE_RGB, VIRIDIS, aggregate_picture, colour_map,
                                        magnification_picture, traversal_picture)


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
