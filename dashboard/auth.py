"""A shared access token for a dashboard exposed beyond this machine.

Whoever opens ``/login`` and gives the token (or opens any page once with
``?token=...``, e.g. from a bookmark on the ward's screen) gets a signed,
HTTP-only, same-site session cookie; every page and every Bokeh websocket
then needs that cookie. The cookie is signed with ``BOKEH_SECRET_KEY`` (so it
survives restarts) or, without it, with a key drawn at start-up. The login
form is protected against cross-site posts (XSRF).
"""

from __future__ import annotations

import contextlib
import hmac
import html
import os
import urllib.parse
from typing import Any

from bokeh.server.auth_provider import AuthProvider
from tornado.web import RequestHandler

from .options import check_token

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
<label for="token">Access token</label>
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


def cookie_secret() -> str:
    """The key that signs session cookies: ``BOKEH_SECRET_KEY``, else a fresh random one."""
    return os.environ.get("BOKEH_SECRET_KEY") or os.urandom(32).hex()


class TokenAuth(AuthProvider):
    """Bokeh auth provider: a signed session cookie, obtained with the shared token."""

    def __init__(self, token: str) -> None:
        self.token = check_token(token)
        super().__init__()

    def matches(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(str(offered).encode(), self.token.encode())

    def sign_in(self, handler: RequestHandler) -> None:
        handler.set_signed_cookie(
            COOKIE,
            "technician",
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
            if handler.request.method == "GET" and self.matches(
                handler.get_argument("token", None)
            ):
                # A websocket past its handshake cannot set cookies; its page already did.
                with contextlib.suppress(RuntimeError):
                    self.sign_in(handler)
                return "technician"
            return None

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

            def post(self) -> None:
                target = safe_next(self.get_argument("next", "/"))
                if auth.matches(self.get_argument("token", "")):
                    auth.sign_in(self)
                    self.redirect(target)
                    return
                self.set_status(401)
                self._form(target, '<p class="error">Wrong token.</p>')

            def _form(self, target: str, error: str) -> None:
                self.set_header("Cache-Control", "no-store")
                self.write(
                    _FORM.format(
                        error=error,
                        action=html.escape(urllib.parse.quote(LOGIN_PATH)),
                        xsrf=self.xsrf_form_html(),
                        next=html.escape(safe_next(target)),
                    )
                )

        return LoginHandler
