"""Server options and lifecycle, without a browser."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from dashboard import DashboardServer
from dashboard.server import SECRET_ENV, check_options
from simulators.feed import SimulatedFeed
from tests.support import wait_for

pytestmark = pytest.mark.timeout(30)
TOKEN = "ward-7-night-shift-token"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"feeds": []}, "at least one feed"),
        ({"feeds": "ws://127.0.0.1:1"}, "list of ws://"),
        ({"feeds": ["http://127.0.0.1:1"]}, "'http://127.0.0.1:1'"),
        ({"port": 70000}, "70000"),
        ({"address": "0.0.0.0"}, "'0.0.0.0'"),
        ({"allow_origin": ["*"]}, "'\\*'"),
    ],
)
def test_bad_options_are_refused(monkeypatch, kwargs, message) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    options = {"feeds": ["ws://127.0.0.1:8765"], "port": 5006, "address": "127.0.0.1"}
    options.update(kwargs)
    with pytest.raises(ValueError, match=message):
        check_options(
            options["feeds"], options["port"], options["address"], kwargs.get("allow_origin")
        )


def test_non_loopback_needs_a_secret_and_a_token(monkeypatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    feeds = ["ws://127.0.0.1:8765"]
    with pytest.raises(ValueError, match=SECRET_ENV):
        DashboardServer(feeds, address="10.1.2.3")
    with pytest.raises(ValueError, match=SECRET_ENV):
        DashboardServer(feeds, address="10.1.2.3", token=TOKEN)
    monkeypatch.setenv(SECRET_ENV, "x" * 44)
    with pytest.raises(ValueError, match="token"):
        check_options(feeds, 5006, "10.1.2.3", ["ward.example:443"])
    with pytest.raises(ValueError, match="at least 16 characters"):
        check_options(feeds, 5006, "10.1.2.3", None, token="short")
    check_options(feeds, 5006, "10.1.2.3", ["ward.example:443"], token=TOKEN)


def test_a_token_guards_every_page_behind_a_signed_cookie(feed: SimulatedFeed) -> None:
    server = DashboardServer([feed.url], port=0, token=TOKEN).start()
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        with browser.open(server.url + "bed?bed=0", timeout=5) as response:
            assert response.url.startswith(server.url + "login?next=")  # sent to sign in
            page = response.read().decode()
        assert "bokeh" not in page.lower()
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)

        def sign_in(token: str) -> int:
            form = urllib.parse.urlencode({"_xsrf": xsrf, "token": token, "next": "/bed?bed=0"})
            try:
                with browser.open(server.url + "login", form.encode(), timeout=5) as reply:
                    return reply.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert sign_in("wrong-token-wrong-token") == 401
        assert not any(c.name == "eegmon_session" for c in jar)
        assert sign_in(TOKEN) == 200  # redirected to the bed, now signed in
        cookie = next(c for c in jar if c.name == "eegmon_session")
        assert cookie.has_nonstandard_attr("HttpOnly")
        with browser.open(server.url + "bed?bed=0", timeout=5) as response:
            assert response.url == server.url + "bed?bed=0"
            assert b"bokeh" in response.read().lower()
        # A forged cookie buys nothing; the token in a bookmark does.
        stranger = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        request = urllib.request.Request(
            server.url, headers={"Cookie": "eegmon_session=technician"}
        )
        with stranger.open(request, timeout=5) as response:
            assert "/login" in response.url
        with stranger.open(server.url + "?token=" + TOKEN, timeout=5) as response:
            assert response.url.startswith(server.url + "?token=")
            assert "eegmon_session=" in response.headers["Set-Cookie"]
    finally:
        server.stop()


def test_serves_the_page_and_stops_cleanly(feed: SimulatedFeed) -> None:
    server = DashboardServer([feed.url], port=0, allow_origin=["ward.example:8443"]).start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        origins = server.websocket_origins()
        assert f"127.0.0.1:{server.port}" in origins
        assert "ward.example:8443" in origins
        assert len(origins) == 3  # address, localhost and the extra one; no wildcard
        with urllib.request.urlopen(server.url, timeout=5) as response:
            assert response.status == 200
            assert b"bokeh" in response.read().lower()
        wait_for(lambda: server.clients[0].snapshot().connected, 5, "the feed connection")
    finally:
        server.stop()
    assert not server.clients[0].running
    with pytest.raises(urllib.error.URLError, match="refused"):
        urllib.request.urlopen(server.url, timeout=2)
