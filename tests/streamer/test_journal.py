"""The alert journal: durable, ordered, and it survives a torn last line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamer.live.journal import AlertJournal


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_events_are_appended_with_a_monotonic_sequence(tmp_path: Path) -> None:
    path = tmp_path / "night" / "alerts.jsonl"
    journal = AlertJournal(path)
    journal.append("raised", {"id": "a-1", "kind": "flatline"})
    journal.append("acknowledged", {"id": "a-1"}, who="tech")
    journal.close()
    records = lines(path)
    assert [r["seq"] for r in records] == [1, 2]
    assert [r["event"] for r in records] == ["raised", "acknowledged"]
    assert records[1]["who"] == "tech"
    assert records[0]["alert"]["kind"] == "flatline"


def test_a_restart_continues_the_sequence_past_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    journal = AlertJournal(path)
    journal.append("raised", {"id": "a-1"})
    journal.close()
    with open(path, "a") as torn:  # a crash in the middle of a write
        torn.write('{"seq": 2, "event": "rai')
    journal = AlertJournal(path)
    assert journal.append("cleared", {"id": "a-1"}) == 2
    journal.close()
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["event"] == "cleared"
    assert last["seq"] == 2


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a directory"):
        AlertJournal(tmp_path)
