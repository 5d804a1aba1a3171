"""The latest-wins queue without Qt: newest request per slot, priorities, typed callbacks."""

from __future__ import annotations

import queue
import threading

import pytest

from latentlab.app.job_queue import InlineRunner, LatestWinsQueue

WAIT_S = 5


@pytest.fixture
def delivered():
    """A LatestWinsQueue factory whose results arrive in a queue.Queue (as a GUI's event queue would)."""
    made = []

    def make():
        results: queue.Queue = queue.Queue()
        q = LatestWinsQueue("test-queue", results.put)
        made.append(q)
        return q, results

    yield make
    for q in made:
        q.shutdown()


def test_only_the_newest_waiting_request_of_a_slot_runs_and_priority_goes_first(delivered):
    q, results = delivered()
    started, gate, ran, done = threading.Event(), threading.Event(), [], []
    q.submit("block", lambda: started.set() or gate.wait(WAIT_S), done.append)
    assert started.wait(WAIT_S)
    q.submit("figure", lambda: "figure", done.append, priority=10)
    for i in range(20):
        q.submit("hover", lambda i=i: ran.append(i) or i, done.append, priority=0)
    gate.set()
    for _ in range(3):
        results.get(timeout=WAIT_S).dispatch()
    assert ran == [19] and done == [True, 19, "figure"]


def test_a_result_overtaken_while_running_is_not_dispatched(delivered):
    q, results = delivered()
    started, gate, done = threading.Event(), threading.Event(), []
    q.submit("hover", lambda: started.set() or gate.wait(WAIT_S) and "old", done.append)
    assert started.wait(WAIT_S)
    q.submit("hover", lambda: "new", done.append)      # while the old one runs
    gate.set()
    old, new = results.get(timeout=WAIT_S), results.get(timeout=WAIT_S)
    assert old.value == "old" and not old.is_latest() and not old.dispatch()
    assert new.dispatch() and done == ["new"]


def test_errors_go_to_on_error_and_the_thread_goes_on_until_shutdown(delivered):
    q, results = delivered()
    errors, done = [], []
    q.submit("bad", lambda: 1 / 0, done.append, on_error=errors.append)
    q.submit("good", lambda: 42, done.append, on_error=errors.append)
    for _ in range(2):
        results.get(timeout=WAIT_S).dispatch()
    assert isinstance(errors[0], ZeroDivisionError) and done == [42]
    q.shutdown()
    assert not q.is_running() and q.stopping


def test_cancel_drops_a_waiting_request(delivered):
    q, results = delivered()
    started, gate, done = threading.Event(), threading.Event(), []
    q.submit("block", lambda: started.set() or gate.wait(WAIT_S), done.append)
    assert started.wait(WAIT_S)
    q.submit("encode", lambda: "encoded", done.append)
    q.cancel("encode")
    q.submit("marker", lambda: "marker", done.append)
    gate.set()
    for _ in range(2):
        results.get(timeout=WAIT_S).dispatch()
    assert done == [True, "marker"]


def test_the_inline_runner_calls_back_before_submit_returns():
    runner, done, errors = InlineRunner(), [], []
    runner.submit("a", lambda: 1, done.append)
    runner.submit("b", lambda: 1 / 0, done.append, on_error=errors.append)
    assert done == [1] and isinstance(errors[0], ZeroDivisionError) and runner.submitted == ["a", "b"]
    with pytest.raises(ZeroDivisionError):      # no on_error: the caller sees the error
        runner.submit("c", lambda: 1 / 0, done.append)
