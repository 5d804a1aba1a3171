"""The main window's View menu and its arrangement: docks, size, presentation, UI zoom.

The default layout gives the room to what a lecture looks at: the explorer takes the window (the
canvas about as wide as it is high, the decoded image and the tabs beside it) and the training
panel a column on the right. Where the curves go depends on the window's height when the layout
is made (at first start, or View > Reset Layout):
- below TALL_WINDOW (a laptop, a 1280 x 720 projector) they are a second tab of the training
  panel's column, so they take no height from the canvas (a curves dock under the explorer left
  the canvas 310 px high at 1280 x 720);
- from TALL_WINDOW up (1920 x 1080) they run under the explorer, wide and low, so that a training
  run shows its curves, its controls and the canvas at once.
The Collapse dock (KL per dimension over training, gui/collapse_view.py) and the Rate–Distortion
dock (gui/rd_plane.py) are always tabs beside the curves, so it never takes room from them or from the canvas. Docks can be dragged apart, floated or closed, and the window remembers that
(settings.LAYOUT_VERSION says when a saved layout is from an older default and is not restored).

The window works from MIN_SIZE up: panels whose content is wider than the space they have scroll
(gui/page_tabs.py, gui/side_scroll.py) instead of widening the window.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import QMenu, QSplitter, QTabWidget, QWidget

from .ui_zoom import UiZoom, apply_ui_scale, scaled_font

MIN_SIZE = QSize(900, 600)          # the smallest window everything works in (tests/gui/test_window_layout.py)
DEFAULT_SIZE = QSize(1280, 860)      # or 90 % of a larger screen, or all of a smaller one
TALL_WINDOW = 950                   # from here up the curves run under the explorer
CURVES_SHARE = 0.28                 # of the window's height, for the curves under the explorer
DOCK_SHARE = 0.25                   # of the window's width, for the training panel and the curves
DOCK_WIDTH = (280, 440)


def default_window_size(screen) -> QSize:
    """90 % of the screen's free area, at least DEFAULT_SIZE where the screen has room for it
    (all of a 1280 x 720 projector), never below MIN_SIZE. (Also the first look's size: gui/first_look.py.)"""
    free = screen.availableGeometry().size() if screen is not None else DEFAULT_SIZE
    return DEFAULT_SIZE.expandedTo(free * 0.9).boundedTo(free).expandedTo(MIN_SIZE)


def training_dock_width(window_width: int) -> int:
    """The training panel's column: DOCK_SHARE of the window, within DOCK_WIDTH."""
    lo, hi = DOCK_WIDTH
    return min(max(int(window_width * DOCK_SHARE), lo), hi)


def explorer_split(left: QWidget, right: QWidget, parent: QWidget) -> QSplitter:
    """The explorer's two columns (canvas | decoded image and tabs), 3 : 2: the main window's and
    the first look's, which must match so the hand-over from one to the other does not jump.
    The canvas gets the larger share: its plot keeps equal units on both axes, so it is best
    about as wide as it is high."""
    splitter = QSplitter(Qt.Orientation.Horizontal, parent)
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 2)
    splitter.setSizes([600, 400])
    return splitter


