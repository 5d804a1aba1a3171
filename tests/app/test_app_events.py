"""The tiny event helper the app state uses instead of Qt signals."""

from __future__ import annotations

import pytest

from latentlab.app.events import EventGroup


def test_callbacks_run_in_order_with_the_arguments_and_can_be_disconnected():
    events = EventGroup("pins", "message")
    calls = []
    first = events.message.connect(lambda text: calls.append(("first", text)))
    events.message.connect(lambda text: calls.append(("second", text)))
    events.message.emit("hello")
    events.message.disconnect(first)
    events.message.emit("again")
    events.pins.emit()                                # another event: nobody listens
    assert calls == [("first", "hello"), ("second", "hello"), ("second", "again")]
    events.message.disconnect(first)                  # twice: ignored


def test_a_callback_may_disconnect_itself_while_the_event_is_emitted():
    events = EventGroup("plane")
    calls = []

    def once():
        calls.append("once")
        events.plane.disconnect(once)

    events.plane.connect(once)
    events.plane.connect(lambda: calls.append("always"))
    events.plane.emit()
    events.plane.emit()
    assert calls == ["once", "always", "always"]


def test_an_unknown_event_names_the_known_ones():
    with pytest.raises(AttributeError, match="pins, plane"):
        EventGroup("pins", "plane").pinz.connect(print)


def test_an_error_in_a_callback_reaches_the_emitter():
    events = EventGroup("model")
    events.model.connect(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        events.model.emit()
