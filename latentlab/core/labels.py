"""Which training images keep their labels in a semi-supervised run.

A seeded, class-balanced draw: `n` labels are n / K per class (the paper's 100 labels are 10 of
each digit), the first n mod K classes one more when n does not divide. The rest of the training
set is unlabelled. The same (labels, n, seed) always gives the same images, so a run resumed from
its checkpoint trains on the same labels, and a model card can name them by their seed.
"""

from __future__ import annotations

import torch


class LabelError(ValueError):
    pass


def draw_labelled(labels: torch.Tensor, n: int, seed: int, num_classes: int | None = None) -> torch.Tensor:
    """Indices (sorted, int64) of n labelled images, balanced over the classes; n = 0 means all."""
    labels = torch.as_tensor(labels).long()
    if labels.dim() != 1 or labels.numel() == 0:
        raise LabelError("the training images have no labels, so a semi-supervised model cannot be trained on them")
    if int(labels.min()) < 0:
        raise LabelError("some training images have no label (-1); a semi-supervised run needs a labelled data set")
    k = num_classes or int(labels.max()) + 1
    if n < 0:
        raise LabelError(f"the number of labels must be 0 (all) or more, got {n}")
    if n == 0 or n >= len(labels):
        return torch.arange(len(labels))
    if n < k:
        raise LabelError(f"{n} labels cannot cover the {k} classes; give at least {k}")
    g = torch.Generator().manual_seed(int(seed))
    chosen = []
    for c in range(k):
        members = torch.nonzero(labels == c).flatten()
        want = n // k + (1 if c < n % k else 0)
        if len(members) < want:
            raise LabelError(f"class {c} has {len(members)} training image(s); {want} labelled ones were asked for "
                                 f"({n} labels over {k} classes)")
        chosen.append(members[torch.randperm(len(members), generator=g)[:want]])
    return torch.cat(chosen).sort().values


def unlabelled_indices(n_images: int, labelled: torch.Tensor) -> torch.Tensor:
    """The other images; all of them when every image is labelled (then -U still trains the
    generative model on every image)."""
    mask = torch.ones(n_images, dtype=torch.bool)
    mask[labelled] = False
    rest = torch.nonzero(mask).flatten()
    return rest if len(rest) else torch.arange(n_images)