class WindowView(QObject):
    """Owns the View menu's actions and the UI zoom of a MainWindow (window.view)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.explorer = window.explorer
        self.presentation = window.explorer.presentation
        self.docks = (window.training_dock, window.curves_dock, window.collapse_dock, window.rd_plane_dock)
        self.zoom = UiZoom(window.settings, self)
        self._base_font = QFont(window.font())
        self.zoom.changed.connect(self.apply_zoom)

        self.present_action = self._action("&Present", self.toggle_presentation, "F11", "actionPresent")
        self.present_action.setCheckable(True)
        self.present_action.setToolTip("Fill the screen with the canvas and the decoded image (Esc or F11 returns)")
        self.presentation.changed.connect(lambda: self.present_action.setChecked(self.presentation.presenting))
        self.zoom_in_action = self._action("Zoom &In", self.zoom.zoom_in, "Ctrl+=", "actionZoomIn")
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
        self.zoom_out_action = self._action("Zoom &Out", self.zoom.zoom_out, "Ctrl+-", "actionZoomOut")
        self.reset_zoom_action = self._action("&Reset Zoom", self.zoom.reset, "Ctrl+0", "actionResetZoom")
        self.reset_layout_action = self._action("Reset &Layout", self.reset_layout, None, "actionResetLayout")

    def _action(self, text: str, slot, shortcut, name: str) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda *_: slot())
        self.window.addAction(action)      # its shortcut works with the menu bar hidden too
        return action

    def fill_menu(self, menu: QMenu) -> QMenu:
        for dock in self.docks:
            menu.addAction(dock.toggleViewAction())
        menu.addSeparator()
        menu.addAction(self.present_action)
        self.present_menu = menu.addMenu("Present &Figure")
        self.own_window_menu = menu.addMenu("Show in &Own Window")
        for page in self.explorer.tabs.pages():
            title = self.explorer.tabs.title(page)
            self.present_menu.addAction(title, lambda p=page: self.presentation.present(p))
            self.own_window_menu.addAction(title, lambda p=page: self.presentation.show_in_window(p))
        menu.addSeparator()
        for action in (self.zoom_in_action, self.zoom_out_action, self.reset_zoom_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.reset_layout_action)
        return menu

    # -- presentation ------------------------------------------------------------------------------
    def toggle_presentation(self) -> None:
        if self.presentation.presenting:
            self.presentation.end_presentation()
        else:
            self.presentation.present()
        self.present_action.setChecked(self.presentation.presenting)

    # -- layout ----------------------------------------------------------------------------------
    def default_size(self) -> QSize:
        return default_window_size(self.window.screen())

    def arrange_docks(self) -> None:
        """The default dock layout for the window's height now (see the module docstring)."""
        window = self.window
        training, curves, collapse, rd_plane = self.docks
        for dock in self.docks:
            # Out of the layout first: re-added one by one out of a group of three tabs, Qt left
            # the emptied group's tab bar on screen over the training panel.
            window.removeDockWidget(dock)
            dock.setFloating(False)
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        window.setTabPosition(Qt.DockWidgetArea.RightDockWidgetArea, QTabWidget.TabPosition.North)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, training)
        if window.height() >= TALL_WINDOW:
            window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, curves)
            window.tabifyDockWidget(curves, collapse)     # a tab beside the curves: it takes none of their room
            window.tabifyDockWidget(collapse, rd_plane)
            window.resizeDocks([curves], [int(window.height() * CURVES_SHARE)], Qt.Orientation.Vertical)
        else:
            window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, curves)
            window.tabifyDockWidget(training, curves)
            window.tabifyDockWidget(curves, collapse)
            window.tabifyDockWidget(collapse, rd_plane)
        for dock in self.docks:
            dock.show()
        (curves if window.height() >= TALL_WINDOW else training).raise_()
        window.resizeDocks([training], [training_dock_width(window.width())], Qt.Orientation.Horizontal)

    def reset_layout(self) -> None:
        """View > Reset Layout: the default docks and splitters, presentation and own windows closed."""
        self.presentation.close_all()
        self.arrange_docks()
        explorer = self.explorer
        total = sum(explorer.splitter.sizes()) or explorer.width()
        explorer.splitter.setSizes([total * 3 // 5, total - total * 3 // 5])
        height = sum(explorer.right_splitter.sizes()) or explorer.height()
        explorer.right_splitter.setSizes([height // 2, height - height // 2])

    # -- UI zoom ---------------------------------------------------------------------------------
    def apply_zoom(self, factor: float | None = None) -> None:
        """Fonts through the window's font; the plots through their set_ui_scale (gui/ui_zoom.py)."""
        factor = self.zoom.factor if factor is None else factor
        font = scaled_font(self._base_font, factor)
        self.window.setFont(font)
        for menu in self.window.menuBar().findChildren(QMenu):   # menus are windows: no inheritance
            menu.setFont(font)
        self.explorer.set_ui_scale(factor)
        apply_ui_scale(self.window.curves, factor, font)
        apply_ui_scale(self.window.collapse, factor, font)
        apply_ui_scale(self.window.rd_plane, factor, font)
