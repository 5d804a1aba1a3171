"""The "Examples" tab: the test images with their per-image numbers (objectName exampleTable).

A QTableView over `ExampleTable`'s plain arrays (app/examples.py), sorted numerically by the
table itself; the numeric columns sort worst first on their first click (the worst-modelled
digits are one click away). Clicking a row (or moving to it with the keys) selects that test
image: it is encoded like a dropped one. The numbers are computed in the background while the
tab is shown, in chunks, with a progress bar and Cancel; a new model starts again.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QSizePolicy, QTableView, QVBoxLayout, QWidget)

from latentlab.app.examples import COLUMNS
from latentlab.app.ground_truth import GroundTruthState

NUMERIC_FIRST_DESCENDING = {"neg_elbo", "kl", "recon", "iw_nll", "exact_nll", "gap"}
ANY_INDEX = QModelIndex | QPersistentModelIndex


class ExampleTableModel(QAbstractTableModel):
    """Rows of `truth.table` in the order of the last sort."""

    def __init__(self, truth: GroundTruthState, parent=None):
        super().__init__(parent)
        self.truth = truth
        self.permutation = None           # view row -> table row; None: the table's own order
        self.sort_key: str | None = None
        self.descending = False

    @property
    def table(self):
        return self.truth.table

    def rowCount(self, parent: ANY_INDEX = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's API
        return 0 if parent.isValid() or self.table is None else self.table.rows

    def columnCount(self, parent: ANY_INDEX = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def table_row(self, view_row: int) -> int:
        return int(self.permutation[view_row]) if self.permutation is not None else view_row

    def data(self, index: ANY_INDEX, role: int = Qt.ItemDataRole.DisplayRole):
        table = self.table
        if table is None or not index.isValid():
            return None
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return table.text(self.table_row(index.row()), key)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        key, header, tip = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return header
        if role == Qt.ItemDataRole.ToolTipRole:
            return tip
        if role == Qt.ItemDataRole.InitialSortOrderRole:      # nats: the worst first
            return Qt.SortOrder.DescendingOrder if key in NUMERIC_FIRST_DESCENDING else Qt.SortOrder.AscendingOrder
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_key, self.descending = COLUMNS[column][0], order == Qt.SortOrder.DescendingOrder
        self._reorder()

    def _reorder(self) -> None:
        """Sort again; the selection and the current row stay on the images they were on."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        rows = [self.table_row(index.row()) for index in old]
        self._apply_sort()
        where = ({int(r): i for i, r in enumerate(self.permutation)} if self.permutation is not None else None)
        self.changePersistentIndexList(old, [self.index(row if where is None else where[row], index.column())
                                             for row, index in zip(rows, old)])
        self.layoutChanged.emit()

    def _apply_sort(self) -> None:
        table = self.table
        self.permutation = (None if table is None or self.sort_key is None
                            else table.order(self.sort_key, self.descending))

    def refresh(self, new_table: bool) -> None:
        """New numbers (sorted again), or a new table (rows reset)."""
        if new_table:
            self.beginResetModel()
            self._apply_sort()
            self.endResetModel()
        else:
            self._reorder()


class ExamplePanel(QWidget):
    def __init__(self, truth: GroundTruthState, work, parent: QWidget | None = None):
        super().__init__(parent)
        self.truth, self.work = truth, work
        self.note = QLabel(objectName="exampleNote")
        self.note.setWordWrap(True)
        self.progress = QProgressBar(objectName="exampleProgress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress_text = QLabel(objectName="exampleProgressText")
        # Its text changes with every chunk: it must never widen the pane (the canvas would jump).
        self.progress_text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.cancel = QPushButton("Cancel", objectName="exampleCancel")
        self.cancel.setToolTip("Stop computing the table (the rows done stay)")
        self.compute = QPushButton("Compute", objectName="exampleCompute")
        self.compute.setToolTip("Compute the table again for the model shown")
        self.cancel.clicked.connect(work.cancel_table)
        self.compute.clicked.connect(work.start_table)
        self.model = ExampleTableModel(truth, self)
        self.view = QTableView(self, objectName="exampleTable")
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.clicked.connect(self._on_row)
        self.view.activated.connect(self._on_row)
        self.view.selectionModel().currentRowChanged.connect(lambda current, _previous: self._on_row(current))
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.progress_text, 2)
        progress_row.addWidget(self.cancel)
        progress_row.addWidget(self.compute)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(progress_row)
        layout.addWidget(self.view, 1)
        self._shown_table = None
        truth.events.table.connect(self._render_table)
        truth.events.progress.connect(self._render_progress)
        truth.events.examples.connect(self._render_note)
        self._render_note()
        self._render_table()
        self._render_progress()

    def _on_row(self, index) -> None:
        if index.isValid():
            self.work.select_example(self.model.table_row(index.row()))

    def _render_note(self) -> None:
        self.note.setText(self.truth.examples_note or "No examples: open a model trained on a built-in data set.")

    def _render_table(self) -> None:
        table = self.truth.table
        new = table is not self._shown_table
        self._shown_table = table
        self.model.refresh(new)
        if new:
            self.view.resizeColumnsToContents()

    def _render_progress(self) -> None:
        progress = self.truth.progress
        running = progress.running
        self.progress.setVisible(running)
        if running:
            done = progress.done + (progress.total if progress.phase == "exact" else 0)
            phases = 2 if self.truth.table is not None and self.truth.table.exact else 1
            self.progress.setRange(0, max(progress.total * phases, 1))
            self.progress.setValue(done)
        self.progress_text.setText(progress.text())
        self.cancel.setEnabled(running)
        self.compute.setEnabled(self.truth.examples is not None and not running)
