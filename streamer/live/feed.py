"""The feed: a websockets server that fans the monitor's messages out to clients.

Each message is encoded once and handed to every client's own queue. A client
keeps every ``hello``/``alert``/``error`` message but only the newest display
messages (``traces``, ``scores``, ``status``), so a slow or stalled client
loses display frames, never alerts, and never slows the monitor or the others.

Clients authenticate before the handshake completes: with a users file
(`protocol.people.Users`), each token names a person whose role decides
whether their ``ack`` counts; without one, a single shared token (or none on
loopback). Failed authentications are journaled without the token and each
one from the same address waits longer (`protocol.people.Throttle`). A
``note`` counts from any authenticated person, under their own name (a
``dashboard`` connection writes for the person named in ``who``); on an open
feed, under the name the client gives. With an
`ssl.SSLContext` the feed serves ``wss://`` only. Whoever may read the feed
may ask for a ``page`` of the recording: read on a worker thread
(`asyncio.to_thread`), one at a time per client, its answer queued like an
alert, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import ssl
import threading
import time
import weakref
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
from protocol import people

log = logging.getLogger(__name__)

ESSENTIAL = frozenset({"hello", "alert", "stage", "note", "page", "error"})
#: Per client: display messages kept while it is slow (the newest win).
DISPLAY_BACKLOG = 32
#: Per client: undelivered alerts beyond this mean the client is gone; it is closed.
ESSENTIAL_BACKLOG = 10_000


#: An acknowledgement: alert id, who it is journaled under, notes kept beside it.
OnAck = Callable[[str, str, dict[str, str]], None]
#: A note: its text, who it is journaled under, fields kept beside it, the sender's ref.
OnNote = Callable[[str, str, dict[str, str], str | None], None]
#: A journal line that is not an alert transition: event, fields.
OnEvent = Callable[..., object]
#: A page of the recording: its ``page`` answer for stream times start, end.
OnPage = Callable[[float, float], dict[str, Any]]


def check_exposure(host: str, token: str | None, has_users: bool = False) -> None:
    """Refuse to serve beyond loopback without a token or a users file."""
    if not protocol.is_loopback(host) and not token and not has_users:
        raise ValueError(
            f"the feed binds {host!r}, beyond this machine: give a users file (--users) or a "
            "token (--feed-token-file or EEGMON_FEED_TOKEN) to expose it"
        )


def server_tls(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> ssl.SSLContext:
    """The TLS context of a ``wss://`` feed; ValueError names an unreadable certificate or key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        where = f"TLS certificate {str(cert)!r} with key {str(key)!r}"
        raise ValueError(f"cannot use {where}: {exc}") from None
    return context


def offered_token(request: Request) -> str:
    """The token of ``Authorization: Bearer`` or, failing that, of ``?token=``."""
    auth = Headers(request.headers).get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ").strip()
    return parse_qs(urlsplit(request.path).query).get("token", [""])[0]


