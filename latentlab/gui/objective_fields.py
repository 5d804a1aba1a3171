"""The training panel's objective: the ELBO (Kingma & Welling 2014) or the importance-weighted
bound L_K of Burda, Grosse & Salakhutdinov (2016), and its K (objectNames objectiveChoice and
iwaeSamples; `latentlab train --objective iwae --k K`).

Choosing IWAE changes what three other fields mean: L_K has no separate KL term to weigh or warm
up, and its samples of z are its K, so β, KL warm-up and MC samples N are disabled and show 1, 0
and 1, the values TrainConfig requires with it, each with a tooltip saying why; the user's own
values are kept aside and come back with ELBO. M2 and M1+M2 train their own bound: for them both
rows are hidden and the run trains as before (the panel's train_config leaves the objective out).
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFormLayout

from latentlab.core.training_config import MAX_IW_K, TrainConfig

from .form_fields import combo, select, setting_spin

OBJECTIVES = (("ELBO", "elbo"), ("IWAE bound L_K", "iwae"))
OBJECTIVE_TIP = ("ELBO: the VAE's evidence lower bound. IWAE: the importance-weighted bound "
                 "L_K = log (1/K) Σ p(x, z_k)/q(z_k|x) (Burda et al. 2016), tighter for K > 1; the curves "
                 "show it beside the ELBO.")
K_TIP = f"K: samples of z per image in the IWAE bound (1 to {MAX_IW_K}); each step decodes K times as many"
ELBO_K_TIP = "K is the IWAE bound's; the ELBO does not use it."
# The fields IWAE fixes: the value it trains with, and why.
FIXED = {"beta": (1.0, "The IWAE bound has no separate KL term to weigh: β = 1."),
         "warmup": (0.0, "The IWAE bound has no separate KL term to warm up."),
         "mc_samples": (1, "With the IWAE bound the samples of z per image are its K.")}


class ObjectiveFields(QObject):
    """The widgets (`objective`, `k`), their two rows in `form`, and what IWAE does to `panel`
    (a gui/training_panel.TrainingPanel, whose `semi` fields exist already)."""

    def __init__(self, panel, form: QFormLayout):
        super().__init__(panel)
        self.panel, self.form = panel, form
        self.objective = combo(OBJECTIVES)
        self.objective.setObjectName("objectiveChoice")
        self.objective.setToolTip(OBJECTIVE_TIP)
        self.k = setting_spin(TrainConfig, "iw_k")
        self.k.setObjectName("iwaeSamples")
        form.addRow("Objective", self.objective)
        form.addRow("IWAE samples K", self.k)
        self.kept: dict = {}      # the fields' own values while IWAE shows its fixed ones
        self._tips = {name: getattr(panel, name).toolTip() for name in FIXED}
        self.objective.currentIndexChanged.connect(self.apply)
        panel.semi.kind.currentIndexChanged.connect(self.apply)   # after the semi fields' own
        self.apply()

    @property
    def is_iwae(self) -> bool:
        return self.objective.currentData() == "iwae" and not self.panel.semi.is_semi

    def settings(self) -> dict:
        """The TrainConfig fields of a new run: the objective and K of a VAE, none for M2."""
        if self.panel.semi.is_semi:
            return {}
        return {"objective": self.objective.currentData(), "iw_k": self.k.value()}

    def apply(self) -> None:
        """Show the chosen objective: for IWAE the fixed β, warm-up and N (the user's kept), K
        enabled; both rows hidden for M2 (whose own fields the semi fields manage)."""
        panel, semi, iwae = self.panel, self.panel.semi.is_semi, self.is_iwae
        for widget in (self.objective, self.k):
            self.form.setRowVisible(widget, not semi)
        self.k.setEnabled(iwae)
        self.k.setToolTip(K_TIP if iwae else ELBO_K_TIP)
        if semi:
            return
        if iwae and not self.kept:
            self.kept = {name: getattr(panel, name).value() for name in FIXED}
        elif not iwae and self.kept:
            for name, value in self.kept.items():
                getattr(panel, name).setValue(value)
            self.kept = {}
        for name, (value, tip) in FIXED.items():
            widget = getattr(panel, name)
            if iwae:
                widget.setValue(value)
            widget.setEnabled(not iwae)
            widget.setToolTip(tip if iwae else self._tips[name])

    def fill(self, train_config: TrainConfig) -> None:
        """The objective and K of a run the panel continues (its β, warm-up and N are set already)."""
        self.kept = {}   # the run's values are what shows, not those kept from before
        self.k.setValue(train_config.iw_k)
        select(self.objective, train_config.objective)
        self.apply()

    def remembered(self, name: str, value):
        """What the settings file remembers for a fixed field: the user's own value under IWAE."""
        return self.kept.get(name, value)

    def save_settings(self, settings) -> None:
        settings.setValue("objective", self.objective.currentData())
        settings.setValue("iwaeSamples", self.k.value())

    def restore_settings(self, settings) -> None:
        k, objective = settings.value("iwaeSamples"), settings.value("objective")
        if k is not None:
            self.k.setValue(int(k))
        if objective is not None:
            select(self.objective, objective)
