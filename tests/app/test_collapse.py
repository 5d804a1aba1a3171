"""app/collapse.py: the KL per dimension over epochs, active units, and the collapse message."""

from __future__ import annotations

import math

import numpy as np
import torch

from latentlab.app.collapse import MAX_NAMED, CollapseData, collapse_message
from latentlab.core.events import EpochEvent
from latentlab.core.history import History
from latentlab.core.traversal import COLLAPSE_KL


def epoch(n: int, kl, active_units: int = -1) -> EpochEvent:
    return EpochEvent(epoch=n, step=10 * n, train_neg_elbo=100.0, val_neg_elbo=100.0, val_kl=float(sum(kl)),
                      val_recon=90.0, val_kl_per_dim=tuple(kl), active_units=active_units, seconds=1.0)


def test_the_matrix_is_epochs_by_dimensions_and_the_order_is_by_the_final_kl():
    data = CollapseData()
    data.add_epoch(epoch(1, [0.5, 2.0, 1.0]))
    data.add_epoch(epoch(2, [0.001, 3.0, 1.5]))
    assert data.matrix().shape == (2, 3) and data.dims == 3
    np.testing.assert_array_equal(data.matrix()[1], [0.001, 3.0, 1.5])
    assert data.order().tolist() == [1, 2, 0]          # highest KL at the last epoch first
    assert data.collapsed() == [0]
    np.testing.assert_array_equal(data.active_by_kl(), [3, 2])


def test_equal_kls_keep_index_order_and_no_epoch_means_index_order():
    data = CollapseData()
    assert data.order().tolist() == [] and data.collapsed() is None and data.summary() == ""
    data.add_epoch(epoch(1, [1.0, 2.0, 1.0, 2.0]))
    assert data.order().tolist() == [1, 3, 0, 2]


def test_the_message_is_said_once_per_change_of_the_collapsed_set():
    data = CollapseData()
    assert data.add_epoch(epoch(1, [1.0, 1.0, 1.0])) is None           # none collapsed: nothing to say
    first = data.add_epoch(epoch(2, [0.005, 1.0, 1.0]))
    assert first == "Epoch 2: 1 of 3 dimensions collapsed (KL < 0.01 nats): z1"
    assert data.add_epoch(epoch(3, [0.004, 1.0, 1.0])) is None          # the same set: said already
    assert data.add_epoch(epoch(4, [0.004, 1.0, 0.002])) == \
        "Epoch 4: 2 of 3 dimensions collapsed (KL < 0.01 nats): z1, z3"
    assert data.add_epoch(epoch(5, [0.5, 1.0, 1.0])) == \
        "Epoch 5: no dimension collapsed (all 3 have KL ≥ 0.01 nats)"


def test_an_epoch_without_validation_leaves_a_gap_and_says_nothing():
    data = CollapseData()
    data.add_epoch(epoch(1, [0.001, 1.0]))
    assert data.add_epoch(epoch(2, [])) is None
    m = data.matrix()
    assert m.shape == (2, 2) and np.isnan(m[1]).all()
    assert data.collapsed() == [0]                  # from the last epoch that has a KL per dimension
    assert np.isnan(data.active_by_kl()[1])


def test_many_collapsed_dimensions_are_named_up_to_a_limit():
    message = collapse_message(range(0, 40, 2), 40)
    assert message.startswith("20 of 40 dimensions collapsed (KL < 0.01 nats): z1, z3, ")
    assert message.endswith(", …") and message.count("z") == MAX_NAMED


def test_a_history_loads_with_burdas_count_beside_and_its_final_set_counts_as_said():
    h = History()
    for n, kl in enumerate(([1.0, 0.5, 0.2], [1.2, 0.003, 0.2], [1.3, 0.002, 0.2]), start=1):
        h.add_epoch(epoch(n, kl, active_units=3 if n == 1 else 2))
    data = CollapseData()
    data.load_history(History.from_dict(h.to_dict()))     # as a checkpoint stores it (tensors)
    assert data.epochs == [1, 2, 3] and data.matrix().shape == (3, 3)
    np.testing.assert_array_equal(data.active_burda(), [3, 2, 2])
    np.testing.assert_array_equal(data.active_by_kl(), [3, 2, 2])
    assert data.summary() == "Epoch 3: 2 of 3 active, 1 collapsed (KL < 0.01 nats): z2"
    assert data.add_epoch(epoch(4, [1.3, 0.002, 0.2])) is None        # a continued run: nothing new
    assert data.add_epoch(epoch(5, [1.3, 0.002, 0.001])).startswith("Epoch 5: 2 of 3")


def test_a_history_without_kl_per_dimension_or_active_units():
    h = History.from_dict({"epochs": {"epoch": torch.tensor([1.0, 2.0])}})   # an older file's columns
    data = CollapseData()
    data.load_history(h)
    assert len(data) == 2 and data.dims == 0 and data.matrix().shape == (2, 0)
    assert data.collapsed() is None and not data.has_burda()
    assert np.isnan(data.active_by_kl()).all()


def test_the_threshold_is_the_traversals():
    data = CollapseData()
    data.add_epoch(epoch(1, [COLLAPSE_KL, math.nextafter(COLLAPSE_KL, 0)]))
    assert data.collapsed() == [1]                   # at the threshold is active, below it collapsed


def test_a_reloaded_history_says_what_changed_since_the_last_message():
    h = History()
    h.add_epoch(epoch(1, [1.0, 0.5]))
    data = CollapseData()
    data.load_history(h)
    assert data.reload_history(h) is None                                  # nothing new
    h.add_epoch(epoch(2, [1.0, 0.001]))
    assert data.reload_history(h) == "Epoch 2: 1 of 2 dimensions collapsed (KL < 0.01 nats): z2"
    h.add_epoch(epoch(3, [1.0, 0.001]))
    assert data.reload_history(h) is None and data.epochs == [1, 2, 3]
