"""FeedClient against a real feed server on loopback; TraceRing and decimation on arrays."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from websockets.asyncio.server import serve

from dashboard.decimate import break_gaps, minmax_decimate
from dashboard.feed_client import FeedClient, validate_feed_url
from dashboard.ring import TraceRing
from simulators.feed import SimulatedFeed
from tests.support import wait_for

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def client(feed: SimulatedFeed) -> Iterator[FeedClient]:
    c = FeedClient(feed.url, window_s=2.0, history=3).start()
    try:
        yield c
    finally:
        c.stop()


def test_hello_traces_and_status_fill_the_state(feed: SimulatedFeed, client: FeedClient) -> None:
    snap = wait_for(
        lambda: (s := client.snapshot()).status and s.trace_times.size > 20 and s,
        5,
        "status and 20 samples",
    )
    assert snap.connected
    assert snap.monitoring
    assert not snap.stale
    assert snap.name == feed.name
    assert snap.labels == tuple(feed.labels)
    assert snap.trace_data.shape == (len(feed.labels), snap.trace_times.size)
    assert np.all(np.diff(snap.trace_times) > 0)
    assert snap.scores
    assert snap.score_info["warming_up"] is False
    assert snap.protocol_errors == 0
    # Only the first channels when asked; traces keep at most the window.
    assert client.snapshot(max_channels=3).trace_data.shape[0] == 3
    wait_for(
        lambda: client.snapshot().trace_times[0] < client.snapshot().trace_times[-1] - 1.9,
        5,
        "a full 2 s window",
    )
    times = client.snapshot().trace_times
    assert times[-1] - times[0] <= 2.0 + 1e-9


def test_alerts_by_id_cleared_ones_move_to_bounded_history(
    feed: SimulatedFeed, client: FeedClient
) -> None:
    wait_for(lambda: client.snapshot().connected, 5, "the connection")
    alert = feed.send_alert()
    wait_for(lambda: client.snapshot().alerts, 5, "the alert")
    feed.send_alert(id=alert["id"], state="acknowledged")
    wait_for(
        lambda: client.snapshot().alerts[0]["state"] == "acknowledged", 5, "the acknowledgement"
    )
    feed.send_alert(id=alert["id"], state="cleared")
    snap = wait_for(
        lambda: (s := client.snapshot()).history and s, 5, "the cleared alert in the history"
    )
    assert snap.alerts == ()
    assert snap.history[-1]["id"] == alert["id"]
    for _ in range(5):
        feed.send_alert(state="cleared")
    wait_for(lambda: client.snapshot().history[-1]["id"] != alert["id"], 5, "newer cleared alerts")
    wait_for(lambda: len(client.snapshot().history) == 3, 5, "a history of 3")


def test_ack_reaches_the_feed_and_is_refused_when_disconnected(
    feed: SimulatedFeed, client: FeedClient
) -> None:
    wait_for(lambda: client.snapshot().connected, 5, "the connection")
    assert client.ack("alert-42", "nurse station")
    assert feed.wait_for_ack("alert-42") == ("alert-42", "nurse station")
    feed.stop()
    wait_for(lambda: not client.snapshot().connected, 5, "the disconnection")
    assert not client.ack("alert-42")
    with pytest.raises(ValueError, match="too long"):
        client.ack("x" * 5000)


def test_reconnects_quickly_and_reports_the_outage(feed: SimulatedFeed, client: FeedClient) -> None:
    wait_for(lambda: client.snapshot().monitoring, 5, "monitoring")
    feed.stop()
    snap = wait_for(
        lambda: (s := client.snapshot()) and not s.connected and s, 5, "the disconnection"
    )
    assert not snap.monitoring
    assert snap.error
    feed.start()  # same port; the backoff is capped at 2 s
    wait_for(lambda: client.snapshot().monitoring, 6, "monitoring again")
    # the client's handshake can complete before the server's handler has counted it
    wait_for(lambda: feed.connections >= 2, 5, "the second connection on the feed")


def test_missing_heartbeat_makes_the_feed_stale(feed: SimulatedFeed) -> None:
    now = [0.0]
    c = FeedClient(feed.url, clock=lambda: now[0]).start()
    try:
        wait_for(lambda: c.snapshot().status, 5, "a status")
        assert c.snapshot().monitoring
        feed.heartbeat = False
        now[0] = 3.5  # no status has arrived on this (frozen) clock since t=0
        snap = c.snapshot()
        assert snap.connected
        assert snap.stale
        assert not snap.monitoring
    finally:
        c.stop()


def test_bad_messages_are_counted_not_fatal() -> None:
    async def handler(ws) -> None:
        await ws.send("not json")
        await ws.send('{"type": "bogus"}')
        await ws.send('{"type": "traces", "timestamps": [1, 2], "rate": 10, "data": [[1]]}')
        await ws.send('{"type": "status", "now": 1.0, "connected": true}')
        await ws.wait_closed()

    ready, stop = threading.Event(), threading.Event()
    port: list[int] = []

    def main() -> None:
        async def run() -> None:
            async with serve(handler, "127.0.0.1", 0) as server:
                port.append(server.sockets[0].getsockname()[1])
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.02)

        asyncio.run(run())

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        assert ready.wait(5)
        c = FeedClient(f"ws://127.0.0.1:{port[0]}").start()
        try:
            snap = wait_for(
                lambda: (s := c.snapshot()).status and s, 5, "the status after the bad messages"
            )
            assert snap.protocol_errors == 3
            assert snap.connected
            assert snap.trace_times.size == 0
        finally:
            c.stop()
    finally:
        stop.set()
        thread.join(5)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "127.0.0.1:8765", "ws://", "ws://host:notaport", ""]
)
def test_bad_feed_urls_are_refused_with_the_value(url: str) -> None:
    with pytest.raises(ValueError, match="feed URL") as info:
        validate_feed_url(url)
    assert repr(url) in str(info.value)


def test_token_is_kept_out_of_display() -> None:
    c = FeedClient("wss://monitor.example:8765/?token=s3cret")
    assert "s3cret" not in c.display_url
    assert "s3cret" not in repr(c)
    assert c.display_url == "wss://monitor.example:8765/?token=***"


def test_trace_ring_keeps_the_newest_window_in_order() -> None:
    ring = TraceRing(window_s=1.0)
    for start in range(0, 300, 7):
        t = np.arange(start, start + 7) / 100.0
        ring.append(t, np.vstack([t, -t]).astype(np.float32), rate=100.0)
    times, data = ring.read()
    assert times[-1] == pytest.approx(3.00)
    assert times[0] >= times[-1] - 1.0
    assert np.all(np.diff(times) > 0)
    np.testing.assert_allclose(data[0], times, rtol=1e-6)
    assert ring.read(max_channels=1)[1].shape[0] == 1
    # A restarted stream (time goes back) starts over.
    ring.append(np.array([0.5]), np.zeros((2, 1), np.float32), rate=100.0)
    assert ring.read()[0].tolist() == [0.5]


def test_minmax_decimation_keeps_extremes() -> None:
    t = np.arange(10_000) / 1000.0
    y = np.zeros((2, t.size))
    y[0, 5003] = 100.0
    y[1, 7001] = -50.0
    tt, yy = minmax_decimate(t, y, 100)
    assert tt.size == yy.shape[1] <= 200 + 100
    assert yy[0].max() == 100.0
    assert yy[1].min() == -50.0
    assert np.all(np.diff(tt) >= 0)
    t2, y2 = break_gaps(np.array([0.0, 0.1, 0.2, 1.0]), np.ones((1, 4)), 0.15)
    assert np.isnan(y2[0, 3])
    assert t2.size == 5


def test_listeners_hear_each_message_and_a_broken_one_harms_nothing(feed: SimulatedFeed) -> None:
    heard: list[str] = []

    def broken(kind: str) -> None:
        raise RuntimeError("a page went away badly")

    c = FeedClient(feed.url)
    c.add_listener(broken)
    c.add_listener(heard.append)
    c.start()
    try:
        wait_for(lambda: {"hello", "traces", "status"} <= set(heard), 5, "hello, traces and status")
        assert heard[0] == "hello"
        c.remove_listener(heard.append)
        count, messages = len(heard), c.snapshot().messages
        wait_for(lambda: c.snapshot().messages > messages + 5, 5, "more messages")
        assert len(heard) <= count + 1  # at most the message being handled at removal
        assert c.snapshot().monitoring  # the broken listener did not stop the feed
    finally:
        c.stop()


def test_a_failing_monitor_is_not_monitoring_until_its_alarm_clears(
    feed: SimulatedFeed, client: FeedClient
) -> None:
    from dashboard.alarm import not_monitoring_reason

    wait_for(lambda: client.snapshot().monitoring, 10, "monitoring")
    failed = feed.send_alert(
        kind="monitor_failed", channels=[], message="The monitor failed 3 times in 5 s (OSError)."
    )
    snap = wait_for(lambda: (s := client.snapshot()).failing and s, 5, "the monitor's alarm")
    assert not snap.monitoring
    assert "keeps failing: The monitor failed 3 times" in not_monitoring_reason(snap, 0.0)
    feed.send_alert(id=failed["id"], state="cleared")
    wait_for(lambda: client.snapshot().monitoring, 5, "monitoring again once it clears")
