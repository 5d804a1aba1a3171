"""Training M2 and M1+M2: the VAE trainer's loop (pause, stop, steps, checkpoints, divergence)
with the semi-supervised objective (core/m2_objectives.py) in each step.

An epoch is one pass over the unlabelled images; every step also takes a batch of the labelled
ones (all of them when there are at most `batch_size`, as with the paper's 100), so the
classifier sees its labels at every step. The labels are a seeded, class-balanced draw
(core/labels.py) fixed by the run's `labels` and `seed`, so a resumed run trains on the same ones.
The validation images keep their labels: the error on them is reported after every epoch
("val_error", in %) and is what a user selects settings and epochs by; the test set is only for
`latentlab eval`.
"""

from __future__ import annotations

import math

import torch

from .data import epoch_permutation
from .labels import draw_labelled, unlabelled_indices
from .m2 import SemiSupervised
from .m2_evaluation import SemiEvaluation, evaluate_semi
from .m2_objectives import default_alpha, m2_terms
from .trainer import Trainer


class SemiSupervisedTrainer(Trainer):
    EXTRA_STEP_COLUMNS = ("labelled", "class_loss")

    def __init__(self, model: SemiSupervised, train_images: torch.Tensor, train_labels: torch.Tensor | None,
                 val_images: torch.Tensor | None = None, val_labels: torch.Tensor | None = None,
                 config=None, **kwargs):
        if kwargs.get("dist") is not None:
            raise ValueError("M2 and M1+M2 train in one process; run them without torchrun")
        super().__init__(model, train_images, val_images, config, **kwargs)
        cfg = self.config
        if cfg.beta != 1.0 or cfg.kl_warmup_epochs:
            raise ValueError("beta and KL warm-up are VAE settings; M2 and M1+M2 train the paper's bound "
                             "(leave them at 1 and 0)")
        if train_labels is None:
            raise ValueError("a semi-supervised model needs labelled training images; this data set has no labels")
        labelled = draw_labelled(train_labels, cfg.labels, cfg.seed, model.num_classes)
        if int(train_labels.max()) >= model.num_classes:
            raise ValueError(f"the data have {int(train_labels.max()) + 1} classes; the model has {model.num_classes}")
        self.train_labels = train_labels.long().to(self.device)
        self.labelled = labelled.to(self.device)
        self.unlabelled = unlabelled_indices(len(train_images), labelled).to(self.device)
        self.val_labels = val_labels.long().to(self.device) if val_labels is not None and self.val_images is not None \
            else None
        if self.val_images is not None and self.val_labels is None:
            self.val_images = None   # no labels, no validation error: nothing to report
        self.alpha = cfg.alpha or default_alpha(len(self.unlabelled), len(self.labelled))

    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.unlabelled) / self.config.batch_size))

    def _epoch_batches(self, epoch: int):
        perm = epoch_permutation(len(self.unlabelled), self.config.seed * 1_000_003 + epoch, self.device)
        return self.unlabelled[perm].split(self.config.batch_size)

    def _step_terms(self, net, batch: torch.Tensor, kl_weight: float):
        model: SemiSupervised = self.model
        n_l = len(self.labelled)
        pick = torch.randperm(n_l, device=self.device)[:min(n_l, self.config.batch_size)]   # drawn on the device
        chosen = self.labelled[pick]
        # M1+M2 models M1's posterior means of the (dynamically binarised) images, as the classifier
        # sees them at test time. Drawing z1 ~ q(z1|x) instead was slower and worse: 8.3 % validation
        # error at epoch 13 against 5.9 % with the means (10-D style z, 100 labels, same seed).
        v_u = model.vectors(self._batch(self.train_images[batch]))
        v_l = model.vectors(self._batch(self.train_images[chosen]))
        t = m2_terms(model.core, v_u, v_l, self.train_labels[chosen], self.alpha, self.config.n_samples,
                     self.config.class_balance)
        stats = torch.cat([torch.stack([t.loss, t.unlabelled, t.kl, t.recon, t.labelled, t.class_loss]).detach(),
                           t.kl_per_dim.detach()])
        return t.loss, stats

    def _epoch_extras(self, ev) -> tuple[tuple[str, float], ...]:
        return (("val_error", ev.error),) if ev is not None else ()

    @torch.no_grad()
    def validate(self, batch_size: int = 1000) -> SemiEvaluation:
        g = torch.Generator(device=self.device).manual_seed(self.VAL_SEED)
        batches = ((self._batch(x, g), y) for x, y in zip(self.val_images.split(batch_size),
                                                          self.val_labels.split(batch_size)))
        return evaluate_semi(self.model, batches)

    @classmethod
    def from_checkpoint(cls, ckpt, train_images, val_images, config, dist=None, *, train_labels=None,
                        val_labels=None) -> "SemiSupervisedTrainer":
        from .history import History

        return cls(ckpt.model, train_images, train_labels, val_images, val_labels, config, data_info=ckpt.data,
                   history=History.from_dict(ckpt.history), optimizer_state=ckpt.optimizer_state,
                   trainer_state=ckpt.trainer_state, extras=ckpt.extras, dist=dist)
