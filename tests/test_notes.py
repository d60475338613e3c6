"""Technicians' notes end to end: real simulator and monitor processes, ``eegmon note``, a page.

One simulated stream and one monitor (journal and EDF+ recording) are shared
by the tests of this module, which run in order: a note from the terminal,
bad notes refused in one line, a note from a bed page in real chromium (its
text escaped), then the monitor stops and its journal and recording (read
by MNE) hold both notes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard import DashboardServer
from tests.support import (
    BOKEH_MODEL,
    ROOT,
    FeedProbe,
    Proc,
    chromium_page,
    free_port,
    wait_for_model,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

FROM_TERMINAL = "Lights off <script>window.injected = 1</script>"
FROM_PAGE = 'Electrode O1 fixed <img src=x onerror="window.injected = 1">'


@dataclass
class Night:
    monitor: Proc
    feed: str
    journal: Path
    recording: Path
    probe: FeedProbe


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    folder = tmp_path_factory.mktemp("notes")
    name = f"eegmon-test-notes-{os.getpid()}"
    started = [Proc(["simulate", "--name", name, "--channels", "8", "--seed", "3"])]
    try:
        started[0].wait_line("publishing LSL stream")
        journal, recording = folder / "alerts.jsonl", folder / "night.edf"
        args = ["monitor", "--stream", name, "--feed-port", "0", "--quiet", "--no-staging"]
        started.append(Proc([*args, "--alerts", str(journal), "--record", str(recording)]))
        line = started[1].wait_line("feed at ", timeout=30)
        feed = line.rsplit("feed at ", 1)[1].strip()
        probe = FeedProbe(feed)
        try:
            yield Night(started[1], feed, journal, recording, probe)
        finally:
            probe.close()
    finally:
        for proc in reversed(started):
            proc.stop()


def note(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eegmon", "note", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip


def test_eegmon_note_is_taken_by_the_monitor_and_published(night: Night) -> None:
    done = note("--feed", night.feed, "--who", "Ada", FROM_TERMINAL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("eegmon note: note-1 by Ada taken"), done.stdout
    published = night.probe.wait(lambda m: m["type"] == "note", 5, "the note on the feed")
    assert published["note"]["text"] == FROM_TERMINAL
    assert isinstance(published["note"]["at"], float)
    # A client connecting later gets the run's notes in its hello.
    later = FeedProbe(night.feed)
    try:
        hello = later.wait(lambda m: m["type"] == "hello", 5, "a hello")
        assert [n["text"] for n in hello["notes"]] == [FROM_TERMINAL]
    finally:
        later.close()


@pytest.mark.parametrize(
    ("feed", "text", "needle"),
    [
        ("monitor", "x" * 501, "note too long: 501 characters, at most 500"),
        ("monitor", "   ", "note needs some text"),
        ("http://127.0.0.1:1", "Lights on", "'http://127.0.0.1:1'"),
        ("nobody", "Lights on", "refused the connection"),
    ],
    ids=["too-long", "empty", "bad-url", "refused"],
)
def test_a_bad_note_is_one_line_and_exit_2(night: Night, feed: str, text: str, needle: str) -> None:
    url = {"monitor": night.feed, "nobody": f"ws://127.0.0.1:{free_port()}"}.get(feed, feed)
    done = note("--feed", url, text)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("eegmon: error: ")
    assert needle in lines[0]


def test_a_note_added_in_the_page_reaches_the_night_list_and_the_marks(night: Night) -> None:
    server = DashboardServer([night.feed], port=0).start()
    try:
        with chromium_page() as page:
            page.goto(server.url + "bed?bed=0&render=canvas")
            wait_for_model(page, "note_marks_source")
            rows = page.locator(".eegmon-history .slick-row", has_text="note")
            expect(rows).to_have_count(1, timeout=5000)  # the terminal's, from the hello
            expect(rows.first).to_contain_text(FROM_TERMINAL)
            page.get_by_placeholder("Your name").fill("Nurse Ada")
            page.get_by_placeholder("Your name").press("Enter")
            page.get_by_placeholder("Note").fill(FROM_PAGE)
            page.get_by_role("button", name="Add note").click()
            expect(rows).to_have_count(2, timeout=5000)
            expect(rows.first).to_contain_text(FROM_PAGE)  # newest first, as text
            expect(rows.first).to_contain_text("Nurse Ada")
            expect(page.locator(".eegmon-history img")).to_have_count(0)
            expect(page.get_by_placeholder("Note")).to_have_value("")
            page.get_by_role("button", name="Lights on").click()
            expect(rows).to_have_count(3, timeout=5000)
            page.wait_for_function(
                f"() => ({BOKEH_MODEL})('note_marks_source').data.x.length === 3", timeout=5000
            )
            assert page.evaluate("() => window.injected") is None
    finally:
        server.stop()


def test_the_journal_and_the_recording_keep_the_notes(night: Night) -> None:
    import mne

    assert night.monitor.stop() == 0
    done = subprocess.run(
        [sys.executable, "-m", "eegmon", "alerts", str(night.journal), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    notes = [r for r in map(json.loads, done.stdout.splitlines()) if r["event"] == "note"]
    assert [(n["text"], n["who"]) for n in notes] == [
        (FROM_TERMINAL, "Ada"), (FROM_PAGE, "Nurse Ada"), ("Lights on", "Nurse Ada"),
    ]  # fmt: skip
    assert all(isinstance(n["at"], float) and n["at_utc"] and n["logged_at"] for n in notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_edf(night.recording, verbose="error")
    descriptions = list(raw.annotations.description)
    start = next(d for d in descriptions if "stream time " in d)
    first = float(start.rsplit("stream time ", 1)[1])
    for n in notes:
        text = f"note by {n['who']}: {n['text']}"
        onset = raw.annotations.onset[descriptions.index(text)]
        assert abs(onset - (n["at"] - first)) < 0.5, (text, onset, n["at"] - first)
