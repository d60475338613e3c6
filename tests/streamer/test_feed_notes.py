"""Notes on the feed: the protocol's checks, who a note is journaled under, the hello's notes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import connect

from detector import DetectorConfig, StreamMeta
from eegmon.cmd_alerts import rows
from protocol import feed as protocol
from protocol.people import Person, Users, hash_token
from streamer.live.feed import Feed
from streamer.live.link import MonitorLink
from tests.support import wait_for

N = 2  # scrypt cost: these tokens only need to differ


def test_a_note_is_checked_bounded_and_cleaned() -> None:
    message = {"type": "note", "text": " Lights\toff\x00 ", "who": "Ada", "ref": "r1"}
    assert protocol.parse_note(json.dumps(message)) == ("Lights off", "Ada", "r1")
    assert protocol.parse_note({**message, "ref": None})[2] is None
    assert protocol.parse_note({"type": "note", "text": "é" * 500})[0] == "é" * 500
    for bad, needle in [
        ({"text": "x" * 501}, "note too long: 501 characters, at most 500"),
        ({"text": "\n\t"}, "note needs some text"),
        ({"text": 3}, "must be a string"),
        ({"text": "ok", "ref": "r" * 65}, "'ref'"),
        ({"text": "ok", "who": "w" * 101}, "'who'"),
    ]:
        with pytest.raises(protocol.ProtocolError, match=needle):
            protocol.parse_note({"type": "note", **bad})
    with pytest.raises(protocol.ProtocolError, match="expected a 'note'"):
        protocol.parse_note({"type": "ack", "id": "a"})
    # The longest note, in the widest characters and the longest name, fits a client message.
    longest = {"type": "note", "text": "😴" * 500, "who": "w" * 100, "ref": "r" * 64}
    assert len(protocol.encode(longest).encode()) < protocol.MAX_CLIENT_MESSAGE


def hello() -> dict[str, Any]:
    return {"type": "hello", "version": 1, "stream": {"name": "bed-1"}, "alerts": []}


class Notes:
    def __init__(self) -> None:
        self.taken: list[tuple[str, str, dict[str, str], str | None]] = []
        self.journal: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, text: str, who: str, fields: dict[str, str], ref: str | None) -> None:
        self.taken.append((text, who, fields, ref))

    def event(self, event: str, **fields: Any) -> None:
        self.journal.append((event, fields))


@pytest.fixture
def notes() -> Notes:
    return Notes()


@pytest.fixture
def feed(notes: Notes) -> Iterator[Feed]:
    users = Users(
        Person(name, role, hash_token(name, n=N))
        for name, role in {"vic": "viewer", "ada": "responder", "wall": "dashboard"}.items()
    )
    server = Feed(
        "127.0.0.1", 0, hello=hello, on_ack=lambda *a: None, users=users,
        on_event=notes.event, on_note=notes,
    )  # fmt: skip
    server.start()
    yield server
    server.stop()


def send_note(feed: Feed, token: str, who: str) -> dict[str, Any] | None:
    """Send a note as the holder of `token`; the error message, or None once it is taken."""
    with connect(feed.url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        ws.recv(timeout=5)  # hello
        ws.send(json.dumps({"type": "note", "text": "Lights off", "who": who, "ref": "r"}))
        try:
            return dict(json.loads(ws.recv(timeout=0.5)))
        except TimeoutError:
            return None


def test_any_person_notes_under_their_own_name_the_dashboard_for_a_named_one(
    feed: Feed, notes: Notes
) -> None:
    assert send_note(feed, "vic", "somebody") is None
    assert send_note(feed, "wall", "ada") is None
    refused = send_note(feed, "wall", "Nurse X")
    assert refused is not None
    assert "note refused" in refused["message"]
    assert "'Nurse X' is not one" in refused["message"]
    wait_for(lambda: len(notes.taken) == 2, 5, "two notes")
    assert notes.taken == [
        ("Lights off", "vic", {"who_said": "somebody"}, "r"),
        ("Lights off", "ada", {"via": "wall"}, "r"),
    ]
    assert [(event, f["person"], f["who_said"]) for event, f in notes.journal] == [
        ("note_refused", "wall", "Nurse X")
    ]


def test_a_feed_that_takes_no_notes_says_so() -> None:
    server = Feed("127.0.0.1", 0, hello=hello, on_ack=lambda *a: None)
    server.start()
    try:
        with connect(server.url) as ws:
            ws.recv(timeout=5)
            ws.send(json.dumps({"type": "note", "text": "Lights off"}))
            assert json.loads(ws.recv(timeout=5))["message"] == "this feed takes no notes"
    finally:
        server.stop()


def test_the_link_queues_notes_and_every_hello_carries_those_taken() -> None:
    meta = StreamMeta(name="bed-1", source_id="s", rate=256.0, labels=("C3", "C4"))
    link = MonitorLink(meta, DetectorConfig(), 2.0)
    link.note("Lights off", "ada", {"who_said": "A."}, "r1")
    assert list(link.notes()) == [("Lights off", "ada", {"who_said": "A."}, "r1")]
    assert list(link.notes()) == []
    assert link.hello()["notes"] == []
    for i in range(protocol.MAX_RUN_NOTES + 1):
        link.keep_note({"id": f"note-{i}", "at": float(i), "text": "t", "who": "ada"})
    notes = link.hello()["notes"]
    assert len(notes) == protocol.MAX_RUN_NOTES
    assert notes[0]["id"] == "note-1"


def test_eegmon_alerts_shows_who_wrote_a_note() -> None:
    record = {"seq": 4, "event": "note", "logged_at": "2026-12-06T23:00:00+00:00"}
    (row,) = rows([{**record, "id": "note-1", "text": "Lights off", "who": "ada", "at": 1.0}])
    assert row[2] == "note"
    assert row[-1] == "ada: Lights off"
