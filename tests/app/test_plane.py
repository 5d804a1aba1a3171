"""Latent planes and the Gaussians seen through them (plain numpy, no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.app.plane import Ellipse, LatentPlane, log_prior_density


def test_axis_plane_maps_canvas_points_to_latents_and_back():
    anchor = np.array([0.5, -1.0, 2.0, 0.0, 3.0])
    plane = LatentPlane.axes(5, 2, 4, anchor)
    z = plane.to_latent((0.7, -1.1))
    np.testing.assert_allclose(z, [0.5, -1.0, 0.7, 0.0, -1.1])      # the others stay at the anchor
    np.testing.assert_allclose(plane.project(z), [0.7, -1.1])
    assert plane.labels == ("z3", "z5")


def test_a_2d_axis_plane_is_the_whole_space():
    plane = LatentPlane.axes(2)
    np.testing.assert_allclose(plane.to_latent((1.5, -2.0)), [1.5, -2.0])


def test_pca_plane_spans_the_two_largest_directions():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(500, 4)) * [5.0, 0.1, 2.0, 0.1] + [1, 2, 3, 4]
    plane = LatentPlane.pca(points)
    np.testing.assert_allclose(np.abs(plane.basis), [[1, 0, 0, 0], [0, 0, 1, 0]], atol=0.05)
    np.testing.assert_allclose(plane.basis @ plane.basis.T, np.eye(2), atol=1e-12)
    uv = plane.project(points.mean(axis=0))
    np.testing.assert_allclose(plane.to_latent(uv), points.mean(axis=0), atol=1e-9)   # through the mean


def test_a_diagonal_posterior_projects_to_its_own_sigmas_on_an_axis_plane():
    mu, var = np.array([0.1, 0.2, 0.3]), np.array([0.04, 0.09, 0.25])
    centre, cov = LatentPlane.axes(3, 0, 2).project_gaussian(mu, var)
    ellipse = Ellipse.from_covariance(centre, cov)
    np.testing.assert_allclose(ellipse.centre, [0.1, 0.3])
    np.testing.assert_allclose(ellipse.semi_axes, [0.2, 0.5])
    assert ellipse.angle == 0.0


def test_a_rotated_ellipse_outline_has_the_covariance_it_came_from():
    cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    ellipse = Ellipse.from_covariance([1.0, -1.0], cov)
    outline = ellipse.outline(1.0, n=2001)[:-1] - [1.0, -1.0]
    # Points uniform in the ellipse's angle parameter have covariance cov / 2.
    np.testing.assert_allclose(np.cov(outline.T, bias=True) * 2, cov, atol=1e-3)
    np.testing.assert_allclose(ellipse.outline(2.0)[0] - [1.0, -1.0], 2 * (ellipse.outline(1.0)[0] - [1.0, -1.0]))


def test_prior_density():
    assert log_prior_density([0.0, 0.0]) == pytest.approx(-np.log(2 * np.pi))
    assert log_prior_density([1.0, 2.0, 2.0]) == pytest.approx(-1.5 * np.log(2 * np.pi) - 4.5)
