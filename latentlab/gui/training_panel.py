"""The training panel: every setting of a run, the Train / Step / Pause / Stop buttons, the speed
limit and the progress.

The panel only collects settings and shows state; the window turns its settings into a
core TrainingSession (gui/training_controller.py). The choice of model (VAE, M2, M1+M2), the
number of labels and M1+M2's M1 are gui/semi_fields.py; the objective (ELBO or the IWAE bound) and
its K gui/objective_fields.py. Defaults, ranges and vocabularies come from
the core's config dataclasses (the same as `latentlab train`'s), so one click on Train trains
the 2-D MNIST model the app ships with.

The buttons never move while a run goes on (a click aimed at Resume must not land on Stop):
they are anchored above a block of fixed height (speed limit, progress bar, two one-line progress
texts that elide instead of wrapping), and what may appear or wrap (a download, a message) sits
above them, where the scrolling form makes room for it.
"""

from __future__ import annotations

import math

import torch
from PySide6.QtCore import QEvent, QSettings, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QVBoxLayout, QWidget)

from latentlab.app.semi_setup import m2_config
from latentlab.core.models import ARCHITECTURES, LIKELIHOODS, VAEConfig
from latentlab.core.pipeline import DATASET_DEFAULTS, DATASET_NAMES, DataSpec, default_binarize, default_model_config
from latentlab.core.trainer import TrainConfig

from .elided_label import ElidedLabel
from .form_fields import combo, format_duration, parse_hidden_sizes, select, setting_spin, spin
from .objective_fields import ObjectiveFields
from .semi_fields import SemiFields
from .speed_limit import SpeedLimit

# Display names for the core's vocabularies (the values come from the core, one list each).
_LABELS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "frey-face": "Frey Face", "folder": "Image folder",
           "mlp": "MLP", "conv": "Convolutional", "bernoulli": "Bernoulli", "gaussian": "Gaussian"}
DATASETS = tuple((_LABELS.get(name, name), name) for name in DATASET_NAMES)
DEVICES = (("Auto", "auto"), ("CPU", "cpu"), ("CUDA", "cuda"))
# Fields that a continued run may change, panel widget -> TrainConfig field.
CONTINUE_FIELDS = {"lr": "lr", "epochs": "epochs"}


