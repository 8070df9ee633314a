"""A TCP proxy that tests put in front of the real PostgreSQL or Redis to cause faults.

``FaultProxy(host, port)`` listens on a free port of 127.0.0.1 and forwards every
connection to ``host:port``, on an asyncio loop in a thread of its own, so that the
test (and any Django code it calls) stays synchronous. The test then breaks the path
to the server the way production breaks it, without touching the server itself:

* :meth:`reset` — every open connection is torn down with a TCP reset (a failover, a
  restarted server, an idle-connection reaper in a load balancer); new connections pass.
* :meth:`cut` — the same, and new connections are refused until :meth:`restore`
  (an outage: the server is unreachable).
* :meth:`slow` — every chunk waits ``seconds`` before it is passed on, both ways
  (a congested network); ``slow(0)`` ends it.

Only the connections that go through the proxy are affected: other engineers' and
other tests' connections to the same server never are.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65536


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.delay = 0.0
        self.refusing = False
        self.accepted = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    # life ---------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def url(self, url: str) -> str:
        """``url`` (postgres://…, redis://…) pointed at the proxy instead of the server."""
        parts = urlsplit(url)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth + '@' if auth else ''}127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    # faults -------------------------------------------------------------------------
    def reset(self) -> int:
        """Tear down every open connection with a TCP reset; return how many."""
        return self._call(self._reset_all())

    def cut(self) -> int:
        """Refuse new connections and reset the open ones (until :meth:`restore`)."""
        self.refusing = True
        self._call(self._close_listener())
        return self.reset()

    def restore(self) -> None:
        """Accept and forward again, at full speed."""
        self.delay = 0.0
        if self.refusing:
            self.refusing = False
            self._call(self._listen())

    def slow(self, seconds: float) -> None:
        """Hold every chunk ``seconds`` before passing it on (0: full speed)."""
        self.delay = seconds

    @contextmanager
    def down(self) -> Iterator[FaultProxy]:
        """``with proxy.down():`` the server is unreachable inside the block."""
        self.cut()
        try:
            yield self
        finally:
            self.restore()

    @property
    def open_connections(self) -> int:
        return len(self._writers) // 2

    # the loop's side ----------------------------------------------------------------
    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()  # stops listening now (wait_closed would wait for
            self._server = None   # the open connections, which reset() tears down)

    async def _shutdown(self) -> None:
        await self._close_listener()
        await self._reset_all()
        # The reset connections' pipes see their end and finish on their own.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    async def _reset_all(self) -> int:
        writers, self._writers = list(self._writers), set()
        for writer in writers:
            _abort(writer)
        return len(writers) // 2

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
                     ) -> None:
        if self.refusing:
            _abort(client_w)
            return
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(client_w)
            return
        self.accepted += 1
        self._writers.update((client_w, server_w))
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w),
                             return_exceptions=True)
        for writer in (client_w, server_w):
            if writer in self._writers:
                self._writers.discard(writer)
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                if self.delay:
                    await asyncio.sleep(self.delay)
                if writer not in self._writers:
                    return
                writer.write(data)
                await writer.drain()
        finally:
            if writer in self._writers and writer.can_write_eof():
                try:
                    writer.write_eof()
                except OSError:
                    pass


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed peer or a firewall does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


@contextmanager
def proxy_for(url: str, default_port: int) -> Iterator[FaultProxy]:
    """A started proxy in front of the server ``url`` names; stopped afterwards."""
    parts = urlsplit(url)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or default_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
