"""Events without Qt: `state.events.pins.connect(callback)`, then `state.events.pins.emit(...)`.

The application state tells its views what changed through these, so the state needs no Qt and
views of any kind (Qt widgets, tests, a script) subscribe the same way. It is deliberately tiny:
callbacks run at once, in the emitting thread, in the order they were connected. The explorer's
state is only ever changed on the GUI thread (background results are delivered there first), so
its callbacks run there too. An exception in a callback propagates to whoever changed the state:
it is a bug to see, not something to swallow.
"""

from __future__ import annotations

from typing import Any, Callable


class Event:
    """One kind of change, and the callbacks that want to hear of it."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Call `callback(*args)` on every `emit(*args)`; returns it (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Stop calling `callback`; a callback that is not connected is ignored."""
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):   # a callback may disconnect itself
            callback(*args)

    def __repr__(self) -> str:
        return f"<Event {self.name}: {len(self._callbacks)} callbacks>"


class EventGroup:
    """A fixed set of named events: `EventGroup("pins", "plane").pins.connect(...)`."""

    def __init__(self, *names: str):
        self._names = names
        for name in names:
            setattr(self, name, Event(name))

    def names(self) -> tuple[str, ...]:
        return self._names

    def __getattr__(self, name: str) -> Event:   # only reached for names that were not declared
        raise AttributeError(f"no event {name!r}; the events are {', '.join(self._names)}")
