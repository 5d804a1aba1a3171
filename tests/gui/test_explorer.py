"""LatentExplorer driven as a user would: hover, click, drop files, draw, switch planes.

Every check compares numbers with the model itself (the decoded image is the decoder's output at
the latent under the mouse; an ellipse's centre and axes are the encoder's mean and exp(logvar/2)),
not only that "something was drawn".
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtTest import QTest

import image_files as files
from canvas_fixtures import (WAIT_MS, Messages, canvas_of, decoded_of, drop_files, drop_mime,  # noqa: F401
                             encoded_scatter,
                             hover, latent_under, make_explorer, pixel_at, shipped, small_model, wait_encoded)
from latentlab import load_checkpoint
from latentlab.app.jobs import decode_point
from latentlab.core.images import load_image


def expected_image(model, z) -> np.ndarray:
    with torch.no_grad():
        return decode_point(model, z)


def expected_posterior(model, path):
    x = load_image(path, model.image_shape).to_model_input()
    with torch.no_grad():
        mu, logvar = model.encode(x)
    return mu[0].double().numpy(), logvar[0].double().numpy()


# -- exploring -----------------------------------------------------------------------------------------
def test_first_image_is_painted_without_a_hover(make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    image = decoded_of(explorer).image()
    np.testing.assert_array_equal(image, expected_image(shipped.model, np.zeros(2)))   # z = 0


def test_hover_decodes_the_latent_under_the_mouse(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    canvas = canvas_of(explorer)
    shown = [decoded_of(explorer).image()]
    for u, v in [(1.5, -0.5), (-2.0, 1.0)]:
        pos = pixel_at(canvas, u, v)
        hover(qtbot, explorer, pos + QPoint(6, 6))    # start nearby: Qt ignores a "move" to where the cursor is
        shown.append(decoded_of(explorer).image())
        with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):     # painted, not only computed
            QTest.mouseMove(canvas, pos)
        z = latent_under(explorer, pos)
        np.testing.assert_allclose(z, [u, v], atol=0.05)       # one pixel of the canvas
        expected = expected_image(shipped.model, z)
        qtbot.waitUntil(lambda: np.array_equal(decoded_of(explorer).image(), expected), timeout=WAIT_MS)
        assert not np.array_equal(expected, shown[-1])         # the image changed
        shown.append(expected)
        assert f"{z[0]:+.2f}" in explorer.readout.text()
        log_p = -np.log(2 * np.pi) - 0.5 * float(z @ z)
        assert f"log p(z) = {log_p:.2f}" in explorer.readout.text()


def test_a_burst_of_moves_ends_on_the_last_position(qtbot, make_explorer, shipped):
    """Latest wins: after many quick moves the image is the last position's, never a stale one."""
    explorer = make_explorer(shipped.model, shipped.extras)
    canvas = canvas_of(explorer)
    positions = [pixel_at(canvas, -2 + 0.1 * i, 0.5) for i in range(40)]
    for pos in positions:
        QTest.mouseMove(canvas, pos)
    z_last = latent_under(explorer, positions[-1])
    expected = expected_image(shipped.model, z_last)
    qtbot.waitUntil(lambda: np.array_equal(decoded_of(explorer).image(), expected), timeout=WAIT_MS)
    qtbot.wait(50)   # nothing stale arrives afterwards
    np.testing.assert_array_equal(decoded_of(explorer).image(), expected)


def test_click_pins_a_point_with_its_image(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    canvas = canvas_of(explorer)
    pos = pixel_at(canvas, 0.8, 1.2)
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)   # the viewport gets mouse events
    qtbot.waitUntil(lambda: len(explorer.pins()) == 1 and len(explorer.pin_row.images()) == 1, timeout=WAIT_MS)
    z = explorer.pins()[0]
    np.testing.assert_allclose(z, latent_under(explorer, pos), atol=1e-9)
    np.testing.assert_array_equal(explorer.pin_row.images()[0], expected_image(shipped.model, z))
    xs, ys = canvas.pins.getData()
    np.testing.assert_allclose([xs[0], ys[0]], z, atol=1e-9)


