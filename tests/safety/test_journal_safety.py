"""The alert journal: private files, never blocking, loud when it cannot write."""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path

import pytest

from streamer.live.journal import AlertJournal, read_journal
from streamer.live.session import Session
from tests.support import wait_for

Report = tuple[str, bool, str, dict[str, float]]


def test_a_new_journal_is_private_and_every_line_names_the_session(tmp_path: Path) -> None:
    session = Session.start("P-7", stream_time=12.5)
    journal = AlertJournal(tmp_path / "alerts.jsonl", session=session)
    journal.append("raised", {"id": "a-1", "kind": "flatline"})
    journal.note("notification", kinds=["flatline"], outcome="delivered")
    journal.close()
    assert stat.S_IMODE((tmp_path / "alerts.jsonl").stat().st_mode) == 0o600
    records = list(read_journal(tmp_path / "alerts.jsonl"))
    assert [(r["session"], r["patient"]) for r in records] == [(session.id, "P-7")] * 2


def test_an_existing_journal_keeps_its_mode_and_a_loose_one_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"seq": 4, "event": "raised"}\n')
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        journal = AlertJournal(path)
    assert journal.append("cleared", {"id": "a-1"}) == 5
    journal.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644, "never changed silently"
    assert "readable by others (mode 644)" in caplog.text
    assert len(path.read_text().splitlines()) == 2


def test_a_full_disk_raises_journal_failed_once_and_appending_never_waits(tmp_path: Path) -> None:
    reports: list[Report] = []
    journal = AlertJournal("/dev/full", on_condition=lambda *r: reports.append(r), retry_s=0.05)
    started = time.perf_counter()
    for n in range(2000):
        journal.append("raised", {"id": f"a-{n}"})
    assert time.perf_counter() - started < 1.0, "append only queues"
    wait_for(lambda: reports, 5, "journal_failed")
    time.sleep(0.3)  # a few retries, failing again
    status = journal.status()["journal"]
    journal.close()
    assert len(reports) == 1, "retries that fail again must not repeat the alert"
    kind, active, message, evidence = reports[0]
    assert (kind, active, evidence) == ("journal_failed", True, {"errno": 28.0})
    assert "No space left on device" in message
    assert "monitoring goes on" in message
    assert status["state"] == "failed"
    assert status["pending"] == 2000


def test_kept_lines_are_written_in_order_once_the_disk_is_back(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    reports: list[Report] = []
    journal = AlertJournal(path, on_condition=lambda *r: reports.append(r), retry_s=0.05)
    journal.append("raised", {"id": "a-1"})
    wait_for(lambda: path.read_text().count("\n") == 1, 5, "the first line")
    real = os.dup(journal._fd)
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, journal._fd)  # the journal's own descriptor starts failing
    try:
        for n in range(2, 6):
            journal.append("raised", {"id": f"a-{n}"})
        wait_for(lambda: reports, 5, "journal_failed")
        assert journal.status()["journal"]["pending"] == 4
        os.dup2(real, journal._fd)  # the disk is back
        wait_for(lambda: len(reports) == 2, 5, "journal_failed cleared")
    finally:
        os.close(full)
        os.close(real)
    journal.append("raised", {"id": "a-6"})
    journal.close()
    assert [r[:2] for r in reports] == [("journal_failed", True), ("journal_failed", False)]
    records = list(read_journal(path))
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r["alert"]["id"] for r in records] == [f"a-{n}" for n in range(1, 7)]
    assert journal.status()["journal"] == {
        "path": str(path),
        "state": "ok",
        "pending": 0,
        "lost": 0,
        "error": None,
    }


def test_what_is_kept_is_bounded_and_the_loss_counted(tmp_path: Path) -> None:
    journal = AlertJournal("/dev/full", retry_s=0.05, keep=10)
    for n in range(25):
        journal.append("raised", {"id": f"a-{n}"})
    wait_for(lambda: journal.status()["journal"]["state"] == "failed", 5, "the failure")
    wait_for(lambda: journal.status()["journal"]["lost"] == 15, 5, "the oldest 15 lost")
    status = journal.status()["journal"]
    journal.close()
    assert status["pending"] == 10
