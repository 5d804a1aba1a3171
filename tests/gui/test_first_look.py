"""The first look (gui/first_look.py) and the main window taking over from it (gui/startup.py)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, Qt
from PySide6.QtTest import QTest

from latentlab.core.shipped import default_checkpoint, shipped_models_dir
from latentlab.gui import first_look_canvas as look_canvas
from latentlab.gui.first_look import FirstLookWindow, default_axes, open_first_look, readout
from latentlab.gui.settings import app_settings


@pytest.fixture
def look(qtbot, tmp_path):
    window = open_first_look(default_checkpoint(), QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    return window


def _shown(qtbot, window: FirstLookWindow) -> FirstLookWindow:
    with qtbot.waitSignal(window.firstImagePainted, timeout=10_000):
        window.show()
    return window


def test_the_first_look_shows_the_test_set_and_decodes_under_the_mouse(qtbot, look):
    _shown(qtbot, look)
    decoder = look.model.decoder
    np.testing.assert_array_equal(look.decoded.image(), decoder.decode_image(np.zeros(2)))   # z = 0 first
    canvas = look.canvas
    pos = canvas.map_from_canvas(1.0, -0.5).toPoint()
    QTest.mouseMove(canvas, pos + QPoint(1, 1))     # the cursor may already be at `pos` (see canvas_fixtures.hover)
    with qtbot.waitSignal(look.decoded.painted, timeout=5_000):
        QTest.mouseMove(canvas, pos)
    z = look.hovered_latent
    pixel = 1 / min(canvas.width(), canvas.height()) * 10     # canvas units per pixel, generously
    np.testing.assert_allclose(z, [1.0, -0.5], atol=pixel)
    np.testing.assert_array_equal(look.decoded.image(), decoder.decode_image(z))
    assert look.readout.text().startswith(f"z = ({z[0]:+.2f}, {z[1]:+.2f})   log p(z)")
    assert "Loading the full app" in look.statusBar().currentMessage()
    assert look.windowTitle() == "mnist-2d.pt — latentlab"


def test_only_models_the_first_look_can_show_get_one(tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert open_first_look(shipped_models_dir() / "m2-2d.pt", settings) is None
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint" * 100)
    assert open_first_look(garbage, settings) is None
    assert open_first_look(tmp_path / "missing.pt", settings) is None


def test_the_first_look_draws_as_the_explorer_does():
    """Its constants and texts are copies (the explorer's modules import pyqtgraph or torch)."""
    from latentlab.app import captions
    from latentlab.app.explorer_state import ExplorerState
    from latentlab.core.checkpoint import load_checkpoint
    from latentlab.gui import canvas

    assert look_canvas.LABEL_COLOURS == canvas.LABEL_COLOURS and look_canvas.DEFAULT_RANGE == canvas.DEFAULT_RANGE
    for n in (1, 400, 10_000, 60_000):
        assert look_canvas.point_alpha(n) == canvas.LatentCanvas._alpha_for(n)
    state = ExplorerState()
    assert readout(None) == captions.READOUT_HINT == captions.readout(state)
    ckpt = load_checkpoint(shipped_models_dir() / "mnist-20d.pt")
    state.set_model(ckpt.model, ckpt.extras)
    for z in (np.array([0.5, -1.25]), np.linspace(-2, 2, 20)):
        shown = type("State", (), {"hover": z, "model": ckpt.model})()    # what captions.readout reads
        assert readout(z) == captions.readout(shown)
    assert default_axes(state.scatter.means) == state.plane_choice.axes != (0, 1)   # the 20-D model's z1 collapsed


def test_the_canvas_fills_the_view_as_the_explorer_canvas_resets_it(qtbot):
    points = np.random.default_rng(0).normal(0, 2.5, (1000, 2))
    lo_u, hi_u, lo_v, hi_v = look_canvas.default_view(points)
    assert lo_u < -3.2 and hi_v > 3.2                 # widened past the prior's disc to hold the points
    assert look_canvas.default_view(None) == (-3.2, 3.2, -3.2, 3.2)
    widget = look_canvas.FirstLookCanvas()
    qtbot.addWidget(widget)
    widget.resize(500, 400)
    widget.set_scatter(points, np.arange(1000) % 10, None)
    u0, u1, v0, v1 = widget.view_range()
    assert u0 <= lo_u and u1 >= hi_u and v0 <= lo_v + 1e-9 and v1 >= hi_v - 1e-9    # all of it, equal units
    for u, v in ((0.0, 0.0), (1.5, -2.0)):
        p = widget.map_from_canvas(u, v)
        np.testing.assert_allclose(widget.map_to_canvas(p.x(), p.y()), (u, v), atol=1e-9)


def test_splatted_dots_blend_like_translucent_dots():
    background = (22, 24, 29)
    image = look_canvas.splat((20, 10), np.array([[5.5, 5.5], [5.5, 5.5], [15.2, 4.1], [np.nan, 1.0]]),
                              np.array([[255.0, 0, 0]] * 4), alpha=0.25, radius=2.0, background=background)
    assert image.shape == (10, 20, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == background and tuple(image[5, 10]) == background
    # two dots on one pixel: 1 - (1 - 0.25)^2 of red over the background
    expected = np.array(background) * 0.75 ** 2 + np.array([255, 0, 0]) * (1 - 0.75 ** 2)
    np.testing.assert_allclose(image[5, 5], expected, atol=1)
    assert image[4, 15, 0] > background[0] + 40            # the other dot, alone


@pytest.fixture
def startup_of(qtbot, qapp):
    """Starts the app as run_app does (no event loop of its own: the test's waits run it)."""
    from latentlab.gui.startup import Startup

    made = []

    def start(look):
        startup = Startup(qapp, None, None, None, look)
        made.append(startup)
        return startup

    yield start
    for startup in made:
        if startup.window is not None:
            startup.window.close()
        startup.shutdown()
        if startup.look is not None:
            startup.look.close()


@pytest.mark.parametrize("maximised", [False, True])
def test_the_main_window_takes_over_where_the_first_look_was(qtbot, startup_of, maximised):
    from latentlab.app.jobs import decode_point

    look = open_first_look(default_checkpoint(), app_settings())
    if maximised:
        look.setWindowState(Qt.WindowState.WindowMaximized)
    else:
        look.setGeometry(QRect(30, 40, 1100, 720))
    gone = []
    look.destroyed.connect(lambda *_: gone.append(True))
    decoder = look.model.decoder
    startup = startup_of(look)
    assert look.isVisible() and startup.window is None
    look.canvas.hovered.emit(0.75, 1.5)                 # the mouse on the first look's canvas
    z = look.hovered_latent
    geometry = look.geometry()
    qtbot.waitUntil(lambda: startup.window is not None and startup.window.isVisible(), timeout=60_000)
    window = startup.window
    assert startup.look is None and (gone or not look.isVisible())    # closed, then deleted
    qtbot.waitUntil(lambda: bool(gone), timeout=5_000)
    assert window.isMaximized() == maximised
    if not maximised:
        assert window.geometry() == geometry
    np.testing.assert_array_equal(window.explorer.state.hover, z)      # the point under the mouse stays
    qtbot.waitUntil(lambda: window.explorer.decoded.image() is not None and np.array_equal(
        window.explorer.decoded.image(), decode_point(window.model, z)), timeout=10_000)
    np.testing.assert_array_equal(window.explorer.decoded.image(), decoder.decode_image(z))


def test_closing_the_first_look_before_the_hand_over_shows_no_window(qtbot, qapp, startup_of):
    look = open_first_look(default_checkpoint(), app_settings())
    startup = startup_of(look)
    qtbot.waitUntil(lambda: startup._importer is not None, timeout=10_000)   # started at the first paint
    look.close()
    startup._importer.join(timeout=60)
    for _ in range(5):                  # the importer's queued "done", and any step it would start
        qapp.processEvents()
    assert startup.window is None and not startup.loading


def _run(code: str, tmp_path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)


def test_latentlab_and_the_first_look_import_no_torch(tmp_path):
    code = ("import sys\n"
            "import latentlab, latentlab.cli, latentlab.gui.app, latentlab.gui.startup, latentlab.gui.first_look\n"
            "from latentlab.core.numpy_vae import read_quick_model\n"
            "from latentlab.core.shipped import default_checkpoint\n"
            "assert read_quick_model(default_checkpoint()) is not None\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "from latentlab import VAE, VAEConfig, CheckpointError, load_checkpoint, save_checkpoint\n"
            "assert 'torch' in sys.modules and load_checkpoint(default_checkpoint()).model.latent_dim == 2\n"
            "print('ok')\n")
    result = _run(code, tmp_path)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        import latentlab

        latentlab.nothing  # noqa: B018


def test_the_command_line_paints_the_first_image_before_importing_torch(tmp_path):
    """`latentlab --screenshot x.png`, the command line's path to the window, up to the first paint."""
    code = ("import sys\n"
            "from latentlab.gui import startup\n"
            "def painted(self):\n"
            "    print('torch imported' if 'torch' in sys.modules else 'no torch', flush=True)\n"
            "    self.close()\n"
            "startup.Startup._on_first_look_painted = painted\n"
            "from latentlab.cli import main\n"
            "main(['--screenshot', sys.argv[1]])\n")
    result = _run(code, tmp_path, str(tmp_path / "shot.png"))
    assert result.stdout.strip() == "no torch", result.stdout + result.stderr