class _Client:
    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self.essential: deque[str] = deque()
        self.display: deque[str] = deque(maxlen=DISPLAY_BACKLOG)
        self.wake = asyncio.Event()
        self.paging: asyncio.Task[None] | None = None

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
    """Serves the feed protocol on ``ws://host:port`` (``wss://`` with `tls`) from its own thread.

    Parameters
    ----------
    hello
        Builds the ``hello`` message for a new client (called on the feed's thread).
    on_ack
        Receives ``(alert_id, who, notes)`` for each acknowledgement that counts
        (called on the feed's thread).
    token
        The one shared token clients present, when there is no users file.
    users
        The people who may connect, each with a role; replaces `token`.
    on_event
        Journals ``ack_refused``, ``note_refused`` and ``auth_failed``
        (``on_event(event, **fields)``).
    on_note
        Receives ``(text, who, fields, ref)`` for each note that counts (called
        on the feed's thread); without it, notes are refused.
    tls
        Serve ``wss://`` with this context.
    on_page
        Builds the ``page`` answer for ``(start, end)`` (called on a worker
        thread); without it, pages are refused.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        hello: Callable[[], dict[str, Any]],
        on_ack: OnAck,
        token: str | None = None,
        users: people.Users | None = None,
        on_event: OnEvent | None = None,
        tls: ssl.SSLContext | None = None,
        allow_origins: tuple[str, ...] = (),
        on_note: OnNote | None = None,
        on_page: OnPage | None = None,
    ) -> None:
        check_exposure(host, token, users is not None)
        if not 0 <= port <= 65535:
            raise ValueError(f"feed port must be 0..65535, got {port!r}")
        people.keep_secrets_out_of_logs()
        self.host, self.port = host, port
        self.token = token
        self.users = users
        self.tls = tls
        self.allow_origins = allow_origins
        self._hello = hello
        self._on_ack = on_ack
        self._on_event = on_event
        self._on_note = on_note
        self._on_page = on_page
        self._throttle = people.Throttle()
        self._people: weakref.WeakKeyDictionary[ServerConnection, people.Person] = (
            weakref.WeakKeyDictionary()
        )
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
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}"

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
            ssl=self.tls,
        ) as server:
            self._server = server
            sockets = list(server.sockets)
            if sockets and self.port == 0:
                self.port = sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self.token and self.users is None:
            return None
        address = str(connection.remote_address[0]) if connection.remote_address else "?"
        await asyncio.sleep(self._throttle.delay(address, time.monotonic()))
        offered = offered_token(request)
        person = None
        if not offered:
            accepted = False
        elif self.users is not None:
            person = await asyncio.to_thread(self.users.authenticate, offered)
            accepted = person is not None
        else:
            accepted = hmac.compare_digest(offered.encode(), str(self.token).encode())
        if accepted:
            if person is not None:
                self._people[connection] = person
            self._throttle.succeeded(address)
            return None
        self._throttle.failed(address, time.monotonic())
        reason = "unknown token" if offered else "no token"
        log.warning("feed: authentication failed from %s (%s)", address, reason)
        self._journal("auth_failed", address=address, reason=reason)
        return connection.respond(401, "A valid token is required.\n")

    def _journal(self, event: str, **fields: Any) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event, **fields)
        except OSError as exc:  # a full disk must not stop the feed
            log.error("feed: %s not journaled: %s", event, exc)

    async def _handle(self, connection: ServerConnection) -> None:
        client = _Client(connection)
        person = self._people.pop(connection, None)
        client.put("hello", protocol.encode(self._hello()))
        self._clients.add(client)
        sender = asyncio.create_task(self._send(client))
        try:
            async for text in connection:
                try:
                    message = protocol.decode(text, protocol.CLIENT_TYPES)
                    if message["type"] == "note":
                        self._note(person, *protocol.parse_note(message))
                    elif message["type"] == "page":
                        self._ask_page(client, *protocol.parse_page(message))
                    else:
                        self._acknowledge(person, *protocol.parse_ack(message))
                except protocol.ProtocolError as exc:
                    refused = {"type": "error", "message": str(exc)}
                    if isinstance(ref := _ref_of(text), str):  # so the asker knows which
                        refused["ref"] = ref
                    client.put("error", protocol.encode(refused))
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            sender.cancel()

    def _acknowledge(self, person: people.Person | None, alert_id: str, who_said: str) -> None:
        """Hand on an ack under its authenticated name; a refused one is journaled and raised."""
        if self.users is None:
            self._on_ack(alert_id, who_said, {})
            return
        try:
            if person is None:
                raise people.Refused("this connection has no authenticated person")
            who, notes = people.acting_for(person, who_said, self.users)
        except people.Refused as exc:
            log.warning("feed: acknowledgement of %s refused: %s", alert_id, exc)
            self._journal(
                "ack_refused",
                alert_id=alert_id,
                person=person.name if person else None,
                role=person.role if person else None,
                who_said=who_said,
                reason=str(exc),
            )
            raise protocol.ProtocolError(f"acknowledgement refused: {exc}") from None
        self._on_ack(alert_id, who, notes)

    def _note(
        self, person: people.Person | None, text: str, who_said: str, ref: str | None
    ) -> None:
        """Hand on a note under its authenticated name; a refused one is journaled and raised."""
        if self._on_note is None:
            raise protocol.ProtocolError("this feed takes no notes")
        if self.users is None:
            self._on_note(text, who_said, {}, ref)
            return
        try:
            who, fields = note_author(person, who_said, self.users)
        except people.Refused as exc:
            log.warning("feed: note refused: %s", exc)
            self._journal(
                "note_refused",
                person=person.name if person else None,
                role=person.role if person else None,
                who_said=who_said,
                reason=str(exc),
            )
            raise protocol.ProtocolError(f"note refused: {exc}") from None
        self._on_note(text, who, fields, ref)

    def _ask_page(self, client: _Client, start: float, end: float, ref: str | None) -> None:
        if self._on_page is None:
            raise protocol.ProtocolError("this feed has no recording to read pages from")
        if client.paging is not None:
            raise protocol.ProtocolError("one page at a time: wait for the answer")
        client.paging = asyncio.create_task(self._page(client, start, end, ref))

    async def _page(self, client: _Client, start: float, end: float, ref: str | None) -> None:
        """Read the page on a worker thread: the monitor's thread never waits for the disk."""
        assert self._on_page is not None
        try:
            answer = await asyncio.to_thread(self._on_page, start, end)
            text = protocol.encode(answer | {"ref": ref})
        except (OSError, ValueError, ArithmeticError) as exc:  # a disk error, absurd times
            log.warning("feed: page %.3f-%.3f not read: %s", start, end, exc)
            refused = {"type": "error", "message": f"page not read: {exc}", "ref": ref}
            text = protocol.encode(refused)
        finally:
            client.paging = None
        client.put("page", text)

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


def note_author(
    person: people.Person | None, who_said: str, users: people.Users
) -> tuple[str, dict[str, str]]:
    """Who a note is journaled under, and the fields kept beside it.

    Any person writes as themselves (what the client called itself is kept,
    ``who_said``); the dashboard for the person of the users file named in
    ``who`` (``via``), whatever their role, never for an unknown name.
    """
    if person is None:
        raise people.Refused("this connection has no authenticated person")
    if person.role != "dashboard":
        return person.name, {"who_said": who_said}
    named = users.people.get(who_said)
    if named is None or named.role == "dashboard":
        raise people.Refused(
            f"the dashboard {person.name!r} writes notes only for a person of the users file; "
            f"{who_said!r} is not one"
        )
    return named.name, {"via": person.name}


def _ref_of(text: str | bytes) -> object:
    """The ``ref`` of a client message refused (None when it has none or is not JSON)."""
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message.get("ref") if isinstance(message, dict) else None
