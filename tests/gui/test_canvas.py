"""The pieces under the explorer: latent planes and ellipses (no Qt), the latest-wins worker, the
canvas widget's mouse and drop handling, the image view's fixed levels, the drawing pad."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtTest import QTest

from canvas_fixtures import WAIT_MS, drop_mime
from latentlab.app.plane import Ellipse, LatentPlane, log_prior_density


# -- planes and ellipses (plain numpy) ---------------------------------------------------------------
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


# -- the worker ------------------------------------------------------------------------------------------
def test_worker_runs_only_the_newest_request_per_key(qtbot):
    from latentlab.gui.latest_wins import LatestWinsWorker

    worker = LatestWinsWorker("test-worker")
    started, gate, ran, results = threading.Event(), threading.Event(), [], []
    worker.finished.connect(lambda r: results.append(r))
    try:
        worker.submit("block", lambda: started.set() or gate.wait(5))   # keeps the thread busy meanwhile
        assert started.wait(5)
        for i in range(50):
            if i == 1:
                worker.submit("other", lambda: "other")
            worker.submit("hover", lambda i=i: ran.append(i) or i, priority=0)
        gate.set()
        qtbot.waitUntil(lambda: len(results) == 3, timeout=WAIT_MS)
        assert ran == [49]                                      # 49 stale hovers never ran
        hover_result = next(r for r in results if r.key == "hover")
        assert hover_result.value == 49 and worker.is_latest(hover_result)
        assert [r.key for r in results] == ["block", "hover", "other"]   # hover (priority 0) jumps the queue
    finally:
        worker.shutdown()


def test_worker_reports_errors_and_goes_on(qtbot):
    from latentlab.gui.latest_wins import LatestWinsWorker

    worker = LatestWinsWorker("test-worker")
    results = []
    worker.finished.connect(results.append)
    try:
        worker.submit("bad", lambda: 1 / 0)
        worker.submit("good", lambda: 42)
        qtbot.waitUntil(lambda: len(results) == 2, timeout=WAIT_MS)
        assert isinstance(results[0].error, ZeroDivisionError) and results[1].value == 42
    finally:
        worker.shutdown()
    assert not worker._thread.is_alive()


def test_worker_results_arrive_on_the_gui_thread(qtbot):
    from PySide6.QtCore import QObject, QThread, Slot

    from latentlab.gui.latest_wins import LatestWinsWorker

    class Receiver(QObject):
        thread_seen = None

        @Slot(object)
        def on_result(self, result):
            self.thread_seen = QThread.currentThread()

    receiver = Receiver()
    worker = LatestWinsWorker("test-worker")
    worker.finished.connect(receiver.on_result)
    try:
        worker.submit("x", lambda: threading.current_thread().name)
        qtbot.waitUntil(lambda: receiver.thread_seen is not None, timeout=WAIT_MS)
        assert receiver.thread_seen is QThread.currentThread()    # the test runs on the GUI thread
    finally:
        worker.shutdown()


# -- the canvas widget -----------------------------------------------------------------------------------
@pytest.fixture
def canvas(qtbot):
    from latentlab.gui.canvas import LatentCanvas

    widget = LatentCanvas()
    qtbot.addWidget(widget)
    widget.resize(400, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_canvas_reports_every_hover_in_latent_coordinates(qtbot, canvas):
    seen = []
    canvas.hovered.connect(lambda u, v: seen.append((u, v)))
    targets = [(0.5 + 0.05 * i, -1.0) for i in range(20)]          # 20 quick moves, ~1 px apart
    for u, v in targets:
        QTest.mouseMove(canvas, canvas.map_from_canvas(u, v))
    assert len(seen) >= 19                    # pyqtgraph's 100 Hz scene limit would drop about half
    np.testing.assert_allclose(seen[-1], targets[-1], atol=0.03)


def test_canvas_accepts_file_drops_on_itself_and_via_its_viewport(qtbot, canvas):
    dropped = []
    canvas.filesDropped.connect(dropped.append)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile("/tmp/a.png"), QUrl.fromLocalFile("/tmp/b.png")])
    assert drop_mime(canvas, mime)               # what the main window's test sends
    assert drop_mime(canvas.viewport(), mime)    # where a real drag from a file manager lands
    assert dropped == [["/tmp/a.png", "/tmp/b.png"]] * 2


def test_canvas_refuses_drops_without_files_or_images(qtbot, canvas):
    refused = []
    canvas.dropRefused.connect(refused.append)
    mime = QMimeData()
    mime.setText("just text")
    drop_mime(canvas, mime)
    assert refused == [] or "Nothing usable" in refused[0]      # the drag itself is not even accepted


def test_canvas_draws_the_prior_circles_at_radius_one_and_two(canvas):
    for curve, radius in zip(canvas.prior_circles[:2], (1.0, 2.0)):
        xs, ys = curve.getData()
        np.testing.assert_allclose(np.hypot(xs, ys), radius)


def test_posterior_glyphs_can_be_added_moved_and_removed(canvas):
    canvas.set_posterior("a", Ellipse(np.array([1.0, 2.0]), np.array([0.3, 0.1]), 0.0), "a.png")
    canvas.set_posterior("a", Ellipse(np.array([-1.0, 0.0]), np.array([0.3, 0.1]), 0.0))
    xs, ys = canvas.posterior("a").one_sigma.getData()
    assert xs.max() == pytest.approx(-0.7) and ys.max() == pytest.approx(0.1)
    canvas.remove_posterior("a")
    assert canvas.posterior_keys() == []


# -- the image view: fixed levels ------------------------------------------------------------------------
def test_image_view_shows_pixels_at_fixed_levels(qtbot):
    from latentlab.gui.image_view import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.show()
    dim = np.full((28, 28), 40, np.uint8)           # a dim image must stay dim: no auto-contrast
    with qtbot.waitSignal(view.painted, timeout=WAIT_MS):
        view.set_image(dim)
    grab = view.grab().toImage()
    centre = grab.pixelColor(grab.width() // 2, grab.height() // 2)
    assert (centre.red(), centre.green(), centre.blue()) == (40, 40, 40)
    rect = view.image_rect()
    assert rect.width() == rect.height() == 28 * (200 // 28)      # whole-pixel scaling


# -- the drawing pad ---------------------------------------------------------------------------------------
def test_pad_strokes_are_continuous_and_clear_empties_it(qtbot):
    from latentlab.gui.drawpad import DrawPad

    pad = DrawPad()
    qtbot.addWidget(pad)
    pad.resize(300, 340)
    pad.show()
    qtbot.waitExposed(pad)
    canvas = pad.canvas
    changes = []
    pad.changed.connect(lambda: changes.append(1))
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas.from_pad(4, 14))
    QTest.mouseMove(canvas, canvas.from_pad(24, 14))                # one fast move across the pad
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas.from_pad(24, 14))
    row = pad.pixels()[13:15].max(axis=0)
    assert row[4:24].min() > 150 and row[0] == 0                    # no gaps along the stroke
    assert len(changes) >= 2
    pad.clear_button.click()
    assert pad.is_empty()


def test_pad_follows_the_model_resolution(qtbot):
    from latentlab.gui.drawpad import DrawPad

    pad = DrawPad()
    qtbot.addWidget(pad)
    pad.set_shape(28, 20)                       # Frey Face: 28 x 20
    assert pad.pixels().shape == (28, 20)
    pad.canvas.stroke([(2, 2), (18, 26)])
    assert pad.pixels()[26, 18] > 0
    assert QPoint(0, 0) != pad.canvas.from_pad(10, 14)


def test_a_new_scatter_with_the_same_labels_moves_the_existing_points(canvas):
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 100)
    canvas.set_scatter(rng.normal(size=(1000, 2)), labels, [str(i) for i in range(10)])
    items = canvas.scatter_items()
    moved = rng.normal(size=(1000, 2))
    canvas.set_scatter(moved, labels, [str(i) for i in range(10)])      # e.g. re-encoded during training
    assert canvas.scatter_items() == items and len(canvas.legend.items) == 10
    np.testing.assert_allclose(items[3].getData()[0], moved[labels == 3, 0])
    canvas.set_scatter(moved[:500], labels[:500], [str(i) for i in range(10)])   # other labels: rebuilt
    assert len(canvas.scatter_items()) == 5 and len(canvas.legend.items) == 5
    canvas.set_scatter(None)
    assert canvas.scatter_items() == [] and not canvas.legend.isVisible()


def test_unlabelled_points_are_grey_and_named_so(canvas):
    canvas.set_scatter(np.zeros((4, 2)), np.array([-1, -1, 0, 1]), ["a", "b"])
    names = [label.text for _, label in canvas.legend.items]
    assert names == ["unlabelled", "a", "b"]
