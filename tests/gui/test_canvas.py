"""The Qt pieces under the explorer: the latest-wins worker's delivery on the GUI thread, the canvas
widget's mouse and drop handling, the image view's fixed levels, the drawing pad. (Planes and
ellipses have no Qt: tests/app/test_plane.py.)"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtTest import QTest

from canvas_fixtures import WAIT_MS, drop_mime
from latentlab.app.plane import Ellipse


# -- the latest-wins worker: results on the GUI thread, to the callback that asked ----------------------
def test_worker_runs_only_the_newest_request_per_slot(qtbot):
    from latentlab.gui.latest_wins import LatestWinsWorker

    worker = LatestWinsWorker("test-worker")
    started, gate, ran, done = threading.Event(), threading.Event(), [], []
    try:
        worker.submit("block", lambda: started.set() or gate.wait(5), lambda v: done.append(("block", v)))
        assert started.wait(5)                                    # keeps the thread busy meanwhile
        for i in range(50):
            if i == 1:
                worker.submit("other", lambda: "other", lambda v: done.append(("other", v)))
            worker.submit("hover", lambda i=i: ran.append(i) or i, lambda v: done.append(("hover", v)), priority=0)
        gate.set()
        qtbot.waitUntil(lambda: len(done) == 3, timeout=WAIT_MS)
        assert ran == [49]                                        # 49 stale hovers never ran
        assert done == [("block", True), ("hover", 49), ("other", "other")]   # hover (priority 0) jumps the queue
    finally:
        worker.shutdown()


def test_worker_reports_errors_to_the_callers_error_callback_and_goes_on(qtbot):
    from latentlab.gui.latest_wins import LatestWinsWorker

    worker = LatestWinsWorker("test-worker")
    errors, values = [], []
    try:
        worker.submit("bad", lambda: 1 / 0, values.append, on_error=errors.append)
        worker.submit("good", lambda: 42, values.append, on_error=errors.append)
        qtbot.waitUntil(lambda: len(values) == 1 and len(errors) == 1, timeout=WAIT_MS)
        assert isinstance(errors[0], ZeroDivisionError) and values == [42]
    finally:
        worker.shutdown()
    assert not worker.is_running()


def test_worker_callbacks_run_on_the_gui_thread_and_stale_results_are_dropped(qtbot):
    from PySide6.QtCore import QThread

    from latentlab.gui.latest_wins import LatestWinsWorker

    worker = LatestWinsWorker("test-worker")
    threads, values, gate = [], [], threading.Event()
    try:
        worker.submit("x", lambda: gate.wait(5) and "first",
                      lambda v: threads.append(QThread.currentThread()) or values.append(v))
        worker.cancel("x")            # the running call's result is stale now: it must never arrive
        worker.submit("y", lambda: "second", lambda v: threads.append(QThread.currentThread()) or values.append(v))
        gate.set()
        # "first" would be delivered before "second" (same thread, queued in order): never seen.
        qtbot.waitUntil(lambda: values == ["second"], timeout=WAIT_MS)
        assert threads == [QThread.currentThread()]              # the test runs on the GUI thread
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


def test_the_legend_can_be_dragged_off_the_data(qtbot):
    """The digit legend sits over the plot's corner; a drag moves it where it hides nothing."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from latentlab.gui.canvas import LatentCanvas

    canvas = LatentCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(600, 500)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_scatter(np.random.default_rng(0).normal(size=(200, 2)), np.arange(200) % 10)
    before = canvas.legend.pos()
    start = canvas.mapFromScene(canvas.legend.sceneBoundingRect().center())
    viewport = canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 11):
        QTest.mouseMove(viewport, start + QPoint(-10 * i, 8 * i))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(-100, 80))
    moved = canvas.legend.pos() - before
    assert (round(moved.x()), round(moved.y())) == (-100, 80)
