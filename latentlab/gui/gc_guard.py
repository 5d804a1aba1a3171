"""Python's cyclic garbage collector runs on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate. When that is a worker (the
training thread, a decoding job) and the garbage holds a PySide wrapper, the QObject is destroyed
there: its destructor takes Qt's object lock, then waits for the GIL, while the GUI thread, holding
the GIL, waits for that lock. Seen as a frozen window in CI: the training thread in
gc_collect_main -> QObject::~QObject -> Shiboken::GilState::acquire, the GUI thread in
BindingManager::runDeletionInMainThread -> QObject::~QObject -> QBasicMutex::lockInternal.
So automatic collection is switched off and a timer on the GUI thread collects instead
(pyqtgraph's GarbageCollector, which pyqtgraph made for exactly this), generation by generation
with Python's own thresholds, at most once a second.
"""

from __future__ import annotations

INTERVAL_S = 1.0


def collect_on_gui_thread(app, interval_s: float = INTERVAL_S):
    """Install the collector for `app` (once; later calls return the same one). Call it on the
    GUI thread: the timer lives in the thread that creates it."""
    collector = getattr(app, "_latentlab_gc", None)
    if collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        collector = GarbageCollector(interval=interval_s)
        app._latentlab_gc = collector
    return collector
