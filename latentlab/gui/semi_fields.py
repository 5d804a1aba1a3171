"""The training panel's choice of model: VAE, M2 or M1+M2 (Kingma et al. 2014), the number of
labelled images, and M1+M2's M1 checkpoint.

Choosing M2 changes what the rest of the form means. The VAE-only fields (architecture, decoder,
β, KL warm-up) are disabled and show the values M2 trains with (an MLP, Bernoulli on pixels or
Gaussian on M1's latent, β = 1, no warm-up), each with a tooltip saying why; the user's own VAE
values are kept aside and come back with VAE. Hidden sizes stay editable (they are M2's encoder
and decoder layers, 500 by default, as `latentlab train --model m2`). A data set without labels
is refused at once, in the panel, with the reason; Train refuses it with the same words.

The rules themselves (labels, the M1 check, the M2Config) are Qt-free in app/semi_setup.py.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

from latentlab.app import semi_setup
from latentlab.app.semi_setup import LABEL_CHOICES, M2_HIDDEN, MODEL_KINDS, format_labels, parse_labels

from .form_fields import combo, select

KIND_TIP = ("VAE: the lecture's model. M2: a classifier q(y|x) beside the style z, trained on a few "
            "labelled images and the rest unlabelled. M1+M2: M2 on the latent space of a trained VAE (M1).")
LABELS_TIP = ("Labelled training images, drawn class-balanced with the seed (100 = 10 per class, the paper's "
              "setting); the rest are used without their labels. all = every training image labelled.")
VAE_LABELS_TIP = "A VAE trains without labels; this is for M2 and M1+M2."
M1_TIP = "The trained VAE whose latent means M2 models (it stays fixed), e.g. the shipped 20-D MNIST model."
CONTINUED_M1_TIP = "A continued M1+M2 run keeps the M1 stored in its checkpoint."
# The VAE-only fields, the value an M2 kind trains with, and why they are fixed.
FIXED_TIPS = {
    "architecture": "M2 and M1+M2 use MLPs (the paper's networks).",
    "likelihood": "M2: Bernoulli p(x|y,z) on the pixels; M1+M2: Gaussian p on M1's latent means.",
    "beta": "M2 and M1+M2 train the paper's bound: β = 1.",
    "warmup": "M2 and M1+M2 train the paper's bound: no KL warm-up.",
}


def _fixed_values(kind: str) -> dict:
    return {"architecture": "mlp", "likelihood": "gaussian" if kind == "m1m2" else "bernoulli",
            "beta": 1.0, "warmup": 0.0}


class SemiFields(QObject):
    """The widgets (kind, labels, m1_path / m1_browse in m1_widget) and what choosing a kind does
    to `panel` (a gui/training_panel.TrainingPanel)."""

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.kind = combo(MODEL_KINDS)
        self.kind.setObjectName("modelKind")
        self.kind.setToolTip(KIND_TIP)
        self.labels = QComboBox()
        self.labels.setObjectName("labelsCount")
        self.labels.setEditable(True)
        self.labels.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.labels.addItems([format_labels(n) for n in LABEL_CHOICES])
        self.labels.setValidator(QRegularExpressionValidator(QRegularExpression(r"all|[0-9]{1,9}"), self.labels))
        # The combo's own frameless editor, named as Qt names a spin box's ("qt_spinbox_lineedit"): it is
        # drawn inside the combo's frame, lower than a framed line edit would ask for.
        self.labels.lineEdit().setObjectName("qt_combo_lineedit")
        self.m1_path = QLineEdit(str(semi_setup.default_m1_path() or ""))
        self.m1_path.setObjectName("m1Checkpoint")
        self.m1_path.setPlaceholderText("checkpoint of a VAE trained on the same data set")
        self.m1_path.setToolTip(M1_TIP)
        self.m1_browse = QPushButton("Browse…")
        self.m1_browse.setObjectName("m1Browse")
        self.m1_browse.clicked.connect(self._browse_m1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.m1_path, 1)
        row.addWidget(self.m1_browse)
        self.m1_widget = QWidget()
        self.m1_widget.setLayout(row)
        self.kept: dict = {}            # the VAE-only fields' own values while M2 shows its fixed ones
        self._tips = {}                 # their own tooltips
        self._refusal: str | None = None   # the refusal this shows in the panel's message
        self._continued_m1: str | None = None
        self.kind.currentIndexChanged.connect(self.apply)

    # -- what the panel asks -------------------------------------------------------------------
    @property
    def kind_value(self) -> str:
        return self.kind.currentData()

    @property
    def is_semi(self) -> bool:
        return self.kind_value != "vae"

    def labels_value(self) -> int:
        return parse_labels(self.labels.currentText())

    def set_labels(self, n: int) -> None:
        self.labels.setCurrentText(format_labels(int(n)))

    def refusal(self) -> str | None:
        """Why the chosen kind cannot train on the chosen data set (None: it can)."""
        panel = self.panel
        if not self.is_semi:
            return None
        return semi_setup.labels_refusal(panel.dataset.currentData(), panel.dataset.currentText())

    # -- choosing a kind -----------------------------------------------------------------------
    def apply(self) -> None:
        """Show the chosen kind's fields: fixed VAE-only values for M2 (the user's kept), the
        labels and M1 rows, and a refusal when the data set has no labels."""
        panel, kind, semi = self.panel, self.kind_value, self.is_semi
        if semi and not self.kept:
            self.kept = {name: _value(getattr(panel, name)) for name in (*FIXED_TIPS, "hidden")}
            self._tips = {name: getattr(panel, name).toolTip() for name in FIXED_TIPS}
            panel.hidden.setText(", ".join(str(h) for h in M2_HIDDEN))
        elif not semi and self.kept:
            for name, value in self.kept.items():
                _set_value(getattr(panel, name), value)
            self.kept = {}
        for name in FIXED_TIPS:
            widget = getattr(panel, name)
            if semi:
                _set_value(widget, _fixed_values(kind)[name])
            widget.setEnabled(not semi)
            widget.setToolTip(FIXED_TIPS[name] if semi else self._tips.get(name, widget.toolTip()))
        self.labels.setEnabled(semi)
        self.labels.setToolTip(LABELS_TIP if semi else VAE_LABELS_TIP)
        panel._model_form.setRowVisible(self.m1_widget, kind == "m1m2")
        panel._on_architecture_changed()
        self.show_refusal()

    def show_refusal(self) -> None:
        refusal = self.refusal()
        if refusal:
            self.panel.show_message(refusal, error=True)
        elif self._refusal and self.panel.message.text() == self._refusal:
            self.panel.show_message("")
        self._refusal = refusal

    def dataset_default(self, likelihood: str) -> None:
        """A new data set's decoder: shown for a VAE, kept aside (for when VAE comes back) for M2."""
        if self.kept:
            self.kept["likelihood"] = likelihood
        else:
            select(self.panel.likelihood, likelihood)

    def vae_value(self, name: str, widget):
        """What the settings file remembers for a field: the user's VAE value while M2 shows its own."""
        return self.kept.get(name, _value(widget))

    # -- a run's settings ----------------------------------------------------------------------
    def fill(self, model_config, train_config) -> None:
        """The kind and labels of a run the panel continues (an M2Config's kind is m2 or m1m2)."""
        select(self.kind, getattr(model_config, "kind", "vae"))   # VAEConfig has no kind: a VAE
        if self.is_semi:
            self.set_labels(train_config.labels)

    def set_continuing(self, continuing: bool) -> None:
        """A continued M1+M2 run uses the M1 in its checkpoint: the path field says so (empty), and
        gets the user's path back when the box is unticked."""
        if continuing and self._continued_m1 is None:
            self._continued_m1 = self.m1_path.text()
            self.m1_path.clear()
            self.m1_path.setPlaceholderText(CONTINUED_M1_TIP)
            self.m1_path.setToolTip(CONTINUED_M1_TIP)
        elif not continuing and self._continued_m1 is not None:
            self.m1_path.setText(self._continued_m1)
            self._continued_m1 = None
            self.m1_path.setPlaceholderText("checkpoint of a VAE trained on the same data set")
            self.m1_path.setToolTip(M1_TIP)

    def m1_file(self) -> str:
        return self.m1_path.text().strip()

    def _browse_m1(self) -> None:
        start = self.m1_file() or str(semi_setup.default_m1_path() or "")
        path, _ = QFileDialog.getOpenFileName(self.panel, "M1: a trained VAE", str(Path(start).parent) if start else "",
                                              "latentlab checkpoints (*.pt);;All files (*)")
        if path:
            self.m1_path.setText(path)

    # -- remembering ---------------------------------------------------------------------------
    def save_settings(self, settings) -> None:
        """Into the panel's settings group."""
        settings.setValue("modelKind", self.kind_value)
        settings.setValue("labels", self.labels.currentText())
        settings.setValue("m1Checkpoint", self._continued_m1 if self._continued_m1 is not None else self.m1_path.text())

    def restore_settings(self, settings) -> None:
        """After the VAE fields (choosing M2 keeps those aside)."""
        labels, m1 = settings.value("labels"), settings.value("m1Checkpoint")
        if labels is not None:
            self.labels.setCurrentText(str(labels))
        if m1:
            self.m1_path.setText(str(m1))
        kind = settings.value("modelKind")
        if kind is not None:
            select(self.kind, kind)


def _value(widget):
    if isinstance(widget, QComboBox):
        return widget.currentData()
    if isinstance(widget, QLineEdit):
        return widget.text()
    return widget.value()


def _set_value(widget, value) -> None:
    if isinstance(widget, QComboBox):
        select(widget, value)
    elif isinstance(widget, QLineEdit):
        widget.setText(value)
    else:
        widget.setValue(value)
