"""The window's layout, sizes, presentation view, own windows and UI zoom (gui/window_view.py,
gui/presentation.py, gui/page_tabs.py, gui/ui_zoom.py)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSettings, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (QAbstractButton, QAbstractScrollArea, QAbstractSpinBox, QComboBox, QLabel, QLineEdit,
                               QSlider, QWidget)

import image_files as files
from canvas_fixtures import WAIT_MS, canvas_of, drop_files, wait_encoded
from latentlab.gui.settings import LAYOUT_VERSION_KEY, UI_SCALE_KEY, app_settings

CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QSlider, QLabel)


def activate(qtbot, window) -> None:
    """Make `window` the active one, so that its shortcuts work."""
    with qtbot.waitActive(window):
        window.activateWindow()


def settle(qtbot, window) -> None:
    """Let the layout follow a resize: wait until two looks at the geometry agree."""
    last = [None]

    def same() -> bool:
        now = (window.size(), window.explorer.canvas.size(), window.explorer.tabs.size())
        done, last[0] = now == last[0], now
        return done

    qtbot.waitUntil(same, timeout=WAIT_MS)


def clipped_controls(window) -> list[str]:
    """Visible controls narrower or lower than they need, or reaching outside the window where no
    scroll area shows the rest (Qt's own parts, such as a spin box's line edit, left aside)."""
    def scrolls(widget) -> bool:
        parent = widget.parentWidget()
        while parent is not None and parent is not window:
            if isinstance(parent, QAbstractScrollArea):
                return True
            parent = parent.parentWidget()
        return False

    bad = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisible() or widget.objectName().startswith("qt_"):
            continue
        if widget.visibleRegion().isEmpty():      # a dock tab behind another, a page scrolled away
            continue
        hint, name = widget.minimumSizeHint(), f"{type(widget).__name__} {widget.objectName()!r}"
        if not isinstance(widget, QLabel) and (widget.width() < hint.width() or widget.height() < hint.height()):
            bad.append(f"{name} squeezed to {widget.size()}")
        if not window.rect().contains(QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())) and not scrolls(widget):
            bad.append(f"{name} outside the window")
    return bad


# -- sizes -----------------------------------------------------------------------------------------------
def test_the_window_works_at_900x600_and_shrinks_back_after_widening(make_window, qtbot):
    window = make_window()
    for size, reset in (((900, 600), False), ((1920, 1080), False), ((900, 600), False),   # widen, then back
                        ((1920, 1080), True), ((900, 600), False)):     # and with the tall window's layout
        window.resize(*size)
        settle(qtbot, window)
        if reset:
            window.view.reset_layout()
            settle(qtbot, window)
        hint = window.minimumSizeHint()
        assert hint.width() <= 900 and hint.height() <= 600, hint
        assert (window.width(), window.height()) == size
        for dock in (window.training_dock, window.curves_dock, window.collapse_dock, window.rd_plane_dock):  # each in front
            dock.raise_()
            qtbot.waitUntil(lambda d=dock: not d.widget().visibleRegion().isEmpty(), timeout=WAIT_MS)
            assert clipped_controls(window) == [], (size, dock.objectName())


def test_the_default_layout_gives_the_canvas_and_the_decoded_image_the_room(make_window, qtbot):
    window = make_window()
    window.resize(1280, 720)
    settle(qtbot, window)
    explorer = window.explorer
    assert window.tabifiedDockWidgets(window.training_dock) == [window.curves_dock, window.collapse_dock,
                                                               window.rd_plane_dock]
    assert not window.training_dock.visibleRegion().isEmpty()      # the training tab in front
    canvas, decoded = explorer.canvas, explorer.decoded
    assert min(canvas.width(), canvas.height()) >= 500, canvas.size()
    assert decoded.image_rect().width() >= 10 * 28, decoded.image_rect()          # 28 px at 10x or more
    assert decoded.width() <= canvas.width()
    # The view controls above the canvas (the replay slider among them) fit their column: no
    # horizontal scroll bar taking the canvas' height.
    from latentlab.gui.side_scroll import SideScroll
    for scroll in explorer.findChildren(SideScroll):
        assert scroll.horizontalScrollBar().maximum() == 0, scroll.widget().minimumSizeHint()
    # Every tab's name is on screen, none behind scroll arrows.
    tabs = explorer.tabs
    for index in range(tabs.count()):
        button = tabs._buttons.button(index)
        assert not button.visibleRegion().isEmpty() and tabs.rect().contains(
            QRect(button.mapTo(tabs, QPoint(0, 0)), button.size())), tabs.tabText(index)


def test_a_tall_window_shows_the_curves_under_the_explorer(make_window, qtbot):
    window = make_window()
    window.resize(1920, 1080)
    window.view.reset_layout()                    # the default layout, made for the window's height now
    settle(qtbot, window)
    area = window.dockWidgetArea
    assert area(window.curves_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert area(window.training_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.tabifiedDockWidgets(window.training_dock) == []
    assert window.tabifiedDockWidgets(window.curves_dock) == [window.collapse_dock, window.rd_plane_dock]  # tabs: no room
    for dock in (window.training_dock, window.curves_dock):      # both on screen at once
        assert not dock.widget().visibleRegion().isEmpty()
    assert window.curves_dock.width() > 2 * window.curves_dock.height()
    assert min(window.explorer.canvas.width(), window.explorer.canvas.height()) >= 600


def test_an_older_saved_layout_gives_way_to_the_new_default(make_window, qtbot):
    settings = app_settings()
    settings.setValue(LAYOUT_VERSION_KEY, 1)
    first = make_window()
    first.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, first.curves_dock)   # the old default
    state = first.saveState()
    first.remember_layout = False
    first.close()
    settings.setValue("window/state", state)
    settings.setValue(LAYOUT_VERSION_KEY, 1)
    window = make_window()
    assert window.tabifiedDockWidgets(window.training_dock) == [window.curves_dock, window.collapse_dock,
                                                               window.rd_plane_dock]
    assert int(settings.value(LAYOUT_VERSION_KEY)) >= 2           # what it saves from now on is restored


# -- presentation ------------------------------------------------------------------------------------------
def layout_state(window) -> tuple:
    explorer = window.explorer
    return (bytes(window.saveState()), window.geometry(), explorer.splitter.sizes(), explorer.right_splitter.sizes(),
            explorer.tabs.currentIndex(), explorer.canvas.parentWidget(), explorer.decoded.parentWidget(),
            explorer.readout.parentWidget(), explorer.canvas.geometry(), explorer.decoded.geometry(),
            [page.parentWidget() for page in explorer.tabs.pages()])


def test_f11_presents_the_canvas_and_decoded_image_and_esc_restores_the_layout(make_window, qtbot):
    window = make_window()
    window.resize(900, 600)
    activate(qtbot, window)
    settle(qtbot, window)
    explorer = window.explorer
    before = layout_state(window)
    small = explorer.decoded.image_rect().width()
    QTest.keyClick(window, Qt.Key.Key_F11)
    host = explorer.presentation.window
    assert host is not None and host.isFullScreen() and window.view.present_action.isChecked()
    assert host.isAncestorOf(explorer.canvas) and host.isAncestorOf(explorer.decoded)
    qtbot.waitUntil(lambda: explorer.decoded.image_rect().width() > small, timeout=WAIT_MS)
    assert explorer.canvas.width() >= min(host.height(), host.width() // 2)   # a square, or half the screen
    qtbot.waitUntil(host.isActiveWindow, timeout=WAIT_MS)
    QTest.keyClick(host, Qt.Key.Key_Escape)
    assert not explorer.presentation.presenting and not window.view.present_action.isChecked()
    settle(qtbot, window)
    assert layout_state(window) == before


def test_a_figure_is_presented_alone_and_given_back_to_its_tab(make_window, qtbot):
    window = make_window()
    explorer = window.explorer
    explorer.tabs.setCurrentWidget(explorer.gap_panel)
    settle(qtbot, window)
    before = layout_state(window)
    host = explorer.presentation.present(explorer.manifold)
    assert host.isFullScreen() and host.isAncestorOf(explorer.manifold)
    # Computed although its tab is not the one in front.
    qtbot.waitUntil(lambda: explorer.manifold.array() is not None, timeout=WAIT_MS)
    assert explorer.tabs.currentWidget() is explorer.gap_panel
    qtbot.waitUntil(host.isActiveWindow, timeout=WAIT_MS)
    QTest.keyClick(host, Qt.Key.Key_F11)
    assert not explorer.presentation.presenting
    settle(qtbot, window)
    assert layout_state(window) == before


def test_closing_the_window_while_presenting_gives_everything_back(make_window, qtbot):
    window = make_window()
    explorer = window.explorer
    explorer.presentation.show_in_window(explorer.gap_panel)
    explorer.presentation.present()
    window.close()
    assert not explorer.presentation.presenting and not explorer.presentation.own_windows
    for part in (explorer.canvas, explorer.decoded, explorer.readout, explorer.gap_panel):
        assert explorer.isAncestorOf(part)


# -- own windows -----------------------------------------------------------------------------------------
def test_a_figure_in_its_own_window_scales_crisply_and_comes_back(make_window, qtbot):
    window = make_window()
    explorer = window.explorer
    manifold, samples = explorer.manifold, explorer.prior_samples
    explorer.tabs.setCurrentWidget(samples)
    own = explorer.presentation.show_in_window(manifold)
    assert explorer.tabs.is_lent(manifold) and own.isAncestorOf(manifold)
    # Both are computed: the one in its window and the one in front of the tabs.
    qtbot.waitUntil(lambda: manifold.array() is not None and samples.array() is not None, timeout=WAIT_MS)
    view = manifold.view
    qtbot.waitUntil(lambda: view.image() is not None, timeout=WAIT_MS)
    natural = manifold.array().shape[1]
    own.resize(300, 300)                                    # smaller than the figure: never shrunk, it scrolls
    qtbot.waitUntil(lambda: view.image_rect().width() == natural, timeout=WAIT_MS)
    assert view.horizontalScrollBar().maximum() > 0
    own.resize(3 * natural + 60, 3 * natural + 150)         # room for 3 screen pixels per model pixel
    qtbot.waitUntil(lambda: view.image_rect().width() == 3 * natural, timeout=WAIT_MS)
    grab = view.grab(view.image_rect()).toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    array = manifold.array()
    for y, x in ((40, 40), (300, 200), (500, 555)):        # each model pixel a uniform 3 x 3 block
        block = {grab.pixelColor(3 * x + dx, 3 * y + dy).red() for dx in range(3) for dy in range(3)}
        assert block == {int(array[y, x])}
    own.close()
    assert not explorer.tabs.is_lent(manifold) and explorer.tabs.widget(explorer.tabs.indexOf(manifold)) is manifold
    assert explorer.tabs.isAncestorOf(manifold)


def test_the_note_in_a_lent_tab_brings_its_page_back(make_window, qtbot):
    from PySide6.QtWidgets import QPushButton

    window = make_window()
    explorer = window.explorer
    explorer.tabs.setCurrentWidget(explorer.gap_panel)
    explorer.presentation.show_in_window(explorer.gap_panel)
    back = explorer.tabs.findChild(QPushButton, "bringBackButton")
    assert back is not None
    back.click()
    assert not explorer.presentation.own_windows and explorer.tabs.isAncestorOf(explorer.gap_panel)


# -- the Encoded tab ---------------------------------------------------------------------------------------
def test_the_encoded_tab_comes_to_the_front_when_an_image_is_encoded(make_window, qtbot):
    window = make_window()
    explorer = window.explorer
    tabs = explorer.tabs
    tabs.setCurrentWidget(explorer.manifold)
    drop_files(canvas_of(explorer), [files.sample("mnist", 0)])
    wait_encoded(qtbot, explorer, 1)
    assert tabs.currentWidget() is explorer.encoded_panel
    tabs.setCurrentWidget(explorer.gap_panel)
    QGuiApplication.clipboard().setImage(QImage(str(files.sample("mnist", 1))))
    next(a for a in explorer.menu_actions() if a.objectName() == "actionPasteImage").trigger()
    wait_encoded(qtbot, explorer, 2)
    assert tabs.currentWidget() is explorer.encoded_panel
    # Not when the page the image comes from is in front: drawing stays on the pad.
    tabs.setCurrentWidget(explorer.drawpad)
    pad = explorer.drawpad.canvas
    qtbot.waitExposed(pad)
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=pad.from_pad(14, 4))
    for y in range(5, 24):
        QTest.mouseMove(pad, pad.from_pad(14, y))
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=pad.from_pad(14, 23))
    qtbot.waitUntil(lambda: "drawing" in explorer.state.encodings
                    and explorer.state.encodings["drawing"].posterior is not None, timeout=WAIT_MS)
    assert tabs.currentWidget() is explorer.drawpad
    # A model opened again re-encodes the images: no tab moves.
    tabs.setCurrentWidget(explorer.prior_samples)
    window.explorer.set_model(window.model, reset_view=False)
    qtbot.waitUntil(lambda: all(e.posterior is not None for e in explorer.encodings()), timeout=WAIT_MS)
    assert tabs.currentWidget() is explorer.prior_samples


# -- UI zoom -------------------------------------------------------------------------------------------------
def test_zoom_shortcuts_scale_the_font_and_are_remembered(make_window, qtbot):
    window = make_window()
    activate(qtbot, window)
    zoom, size = window.view.zoom, window.font().pointSizeF()
    assert zoom.factor == 1.0
    thumbnails = window.explorer.pin_row.side()
    QTest.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)       # Ctrl+=
    assert zoom.factor > 1.0 and window.font().pointSizeF() > size
    assert window.explorer.canvas.font().pointSizeF() > size                            # handed down
    assert window.explorer.pin_row.side() > thumbnails
    QTest.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    zoomed = zoom.factor
    assert zoomed > 1.1 and float(QSettings(app_settings().fileName(), QSettings.Format.IniFormat)
                                  .value(UI_SCALE_KEY)) == zoomed
    QTest.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)      # Ctrl+-
    assert 1.0 < zoom.factor < zoomed
    window.close()
    again = make_window()
    assert again.view.zoom.factor == zoom.factor and again.font().pointSizeF() > size   # remembered
    activate(qtbot, again)
    QTest.keyClick(again, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)           # Ctrl+0
    assert again.view.zoom.factor == 1.0 and again.font().pointSizeF() == size


def test_a_bad_remembered_zoom_is_ignored(make_window):
    from latentlab.gui.settings import ui_scale

    settings = app_settings()
    for bad in ("huge", "nan", "inf", "0", "1000", ""):
        settings.setValue(UI_SCALE_KEY, bad)
        assert ui_scale(settings) == 1.0, bad
    settings.sync()
    assert make_window(show=False).view.zoom.factor == 1.0
