"""A local HTTP server on 127.0.0.1 for download tests: honest, lying, slow and stalling servers.

Each URL path is a `Route`: the body to serve and how to misbehave. Every misbehaviour is bounded
in time and bytes, so a server thread always ends by itself: a trickle stops after the body, when
the client goes away or when the test ends (`stop`); a hold waits for `release` at most
`HOLD_LIMIT_S` seconds and records in `hold_timed_out` that it had to give up, which lets a test
prove that a download returned without waiting for the server.
"""

from __future__ import annotations

import http.server
import socket
import threading
from dataclasses import dataclass

HOLD_LIMIT_S = 10.0  # the longest a held response waits for the test to release it


@dataclass
class Route:
    body: bytes
    content_length: int | None | str = "body"  # "body": the body's length; None: no header; int: that
    trickle_s: float | None = None  # send one byte per this many seconds
    hold_after: int | None = None  # send this many body bytes, then hold until released
    hold_before_headers: bool = False  # accept the request, then say nothing until released


class FileServer(http.server.ThreadingHTTPServer):
    """Serves ``routes`` (URL path -> Route or bytes); anything else is a 404."""

    def __init__(self, routes: dict[str, Route | bytes] | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route | bytes] = dict(routes or {})
        self.stop = threading.Event()  # set at the end of a test: every trickle ends
        self.release = threading.Event()  # set by a test (or at the end) to end a hold
        self.holding = threading.Event()  # a handler is holding a response now
        self.hold_timed_out = threading.Event()  # a hold gave up waiting for `release`
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FileServer:
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.release.set()
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FileServer

    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        if isinstance(route, bytes):
            route = Route(route)
        try:
            self._serve(route)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up; that is what many of these tests want

    def _serve(self, route: Route) -> None:
        if route.hold_before_headers:
            self._hold()
            return
        self.send_response(200)
        length = len(route.body) if route.content_length == "body" else route.content_length
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if route.hold_after is not None:
            self.wfile.write(route.body[: route.hold_after])
            self.wfile.flush()
            self._hold()
        elif route.trickle_s is not None:
            for i in range(len(route.body)):
                self.wfile.write(route.body[i : i + 1])
                self.wfile.flush()
                if self.server.stop.wait(route.trickle_s):
                    break
        else:
            self.wfile.write(route.body)

    def _hold(self) -> None:
        self.server.holding.set()
        if not self.server.release.wait(HOLD_LIMIT_S):
            self.server.hold_timed_out.set()
        self.close_connection = True

    def log_message(self, *args):  # keep test output clean
        pass


def refused_url() -> str:
    """A localhost URL on a port nobody listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.bin"
