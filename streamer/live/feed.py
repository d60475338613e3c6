"""The feed: a websockets server that fans the monitor's messages out to clients.

Each message is encoded once and handed to every client's own queue. A client
keeps every ``hello``/``alert``/``error`` message but only the newest display
messages (``traces``, ``scores``, ``status``), so a slow or stalled client
loses display frames, never alerts, and never slows the monitor or the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Origin

from protocol import feed as protocol

log = logging.getLogger(__name__)

ESSENTIAL = frozenset({"hello", "alert", "error"})
#: Per client: display messages kept while it is slow (the newest win).
DISPLAY_BACKLOG = 32
#: Per client: undelivered alerts beyond this mean the client is gone; it is closed.
ESSENTIAL_BACKLOG = 10_000


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token."""
    if not protocol.is_loopback(host) and not token:
        raise ValueError(
            f"the feed binds {host!r}, beyond this machine: set a token "
            "(--feed-token or EEGMON_FEED_TOKEN) to expose it"
        )


class _Client:
    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self.essential: deque[str] = deque()
        self.display: deque[str] = deque(maxlen=DISPLAY_BACKLOG)
        self.wake = asyncio.Event()

    def put(self, kind: str, text: str) -> bool:
        if kind in ESSENTIAL:
            if len(self.essential) >= ESSENTIAL_BACKLOG:
                return False
            self.essential.append(text)
        else:
            self.display.append(text)
        self.wake.set()
        return True


class Feed:
    """Serves the feed protocol on ``ws://host:port`` from a thread of its own.

    Parameters
    ----------
    hello
        Builds the ``hello`` message for a new client (called on the feed's thread).
    on_ack
        Receives ``(alert_id, who)`` for each client ``ack`` (called on the feed's thread).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        hello: Callable[[], dict[str, Any]],
        on_ack: Callable[[str, str], None],
        token: str | None = None,
        allow_origins: tuple[str, ...] = (),
    ) -> None:
        check_exposure(host, token)
        if not 0 <= port <= 65535:
            raise ValueError(f"feed port must be 0..65535, got {port!r}")
        self.host, self.port = host, port
        self.token = token
        self.allow_origins = allow_origins
        self._hello = hello
        self._on_ack = on_ack
        self._clients: set[_Client] = set()
        self._closing: set[asyncio.Future[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="eegmon-feed", daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def start(self) -> None:
        """Bind and serve; raises `OSError` when the port cannot be bound."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def publish(self, message: dict[str, Any]) -> None:
        """Queue `message` for every client; safe to call from any thread."""
        text = protocol.encode(message)
        # RuntimeError: the loop closed meanwhile, nobody is listening.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._fan_out, message["type"], text)

    def stop(self) -> None:
        if self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _fan_out(self, kind: str, text: str) -> None:
        for client in list(self._clients):
            if not client.put(kind, text):
                log.warning("closing a feed client that stopped reading alerts")
                self._clients.discard(client)
                closing = asyncio.ensure_future(client.connection.close(1013, "client too slow"))
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(); the monitor decides
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        origins: list[Origin | None] = [None, *map(Origin, self.allow_origins)]
        async with serve(
            self._handle,
            self.host,
            self.port,
            origins=origins,  # browsers send Origin; only listed ones are accepted
            process_request=self._authorize,
            max_size=protocol.MAX_CLIENT_MESSAGE,
            max_queue=4,
            compression=None,
            server_header="eegmon",
        ) as server:
            self._server = server
            sockets = list(server.sockets)
            if sockets and self.port == 0:
                self.port = sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self.token:
            return None
        offered = parse_qs(urlsplit(request.path).query).get("token", [""])[0]
        auth = Headers(request.headers).get("Authorization", "")
        if auth.startswith("Bearer "):
            offered = auth.removeprefix("Bearer ")
        if hmac.compare_digest(offered.encode(), self.token.encode()):
            return None
        return connection.respond(401, "A valid token is required.\n")

    async def _handle(self, connection: ServerConnection) -> None:
        client = _Client(connection)
        client.put("hello", protocol.encode(self._hello()))
        self._clients.add(client)
        sender = asyncio.create_task(self._send(client))
        try:
            async for text in connection:
                try:
                    alert_id, who = protocol.parse_ack(text)
                except protocol.ProtocolError as exc:
                    client.put("error", protocol.encode({"type": "error", "message": str(exc)}))
                    continue
                self._on_ack(alert_id, who)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            sender.cancel()

    async def _send(self, client: _Client) -> None:
        try:
            while True:
                await client.wake.wait()
                client.wake.clear()
                while client.essential or client.display:
                    queue = client.essential if client.essential else client.display
                    await client.connection.send(queue.popleft())
        except ConnectionClosed:
            pass
