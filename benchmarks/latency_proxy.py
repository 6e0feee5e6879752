"""A small TCP proxy on 127.0.0.1 that delays every chunk it forwards.

Used by the ``route_postgres`` benchmark to put a simulated network between
the application processes and PostgreSQL: each chunk read from one side is
written to the other side *delay* seconds after it arrived, in order, in
both directions, so a round trip costs about ``2 * delay`` more than on the
loopback.  Chunks are scheduled, not serialised: a second chunk that arrives
while the first is held is held for its own *delay* only, as on a wire.

The proxy runs in a process of its own (threads: one reader and one writer
per direction and connection), so it competes with neither the benchmark's
parent nor its workers for a GIL::

    with LatencyProxy("127.0.0.1", 5432, delay=0.0005) as proxy:
        url = proxy.rewrite("postgresql://u:p@127.0.0.1:5432/db")

Its own cost is a few tens of microseconds of CPU per chunk; the benchmark
reports the round trip it measured through it (``SELECT 1``), so the
figures say what the simulated distance really was.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
import socket
import threading
import time
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["LatencyProxy"]

CHUNK = 65536


def _pump(source: socket.socket, target: socket.socket, delay: float) -> None:
    """Forward *source* to *target*, each chunk *delay* seconds after it arrived."""
    held: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

    def write() -> None:
        while True:
            due, data = held.get()
            if not data:
                break
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                target.sendall(data)
            except OSError:
                break
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    while True:
        try:
            data = source.recv(CHUNK)
        except OSError:
            data = b""
        held.put((time.perf_counter() + delay, data))
        if not data:
            break
    writer.join()


def _serve(host: str, port: int, delay: float, ready: Any) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    ready.put(listener.getsockname()[1])
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection((host, port))
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_pump, args=(client, upstream, delay), daemon=True).start()
        threading.Thread(target=_pump, args=(upstream, client, delay), daemon=True).start()


class LatencyProxy:
    """A delaying TCP proxy to ``host:port``, listening on an ephemeral 127.0.0.1 port."""

    def __init__(self, host: str, port: int, *, delay: float) -> None:
        self.host, self.port, self.delay = host, port, delay
        self.listen_port = 0
        self._process: Any = None

    def __enter__(self) -> LatencyProxy:
        ctx = mp.get_context("spawn")
        ready = ctx.Queue()
        self._process = ctx.Process(
            target=_serve, args=(self.host, self.port, self.delay, ready), daemon=True
        )
        self._process.start()
        self.listen_port = ready.get(timeout=30)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(10)

    def rewrite(self, url: str) -> str:
        """Return *url* (a ``postgresql://`` URL of this proxy's target) pointed at the proxy."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (
            f"{userinfo}@127.0.0.1:{self.listen_port}"
            if userinfo
            else (f"127.0.0.1:{self.listen_port}")
        )
        return urlunsplit(parts._replace(netloc=netloc))

    @staticmethod
    def target_of(url: str) -> tuple[str, int]:
        """The host and port a ``postgresql://`` URL names (libpq's defaults when absent)."""
        parts = urlsplit(url)
        return parts.hostname or "127.0.0.1", parts.port or 5432
