"""Help > The ELBO Explained and Help > About latentlab: short, non-blocking boxes (no exec())."""

from __future__ import annotations

import platform
import re
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

ELBO_SUMMARY = (
    "<p>A VAE is trained by maximising the <b>evidence lower bound</b> on log p(x):</p>"
    "<p style='margin-left:1em'>ELBO = E<sub>q(z|x)</sub>[log p(x|z)] − KL(q(z|x) ‖ p(z))</p>"
    "<p>The curves show its negative in nats per image (lower is better): the <b>reconstruction</b> "
    "term −E[log p(x|z)], how well images come back through the latent code, and the <b>KL</b> term, "
    "how far the encoder's Gaussian q(z|x) strays from the prior N(0, I). −ELBO = reconstruction + KL.</p>"
    "<p>β weights the KL term (β = 1 is the true bound); KL warm-up raises it from 0 over the first "
    "epochs. A latent dimension whose KL stays near 0 is unused (an inactive unit).</p>")


def readme_path() -> Path | None:
    path = Path(__file__).resolve().parents[2] / "README.md"
    return path if path.is_file() else None


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def elbo_help_url() -> QUrl | None:
    """The README's section on the ELBO (the first heading that names it), else the README itself."""
    readme = readme_path()
    if readme is None:
        return None
    url = QUrl.fromLocalFile(str(readme))
    try:
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") and "elbo" in line.lower():
                url.setFragment(github_anchor(line.lstrip("#")))
                break
    except OSError:
        pass
    return url


def show_elbo_help(parent) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, "The ELBO", ELBO_SUMMARY, QMessageBox.StandardButton.Close, parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    url = elbo_help_url()
    if url is not None:
        button = box.addButton("Open the README", QMessageBox.ButtonRole.ActionRole)
        button.clicked.connect(lambda: QDesktopServices.openUrl(url))
    return _show_non_blocking(box)


def show_about(parent) -> QMessageBox:
    import numpy
    import pyqtgraph
    import PySide6
    import torch
    from PySide6.QtCore import qVersion

    from latentlab import __version__

    box = QMessageBox(QMessageBox.Icon.Information, "About latentlab",
                      f"<b>latentlab {__version__}</b><br>Explore and train variational auto-encoders.",
                      QMessageBox.StandardButton.Close, parent)
    if not (icon := QApplication.windowIcon()).isNull():   # latentlab's icon (gui.app), not an "i"
        box.setIconPixmap(icon.pixmap(64, 64))
    box.setInformativeText(
        f"Python {platform.python_version()}<br>PyTorch {torch.__version__}<br>"
        f"PySide6 {PySide6.__version__} (Qt {qVersion()})<br>pyqtgraph {pyqtgraph.__version__}<br>"
        f"NumPy {numpy.__version__}<br>CUDA: {'yes' if torch.cuda.is_available() else 'no'}")
    return _show_non_blocking(box)


def _show_non_blocking(box: QMessageBox) -> QMessageBox:
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box
