"""The dashboard's options and their checks, importable without Bokeh.

A command line refuses a bad feed URL, port or token before loading the
server (Bokeh and Tornado take seconds to import); the server checks the same
options again when it is built.
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from protocol.feed import is_loopback

MIN_TOKEN_LENGTH = 16
#: The environment variable that holds the key signing Bokeh sessions.
SECRET_ENV = "BOKEH_SECRET_KEY"


def validate_feed_url(url: str) -> str:
    """Return `url` if it is a usable feed address, else raise ValueError quoting it.

    Examples
    --------
    >>> validate_feed_url("ws://127.0.0.1:8765")
    'ws://127.0.0.1:8765'
    >>> validate_feed_url("http://127.0.0.1:8765")
    Traceback (most recent call last):
    ...
    ValueError: feed URL must start with ws:// or wss://, got 'http://127.0.0.1:8765'
    """
    if not isinstance(url, str):
        raise ValueError(f"feed URL must be a string, got {url!r}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"feed URL must start with ws:// or wss://, got {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"feed URL has an invalid port: {url!r}") from None
    if not parts.hostname:
        raise ValueError(f"feed URL has no host: {url!r}")
    if port is None and parts.netloc.endswith(":"):
        raise ValueError(f"feed URL has an empty port: {url!r}")
    return url


def check_token(token: str) -> str:
    """Return `token` if it is long enough to guard a ward, else raise ValueError.

    >>> check_token("short")
    Traceback (most recent call last):
    ...
    ValueError: the dashboard token must be at least 16 characters, got 5
    """
    if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
        got = len(token) if isinstance(token, str) else repr(token)
        raise ValueError(
            f"the dashboard token must be at least {MIN_TOKEN_LENGTH} characters, got {got}"
        )
    return token


def check_options(
    feeds: Sequence[str],
    port: int,
    address: str,
    allow_origin: Sequence[str] | None,
    token: str | None = None,
    *,
    need_feeds: bool = True,
    has_users: bool = False,
) -> None:
    """Raise ValueError, quoting the bad value, for unusable server options.

    `need_feeds` False: the beds come later (a ward), so no feed is needed now.
    `has_users`: people sign in with their own tokens, instead of one shared `token`.
    """
    if isinstance(feeds, str) or not isinstance(feeds, Sequence):
        raise ValueError(f"feeds must be a list of ws:// URLs, got {feeds!r}")
    if not feeds and need_feeds:
        raise ValueError("at least one feed URL is needed (e.g. ws://127.0.0.1:8765)")
    for url in feeds:
        validate_feed_url(url)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in 0..65535, got {port!r}")
    if not isinstance(address, str) or not address:
        raise ValueError(f"address must be a host name or IP address, got {address!r}")
    if token is not None:
        check_token(token)
    if not is_loopback(address) and not (os.environ.get(SECRET_ENV) and (token or has_users)):
        raise ValueError(
            f"refusing to serve the dashboard on non-loopback address {address!r} without "
            f"signed sessions and an access token: set {SECRET_ENV} (see `bokeh secret`) and "
            "give a users file (--users) or a token (EEGMON_DASHBOARD_TOKEN), or bind 127.0.0.1"
        )
    if allow_origin is not None:
        if isinstance(allow_origin, str):
            raise ValueError(f"allow_origin must be a list of host[:port], got {allow_origin!r}")
        for origin in allow_origin:
            if not isinstance(origin, str) or not origin or "/" in origin or origin == "*":
                raise ValueError(f"allow_origin entries must be host[:port], got {origin!r}")


@dataclass(frozen=True)
class FeedAccess:
    """How the dashboard reaches its feeds: its own token, and the CA that vouches for wss://.

    With a users file on the monitors, the token is a ``dashboard`` role's: the
    dashboard then acknowledges for the responder signed into the page.
    """

    token: str | None = None
    ca: Path | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def tls(self, url: str) -> ssl.SSLContext | None:
        """The TLS context of a ``wss://`` feed (None for ``ws://``); the system CAs or `ca`."""
        if not url.startswith("wss:"):
            return None
        return ssl.create_default_context(cafile=self.ca)


#: What every feed client of this process presents (`use_feed_access`).
_ACCESS = [FeedAccess()]


def use_feed_access(access: FeedAccess) -> None:
    """Set how this process's feed clients connect; a bad `access.ca` raises ValueError."""
    try:
        access.tls("wss://check")
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"--feed-ca {str(access.ca)!r}: {exc}") from None
    _ACCESS[0] = access


def feed_access() -> FeedAccess:
    return _ACCESS[0]
