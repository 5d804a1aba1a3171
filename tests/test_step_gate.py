"""StepGate: when the training loop may step. The pacing runs on an injected clock (no timing);
the waits are checked by what wakes them, on events with generous timeouts."""

from __future__ import annotations

import threading

import pytest

from latentlab.core.step_gate import GO, PAUSED, STEP, STOP, StepGate, check_speed_limit, seconds_to_wait


class FakeClock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_seconds_to_wait_spaces_step_starts_by_one_over_the_limit():
    assert seconds_to_wait(None, 5.0, 10) == 0.0          # no step yet: go
    assert seconds_to_wait(5.0, 5.0, None) == 0.0         # no limit: go
    assert seconds_to_wait(5.0, 5.03, 10) == pytest.approx(0.07)
    assert seconds_to_wait(5.0, 5.2, 10) == 0.0           # the step took longer than 1/limit
    assert seconds_to_wait(5.0, 5.5, 1) == pytest.approx(0.5)


def test_the_gate_paces_by_its_clock_and_a_new_limit_counts_at_once():
    clock = FakeClock()
    gate = StepGate(clock)
    gate.set_limit(10)
    assert gate.next_turn() == GO                          # the first step never waits
    clock.now += 0.03
    assert gate.seconds_to_next_step() == pytest.approx(0.07)
    gate.set_limit(2)
    assert gate.seconds_to_next_step() == pytest.approx(0.47)
    gate.set_limit(None)
    assert gate.seconds_to_next_step() == 0.0
    gate.set_limit(2)
    clock.now += 0.5
    assert gate.seconds_to_next_step() == 0.0 and gate.next_turn() == GO   # due: no wait at all
    assert gate.seconds_to_next_step() == pytest.approx(0.5)              # measured from that step


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "fast", True])
def test_a_bad_speed_limit_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="speed limit"):
        check_speed_limit(bad)
    with pytest.raises(ValueError, match="speed limit"):
        StepGate().set_limit(bad)


def test_a_paused_gate_reports_the_pause_once_and_lets_one_single_step_through():
    gate = StepGate(FakeClock())
    assert gate.next_turn() == GO
    gate.pause()
    assert gate.next_turn() == PAUSED and gate.held
    assert gate.step() and not gate.held
    assert not gate.step()                                 # asked for already: refused, not queued
    assert gate.next_turn() == STEP
    assert not gate.step()                                 # being taken: refused
    assert gate.next_turn() == PAUSED and gate.held        # done: paused again, and says so
    assert gate.step() and gate.next_turn() == STEP        # the next click is a new step


def test_single_steps_are_refused_unless_paused_and_stop_is_sticky():
    gate = StepGate(FakeClock())
    assert not gate.step()                                 # running: nothing to step
    gate.stop()
    assert gate.next_turn() == STOP and gate.next_turn() == STOP
    gate.pause()
    assert not gate.step()                                 # stopping
    gate.clear()
    assert not gate.paused and not gate.stopped and gate.next_turn() == GO


def wait_in_thread(gate):
    answers = []
    thread = threading.Thread(target=lambda: answers.append(gate.next_turn()), daemon=True)
    thread.start()
    assert gate.waiting.wait(30), "the training thread never came to wait"
    return thread, answers


@pytest.mark.parametrize("wake", ["stop", "no limit", "pause then stop"])
def test_a_slow_motion_wait_ends_at_once_on_a_request(wake):
    """A plain sleep of 1/limit would keep these waits for 1000 s: each request must end them."""
    gate = StepGate()
    gate.set_limit(0.001)
    assert gate.next_turn() == GO
    thread, answers = wait_in_thread(gate)
    if wake == "stop":
        gate.stop()
    elif wake == "no limit":
        gate.set_limit(None)
    else:
        gate.pause()
    thread.join(30)
    if wake == "pause then stop":     # the pause is reported at once; then a stop ends the pause's wait
        assert answers == [PAUSED]
        thread, answers = wait_in_thread(gate)
        gate.stop()
        thread.join(30)
        assert answers == [STOP]
    else:
        assert not thread.is_alive() and answers == [STOP if wake == "stop" else GO]


def test_a_step_wakes_a_paused_wait():
    gate = StepGate()
    gate.pause()
    assert gate.next_turn() == PAUSED
    thread, answers = wait_in_thread(gate)
    assert gate.step()
    thread.join(30)
    assert answers == [STEP]
