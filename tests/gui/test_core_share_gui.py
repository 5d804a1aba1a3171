"""The window's side of app/core_share.py: interactions anywhere in the app reach the share, and
the training thread follows it between steps."""

from __future__ import annotations

import os
import sys
import threading
from types import SimpleNamespace

import pytest
import torch
from PySide6.QtCore import QCoreApplication, QEvent, QPoint
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QWidget

from latentlab.app.core_share import CoreShare
from latentlab.core.events import StepEvent
from latentlab.gui.interaction_watch import watch_interactions


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def step_event(step: int) -> StepEvent:
    return StepEvent(step=step, epoch=1, epoch_fraction=0.1, loss=1.0, neg_elbo=1.0, kl=0.5, recon=0.5,
                     kl_per_dim=(0.5,), kl_weight=1.0, steps_per_sec=10.0)


def test_the_training_thread_follows_the_share_between_steps(qtbot):
    """The window's TrainingThread sets its own torch threads after each step from the share."""
    from latentlab.gui.training_thread import INTERACTIVE_REST_S, TrainingThread

    clock = Clock()
    share = CoreShare(cores=2, hold_s=1.0, clock=clock)
    session = SimpleNamespace(trainer=SimpleNamespace(device=torch.device("cpu")), add_listener=lambda _: None,
                              speed_limit=None)
    thread = TrainingThread(session, share=share)
    thread._last_snapshot = float("inf")   # no model snapshot: this fake session has no model
    rests = []
    thread.rest = lambda seconds: rests.append((torch.get_num_threads(), seconds))
    seen = []

    def training_thread():   # torch's thread count is per thread: do it on one of our own
        torch.set_num_threads(1)
        thread._on_event(step_event(1))
        seen.append(torch.get_num_threads())        # idle: every core
        share.touch()
        thread._on_event(step_event(2))
        seen.append(torch.get_num_threads())        # in use: one fewer
        clock.now += 2.0
        thread._on_event(step_event(3))
        seen.append(torch.get_num_threads())        # idle again

    worker = threading.Thread(target=training_thread)
    worker.start()
    worker.join(10)
    assert seen == [2, 1, 2]
    assert rests == [(1, INTERACTIVE_REST_S)]   # it rests after the step taken while the window is in use only
    assert [e.step for e in thread.drain_steps()] == [1, 2, 3]


def test_a_mouse_move_or_a_key_anywhere_in_the_app_counts_as_use(qtbot):
    clock = Clock()
    share = CoreShare(cores=2, hold_s=1.0, clock=clock)
    owner = QWidget()
    qtbot.addWidget(owner)
    watch_interactions(owner, share)
    other = QWidget()          # not the owner: the filter is on the whole application
    qtbot.addWidget(other)
    other.resize(100, 100)
    other.setMouseTracking(True)
    other.show()
    assert share.training_threads() == 2
    QTest.mouseMove(other, QPoint(30, 40))
    QTest.mouseMove(other, QPoint(50, 60))
    assert share.training_threads() == 1
    clock.now += 5
    assert share.training_threads() == 2
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.show()
    QTest.keyClick(edit, "a")
    assert share.training_threads() == 1


def test_the_watch_goes_with_its_owner(qtbot):
    clock = Clock()
    share = CoreShare(cores=2, hold_s=1.0, clock=clock)
    owner = QWidget()
    watch_interactions(owner, share)
    owner.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    QTest.mouseMove(other, QPoint(10, 10))
    QTest.mouseMove(other, QPoint(20, 20))
    assert share.training_threads() == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a per-thread niceness is Linux's")
def test_the_training_thread_lowers_only_its_own_priority():
    from latentlab.gui.training_thread import lower_priority

    seen = {}

    def worker():
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        lower_priority(5)
        seen["thread"] = (before, os.getpriority(os.PRIO_PROCESS, tid))

    main_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    before, after = seen["thread"]
    assert after == min(19, before + 5)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_before   # the GUI's is untouched
