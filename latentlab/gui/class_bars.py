"""q(y|x) of an encoded image as a small bar chart (objectName `classProbabilities`): one bar per
class, the predicted one highlighted with its probability written above it.

Painted directly (no plot) from the widget's font, so it follows the UI zoom and stays readable
when projected: the class names are at least the font's size, the predicted one bold.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from latentlab.app.class_choice import prediction_text

PREDICTED, OTHER, FRAME = QColor("#e6550d"), QColor("#7f8fa6"), QColor("#9aa0a6")


class ClassBars(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("classProbabilities")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._probs: np.ndarray | None = None
        self._names: list[str] = []

    # -- what it shows -------------------------------------------------------------------------------
    def set_probabilities(self, probs, names=()) -> None:
        """q(y|x) (K,) and the classes' names; None hides the chart."""
        self._probs = None if probs is None else np.asarray(probs, dtype=np.float64).reshape(-1)
        k = 0 if self._probs is None else len(self._probs)
        self._names = [str(n) for n in names][:k] if len(names) >= k else [str(i) for i in range(k)]
        if self._probs is not None:
            self.setToolTip(f"q(y|x), the classifier's probability of each class for this image "
                            f"({self.prediction()}):\n"
                            + ", ".join(f"{n}: {p:.3f}" for n, p in zip(self._names, self._probs)))
        self.setVisible(self._probs is not None)
        self.updateGeometry()
        self.update()

    def probabilities(self) -> np.ndarray | None:
        return None if self._probs is None else self._probs.copy()

    def predicted(self) -> int | None:
        return None if self._probs is None else int(np.argmax(self._probs))

    def title(self) -> str:
        """'q(y|x)'; the prediction is the highlighted bar, its probability written above it."""
        return "q(y|x)"

    def prediction(self) -> str:
        """'7 · 0.98' (for tests and the tooltip), or ''."""
        return "" if self._probs is None else prediction_text(self._probs, self._names)

    # -- size and painting ---------------------------------------------------------------------------
    def _slot_width(self) -> int:
        """Each class's column: its name with space either side (never under 1.5 digits' width)."""
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(n) for n in self._names), default=metrics.horizontalAdvance("0"))
        return max(widest + metrics.horizontalAdvance("0"), int(1.5 * metrics.horizontalAdvance("00")))

    def sizeHint(self) -> QSize:
        k = 10 if self._probs is None else len(self._probs)
        return QSize(k * self._slot_width() + 8, 7 * self.fontMetrics().height())

    def minimumSizeHint(self) -> QSize:
        k = 10 if self._probs is None else len(self._probs)
        digit = self.fontMetrics().horizontalAdvance("0")       # a digit's name fits, with a little room
        return QSize(k * (digit + 3) + 8, 5 * self.fontMetrics().height())

    def paintEvent(self, event) -> None:
        if self._probs is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics, line = self.fontMetrics(), self.fontMetrics().height()
        rect = QRectF(self.rect()).adjusted(4, 2, -4, -2)
        text = self.palette().color(self.foregroundRole())
        painter.setPen(text)
        painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), line),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         metrics.elidedText(self.title(), Qt.TextElideMode.ElideRight, int(rect.width())))
        k = len(self._probs)
        top, bottom = rect.top() + 2 * line, rect.bottom() - line      # a line for the value, one for the names
        slot = rect.width() / k
        predicted = self.predicted()
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setPen(FRAME)
        painter.drawLine(int(rect.left()), int(bottom), int(rect.right()), int(bottom))
        for i, p in enumerate(self._probs):
            height = max(0.0, bottom - top) * float(np.clip(p, 0.0, 1.0))
            bar = QRectF(rect.left() + i * slot + 0.15 * slot, bottom - height, 0.7 * slot, height)
            painter.fillRect(bar, PREDICTED if i == predicted else OTHER)
            label = QRectF(rect.left() + i * slot, bottom, slot, line)
            painter.setFont(bold if i == predicted else self.font())
            painter.setPen(PREDICTED if i == predicted else text)
            painter.drawText(label, int(Qt.AlignmentFlag.AlignCenter),
                             metrics.elidedText(self._names[i], Qt.TextElideMode.ElideRight, int(slot)))
        width = metrics.horizontalAdvance("0.00") + 4        # above the predicted bar, inside the widget
        left = min(max(rect.left() + (predicted + 0.5) * slot - width / 2, rect.left()), rect.right() - width)
        value = QRectF(left, bottom - (bottom - top) * float(np.clip(self._probs[predicted], 0, 1)) - line, width, line)
        painter.setFont(self.font())
        painter.setPen(text)
        painter.drawText(value, int(Qt.AlignmentFlag.AlignCenter), f"{self._probs[predicted]:.2f}")
        painter.end()
