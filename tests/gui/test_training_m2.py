"""Training M2 and M1+M2 from the window (issue 12): the panel's model choice, labels and M1, real
runs on the 100-image data root (83 training images: labels=10 draws one per class), and the
messages for what cannot train."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit

from latentlab import load_checkpoint
from latentlab.core.checkpoint import save_checkpoint
from latentlab.core.m2 import M1M2, M2Config, PixelM2
from latentlab.core.models import VAE, VAEConfig
from latentlab.core.trainer import TrainConfig
from latentlab.gui.training_panel import TrainingPanel

BATCH = 10
STEPS_PER_EPOCH = -(-(83 - 10) // BATCH)    # an epoch is a pass over the 73 unlabelled images


def choose(panel, kind: str, dataset: str = "mnist", labels: str = "10", epochs: int = 1) -> None:
    """A small model of `kind` ("VAE", "M2", "M1+M2") that trains in a fraction of a second, set
    through the widgets a person uses (found by their objectNames)."""
    panel.continue_check.setChecked(False)
    panel.dataset.setCurrentIndex(panel.dataset.findData(dataset))
    kinds = panel.findChild(QComboBox, "modelKind")
    kinds.setCurrentIndex(kinds.findText(kind))
    panel.findChild(QComboBox, "labelsCount").setCurrentText(labels)
    panel.hidden.setText("32")
    panel.latent_dim.setValue(2)
    panel.batch_size.setValue(BATCH)
    panel.epochs.setValue(epochs)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.objectName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def train(window, qtbot, timeout=60_000):
    click(qtbot, window.training_panel.train_button)
    qtbot.waitUntil(lambda: not window.is_training, timeout=timeout)
    return window.training.live_run


def errors_drawn(curves) -> list[float]:
    ys = curves.class_curves.error_points.getData()[1]
    return [] if ys is None else ys.tolist()


@pytest.fixture
def panel(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    return panel


def test_m2_trains_from_the_panel_with_its_curves_and_continues_like_a_vae_run(make_window, qtbot, tiny_data):
    window = make_window()
    panel = window.training_panel
    choose(panel, "M2")
    run = train(window, qtbot)
    assert run.trainer.status == "finished", panel.message.text()
    ckpt = load_checkpoint(run.out)
    assert isinstance(ckpt.model, PixelM2) and ckpt.kind == "m2" and ckpt.model.config.hidden_sizes == (32,)
    assert ckpt.train_config["labels"] == 10 and ckpt.train_config["beta"] == 1.0
    assert len(ckpt.history["epochs"]["val_error"]) == 1 and len(ckpt.history["steps"]["labelled"]) == STEPS_PER_EPOCH
    assert run.out.parent.name.startswith("mnist-m2-2d-")
    # The curves: -U (the -ELBO line, renamed), -L and the validation error in its own panel.
    curves = window.curves
    qtbot.waitUntil(lambda: curves.class_curves.active and len(errors_drawn(curves)) == 1, timeout=5_000)
    assert len(curves.class_curves.smooth.yData) == STEPS_PER_EPOCH
    assert errors_drawn(curves) == pytest.approx(ckpt.history["epochs"]["val_error"].tolist())
    assert curves.readout.latest_text("val_error").endswith(" %") and "−U" in curves.readout._name_of["neg_elbo"].text()
    # The finished run is offered for continuing, as an M2 with its labels.
    assert panel.continue_check.isChecked() and panel.semi.kind.currentText() == "M2"
    assert panel.semi.labels.currentText() == "10" and not panel.semi.labels.isEnabled()
    panel.epochs.setValue(2)
    run = train(window, qtbot)
    assert run.trainer.status == "finished" and run.trainer.epoch == 2
    qtbot.waitUntil(lambda: len(errors_drawn(curves)) == 2, timeout=5_000)
    assert len(curves.data.extras.steps["labelled"].raw) == 2 * STEPS_PER_EPOCH == len(curves.data)
    # A continued run keeps its labels: the resume rule's refusal is shown, nothing starts.
    panel.semi.labels.setCurrentText("20")
    panel.epochs.setValue(3)
    click(qtbot, panel.train_button)
    assert not window.is_training
    assert "cannot change labels" in panel.message.text() and panel.message.isVisibleTo(panel)


def test_m1m2_trains_from_the_panel_on_an_m1_the_test_saved(make_window, qtbot, tiny_data, tmp_path):
    torch.manual_seed(1)
    m1 = VAE(VAEConfig(latent_dim=4, hidden_sizes=(16,)))
    save_checkpoint(tmp_path / "m1.pt", m1, data={"dataset": "mnist"})
    window = make_window()
    panel = window.training_panel
    choose(panel, "M1+M2")
    assert panel.semi.m1_widget.isVisibleTo(panel) and panel.likelihood.currentData() == "gaussian"
    panel.findChild(QLineEdit, "m1Checkpoint").setText(str(tmp_path / "m1.pt"))
    run = train(window, qtbot)
    assert run.trainer.status == "finished", panel.message.text()
    ckpt = load_checkpoint(run.out)
    assert isinstance(ckpt.model, M1M2) and ckpt.model.config.m1 == m1.config.to_dict()
    for (name, a), b in zip(m1.state_dict().items(), ckpt.model.m1.state_dict().values()):
        assert torch.equal(a, b), name                      # the M1 is the file's, unchanged
    assert len(ckpt.history["epochs"]["val_error"]) == 1
    # Continuing it uses the M1 in its checkpoint: the path field says so and is not read.
    assert panel.continue_check.isChecked() and panel.semi.m1_path.text() == ""
    assert "checkpoint" in panel.semi.m1_path.placeholderText()
    panel.continue_check.setChecked(False)
    assert panel.semi.m1_path.text() == str(tmp_path / "m1.pt")


@pytest.mark.parametrize("dataset,shown", [("frey-face", "Frey Face"), ("folder", "Image folder")])
def test_m2_on_a_data_set_without_labels_is_refused_in_the_panel(make_window, qtbot, tiny_data, dataset, shown):
    window = make_window()
    panel = window.training_panel
    model, steps = window.model, len(window.curves.data)
    choose(panel, "M2", dataset=dataset)
    panel.folder.setText(str(tiny_data))
    assert panel.message.isVisibleTo(panel) and shown in panel.message.text() and "labels" in panel.message.text()
    click(qtbot, panel.train_button)
    assert not window.is_training and window.training.live_run is None
    assert shown in window.statusBar().currentMessage()
    assert window.model is model and len(window.curves.data) == steps
    panel.dataset.setCurrentIndex(panel.dataset.findData("mnist"))   # a data set with labels: the message goes
    assert not panel.message.isVisibleTo(panel)


def test_a_bad_m1_file_gives_a_message_naming_it_and_changes_nothing(make_window, qtbot, tiny_data, tmp_path):
    save_checkpoint(tmp_path / "fashion.pt", VAE(VAEConfig(latent_dim=3, hidden_sizes=(8,))),
                    data={"dataset": "fashion-mnist"})
    save_checkpoint(tmp_path / "an-m2.pt", PixelM2(M2Config(hidden_sizes=(8,), classifier_hidden=(8,))),
                    data={"dataset": "mnist"})
    (tmp_path / "folder.pt").mkdir()
    window = make_window()
    panel = window.training_panel
    model, steps = window.model, len(window.curves.data)
    choose(panel, "M1+M2")
    for name, why in (("missing.pt", "No such checkpoint"), ("folder.pt", "folder"),
                      ("an-m2.pt", "must be a VAE"), ("fashion.pt", "trained on fashion-mnist")):
        panel.semi.m1_path.setText(str(tmp_path / name))
        click(qtbot, panel.train_button)
        message = panel.message.text()
        assert str(tmp_path / name) in message and why in message, message
        assert str(tmp_path / name) in window.statusBar().currentMessage()
        assert not window.is_training and window.training.live_run is None
        assert window.model is model and len(window.curves.data) == steps
        assert panel.train_button.isEnabled() and panel.semi.kind.currentText() == "M1+M2"


def test_set_run_shows_an_m2_or_m1m2_run_with_its_labels(panel):
    stored = TrainConfig(labels=600, epochs=30, batch_size=64).to_dict()
    panel.set_run(M2Config(latent_dim=3, hidden_sizes=(64,)), stored, {"dataset": "fashion-mnist"}, 4,
                  continue_now=True)
    assert panel.semi.kind.currentText() == "M2" and panel.semi.labels.currentText() == "600"
    assert panel.latent_dim.value() == 3 and panel.hidden.text() == "64" and panel.beta.value() == 1.0
    assert panel.dataset.currentData() == "fashion-mnist" and not panel.model_group.isEnabled()
    assert not panel.message.text()
    m1 = VAEConfig(latent_dim=20).to_dict()
    panel.set_run(M2Config(latent_dim=10, likelihood="gaussian", m1=m1), TrainConfig(labels=0).to_dict(),
                  {"dataset": "mnist"}, 1, continue_now=True)
    assert panel.semi.kind.currentText() == "M1+M2" and panel.semi.labels.currentText() == "all"
    assert panel.likelihood.currentData() == "gaussian"
    panel.set_run(VAEConfig(latent_dim=5), TrainConfig(beta=2.0).to_dict(), {"dataset": "mnist"}, 1,
                  continue_now=True)
    assert panel.semi.kind.currentText() == "VAE" and panel.beta.value() == 2.0 and panel.latent_dim.value() == 5


def test_choosing_m2_fixes_the_vae_only_fields_and_vae_gets_the_users_values_back(panel):
    panel.beta.setValue(0.5)
    panel.warmup.setValue(3.0)
    panel.architecture.setCurrentIndex(panel.architecture.findData("conv"))
    assert not panel.semi.labels.isEnabled() and "without labels" in panel.semi.labels.toolTip()
    panel.semi.kind.setCurrentIndex(panel.semi.kind.findData("m2"))
    for widget, value in ((panel.beta, 1.0), (panel.warmup, 0.0)):
        assert not widget.isEnabled() and widget.value() == value and "M2" in widget.toolTip()
    assert not panel.architecture.isEnabled() and panel.architecture.currentData() == "mlp"
    assert not panel.likelihood.isEnabled() and panel.likelihood.currentData() == "bernoulli"
    assert panel.hidden.isEnabled() and panel.hidden.text() == "500" and panel.semi.labels.isEnabled()
    assert not panel.semi.m1_widget.isVisibleTo(panel)
    spec = panel.data_spec()
    config, train_config = panel.model_config(spec), panel.train_config(spec)
    assert isinstance(config, M2Config) and config.kind == "m2" and config.hidden_sizes == (500,)
    assert train_config.labels == 100 and train_config.beta == 1.0 and train_config.kl_warmup_epochs == 0.0
    panel.semi.kind.setCurrentIndex(panel.semi.kind.findData("m1m2"))
    assert panel.semi.m1_widget.isVisibleTo(panel) and panel.likelihood.currentData() == "gaussian"
    assert panel.semi.m1_path.text().endswith("mnist-20d.pt")
    with pytest.raises(ValueError, match="needs its M1"):
        panel.model_config(spec)
    # The settings file remembers the user's VAE values, and the kind.
    settings = QSettings()
    panel.save_settings(settings)
    panel.semi.kind.setCurrentIndex(panel.semi.kind.findData("vae"))
    assert panel.beta.isEnabled() and panel.beta.value() == 0.5 and panel.warmup.value() == 3.0
    assert panel.architecture.currentData() == "conv" and panel.hidden.text() == "512, 512"
    assert isinstance(panel.model_config(panel.data_spec()), VAEConfig)
    again = TrainingPanel()
    again.restore_settings(settings)
    assert again.semi.kind.currentData() == "m1m2" and again.beta.value() == 1.0
    again.semi.kind.setCurrentIndex(again.semi.kind.findData("vae"))
    assert again.beta.value() == 0.5 and again.architecture.currentData() == "conv"
    again.deleteLater()


def test_the_labels_field_offers_the_papers_numbers_and_refuses_words(panel):
    labels = panel.findChild(QComboBox, "labelsCount")
    assert [labels.itemText(i) for i in range(labels.count())] == ["100", "600", "1000", "3000", "all"]
    panel.semi.kind.setCurrentIndex(panel.semi.kind.findData("m2"))
    labels.setCurrentIndex(labels.findText("all"))
    assert panel.train_config(panel.data_spec()).labels == 0
    labels.setCurrentText("")
    with pytest.raises(ValueError, match="Labels"):
        panel.train_config(panel.data_spec())


def test_the_m1_is_read_off_the_gui_thread_and_a_second_train_meanwhile_is_ignored(make_window, qtbot, tiny_data,
                                                                                    tmp_path, monkeypatch):
    import threading

    from PySide6.QtCore import QTimer

    from latentlab.gui import training_controller

    m1 = VAE(VAEConfig(latent_dim=3, hidden_sizes=(16,)))
    release, seen = threading.Event(), {}

    def slow_load(path, dataset):          # a slow disk: the read waits until the GUI has answered
        seen["thread"] = threading.current_thread()
        assert release.wait(30)
        return m1

    monkeypatch.setattr(training_controller, "load_m1", slow_load)
    window = make_window()
    panel = window.training_panel
    choose(panel, "M1+M2")

    def meanwhile():                        # runs on the GUI thread while the file is being read
        seen["second"] = window.training.start()
        seen["loop ran"] = True
        release.set()
    QTimer.singleShot(0, meanwhile)
    run = train(window, qtbot)
    assert seen["loop ran"] and seen["second"] is False
    assert seen["thread"] is not threading.main_thread()
    assert run.trainer.status == "finished" and run.trainer.model.m1.latent_dim == 3


def test_an_m2_checkpoint_continues_from_its_file_into_a_new_run_folder(make_window, qtbot, tiny_data):
    window = make_window()
    panel = window.training_panel
    choose(panel, "M2")
    first = train(window, qtbot)
    ckpt = load_checkpoint(first.out)
    window.training.forget_run()                      # as when the file is opened in another window
    panel.set_run(ckpt.model.config, ckpt.train_config, ckpt.data, 1, continue_now=True)
    panel.epochs.setValue(2)
    assert window.training.start(ckpt, first.out.parent.parent / "elsewhere.pt")
    qtbot.waitUntil(lambda: not window.is_training, timeout=60_000)
    run = window.training.live_run
    assert run.trainer.status == "finished" and run.trainer.epoch == 2 and run.out != first.out
    assert torch.equal(run.trainer.labelled.cpu(), first.trainer.labelled.cpu())    # the same labels
    assert len(load_checkpoint(run.out).history["epochs"]["val_error"]) == 2
