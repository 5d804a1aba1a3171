"""The comparison's table (objectName 'compareTable'): a row per model, its numbers and where they
come from, with the progress of the numbers being measured and a button to cancel them.

A view of CompareState (app/compare_state.py): rows, their status, and the progress the
background work (app/compare_work.py) reports. A row keeps its last numbers while newer ones are
measured (the run training in the window), and says so in its last column.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from latentlab.app.compare_models import ROW_HEADERS, ROW_KEYS
from latentlab.app.compare_state import CompareState

from .elided_label import ElidedLabel

TOOLTIPS = {
    "neg_elbo": "-ELBO in nats per image: reconstruction + KL (lower is better)",
    "kl": "KL(q(z|x) || p(z)) in nats: the rate",
    "recon": "-E_q[log p(x|z)] in nats: the distortion",
    "iw_nll": "-L_k, the importance-weighted bound on -log p(x) (k in the row's tooltip)",
    "exact_nll": "-log p(x) by quadrature: 2-D Bernoulli VAEs only",
    "active_units": "latent dimensions whose posterior mean varies across images (Burda et al. 2016)",
}


class CompareTable(QWidget):
    def __init__(self, state: CompareState, cancel, measure, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.table = QTableWidget(0, len(ROW_KEYS) + 2, self)
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels(["model", *(ROW_HEADERS[k] for k in ROW_KEYS), "numbers from"])
        for column, key in enumerate(ROW_KEYS, start=1):
            self.table.horizontalHeaderItem(column).setToolTip(TOOLTIPS[key])
        self.table.horizontalHeaderItem(len(ROW_KEYS) + 1).setToolTip(
            "the model card (shipped models: the whole test set) or the images measured live here")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(False)          # one line a model: the rows stay short
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("compareProgress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.progress_label = ElidedLabel("", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("compareCancel")
        self.cancel_button.setToolTip("Stop measuring (the rows measured so far stay)")
        self.cancel_button.clicked.connect(cancel)
        self.measure_button = QPushButton("Measure", self)
        self.measure_button.setObjectName("compareMeasure")
        self.measure_button.setToolTip("Measure the models that have no numbers (after a Cancel)")
        self.measure_button.clicked.connect(measure)

        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.progress_label, 1)
        line.addWidget(self.progress, 1)
        line.addWidget(self.cancel_button)
        line.addWidget(self.measure_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.table)
        layout.addLayout(line)

        state.events.models.connect(self.render)
        state.events.rows.connect(self.render)
        state.events.progress.connect(self.show_progress)
        self.render()
        self.show_progress(*state.progress)

    def disconnect_state(self) -> None:
        events = self.state.events
        events.models.disconnect(self.render)
        events.rows.disconnect(self.render)
        events.progress.disconnect(self.show_progress)

    def render(self) -> None:
        state = self.state
        models = list(state.models.values())
        self.table.setRowCount(len(models))
        for r, compared in enumerate(models):
            row, status = state.rows.get(compared.id), state.row_status.get(compared.id)
            self._set(r, 0, compared.title, compared.path and str(compared.path) or "the window's model")
            for c, key in enumerate(ROW_KEYS, start=1):
                self._set(r, c, row.text(key) if row is not None else "", row.notes if row else "", numeric=True)
            source = row.source if row is not None else ""
            if status:
                source = f"{source} ({status})" if source else status
            self._set(r, len(ROW_KEYS) + 1, source, (row.notes if row else "") or status or "")
        self.table.resizeRowsToContents()
        self.measure_button.setEnabled(any(m.id not in state.rows and state.row_status.get(m.id) != "measuring…"
                                           for m in models))

    def _set(self, r: int, c: int, text: str, tooltip: str, numeric: bool = False) -> None:
        item = self.table.item(r, c)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(r, c, item)
        item.setText(text)
        item.setToolTip(tooltip)
        if numeric:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def show_progress(self, done: int, total: int, text: str) -> None:
        busy = total > 0
        self.progress.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress_label.setText(f"{text}: {done} of {total} parts" if busy else "")
        self.render()

    def cell(self, model_id: str, key: str) -> str:
        """The text shown for a model's number `key` (ROW_KEYS, or 'source'), for tests and scripts."""
        r = list(self.state.models).index(model_id)
        c = len(ROW_KEYS) + 1 if key == "source" else ROW_KEYS.index(key) + 1
        return self.table.item(r, c).text()
