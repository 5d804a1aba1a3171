"""Run one blocking call (a file read, say) on another thread while the GUI's event loop goes on.

    result = run_off_gui_thread(lambda: load_checkpoint(path))

The caller gets the result (or the exception) as if it had made the call itself, but the window
keeps painting and answering while it runs: a large file or a stalled network folder never
freezes it. Events are processed meanwhile, so callers guard against re-entry (the window refuses
a second open while one is in flight).
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from PySide6.QtCore import QEventLoop, QObject, Signal

T = TypeVar("T")


class _Done(QObject):
    done = Signal()


def run_off_gui_thread(call: Callable[[], T]) -> T:
    outcome: dict = {}
    relay = _Done()             # lives in the GUI thread: its signal is queued from the worker
    loop = QEventLoop()
    relay.done.connect(loop.quit)

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as e:  # handed to the caller, who decides what it means
            outcome["error"] = e
        finally:
            relay.done.emit()

    thread = threading.Thread(target=work, name="latentlab-read", daemon=True)
    thread.start()
    # The signal is always queued (emitted on the worker thread), so even a call that is done
    # before the loop starts ends it.
    loop.exec()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
