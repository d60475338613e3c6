"""Server options and lifecycle, without a browser."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from dashboard import DashboardServer
from dashboard.server import SECRET_ENV, check_options
from tests.dashboard.dashboard_fakes import FakeFeed, wait_until

pytestmark = pytest.mark.timeout(30)


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


def test_non_loopback_needs_a_secret(monkeypatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ValueError, match=SECRET_ENV):
        DashboardServer(["ws://127.0.0.1:8765"], address="10.1.2.3")
    monkeypatch.setenv(SECRET_ENV, "x" * 44)
    check_options(["ws://127.0.0.1:8765"], 5006, "10.1.2.3", ["ward.example:443"])


def test_serves_the_page_and_stops_cleanly(feed: FakeFeed) -> None:
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
        wait_until(lambda: server.clients[0].snapshot().connected)
    finally:
        server.stop()
    assert not server.clients[0].running
    with pytest.raises(urllib.error.URLError, match="refused"):
        urllib.request.urlopen(server.url, timeout=2)
