"""The feed client's night: notes kept and replayed, alerts that cleared while it was away."""

from __future__ import annotations

import json
from typing import Any

from dashboard.feed_client import FeedClient
from dashboard.panels.alerts import _alert_row, _note_row


def hello(session: str = "s-1", **fields: Any) -> str:
    stream = {"name": "bed-1", "source_id": "src", "labels": ["C3", "C4"], "rate": 256.0}
    return json.dumps({"type": "hello", "stream": stream, "session": session, **fields})


def alert(alert_id: str, state: str, **fields: Any) -> dict[str, Any]:
    return {"id": alert_id, "kind": "flatline", "severity": "medium", "state": state, **fields}


def note(number: int, at: float, text: str = "Lights off") -> dict[str, Any]:
    return {"id": f"note-{number}", "at": at, "text": text, "who": "Ada"}


def test_notes_come_with_the_hello_and_one_by_one_and_go_with_the_session() -> None:
    client = FeedClient("ws://127.0.0.1:1")
    client._handle(hello(notes=[note(1, 10.0)]))
    client._handle(json.dumps({"type": "note", "note": note(2, 5.0, "<b>x</b>"), "ref": None}))
    snap = client.snapshot(traces=False)
    assert [n["id"] for n in snap.notes] == ["note-2", "note-1"]  # by time
    version = snap.notes_version
    client._handle(hello(notes=[note(1, 10.0), note(2, 5.0)]))  # a reconnection: the same
    snap = client.snapshot(traces=False)
    assert len(snap.notes) == 2
    assert snap.notes_version > version
    client._handle(json.dumps({"type": "note", "note": {"id": 3}}))  # refused, counted
    assert client.snapshot(traces=False).protocol_errors == 1
    client._handle(hello(session="s-2"))  # another monitor run: another night
    assert client.snapshot(traces=False).notes == ()


def test_an_alert_that_cleared_while_away_is_cleared_in_the_night() -> None:
    client = FeedClient("ws://127.0.0.1:1")
    client._handle(hello(alerts=[alert("a-1", "active"), alert("a-2", "active")]))
    client._handle(hello(alerts=[alert("a-2", "acknowledged")]))  # a-1 cleared meanwhile
    night = {a["id"]: a["state"] for a in client.snapshot(traces=False, night=True).night}
    assert night == {"a-1": "cleared", "a-2": "acknowledged"}
    assert [a["id"] for a in client.snapshot(traces=False).history] == ["a-1"]


def test_the_night_list_rows_of_an_alert_and_of_a_note() -> None:
    row = _alert_row(alert("a-1", "cleared", onset=100.0, cleared_at=116.0, acknowledged_by="Ada"))
    assert (row["state"], row["by"], row["duration"], row["note"]) == ("cleared", "Ada", "16 s", "")
    row = _note_row(note(1, 5.0, "<script>x</script>"))
    assert (row["kind"], row["by"], row["note"]) == ("note", "Ada", "<script>x</script>")
