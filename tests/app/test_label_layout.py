"""The canvas' labels are placed so that none covers another (no Qt)."""

from __future__ import annotations

import math
from itertools import combinations

from latentlab.app.label_layout import along_circle, around_box, around_point, overlap, place_labels


def chosen_rects(candidates, obstacles=(), bounds=None):
    return [options[i] for options, i in zip(candidates, place_labels(candidates, obstacles, bounds))]


def test_labels_of_points_close_together_do_not_overlap():
    points = [(100, 100), (106, 103), (110, 96), (104, 108), (98, 95)]     # a crowd, as four draws and a pin
    candidates = [around_point(x, y, 20, 14, 4) for x, y in points]
    rects = chosen_rects(candidates)
    assert all(overlap(a, b) == 0 for a, b in combinations(rects, 2))
    assert place_labels(candidates)[0] == 0            # the first (most important) keeps its favourite place


def test_a_circle_label_slides_along_its_circle_away_from_a_pin_label():
    circle = along_circle(200, 200, 80, 18, 14)
    pin_label = [circle[0]]                            # a pin's label sits where 1σ would go (45°)
    one_sigma = chosen_rects([pin_label, circle])[1]
    assert one_sigma != circle[0] and overlap(one_sigma, circle[0]) == 0
    for x, y, w, h in circle:                          # every candidate lies outside the circle
        nearest = (min(max(200, x), x + w), min(max(200, y), y + h))
        assert math.dist(nearest, (200, 200)) >= 80 - 1e-9


def test_markers_and_the_plot_edge_are_avoided_when_possible_labels_always():
    options = around_point(50, 50, 20, 10, 3)
    marker = options[0]
    free = next(rect for rect in options if overlap(rect, marker) == 0)
    assert chosen_rects([options], obstacles=[marker])[0] == free
    assert chosen_rects([options], bounds=(0, 52, 200, 200))[0][1] >= 52       # below the point, in the plot
    # When everything overlaps something, a marker is covered rather than another label.
    label, = chosen_rects([[options[1]]])
    rect = chosen_rects([[options[1]], [options[1], options[0]]], obstacles=[options[0]])[1]
    assert rect == options[0] and label == options[1]


def test_box_candidates_sit_outside_the_box():
    box = (10, 10, 30, 20)
    for rect in around_box(box, 15, 8, 2):
        assert overlap(rect, box) == 0