class TrainingPanel(QWidget):
    trainClicked = Signal()   # also from Step on an idle panel, with `start_paused` set
    stepClicked = Signal()    # Step while a run is under way
    pauseClicked = Signal()   # the window decides between pause and resume
    stopClicked = Signal()
    speedLimitChanged = Signal(object)   # steps per second, None: no limit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self._can_continue = False
        self._run = None   # (model config, train config, data, epochs done) of the run Train may continue
        self._diverged: dict | None = None
        self.state = "idle"
        self.start_paused = False   # the last start came from Step: the run starts paused after one step
        self._build_form()
        self._build_controls()
        self._connect()
        self._on_dataset_changed()
        self.set_state("idle")

    # -- building ---------------------------------------------------------------------------
    def _build_form(self) -> None:
        self.continue_check = QCheckBox("Continue training the current model")
        self.continue_check.setObjectName("continueCheck")
        self.continue_check.setToolTip("Keep its weights, optimizer state and curves; only the epochs, "
                                       "learning rate and device can change.")
        self.continue_check.setEnabled(False)

        self.dataset = combo(DATASETS)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder of PNG/JPEG images (sub-folders = classes)")
        self.browse = QPushButton("Browse…")
        folder_row = QHBoxLayout()
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        self.folder_widget = QWidget()
        self.folder_widget.setLayout(folder_row)
        self.image_size = spin(8, 128, 28, suffix=" px")
        self.colour = QCheckBox("RGB")
        size_row = QHBoxLayout()
        size_row.setContentsMargins(0, 0, 0, 0)
        size_row.addWidget(self.image_size)
        size_row.addWidget(self.colour)
        self.size_widget = QWidget()
        self.size_widget.setLayout(size_row)

        self.latent_dim = setting_spin(VAEConfig, "latent_dim")
        self.architecture = combo(tuple((_LABELS.get(a, a), a) for a in ARCHITECTURES))
        self.hidden = QLineEdit("512, 512")
        self.hidden.setToolTip("MLP hidden layer sizes of the encoder; the decoder mirrors them")
        self.likelihood = combo(tuple((_LABELS.get(v, v), v) for v in LIKELIHOODS))
        self.likelihood.setToolTip("p(x|z): Bernoulli for binarised digits, Gaussian for grey images")

        self.beta = setting_spin(TrainConfig, "beta", 0.1, decimals=2)
        self.beta.setToolTip("weight of the KL term; 1 is the true ELBO")
        self.warmup = setting_spin(TrainConfig, "kl_warmup_epochs", 1.0, decimals=1, suffix=" epochs", hi=1000.0)
        self.warmup.setToolTip("the KL weight rises linearly from 0 to beta over this many epochs (0 = off)")
        self.mc_samples = setting_spin(TrainConfig, "n_samples")
        self.mc_samples.setToolTip("N: samples of z per image for the reconstruction term")

        # A spin box cannot go below its minimum: the smallest learning rate it shows is 1e-6.
        self.lr = spin(1e-6, TrainConfig.limits("lr").max, TrainConfig.default("lr"), 1e-4, decimals=6)
        self.batch_size = setting_spin(TrainConfig, "batch_size")
        self.epochs = setting_spin(TrainConfig, "epochs")
        self.seed = spin(0, 2**31 - 1, TrainConfig.default("seed"))   # QSpinBox holds 32-bit ints
        self.device = combo(DEVICES)
        self.semi = SemiFields(self)   # the model kind, the labels and M1+M2's M1
        if not torch.cuda.is_available():
            self.device.model().item(self.device.findData("cuda")).setEnabled(False)
            self.device.setItemData(self.device.findData("cuda"), "no CUDA device in this PyTorch",
                                    Qt.ItemDataRole.ToolTipRole)

        data = QFormLayout()
        data.addRow("Data set", self.dataset)
        data.addRow("Folder", self.folder_widget)
        data.addRow("Image size", self.size_widget)
        data.addRow("Labels", self.semi.labels)
        model = QFormLayout()
        model.addRow("Model", self.semi.kind)
        model.addRow("M1 checkpoint", self.semi.m1_widget)
        model.addRow("Latent dimension", self.latent_dim)
        model.addRow("Architecture", self.architecture)
        model.addRow("Hidden sizes", self.hidden)
        model.addRow("Decoder", self.likelihood)
        objective = QFormLayout()
        objective.addRow("β (KL weight)", self.beta)
        objective.addRow("KL warm-up", self.warmup)
        objective.addRow("MC samples N", self.mc_samples)
        self.objective_fields = ObjectiveFields(self, objective)   # ELBO or IWAE, and K
        optimisation = QFormLayout()
        optimisation.addRow("Learning rate", self.lr)
        optimisation.addRow("Batch size", self.batch_size)
        optimisation.addRow("Epochs", self.epochs)
        optimisation.addRow("Seed", self.seed)
        optimisation.addRow("Device", self.device)
        self._data_form, self._model_form = data, model

        self.data_group = self._group("Data", data)
        self.model_group = self._group("Model", model)
        self.objective_group = self._group("Objective", objective)
        self.optimisation_group = self._group("Optimisation", optimisation)

    @staticmethod
    def _group(title: str, form: QFormLayout) -> QGroupBox:
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        box = QGroupBox(title)
        box.setLayout(form)
        return box

    def _build_controls(self) -> None:
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.step_button = QPushButton("Step")
        self.step_button.setObjectName("stepButton")
        self.step_button.setToolTip("One optimisation step, then the curves and the canvas show its effect. "
                                    "Pause a run to step it; on an idle panel, Step starts the run paused.")
        buttons = QHBoxLayout()
        for b in (self.train_button, self.step_button, self.pause_button, self.stop_button):
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            buttons.addWidget(b, 1)
        self._fix_button_widths()
        self.speed_limit = SpeedLimit()

        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setTextVisible(True)
        self.progress.hide()  # until there is progress to show: an empty bar reads as a text field
        keep = self.progress.sizePolicy()
        keep.setRetainSizeWhenHidden(True)   # ...but its place is kept, so nothing moves when it shows
        self.progress.setSizePolicy(keep)
        self.progress_label = ElidedLabel("Not training")   # epoch and step, or the state
        self.progress_label.setObjectName("progressLabel")
        self.rate_label = ElidedLabel()                      # steps/s and ETA
        self.rate_label.setObjectName("rateLabel")

        self.download_label = ElidedLabel()   # a long file name must not widen the dock
        self.download_bar = QProgressBar()
        self.download_bar.setObjectName("downloadProgress")
        self.cancel_download = QPushButton("Cancel")
        self.cancel_download.setObjectName("cancelDownloadButton")
        download_row = QHBoxLayout()
        download_row.setContentsMargins(0, 0, 0, 0)
        download_row.addWidget(self.download_bar, 1)
        download_row.addWidget(self.cancel_download)
        self.download_widget = QWidget()
        download_box = QVBoxLayout(self.download_widget)
        download_box.setContentsMargins(0, 0, 0, 0)
        download_box.addWidget(self.download_label)
        download_box.addLayout(download_row)
        self.download_widget.hide()

        self.message = QLabel()
        self.message.setObjectName("trainingMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        form = QWidget()
        column = QVBoxLayout(form)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.continue_check)
        for group in (self.data_group, self.model_group, self.objective_group, self.optimisation_group):
            column.addWidget(group)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.download_widget)   # these two come and go: the form makes room
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        for widget in (self.speed_limit, self.progress, self.progress_label, self.rate_label):
            layout.addWidget(widget)

    def _fix_button_widths(self) -> None:
        """Equal widths whatever the texts (Pause/Resume), each as wide as the style needs for the
        longest text in the current font (so a zoomed font never squeezes them)."""
        probe = QPushButton(self)
        probe.hide()
        widest = 0
        for text in ("Train", "Step", "Resume", "Pause", "Stop"):
            probe.setText(text)
            widest = max(widest, probe.minimumSizeHint().width(), probe.sizeHint().width())
        probe.deleteLater()
        for b in (self.train_button, self.step_button, self.pause_button, self.stop_button):
            b.setMinimumWidth(widest)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fix_button_widths()

    def _connect(self) -> None:
        self.train_button.clicked.connect(lambda: self._start(paused=False))
        self.step_button.clicked.connect(self._on_step)
        self.speed_limit.changed.connect(self.speedLimitChanged)
        self.pause_button.clicked.connect(self.pauseClicked)
        self.stop_button.clicked.connect(self.stopClicked)
        self.cancel_download.clicked.connect(self.stopClicked)
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.architecture.currentIndexChanged.connect(self._on_architecture_changed)
        self.continue_check.toggled.connect(self._on_continue_toggled)
        self.browse.clicked.connect(self._browse_folder)

    # -- reactions ---------------------------------------------------------------------------
    def _start(self, paused: bool) -> None:
        self.start_paused = paused
        self.trainClicked.emit()

    def _on_step(self) -> None:
        if self.state == "idle":
            self._start(paused=True)
        else:
            self.stepClicked.emit()

    def _on_dataset_changed(self) -> None:
        name = self.dataset.currentData()
        is_folder = name == "folder"
        self._data_form.setRowVisible(self.folder_widget, is_folder)
        self._data_form.setRowVisible(self.size_widget, is_folder)
        self.semi.dataset_default(DATASET_DEFAULTS[name]["likelihood"])
        self.semi.apply()
        self.objective_fields.apply()   # the semi fields' apply may have enabled β and warm-up

    def _on_architecture_changed(self) -> None:
        self.hidden.setEnabled(self.architecture.currentData() == "mlp" and not self.continuing)

    def _on_continue_toggled(self, continuing: bool) -> None:
        if continuing and self._run is not None:
            self._fill_from_run()
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        # A continued run keeps its data, model and objective; only the schedule may change.
        idle = self.state == "idle"
        self.continue_check.setEnabled(idle and self._can_continue)
        self.optimisation_group.setEnabled(idle)
        for widget in (self.data_group, self.model_group, self.objective_group):
            widget.setEnabled(idle and not self.continuing)
        for widget in (self.batch_size, self.seed):
            widget.setEnabled(not self.continuing)
        self.semi.set_continuing(self.continuing)
        self._on_architecture_changed()

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of training images", self.folder.text())
        if folder:
            self.folder.setText(folder)

    # -- what the window asks ---------------------------------------------------------------
    @property
    def continuing(self) -> bool:
        return self._can_continue and self.continue_check.isChecked()

    def data_spec(self) -> DataSpec:
        name = self.dataset.currentData()
        if name != "folder":
            return DataSpec(dataset=name)
        folder = self.folder.text().strip()
        if not folder:
            raise ValueError("Choose the folder of images to train on (Data set: Image folder).")
        size = self.image_size.value()
        return DataSpec(dataset="folder", folder=folder, image_shape=(3 if self.colour.isChecked() else 1, size, size))

    def model_settings(self) -> dict:
        """Keyword arguments for pipeline.default_model_config (the image shape comes from the data)."""
        settings = {"latent_dim": self.latent_dim.value(), "architecture": self.architecture.currentData(),
                    "likelihood": self.likelihood.currentData()}
        if settings["architecture"] == "mlp":
            settings["hidden_sizes"] = parse_hidden_sizes(self.hidden.text())
        return settings

    @property
    def model_kind(self) -> str:
        """"vae", "m2" or "m1m2"."""
        return self.semi.kind_value

    def check_model_kind(self) -> None:
        """ValueError when the chosen model cannot train on the chosen data (M2 without labels)."""
        refusal = self.semi.refusal()
        if refusal:
            raise ValueError(refusal)

    def model_config(self, spec: DataSpec, m1=None):
        """The config of a new model: a VAEConfig (a folder's image shape is what its images are
        converted to), or an M2Config (M1+M2: on `m1`, the trained VAE the window read)."""
        if not self.semi.is_semi:
            return default_model_config(spec, spec.image_shape, **self.model_settings())
        self.check_model_kind()
        if self.model_kind == "m1m2" and m1 is None:
            raise ValueError("M1+M2 needs its M1: choose the checkpoint of a VAE trained on the same data set.")
        return m2_config(spec.image_shape, self.latent_dim.value(), parse_hidden_sizes(self.hidden.text()), m1)

    def train_config(self, spec: DataSpec) -> TrainConfig:
        semi = {"labels": self.semi.labels_value(), "beta": 1.0, "kl_warmup_epochs": 0.0} if self.semi.is_semi else {}
        settings = dict(epochs=self.epochs.value(), batch_size=self.batch_size.value(), lr=self.lr.value(),
                        n_samples=self.mc_samples.value(), beta=self.beta.value(),
                        kl_warmup_epochs=self.warmup.value(), binarize=default_binarize(spec),
                        seed=self.seed.value(), device=self.device.currentData())
        return TrainConfig(**{**settings, **self.objective_fields.settings(), **semi})

    def continue_changes(self) -> dict:
        """What a continued run changes: the fields that differ from the run's stored settings
        (the user's edits, and the panel's own suggestions it showed them: ten more epochs for a
        finished run, a tenth of the rate after a divergence), and the device."""
        stored = self._stored_train_config()
        changes = {"device": self.device.currentData()}
        for widget, name in CONTINUE_FIELDS.items():
            value = getattr(self, widget).value()
            if value != getattr(stored, name):
                changes[name] = value
        if self.semi.is_semi and self.semi.labels_value() != stored.labels:
            changes["labels"] = self.semi.labels_value()   # refused by the resume rule, with its reason
        return changes

    def _stored_train_config(self) -> TrainConfig:
        stored = self._run[1] if self._run is not None else {}
        try:
            return TrainConfig.from_dict(stored) if stored else TrainConfig()
        except ValueError:
            return TrainConfig()

    # -- what the window tells ----------------------------------------------------------------
    def set_run(self, model_config, train_config: dict, data: dict, done_epochs: int,
                continue_now: bool, diverged: dict | None = None) -> None:
        """There is a run that Train can continue (an opened checkpoint, or this window's run).

        With the box ticked the form shows that run's settings, since they are what continues.
        `diverged` ({"step", "lr"}) is set when the run's last training diverged.
        """
        self._run = (model_config, dict(train_config or {}), dict(data or {}), int(done_epochs))
        self._diverged = dict(diverged) if diverged else None
        self._can_continue = True
        self.continue_check.blockSignals(True)
        self.continue_check.setChecked(continue_now)
        self.continue_check.blockSignals(False)
        self._on_continue_toggled(continue_now)

    def clear_run(self) -> None:
        self._run, self._can_continue = None, False
        self.continue_check.setChecked(False)
        self._sync_enabled()

    def _fill_from_run(self) -> None:
        model_config, train_config, data, done_epochs = self._run
        spec = DataSpec.from_dict(data)
        self.dataset.blockSignals(True)
        select(self.dataset, spec.dataset)
        self.dataset.blockSignals(False)
        self._on_dataset_changed()
        if spec.dataset == "folder":
            self.folder.setText(spec.folder or "")
            self.image_size.setValue(int(spec.image_shape[-1]))
            self.colour.setChecked(spec.image_shape[0] == 3)
        cfg = self._stored_train_config()
        self.semi.fill(model_config, cfg)   # VAE, M2 or M1+M2 (M2 fixes the VAE-only fields)
        self.latent_dim.setValue(model_config.latent_dim)
        self.hidden.setText(", ".join(str(h) for h in model_config.hidden_sizes))
        if not self.semi.is_semi:
            select(self.architecture, model_config.architecture)
            select(self.likelihood, model_config.likelihood)
            self.beta.setValue(cfg.beta)
            self.warmup.setValue(cfg.kl_warmup_epochs)
        self.mc_samples.setValue(cfg.n_samples)
        self.objective_fields.fill(cfg)
        self.lr.setValue(cfg.lr)
        self.batch_size.setValue(cfg.batch_size)
        # A finished run continues for more epochs: offer ten more.
        self.epochs.setValue(cfg.epochs if cfg.epochs > done_epochs else done_epochs + 10)
        self.seed.setValue(min(cfg.seed, self.seed.maximum()))
        if self._diverged:
            # Continuing at the rate that diverged would diverge again: suggest a tenth of it.
            self.lr.setValue(max(self.lr.minimum(), cfg.lr / 10))
            self.show_message(f"This run diverged at step {self._diverged.get('step')} with learning rate "
                              f"{cfg.lr:g}; Continue suggests {self.lr.value():g}.", error=True)
        else:
            self.show_message("")

    def set_state(self, state: str) -> None:
        """idle | loading | running | paused"""
        self.state = state
        busy = state != "idle"
        self.train_button.setEnabled(not busy)
        self.step_button.setEnabled(state in ("idle", "paused"))
        self.pause_button.setEnabled(state in ("running", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(busy)
        self._sync_enabled()
        if state != "loading":
            self.download_widget.hide()

    def show_progress(self, epoch: int, epochs: int, step: int, total_steps: int, rate: float) -> None:
        self.progress.show()
        self.progress.setRange(0, max(1, total_steps))
        self.progress.setValue(min(step, total_steps))
        self.progress.setFormat(f"epoch {epoch}/{epochs}")
        remaining = (total_steps - step) / rate if rate > 0 else math.inf
        eta = format_duration(remaining) if step < total_steps else "done"
        self.progress_label.setText(f"Epoch {epoch}/{epochs} · step {step:,}/{total_steps:,}")
        self.rate_label.setText(f"{rate:,.1f} steps/s · ETA {eta}")

    def show_status(self, text: str) -> None:
        self.progress_label.setText(text)
        self.rate_label.setText("")

    def show_download(self, done: int, total: int, filename: str) -> None:
        self.download_widget.show()
        mb = 1024 * 1024
        if total:
            self.download_bar.setRange(0, 1000)
            self.download_bar.setValue(int(1000 * done / total))
            self.download_label.setText(f"Downloading {filename}: {done / mb:.1f} of {total / mb:.1f} MB")
        else:
            self.download_bar.setRange(0, 0)  # busy indicator: size unknown
            self.download_label.setText(f"Downloading {filename}: {done / mb:.1f} MB")

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "")
        self.message.setVisible(bool(text))

    # -- remembering the form -----------------------------------------------------------------
    _REMEMBERED = ("dataset", "folder", "latent_dim", "architecture", "hidden", "likelihood", "beta", "warmup",
                   "mc_samples", "lr", "batch_size", "epochs", "seed", "device")

    def save_settings(self, settings: QSettings) -> None:
        settings.beginGroup("training")
        for name in self._REMEMBERED:
            own = self.semi.vae_value(name, getattr(self, name))   # the user's, not M2's or IWAE's fixed ones
            settings.setValue(name, self.objective_fields.remembered(name, own))
        self.semi.save_settings(settings)
        self.objective_fields.save_settings(settings)
        settings.endGroup()

    def restore_settings(self, settings: QSettings) -> None:
        settings.beginGroup("training")
        try:
            for name in self._REMEMBERED:
                value = settings.value(name)
                if value is None:
                    continue
                widget = getattr(self, name)
                if isinstance(widget, QComboBox):
                    select(widget, value)
                elif isinstance(widget, QLineEdit):
                    widget.setText(str(value))
                elif isinstance(widget, QDoubleSpinBox):
                    widget.setValue(float(value))
                else:
                    widget.setValue(int(value))
            self.semi.restore_settings(settings)
            self.objective_fields.restore_settings(settings)
        except (TypeError, ValueError):
            pass  # a damaged settings file only costs the remembered form
        finally:
            settings.endGroup()
