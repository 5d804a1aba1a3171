"""Garbage is collected on the GUI thread, never in a worker (gui/gc_guard.py)."""

import gc
import threading

from latentlab.gui.gc_guard import collect_on_gui_thread


class _Cycle:
    def __init__(self, seen: list):
        self.seen = seen
        self.me = self          # a reference cycle: only the cyclic collector frees it

    def __del__(self):
        self.seen.append(threading.current_thread().name)


def test_a_cycle_made_garbage_is_freed_on_the_gui_thread_even_when_a_worker_allocates(qapp, qtbot):
    assert collect_on_gui_thread(qapp) is collect_on_gui_thread(qapp)     # one per application
    assert not gc.isenabled()
    seen: list[str] = []
    _Cycle(seen)                 # garbage at once
    kept = []
    # Enough new containers to cross the first generation's threshold many times over: with
    # automatic collection on, the collector would run here, in the worker, and free the cycle.
    worker = threading.Thread(target=lambda: kept.extend([] for _ in range(50_000)), name="worker")
    worker.start()
    worker.join()
    assert seen == []
    qtbot.waitUntil(lambda: bool(seen), timeout=20_000)
    assert seen == [threading.main_thread().name]
