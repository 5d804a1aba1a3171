"""app/core_share.py: every core for the window's run while nobody uses the window, one fewer
while someone does."""

from __future__ import annotations

from latentlab.app.core_share import CoreShare


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_idle_window_gets_every_core_and_an_interaction_takes_one_back_for_the_hold_time():
    clock = Clock()
    share = CoreShare(cores=4, hold_s=1.5, clock=clock)
    assert share.training_threads() == 4 and not share.interactive
    share.touch()
    assert share.training_threads() == 3
    clock.now += 1.4
    assert share.training_threads() == 3          # a pause within a hover keeps the core free
    share.touch()
    clock.now += 1.4
    assert share.training_threads() == 3          # each touch starts the hold again
    clock.now += 0.2
    assert share.training_threads() == 4


def test_one_core_is_never_zero_threads():
    share = CoreShare(cores=1)
    share.touch()
    assert share.training_threads() == 1
