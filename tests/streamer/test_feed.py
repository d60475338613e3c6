"""The feed on a real websockets server: security by default and fan-out that never blocks."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from streamer.live.feed import Feed
from tests.support import wait_for


class Acks:
    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []

    def __call__(self, alert_id: str, who: str, notes: dict[str, str]) -> None:
        self.received.append((alert_id, who))


def hello() -> dict[str, Any]:
    return {"type": "hello", "version": 1, "stream": {"name": "bed-1"}, "alerts": []}


@pytest.fixture
def acks() -> Acks:
    return Acks()


@pytest.fixture
def feed(acks: Acks) -> Iterator[Feed]:
    server = Feed("127.0.0.1", 0, hello=hello, on_ack=acks, allow_origins=("http://ward.local",))
    server.start()
    yield server
    server.stop()


def drain(ws) -> None:
    while True:
        ws.recv(timeout=5)


def receive(ws, kind: str, timeout: float = 5) -> dict[str, Any]:
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] == kind:
            return message


def test_hello_then_published_messages_and_acks(feed: Feed, acks: Acks) -> None:
    with connect(feed.url) as ws:
        assert receive(ws, "hello")["stream"]["name"] == "bed-1"
        wait_for(lambda: feed.client_count == 1, 5, "the client to register")
        feed.publish({"type": "alert", "alert": {"id": "a-1", "kind": "flatline"}})
        assert receive(ws, "alert")["alert"]["id"] == "a-1"
        ws.send(json.dumps({"type": "ack", "id": "a-1", "who": "night tech"}))
        wait_for(lambda: acks.received, 5, "the ack")
        assert acks.received == [("a-1", "night tech")]
        ws.send(json.dumps({"type": "ack"}))
        assert "non-empty string 'id'" in receive(ws, "error")["message"]


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://ward.local", True),
        ("http://evil.example", False),
        ("http://ward.local.evil.example", False),
        ("null", False),
    ],
)
def test_origins_are_checked(feed: Feed, origin: str | None, allowed: bool) -> None:
    headers = {} if origin is None else {"Origin": origin}
    if allowed:
        with connect(feed.url, additional_headers=headers) as ws:
            assert receive(ws, "hello")["type"] == "hello"
    else:
        with pytest.raises(InvalidStatus, match="403"):
            connect(feed.url, additional_headers=headers)


def test_oversized_message_closes_only_that_client(feed: Feed) -> None:
    with connect(feed.url) as good, connect(feed.url) as bad:
        receive(good, "hello")
        receive(bad, "hello")
        bad.send("x" * 100_000)
        with pytest.raises(ConnectionClosed) as closed:
            drain(bad)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        feed.publish({"type": "alert", "alert": {"id": "still-here"}})
        assert receive(good, "alert")["alert"]["id"] == "still-here"


def test_a_client_that_stops_reading_never_blocks_the_others(feed: Feed) -> None:
    stalled = socket.create_connection(("127.0.0.1", feed.port))
    stalled.sendall(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    try:
        with connect(feed.url) as ws:
            receive(ws, "hello")
            wait_for(lambda: feed.client_count == 2, 5, "both clients")
            frame = {"type": "traces", "timestamps": [0.0] * 128, "data": [[1.5] * 128]}
            for i in range(3000):  # ~3 MB to a socket nobody reads
                feed.publish({**frame, "seq": i})
            feed.publish({"type": "alert", "alert": {"id": "after-flood"}})
            assert receive(ws, "alert", timeout=5)["alert"]["id"] == "after-flood"
    finally:
        stalled.close()


def test_exposed_feed_requires_a_token(acks: Acks) -> None:
    with pytest.raises(ValueError, match="token"):
        Feed("0.0.0.0", 0, hello=hello, on_ack=acks)
    server = Feed("127.0.0.1", 0, hello=hello, on_ack=acks, token="s3cret")
    server.start()
    try:
        with pytest.raises(InvalidStatus, match="401"):
            connect(server.url)
        with pytest.raises(InvalidStatus, match="401"):
            connect(server.url + "/?token=wrong")
        with connect(server.url + "/?token=s3cret") as ws:
            assert receive(ws, "hello")["type"] == "hello"
        bearer = {"Authorization": "Bearer s3cret"}
        with connect(server.url, additional_headers=bearer) as ws:
            assert receive(ws, "hello")["type"] == "hello"
    finally:
        server.stop()
