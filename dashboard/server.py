"""Serve the dashboard: one Bokeh server, one shared `FeedClient` per feed.

`serve()` blocks until Ctrl-C / SIGTERM; `DashboardServer` is the same server
as an object that can also run in a background thread (``start()`` /
``stop()``, or ``with DashboardServer(...) as server:``), for tests and for
processes that run other things beside it.

Security
--------
The server binds 127.0.0.1 by default and accepts Bokeh websocket connections
only from pages whose origin is ``{address}:{port}``, ``localhost:{port}`` or
``127.0.0.1:{port}`` plus the hosts given in `allow_origin` (``host[:port]``,
port 80 when omitted). Binding any other address is refused unless both the
``BOKEH_SECRET_KEY`` environment variable is set (generate one with
``bokeh secret``), so Bokeh sessions are signed and cannot be forged, and an
access `token` is given (see `auth`): every page and websocket then needs the
signed session cookie that the token buys at ``/login``. A token can guard a
loopback dashboard too. With `users`, people sign in with their own
tokens instead (`auth.UsersAuth`). Serve an exposed dashboard over TLS: its
own (`tls`, https) or a reverse proxy's (`xheaders`, and list the proxy's host
in `allow_origin`). Browser-to-server websocket messages are limited to
`WEBSOCKET_MAX_MESSAGE` bytes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
import threading
from collections.abc import Callable, Sequence
from socket import socket
from types import TracebackType
from typing import Any

from bokeh.resources import server_url
from bokeh.server.server import BaseServer
from bokeh.server.tornado import BokehTornado
from bokeh.server.util import bind_sockets, create_hosts_allowlist
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from protocol.feed import is_loopback
from protocol.people import Users, keep_secrets_out_of_logs

from .app import build_applications
from .auth import TokenAuth, UsersAuth, cookie_secret
from .beds import Beds
from .feed_client import FeedClient
from .options import SECRET_ENV, FeedAccess, check_options, use_feed_access

log = logging.getLogger(__name__)

DEFAULT_PORT = 5006
DEFAULT_ADDRESS = "127.0.0.1"
#: Bytes; the largest message a browser may send to the dashboard.
WEBSOCKET_MAX_MESSAGE = 1024 * 1024


class DashboardServer:
    """The dashboard's Bokeh server and its feed clients.

    Parameters
    ----------
    feeds
        Feed URLs (``ws://host:port`` or ``wss://...``, optional ``?token=``).
    port
        HTTP port; 0 picks a free one (read it back from `port` / `url`).
    address
        Address to bind; non-loopback needs ``BOKEH_SECRET_KEY`` (module docs).
    allow_origin
        Extra ``host[:port]`` origins allowed to open the Bokeh websocket.
    token
        Access token (at least 16 characters) that pages need (see `auth`);
        required with a non-loopback `address`.
    beds
        The beds, when they come and go (a ward); instead of `feeds`.
    users
        People who sign in with their own tokens (instead of one `token`).
    tls
        Serve https with this context.
    xheaders
        Trust a reverse proxy's ``X-Forwarded-*`` headers (its https makes cookies Secure).
    feed_access
        The token and CA the feed clients use.
    """

    @property
    def clients(self) -> list[FeedClient]:
        """Every bed's feed client, by bed index."""
        return self.beds.clients

    def __init__(
        self,
        feeds: Sequence[str],
        port: int = DEFAULT_PORT,
        address: str = DEFAULT_ADDRESS,
        allow_origin: Sequence[str] | None = None,
        token: str | None = None,
        beds: Beds | None = None,
        *,
        users: Users | None = None,
        tls: ssl.SSLContext | None = None,
        xheaders: bool = False,
        feed_access: FeedAccess | None = None,
    ) -> None:
        check_options(
            feeds,
            port,
            address,
            allow_origin,
            token,
            need_feeds=beds is None,
            has_users=users is not None,
        )
        keep_secrets_out_of_logs()
        if feed_access is not None:
            use_feed_access(feed_access)
        self.auth: TokenAuth | None = TokenAuth(token) if token else None
        if users is not None:
            self.auth = UsersAuth(users)
        self.tls, self.xheaders = tls, xheaders
        if not is_loopback(address) and tls is None and not xheaders:
            log.warning(
                "the dashboard is served beyond this machine without TLS: sign-ins and EEG "
                "cross the network in clear (give --tls-cert and --tls-key, or --xheaders "
                "behind a TLS proxy)"
            )
        self.address = address
        self.allow_origin = list(allow_origin or [])
        self.beds = beds if beds is not None else Beds(feeds)
        self._requested_port = port
        self._sockets: list[socket] = []
        self._port: int | None = None
        self._server: BaseServer | None = None
        self._loop: IOLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopping = False
        self._done = threading.Event()

    # -- addresses ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after `start` or during `run`)."""
        if self._port is None:
            raise RuntimeError("the dashboard server is not bound yet")
        return self._port

    @property
    def url(self) -> str:
        """The page's URL, e.g. ``http://127.0.0.1:5006/``."""
        host = self.address
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"

    def websocket_origins(self) -> list[str]:
        """The ``host:port`` origins allowed to open the Bokeh websocket."""
        port = self.port
        hosts = [f"localhost:{port}", f"127.0.0.1:{port}"]
        if ":" not in self.address and self.address not in ("0.0.0.0",):
            hosts.insert(0, f"{self.address}:{port}")
        hosts += self.allow_origin
        return list(dict.fromkeys(create_hosts_allowlist(hosts, port)))

    # -- lifecycle ---------------------------------------------------------------------

    def _bind(self) -> None:
        self._sockets, self._port = bind_sockets(self.address, self._requested_port)

    def _build(self) -> None:
        """Create the tornado app on the current thread's IOLoop and start it."""
        secret = os.environ.get(SECRET_ENV)
        signed = bool(secret) and not is_loopback(self.address)
        tornado_app = BokehTornado(
            build_applications(self.beds),
            extra_websocket_origins=self.websocket_origins(),
            absolute_url=server_url(self.address, self.port, ssl=self.tls is not None),
            websocket_max_message_size_bytes=WEBSOCKET_MAX_MESSAGE,
            sign_sessions=signed,
            secret_key=secret.encode() if signed and secret else None,
            generate_session_ids=True,
            **self._auth_settings(),
        )
        http = HTTPServer(tornado_app, xheaders=self.xheaders, ssl_options=self.tls)
        http.add_sockets(self._sockets)
        self._loop = IOLoop.current()
        self._server = BaseServer(self._loop, tornado_app, http)
        self._server.start()

    def _auth_settings(self) -> dict[str, Any]:
        if self.auth is None:
            return {"xsrf_cookies": False}
        return {"auth_provider": self.auth, "xsrf_cookies": True, "cookie_secret": cookie_secret()}

    def start(self, timeout: float = 10.0) -> DashboardServer:
        """Start the feed clients and serve in a background thread; returns when listening."""
        if self._thread is not None:
            raise RuntimeError("the dashboard server is already started")
        self._bind()
        self.beds.start()
        self._thread = threading.Thread(target=self._thread_main, name="dashboard", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the dashboard server did not start: {self._error!r}")
        log.info("dashboard at %s", self.url)
        return self

    def _thread_main(self) -> None:
        aio_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(aio_loop)
        try:
            try:
                self._build()
            except BaseException as exc:
                self._error = exc
                log.exception("the dashboard server did not start")
                return
            finally:
                self._ready.set()
            assert self._loop is not None
            self._loop.start()
        finally:
            if self._loop is not None:
                self._loop.close(all_fds=True)
            else:
                aio_loop.close()
            self._done.set()

    def run(self, show_url_callback: Callable[[str], None] | None = None) -> None:
        """Serve in the calling thread until Ctrl-C, SIGTERM or `stop()` from another thread.

        `show_url_callback(url)` is called once the server is listening.
        """
        if self._thread is not None:
            raise RuntimeError("the dashboard server is already started")
        self._thread = threading.current_thread()
        self._bind()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self.beds.start()
            self._build()
            self._ready.set()
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, self._request_stop)
            if show_url_callback is not None:
                show_url_callback(self.url)
            assert self._loop is not None
            self._loop.start()
        finally:
            self._shutdown_server()
            self.beds.stop()
            if self._loop is not None:
                self._loop.close(all_fds=True)
            self._thread = None
            self._done.set()

    def _request_stop(self) -> None:
        if self._loop is not None:
            self._loop.add_callback(self._loop.stop)

    def _shutdown_server(self) -> None:
        if self._server is not None and not self._stopping:
            self._stopping = True
            try:
                self._server.stop(wait=False)
            except Exception:
                log.exception("error while stopping the dashboard server")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and stop the feed clients (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is not None and thread is not threading.current_thread():
            if loop is not None:

                def shutdown() -> None:
                    self._shutdown_server()
                    loop.stop()

                loop.add_callback(shutdown)
            if not self._done.wait(timeout):
                log.warning("the dashboard server thread did not stop within %.1f s", timeout)
            self._thread = None
        elif loop is not None:  # called from inside the server's own thread
            self._request_stop()
        if self._loop is None:
            for s in self._sockets:
                s.close()
        self.beds.stop()

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    feeds: list[str],
    port: int = DEFAULT_PORT,
    address: str = DEFAULT_ADDRESS,
    allow_origin: list[str] | None = None,
    show_url_callback: Callable[[str], None] | None = None,
    token: str | None = None,
    **security: Any,
) -> None:
    """Serve the dashboard of `feeds` at ``http://{address}:{port}/`` until Ctrl-C or SIGTERM.

    Raises ValueError (message quoting the bad value) for a bad feed URL, port,
    origin, token, or a non-loopback `address` without ``BOKEH_SECRET_KEY`` and
    a `token` or users; OSError when the port cannot be bound.
    `show_url_callback(url)` is called once the server listens, e.g. to print
    the URL. `security`: `DashboardServer`'s users, tls, xheaders, feed_access.
    """
    DashboardServer(
        feeds, port=port, address=address, allow_origin=allow_origin, token=token, **security
    ).run(show_url_callback)