def test_sample_toggle_shows_a_bernoulli_draw_not_the_mean(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    mean = decoded_of(explorer).image()
    assert len(np.unique(mean)) > 2                       # grey levels: the mean of p(x|z)
    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.findChild(type(explorer.show_sample), "sampleToggle").setChecked(True)
    sample = decoded_of(explorer).image()
    assert set(np.unique(sample)) <= {0, 255}            # binary pixels: a draw


def test_scatter_is_coloured_by_label_with_a_legend_and_a_toggle(make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    items = explorer.canvas.scatter_items()
    assert len(items) == 10
    assert sum(len(item.getData()[0]) for item in items) == len(shipped.extras["scatter_means"])
    assert len(explorer.canvas.legend.items) == 10
    explorer.show_scatter.setChecked(False)
    assert not any(item.isVisible() for item in items) and not explorer.canvas.legend.isVisible()
    explorer.show_scatter.setChecked(True)
    assert all(item.isVisible() for item in items)


# -- dropping files ------------------------------------------------------------------------------------
def test_dropped_pngs_get_ellipses_with_the_encoders_mean_and_sigma(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    paths = [files.sample("mnist", 0), files.sample("mnist", 5)]
    drop_files(canvas_of(explorer), paths)
    encodings = wait_encoded(qtbot, explorer, 2)
    for encoding, path in zip(encodings, paths):
        mu, logvar = expected_posterior(shipped.model, path)
        glyph = explorer.canvas.posterior(encoding.id)
        np.testing.assert_allclose(glyph.ellipse.centre, mu, rtol=0, atol=1e-6)
        np.testing.assert_allclose(glyph.ellipse.semi_axes, np.exp(logvar / 2), rtol=1e-6)
        # ... and what is drawn: the 1- and 2-sigma outlines reach exactly that far from the centre.
        for curve, k in ((glyph.one_sigma, 1), (glyph.two_sigma, 2)):
            xs, ys = curve.getData()
            np.testing.assert_allclose([xs.max() - mu[0], ys.max() - mu[1]], k * np.exp(logvar / 2), rtol=1e-3)
    # The latest image's input, reconstruction and q(z|x) samples are shown.
    last = encodings[-1]
    np.testing.assert_array_equal(explorer.input_view.image(), load_image(paths[-1]).pixels[0])
    np.testing.assert_array_equal(explorer.reconstruction_view.image(),
                                  expected_image(shipped.model, last.posterior.mu))
    assert len(explorer.sample_row.images()) == 4
    xs, _ = explorer.canvas.posterior_samples.getData()
    assert len(xs) == 4


def test_a_scan_of_dark_ink_is_inverted_before_encoding(qtbot, make_explorer, shipped, tmp_path):
    explorer = make_explorer(shipped.model, shipped.extras)
    scan, original = files.write_dark_on_light(tmp_path)
    drop_files(canvas_of(explorer), [scan])
    encoding, = wait_encoded(qtbot, explorer, 1)
    np.testing.assert_array_equal(encoding.pixels[0], original)
    mu, _ = expected_posterior(shipped.model, files.sample())
    np.testing.assert_allclose(encoding.posterior.mu, mu, atol=1e-6)


BAD = {
    "not an image": (files.write_not_an_image, "not an image"),
    "empty": (files.write_empty, "empty"),
    "truncated": (files.write_truncated, "truncated"),
    "20,000 x 20,000": (files.write_huge, "megapixels"),
    "animated GIF": (files.write_animated_gif, "animated"),
    "folder": (files.write_folder, "folder"),
    "vanished": (files.vanished_path, "no longer exists"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_drops_give_a_message_and_change_nothing(qtbot, make_explorer, shipped, tmp_path, kind):
    explorer = make_explorer(shipped.model, shipped.extras)
    canvas = canvas_of(explorer)
    drop_files(canvas, [files.sample()])
    wait_encoded(qtbot, explorer, 1)
    messages = Messages(explorer)
    keys, input_shown = [e.id for e in explorer.encodings()], explorer.input_view.image()
    write, expected = BAD[kind]
    path = write(tmp_path)
    drop_files(canvas, [path])
    message = messages.wait_for(qtbot)
    assert expected in message and path.name in message
    # Nothing else changed: same encoded images, same ellipses, same input shown.
    assert [e.id for e in explorer.encodings()] == keys == explorer.canvas.posterior_keys()
    np.testing.assert_array_equal(explorer.input_view.image(), input_shown)
    hover(qtbot, explorer, pixel_at(canvas, 0.3, -0.7))      # and the app still works
    assert messages.texts == [message]


@pytest.mark.parametrize("write, note", [(files.write_16bit_png, "16-bit"), (files.write_cmyk_jpeg, "CMYK")])
def test_16_bit_and_cmyk_images_are_converted_and_say_so(qtbot, make_explorer, shipped, tmp_path, write, note):
    explorer = make_explorer(shipped.model, shipped.extras)
    messages = Messages(explorer)
    path, original = write(tmp_path)
    drop_files(canvas_of(explorer), [path])
    encoding, = wait_encoded(qtbot, explorer, 1)
    assert np.abs(encoding.pixels[0].astype(int) - original).mean() < 2
    assert note in messages.wait_for(qtbot)


def test_a_huge_image_never_blocks_the_gui_thread(qtbot, make_explorer, shipped, tmp_path):
    import time

    explorer = make_explorer(shipped.model, shipped.extras)
    messages = Messages(explorer)
    start = time.perf_counter()
    explorer.encode_files([str(files.write_huge(tmp_path))])
    assert time.perf_counter() - start < 0.05          # the file is read on another thread
    assert "megapixels" in messages.wait_for(qtbot)


def test_remote_urls_are_refused_with_a_message(qtbot, make_explorer, shipped):
    from PySide6.QtCore import QMimeData, QUrl

    explorer = make_explorer(shipped.model, shipped.extras)
    messages = Messages(explorer)
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/digit.png")])
    drop_mime(canvas_of(explorer), mime)
    assert "Only files on this computer" in messages.wait_for(qtbot)
    assert explorer.encodings() == []


def test_a_checkpoint_dropped_on_the_canvas_goes_to_the_window(qtbot, make_window, tmp_path):
    """The canvas encodes images; a model file dragged over it is left to the main window."""
    import shutil

    from PySide6.QtCore import QMimeData, QUrl

    from latentlab.core.shipped import default_checkpoint

    path = tmp_path / "other.pt"
    shutil.copy(default_checkpoint(), path)
    window = make_window()
    before = window.explorer.model
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    assert drop_mime(canvas_of(window), mime)
    qtbot.waitUntil(lambda: window.explorer.model is not before, timeout=WAIT_MS)
    assert window.explorer.encodings() == []


def test_image_data_dropped_from_a_browser_is_encoded(qtbot, make_explorer, shipped):
    from PySide6.QtCore import QMimeData

    explorer = make_explorer(shipped.model, shipped.extras)
    mime = QMimeData()
    mime.setImageData(QImage(str(files.sample())))
    drop_mime(canvas_of(explorer), mime)
    encoding, = wait_encoded(qtbot, explorer, 1)
    np.testing.assert_array_equal(encoding.pixels, load_image(files.sample()).pixels)


def test_paste_from_the_clipboard(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    QGuiApplication.clipboard().setImage(QImage(str(files.sample())))
    paste = next(a for a in explorer.menu_actions() if a.objectName() == "actionPasteImage")
    paste.trigger()
    encoding, = wait_encoded(qtbot, explorer, 1)
    mu, _ = expected_posterior(shipped.model, files.sample())
    np.testing.assert_allclose(encoding.posterior.mu, mu, atol=1e-6)


def test_menu_actions_are_there_and_dialogs_do_not_block(qtbot, make_explorer):
    from PySide6.QtWidgets import QFileDialog

    explorer = make_explorer()
    actions = {a.objectName(): a for a in explorer.menu_actions()}
    assert {"actionEncodeImage", "actionPasteImage", "actionExportCanvas", "actionExportManifold",
            "actionExportStrip", "actionExportPins", "actionExportScatter"} <= set(actions)
    for name in ("actionEncodeImage", "actionExportPins"):
        actions[name].trigger()                              # returns at once: no nested event loop
        dialog = explorer.findChild(QFileDialog)
        assert dialog is not None and dialog.isVisible()
        dialog.reject()
        qtbot.waitUntil(lambda: explorer.findChild(QFileDialog) is None, timeout=WAIT_MS)


# -- drawing ---------------------------------------------------------------------------------------------
def test_drawing_moves_the_ellipse_live(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    drop_files(canvas_of(explorer), [files.sample()])          # an earlier drop stays on the canvas
    wait_encoded(qtbot, explorer, 1)
    explorer.tabs.setCurrentWidget(explorer.drawpad)
    pad = explorer.drawpad.canvas
    qtbot.waitExposed(pad)

    def centre():
        glyph = explorer.canvas.posterior("drawing")
        return None if glyph is None or glyph.ellipse is None else glyph.ellipse.centre.copy()

    def encoded_matches_pad():
        x = torch.from_numpy(pad.pixels().astype(np.float32) / 255)[None, None]
        with torch.no_grad():
            mu = shipped.model.encode(x)[0][0].double().numpy()
        c = centre()
        return c is not None and np.allclose(c, mu, atol=1e-6)

    # A vertical stroke, as a user draws it: press, move, release.
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=pad.from_pad(14, 4))
    for y in range(5, 24):
        QTest.mouseMove(pad, pad.from_pad(14, y))
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=pad.from_pad(14, 23))
    assert pad.pixels()[4:23, 13:15].min() > 100             # the stroke is on the pad
    qtbot.waitUntil(encoded_matches_pad, timeout=WAIT_MS)
    first = centre()
    # A loop on top makes a different digit: the ellipse moves, and still matches the encoder.
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=pad.from_pad(14, 5))
    for a in np.linspace(0, 2 * np.pi, 30):
        QTest.mouseMove(pad, pad.from_pad(14 + 6 * np.sin(a), 11 - 6 * np.cos(a)))
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=pad.from_pad(14, 5))
    qtbot.waitUntil(encoded_matches_pad, timeout=WAIT_MS)
    assert np.linalg.norm(centre() - first) > 1e-3
    np.testing.assert_array_equal(explorer.input_view.image(), pad.pixels())   # the drawing is the one detailed
    assert len(explorer.canvas.posterior_keys()) == 2
    explorer.drawpad.clear_button.click()
    qtbot.waitUntil(lambda: explorer.canvas.posterior("drawing") is None, timeout=WAIT_MS)


# -- more than two latent dimensions -------------------------------------------------------------------
def test_a_5d_model_offers_axis_choice_and_decodes_on_hover(qtbot, make_explorer):
    model = small_model(5)
    explorer = make_explorer(model, encoded_scatter(model))
    controls = explorer.plane_controls
    assert controls.isVisible() and controls.x_axis.count() == 5
    canvas = canvas_of(explorer)

    controls.x_axis.setCurrentIndex(2)
    controls.y_axis.setCurrentIndex(4)
    controls.changed.emit()
    assert canvas.plot_item.getAxis("bottom").labelText == "z3"
    assert canvas.plot_item.getAxis("left").labelText == "z5"
    pos = pixel_at(canvas, 0.7, -1.1)
    image = hover(qtbot, explorer, pos)
    z = latent_under(explorer, pos)
    assert z[0] == z[1] == z[3] == 0 and abs(z[2] - 0.7) < 0.05 and abs(z[4] + 1.1) < 0.05
    np.testing.assert_array_equal(image, expected_image(model, z))

    # A dropped image: the ellipse is the posterior's projection onto (z3, z5).
    drop_files(canvas, [files.sample()])
    encoding, = wait_encoded(qtbot, explorer, 1)
    mu, logvar = expected_posterior(model, files.sample())
    ellipse = explorer.canvas.posterior(encoding.id).ellipse
    np.testing.assert_allclose(ellipse.centre, mu[[2, 4]], atol=1e-6)
    np.testing.assert_allclose(ellipse.semi_axes, np.exp(logvar[[2, 4]] / 2), rtol=1e-6)

    # Anchor the other coordinates at that image's posterior mean.
    controls.anchor.setCurrentIndex(1)
    controls.changed.emit()
    z = latent_under(explorer, pos)
    np.testing.assert_allclose(z[[0, 1, 3]], mu[[0, 1, 3]], atol=1e-12)
    np.testing.assert_array_equal(hover(qtbot, explorer, pixel_at(canvas, -0.4, 0.2)),
                                  expected_image(model, latent_under(explorer, pixel_at(canvas, -0.4, 0.2))))

    # The PCA plane of the encoded test set: scatter and hover follow it.
    controls.mode.setCurrentIndex(1)
    controls.changed.emit()
    plane = explorer.plane
    assert plane.kind == "pca" and canvas.plot_item.getAxis("bottom").labelText == "PC1"
    means = encoded_scatter(model)["scatter_means"].double().numpy()
    shown = np.concatenate([item.getData()[0] for item in explorer.canvas.scatter_items()])
    np.testing.assert_allclose(np.sort(shown), np.sort(plane.project(means)[:, 0]), atol=1e-9)
    pos = pixel_at(canvas, 0.1, 0.05)
    np.testing.assert_array_equal(hover(qtbot, explorer, pos), expected_image(model, latent_under(explorer, pos)))
    centre, cov = plane.project_gaussian(mu, np.exp(logvar))
    np.testing.assert_allclose(explorer.canvas.posterior(encoding.id).ellipse.centre, centre, atol=1e-6)


def test_a_frey_face_shaped_gaussian_model(qtbot, make_explorer):
    """28 x 20 images and a Gaussian decoder: drops keep the aspect, the pad follows the shape,
    and a sample of p(x|z) is the mean plus pixel noise (not binary)."""
    model = small_model(2, image_shape=(1, 28, 20))
    model.config.likelihood = "gaussian"
    model = type(model)(model.config).eval()
    explorer = make_explorer(model)
    assert explorer.drawpad.pixels().shape == (28, 20)
    drop_files(canvas_of(explorer), [files.sample("frey-face")])
    encoding, = wait_encoded(qtbot, explorer, 1)
    assert encoding.pixels.shape == (1, 28, 20)
    mu, logvar = expected_posterior(model, files.sample("frey-face"))
    np.testing.assert_allclose(explorer.canvas.posterior(encoding.id).ellipse.centre, mu, atol=1e-6)
    mean = hover(qtbot, explorer, pixel_at(canvas_of(explorer), 0.5, 0.5))
    assert mean.shape == (28, 20)
    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.show_sample.setChecked(True)
    sample = decoded_of(explorer).image()
    assert not np.array_equal(sample, mean) and len(np.unique(sample)) > 2


# -- live snapshots of a model in training -----------------------------------------------------------------
def test_a_new_snapshot_keeps_pins_and_reencodes_images(qtbot, make_explorer):
    first, second = small_model(2, seed=1), small_model(2, seed=2)
    explorer = make_explorer(first, encoded_scatter(first))
    explorer.pin(np.array([0.5, -0.5]))
    drop_files(canvas_of(explorer), [files.sample()])
    encoding, = wait_encoded(qtbot, explorer, 1)
    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.set_model(second, reset_view=False)
    mu2, logvar2 = expected_posterior(second, files.sample())
    qtbot.waitUntil(lambda: np.allclose(explorer.canvas.posterior(encoding.id).ellipse.centre, mu2, atol=1e-6),
                    timeout=WAIT_MS)
    assert len(explorer.pins()) == 1
    qtbot.waitUntil(lambda: np.array_equal(explorer.pin_row.images()[0], expected_image(second, [0.5, -0.5])),
                    timeout=WAIT_MS)
    assert len(explorer.canvas.scatter_items()) > 0                    # scatter kept until a new one comes


def test_a_model_of_another_dimension_resets_the_canvas(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    explorer.pin(np.array([1.0, 1.0]))
    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.set_model(small_model(3))
    assert explorer.pins() == [] and explorer.canvas.scatter_items() == []
    assert explorer.plane_controls.isVisible() and explorer.plane.latent_dim == 3
    explorer.set_model(None)
    assert decoded_of(explorer).image() is None


def test_a_scatter_of_the_wrong_dimension_is_refused(qtbot, make_explorer, shipped):
    explorer = make_explorer(small_model(3))
    messages = Messages(explorer)
    explorer.set_scatter(shipped.extras)
    assert "dimensions" in messages.wait_for(qtbot)
    assert explorer.canvas.scatter_items() == []


def test_scatter_without_labels_is_one_grey_group(make_explorer):
    from latentlab.app.scatter import scatter_arrays

    model = small_model(2)
    scatter = {**encoded_scatter(model), "scatter_labels": torch.full((40,), -1), "label_names": []}
    means, labels, names = scatter_arrays(scatter)
    assert means.shape == (40, 2) and labels is None and names is None
    explorer = make_explorer(model, scatter)
    assert len(explorer.canvas.scatter_items()) == 1
    assert [label.text for _, label in explorer.canvas.legend.items] == ["test set"]


# -- issue 8: a new model, and the end of the widget -------------------------------------------------------
def test_switching_from_mnist_10d_to_frey_2d_re_encodes_and_every_caption_follows(qtbot, make_explorer):
    """Opening frey-2d (1 x 28 x 20, Gaussian) after encoding an MNIST image on mnist-10d used to end
    in "Model error: RuntimeError: mat1 and mat2 shapes cannot be multiplied", with "(z3, z7)", the
    10-D readout and the old image's details left on screen."""
    from latentlab.app import captions
    from latentlab.core.shipped import shipped_models_dir

    mnist, frey = (load_checkpoint(shipped_models_dir() / name) for name in ("mnist-10d.pt", "frey-2d.pt"))
    explorer = make_explorer(mnist.model, mnist.extras)
    canvas = canvas_of(explorer)
    drop_files(canvas, [files.sample("mnist", 0)])
    wait_encoded(qtbot, explorer, 1)
    explorer.pin(np.ones(10))
    controls = explorer.plane_controls
    controls.x_axis.setCurrentIndex(2)
    controls.y_axis.setCurrentIndex(6)
    controls.changed.emit()
    hover(qtbot, explorer, pixel_at(canvas, 0.5, 0.5))
    assert "(z3, z7)" in explorer.manifold.caption.text() and "(10-D)" in explorer.readout.text()
    messages = Messages(explorer)

    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.set_model(frey.model, frey.extras)
    assert "Dropped" in messages.wait_for(qtbot) and "1 pin" in messages.texts[0]
    encoding, = wait_encoded(qtbot, explorer, 1)
    assert encoding.pixels.shape == (1, 28, 20) and encoding.posterior.mu.shape == (2,)
    np.testing.assert_allclose(encoding.posterior.mu, expected_posterior(frey.model, files.sample("mnist", 0))[0],
                               atol=1e-5)
    qtbot.waitUntil(lambda: explorer.input_view.image() is not None
                    and explorer.input_view.image().shape == (28, 20), timeout=WAIT_MS)
    assert not any("Model error" in text for text in messages.texts)
    assert explorer.readout.text() == captions.READOUT_HINT
    assert explorer.manifold.caption.text() == captions.MANIFOLD_PAPER
    assert (canvas.plot_item.getAxis("bottom").labelText, canvas.plot_item.getAxis("left").labelText) == ("z1", "z2")
    assert not controls.isVisible() and explorer.pins() == [] and explorer.pin_row.images() == []
    assert explorer.encoded_hint.text().startswith(f"{files.sample('mnist', 0).name}:")
    assert explorer.interpolation.caption.text() == captions.INTERPOLATION_HINT
    assert decoded_of(explorer).image().shape == (28, 20)

    explorer.clear_canvas()                           # and a cleared image leaves no name behind
    assert explorer.encoded_hint.text() == captions.ENCODED_HINT and explorer.input_view.image() is None


def test_destroying_the_widget_stops_its_threads(qtbot, shipped):
    """`destroyed` passes the dying object: it must not reach shutdown() as its timeout (a TypeError)."""
    import shiboken6

    from latentlab.gui.explorer import LatentExplorer

    explorer = LatentExplorer()
    with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
        explorer.set_model(shipped.model, shipped.extras)
        explorer.show()
    threads = (explorer.model_thread, explorer.reader_thread)
    assert all(thread.is_running() for thread in threads)
    with qtbot.captureExceptions() as exceptions:
        shiboken6.delete(explorer)                    # the C++ object goes now: `destroyed` is emitted
    assert exceptions == []
    assert not any(thread.is_running() for thread in threads)


def test_a_file_the_window_would_not_open_is_not_left_to_it(qtbot, make_explorer, shipped, tmp_path):
    """One vocabulary: the canvas used to leave .ckpt/.safetensors drops to the window, which ignored them."""
    from latentlab.app.vocabulary import CHECKPOINT_SUFFIXES

    assert CHECKPOINT_SUFFIXES == (".pt", ".pth")
    explorer = make_explorer(shipped.model, shipped.extras)
    messages = Messages(explorer)
    path = tmp_path / "model.ckpt"
    path.write_bytes(b"not a latentlab checkpoint")
    assert drop_files(canvas_of(explorer), [path])    # taken by the canvas ...
    assert "model.ckpt" in messages.wait_for(qtbot)    # ... which says why it cannot use it
    assert explorer.encodings() == []
