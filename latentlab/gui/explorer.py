"""The latent explorer's public import path: `from latentlab.gui.explorer import LatentExplorer`.

README.md names `latentlab.gui.explorer.LatentExplorer` (and the main window imports it from here).
The widget itself is in explorer_view.py, its parts in canvas_presenter.py, plane_controls.py,
encoded_panel.py, figures.py and explorer_menu.py, and what it shows in latentlab/app/.
"""

from .explorer_view import LatentExplorer

__all__ = ["LatentExplorer"]
