"""The IWAE objective from the window: the training panel's objective and K (objectNames
objectiveChoice, iwaeSamples) into the TrainConfig, what IWAE fixes and M2 hides, a stored run's
objective filled in and kept by Continue, and a real run from the window with its curves."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QSpinBox

from latentlab import load_checkpoint
from latentlab.core.models import VAEConfig
from latentlab.core.pipeline import DataSpec
from latentlab.core.trainer import TrainConfig
from latentlab.gui.training_panel import TrainingPanel

MNIST = DataSpec(dataset="mnist")


@pytest.fixture
def panel(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    return panel


def fields(panel) -> tuple[QComboBox, QSpinBox]:
    return panel.findChild(QComboBox, "objectiveChoice"), panel.findChild(QSpinBox, "iwaeSamples")


def choose(box: QComboBox, value) -> None:
    box.setCurrentIndex(box.findData(value))


def test_the_objective_and_k_round_trip_into_the_train_config(panel):
    objective, k = fields(panel)
    assert objective.currentData() == "elbo" and k.value() == 5 and not k.isEnabled()
    assert panel.train_config(MNIST).objective == "elbo"
    panel.beta.setValue(2.0)
    panel.warmup.setValue(3.0)
    panel.mc_samples.setValue(4)
    choose(objective, "iwae")
    k.setValue(7)
    config = panel.train_config(MNIST)
    assert (config.objective, config.iw_k, config.beta, config.kl_warmup_epochs, config.n_samples) == \
        ("iwae", 7, 1.0, 0.0, 1)
    assert k.isEnabled() and not panel.beta.isEnabled() and not panel.warmup.isEnabled()
    assert not panel.mc_samples.isEnabled() and "KL term" in panel.beta.toolTip()
    panel.dataset.setCurrentIndex(panel.dataset.findData("fashion-mnist"))   # the semi fields' apply runs
    assert not panel.beta.isEnabled()
    choose(objective, "elbo")                  # the user's own values come back
    config = panel.train_config(MNIST)
    assert (config.objective, config.beta, config.kl_warmup_epochs, config.n_samples) == ("elbo", 2.0, 3.0, 4)
    assert panel.beta.isEnabled() and not k.isEnabled()


def test_m2_hides_the_objective_and_trains_its_own_bound(panel):
    objective, k = fields(panel)
    choose(objective, "iwae")
    kinds = panel.findChild(QComboBox, "modelKind")
    kinds.setCurrentIndex(kinds.findText("M2"))
    assert not objective.isVisibleTo(panel) and not k.isVisibleTo(panel)
    config = panel.train_config(MNIST)
    assert config.objective == "elbo" and config.beta == 1.0
    kinds.setCurrentIndex(kinds.findText("VAE"))
    assert objective.isVisibleTo(panel) and objective.currentData() == "iwae"
    assert not panel.beta.isEnabled() and panel.train_config(MNIST).objective == "iwae"


def test_a_stored_run_fills_the_objective_and_continue_keeps_it(panel):
    objective, k = fields(panel)
    stored = TrainConfig(objective="iwae", iw_k=9, epochs=3).to_dict()
    panel.set_run(VAEConfig(), stored, {"dataset": "mnist"}, done_epochs=1, continue_now=True)
    assert objective.currentData() == "iwae" and k.value() == 9
    assert not panel.objective_group.isEnabled()           # a continued run keeps its objective
    assert panel.continue_changes().keys() <= {"device", "lr", "epochs"}
    elbo = TrainConfig(beta=4.0, epochs=3).to_dict()
    panel.set_run(VAEConfig(), elbo, {"dataset": "mnist"}, done_epochs=1, continue_now=True)
    assert objective.currentData() == "elbo" and panel.beta.value() == 4.0
    panel.continue_check.setChecked(False)
    assert panel.beta.isEnabled() and panel.train_config(MNIST).beta == 4.0


def test_the_form_remembers_the_objective_and_the_users_own_beta(panel, qtbot, tmp_path):
    objective, k = fields(panel)
    panel.beta.setValue(2.0)
    choose(objective, "iwae")
    k.setValue(12)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    again = TrainingPanel()
    qtbot.addWidget(again)
    again.restore_settings(settings)
    objective, k = fields(again)
    assert objective.currentData() == "iwae" and k.value() == 12 and again.beta.value() == 1.0
    choose(objective, "elbo")
    assert again.beta.value() == 2.0


def test_an_iwae_run_from_the_window_shows_its_bound_and_continues_on_it(make_window, qtbot, tiny_data):
    window = make_window()
    panel = window.training_panel
    panel.continue_check.setChecked(False)
    panel.hidden.setText("16")
    panel.batch_size.setValue(16)
    panel.epochs.setValue(1)
    objective, k = fields(panel)
    choose(objective, "iwae")
    k.setValue(2)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.is_training, timeout=60_000)
    run = window.training.live_run
    assert run.trainer.status == "finished", panel.message.text()
    ckpt = load_checkpoint(run.out)
    assert (ckpt.train_config["objective"], ckpt.train_config["iw_k"]) == ("iwae", 2)
    curves = window.curves
    qtbot.waitUntil(lambda: curves.iwae_curves.k == 2 and len(curves.iwae_curves.val.getData()[1] or ()) == 1,
                    timeout=5_000)
    assert "−L_K (IWAE, K=2)" in curves.readout._name_of["neg_iw_bound"].text()
    # Continue keeps the objective and K (the fields show them, disabled).
    assert panel.continue_check.isChecked() and objective.currentData() == "iwae" and k.value() == 2
    panel.epochs.setValue(2)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.is_training, timeout=60_000)
    run = window.training.live_run
    assert run.trainer.epoch == 2 and (run.trainer.config.objective, run.trainer.config.iw_k) == ("iwae", 2)
    assert load_checkpoint(run.out).history["epochs"]["val_neg_iw_bound"].numel() == 2
