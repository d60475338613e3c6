"""People on a real dashboard over https: sign-in by name and token, roles on the page, wss feeds.

One monitor and one dashboard, each with the same users file and their own
self-signed certificate; the dashboard reaches the monitor with a ``dashboard``
token from a file, and both run at -vv, whose output must hold no token.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from dashboard.feed_client import FeedClient as DashboardFeedClient
from dashboard.options import FeedAccess, use_feed_access
from tests.reliability.harness import CounterOutlet, feed_url
from tests.security.test_roles_live import add_user
from tests.security.test_tls_live import self_signed
from tests.support import Proc, wait_for

pytestmark = pytest.mark.slow


@dataclass
class Site:
    monitor: Proc
    dashboard: Proc
    feed: str
    page: str
    cert: Path
    journal: Path
    tokens: dict[str, str]

    def opener(self) -> urllib.request.OpenerDirector:
        tls = ssl.create_default_context(cafile=self.cert)
        return urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=tls),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        )

    def sign_in(self, name: str, token: str) -> tuple[int, urllib.request.OpenerDirector]:
        """POST the login form as a browser would (with its XSRF cookie); the HTTP status."""
        browser = self.opener()
        form = browser.open(self.page + "login", timeout=30).read().decode()
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form)
        assert xsrf, form
        data = {"_xsrf": xsrf[1], "name": name, "token": token, "next": "/"}
        try:
            reply = browser.open(
                self.page + "login", data=urllib.parse.urlencode(data).encode(), timeout=30
            )
            return reply.status, browser
        except urllib.error.HTTPError as exc:
            return exc.code, browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("site")
    cert, key = self_signed(folder)
    users = folder / "users.toml"
    tokens = {
        name: add_user(users, name, role)
        for name, role in (("ada", "responder"), ("vic", "viewer"), ("screen", "dashboard"))
    }
    token_file = folder / "dashboard.token"
    token_file.write_text(tokens["screen"])
    name = f"eegmon-test-site-{uuid.uuid4().hex[:8]}"
    outlet = CounterOutlet(name, "amp-site").start()
    journal = folder / "alerts.jsonl"
    tls = ["--tls-cert", str(cert), "--tls-key", str(key)]
    monitor = Proc(
        [
            *["-vv", "monitor", "--stream", name, "--feed-port", "0", "--users", str(users)],
            *[*tls, "--alerts", str(journal), "--stall-timeout", "1", "--quiet"],
        ]
    )
    dashboard = None
    try:
        feed = feed_url(monitor)
        dashboard = Proc(
            [
                *["-vv", "dashboard", "--feed", feed, "--port", "0", "--users", str(users)],
                *[*tls, "--feed-ca", str(cert), "--feed-token-file", str(token_file)],
            ]
        )
        page = dashboard.wait_line("dashboard at ", timeout=60).split("dashboard at ")[1].strip()
        outlet.stop()
        yield Site(monitor, dashboard, feed, page, cert, journal, tokens)
    finally:
        if dashboard is not None:
            dashboard.stop()
        monitor.stop()
        outlet.stop()


def test_people_sign_in_with_their_name_and_token_only(site: Site) -> None:
    assert site.page.startswith("https://")
    assert site.sign_in("ada", site.tokens["ada"])[0] == 200
    assert site.sign_in("ada", site.tokens["vic"])[0] == 401
    assert site.sign_in("screen", site.tokens["screen"])[0] == 401, "a service is not a person"
    # A token in a URL is not a sign-in: the page sends the visitor to the form.
    reply = site.opener().open(f"{site.page}?token={site.tokens['ada']}", timeout=30)
    assert urllib.parse.urlsplit(reply.url).path == "/login"


def test_the_dashboard_reaches_the_wss_feed_with_its_token_and_journals_no_failure(
    site: Site,
) -> None:
    wait_for(lambda: any("connected" in line for line in site.dashboard.lines), 30, "feed")
    assert not [
        r for r in map(json.loads, site.journal.read_text().splitlines())
        if r["event"] == "auth_failed"
    ]  # fmt: skip


def ack_button_visible(site: Site, name: str) -> bool:
    """What the bed page shows `name`: its Bokeh document, pulled as the page's script does."""
    status, browser = site.sign_in(name, site.tokens[name])
    assert status == 200
    page = browser.open(site.page + "bed?bed=0", timeout=30).read().decode()
    token = re.search(r'"token":\s*"([^"]+)"', page)
    assert token, "no Bokeh session token in the page"
    url = site.page.replace("https", "wss", 1) + "bed/ws"
    tls = ssl.create_default_context(cafile=site.cert)
    jar = next(h for h in browser.handlers if isinstance(h, urllib.request.HTTPCookieProcessor))
    cookie = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in jar.cookiejar)}
    bokeh = ["bokeh", token[1]]
    with connect(url, subprotocols=bokeh, ssl=tls, additional_headers=cookie) as ws:
        for _ in range(3):  # ACK: header, metadata, content
            ws.recv(timeout=30)
        for part in ({"msgid": "1", "msgtype": "PULL-DOC-REQ"}, {}, {}):
            ws.send(json.dumps(part))
        header = json.loads(ws.recv(timeout=30))
        assert header["msgtype"] == "PULL-DOC-REPLY"
        ws.recv(timeout=30)
        document = json.loads(ws.recv(timeout=30))
    (button,) = find(document, "ack_button")
    return bool(button["attributes"].get("visible", True))


def find(node: Any, name: str) -> Iterator[dict[str, Any]]:
    """Every serialized Bokeh object named `name` in a document."""
    if isinstance(node, dict):
        if node.get("type") == "object" and node.get("attributes", {}).get("name") == name:
            yield node
        for value in node.values():
            yield from find(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from find(value, name)


def test_a_viewer_sees_no_acknowledge_button_and_a_responder_does(site: Site) -> None:
    """The page's Bokeh session is built from the cookie of the person signed in."""
    visible = {name: ack_button_visible(site, name) for name in ("ada", "vic")}
    assert visible == {"ada": True, "vic": False}


def test_the_dashboard_acknowledges_for_the_responder_signed_in(site: Site) -> None:
    """The dashboard's own feed client, with its dashboard token, acking for ada."""
    use_feed_access(FeedAccess(site.tokens["screen"], site.cert))
    client = DashboardFeedClient(site.feed)
    client.start()
    try:
        wait_for(lambda: client.snapshot().alerts or None, 30, "signal_lost on the dashboard")
        (alert,) = [a for a in client.snapshot().alerts if a["kind"] == "signal_lost"]
        assert client.ack(alert["id"], "ada")
        records = wait_for(
            lambda: [
                r for r in map(json.loads, site.journal.read_text().splitlines())
                if r["event"] == "acknowledged"
            ],
            10,
            "the acknowledgement journaled",
        )  # fmt: skip
        assert (records[0]["who"], records[0]["via"]) == ("ada", "screen")
    finally:
        client.stop()
        use_feed_access(FeedAccess())


def test_no_token_in_the_debug_output_of_either(site: Site) -> None:
    site.dashboard.stop()
    site.monitor.stop()
    output = "\n".join(site.dashboard.lines + site.monitor.lines)
    assert "Bearer ***" in output, "websockets' debug lines were expected at -vv"
    for token in site.tokens.values():
        assert token not in output
