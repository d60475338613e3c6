"""Who may open the dashboard: a shared access token, or people with their own tokens.

Whoever opens ``/login`` and gives the token (or opens any page once with
``?token=...``, e.g. from a bookmark on the ward's screen) gets a signed,
HTTP-only, same-site session cookie; every page and every Bokeh websocket
then needs that cookie. The cookie is signed with ``BOKEH_SECRET_KEY`` (so it
survives restarts) or, without it, with a key drawn at start-up. The login
form is protected against cross-site posts (XSRF).

With a users file (`UsersAuth`), people sign in with their name and their
own token; the cookie then names them and their role, which the alerts panel
reads (`signed_in`): viewers get no Acknowledge button, and a responder's
acknowledgement carries their name. The cookie is ``Secure`` when the page
came over https (directly, or through a proxy trusted with ``--xheaders``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
import logging
import os
import time
import urllib.parse
from typing import Any

from bokeh.document import Document
from bokeh.server.auth_provider import AuthProvider
from tornado.web import RequestHandler, decode_signed_value

from protocol.people import Person, Throttle, Users

from .options import check_token

log = logging.getLogger(__name__)

COOKIE = "eegmon_session"
#: Days a login lasts.
COOKIE_DAYS = 7
LOGIN_PATH = "/login"

_FORM = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>eegmon · sign in</title>
<style>body{{font:16px sans-serif;margin:12vh auto;max-width:26em}}
input{{font-size:16px;padding:6px;width:100%;box-sizing:border-box;margin:6px 0}}
.error{{color:#c62828}}</style></head>
<body><h1>eegmon dashboard</h1>{error}
<form method="post" action="{action}">{xsrf}
{name}<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus>
<input type="hidden" name="next" value="{next}">
<input type="submit" value="Sign in"></form></body></html>"""


def safe_next(value: str | None) -> str:
    """A same-site path to return to after signing in; ``/`` for anything else.

    >>> safe_next("/bed?bed=1"), safe_next("//evil.example/"), safe_next("https://x/")
    ('/bed?bed=1', '/', '/')
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


_DRAWN_SECRET = os.urandom(32).hex()
_NAME_FIELD = """<label for="name">Name</label>
<input id="name" name="name" autocomplete="username" autofocus>"""


def cookie_secret() -> str:
    """The key that signs session cookies: ``BOKEH_SECRET_KEY``, else one drawn at start-up."""
    return os.environ.get("BOKEH_SECRET_KEY") or _DRAWN_SECRET


def signed_in(document: Document) -> Person | None:
    """The person signed into the page of `document`, when the dashboard has a users file.

    None without a users file, or outside a browser session (tests).
    """
    request = getattr(document.session_context, "request", None)
    cookie = request.cookies.get(COOKIE) if request is not None else None
    if not cookie:
        return None
    value = decode_signed_value(cookie_secret(), COOKIE, cookie, max_age_days=COOKIE_DAYS)
    try:
        fields = json.loads(value or b"")
        return Person(str(fields["name"]), str(fields["role"]), "")
    except (ValueError, TypeError, KeyError):
        return None  # the shared token's cookie: nobody in particular


class TokenAuth(AuthProvider):
    """Bokeh auth provider: a signed session cookie, obtained with the shared token."""

    #: The login form asks for a name too (`UsersAuth`).
    asks_name = False

    def __init__(self, token: str) -> None:
        self.token = check_token(token)
        super().__init__()

    def matches(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(str(offered).encode(), self.token.encode())

    async def check(self, handler: RequestHandler) -> str | None:
        """The cookie value the login form's answer buys, or None when it is wrong."""
        return "technician" if self.matches(handler.get_argument("token", "")) else None

    def from_query(self, handler: RequestHandler) -> str | None:
        """The cookie value a page's ``?token=`` buys (a ward screen's bookmark), or None."""
        return "technician" if self.matches(handler.get_argument("token", None)) else None

    def sign_in(self, handler: RequestHandler, value: str = "technician") -> None:
        handler.set_signed_cookie(
            COOKIE,
            value,
            expires_days=COOKIE_DAYS,
            httponly=True,
            samesite="Strict",
            secure=handler.request.protocol == "https",
        )

    @property
    def get_user(self) -> Any:
        def user(handler: RequestHandler) -> str | None:
            signed = handler.get_signed_cookie(COOKIE, max_age_days=COOKIE_DAYS)
            if signed is not None:
                return signed.decode()
            value = self.from_query(handler) if handler.request.method == "GET" else None
            if value is not None:
                # A websocket past its handshake cannot set cookies; its page already did.
                with contextlib.suppress(RuntimeError):
                    self.sign_in(handler, value)
            return value

        return user

    @property
    def login_url(self) -> str:
        return LOGIN_PATH

    @property
    def login_handler(self) -> type[RequestHandler]:
        auth = self

        class LoginHandler(RequestHandler):
            def get(self) -> None:
                self._form(self.get_argument("next", "/"), "")

            async def post(self) -> None:
                target = safe_next(self.get_argument("next", "/"))
                value = await auth.check(self)
                if value is not None:
                    auth.sign_in(self, value)
                    self.redirect(target)
                    return
                self.set_status(401)
                self._form(target, '<p class="error">Wrong name or token.</p>')

            def _form(self, target: str, error: str) -> None:
                self.set_header("Cache-Control", "no-store")
                self.write(
                    _FORM.format(
                        error=error,
                        name=_NAME_FIELD if auth.asks_name else "",
                        action=html.escape(urllib.parse.quote(LOGIN_PATH)),
                        xsrf=self.xsrf_form_html(),
                        next=html.escape(safe_next(target)),
                    )
                )

        return LoginHandler


class UsersAuth(TokenAuth):
    """People sign in with their name and their own token; the cookie names them and their role.

    A ``dashboard`` token is a service's, never a person's: it does not sign in.
    Failed sign-ins from one address wait longer each time.
    """

    asks_name = True

    def __init__(self, users: Users) -> None:
        self.users = users
        self.throttle = Throttle()
        AuthProvider.__init__(self)

    async def check(self, handler: RequestHandler) -> str | None:
        address = handler.request.remote_ip or "?"
        await asyncio.sleep(self.throttle.delay(address, time.monotonic()))
        name = handler.get_argument("name", "").strip()
        token = handler.get_argument("token", "")
        person = await asyncio.to_thread(self.users.login, name, token)
        if person is None or person.role == "dashboard":
            self.throttle.failed(address, time.monotonic())
            log.warning("dashboard: sign-in refused from %s", address)
            return None
        self.throttle.succeeded(address)
        return json.dumps({"name": person.name, "role": person.role})

    def from_query(self, handler: RequestHandler) -> str | None:
        """People sign in with their name at /login; a token in a URL is not accepted."""
        return None
