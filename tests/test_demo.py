"""`eegmon demo`: three real processes up, a URL printed, all stopped by Ctrl-C."""

from __future__ import annotations

import signal
import urllib.request
from pathlib import Path

import pytest

from tests.support import FeedProbe, free_port

pytestmark = pytest.mark.slow


def running_with(needle: str) -> list[int]:
    """PIDs of live processes whose command line contains `needle`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = next(
                line
                for line in (proc / "status").read_text().splitlines()
                if line.startswith("State")
            )
        except (OSError, StopIteration):
            continue
        if needle in cmdline and "zombie" not in state:
            found.append(int(proc.name))
    return found


def test_demo_serves_the_dashboard_and_stops_every_child(eegmon, tmp_path: Path) -> None:
    scenario = tmp_path / "quick.toml"
    scenario.write_text('[[event]]\nkind = "flatline"\nat = 3\nduration = 30\nchannels = ["O1"]\n')
    demo = eegmon("demo", "--port", "0", "--feed-port", "0", "--scenario", str(scenario))
    url = demo.wait_line("eegmon demo: open ", timeout=60).split("open ")[1].split()[0]
    feed_url = demo.wait_line("feed at ").split("feed at ")[1].strip()
    name = demo.wait_line("publishing LSL stream").split("'")[1]
    with urllib.request.urlopen(url, timeout=10) as page:
        assert page.status == 200
        assert "bokeh" in page.read().decode().lower()
    client = FeedProbe(feed_url)
    try:
        hello = client.wait(lambda m: m["type"] == "hello", 10, "hello")
        flat = [a for a in hello["alerts"] if a["kind"] == "flatline"]
        if not flat:  # not raised yet when we connected
            flat = [
                client.wait(
                    lambda m: m["type"] == "alert" and m["alert"]["kind"] == "flatline",
                    15,
                    "flatline",
                )["alert"]
            ]
        assert flat[0]["channels"] == ["O1"]
    finally:
        client.close()
    assert len(running_with(name)) >= 2  # simulator and monitor (and the demo itself)
    assert len(running_with(feed_url)) == 1  # the dashboard
    assert demo.stop(signal.SIGINT) == 0
    assert running_with(name) == []
    assert running_with(feed_url) == []


def test_demo_stops_the_parts_it_started_when_one_cannot_start(eegmon, tmp_path: Path) -> None:
    """The parts start together: a simulator refusing its scenario must not leave the others."""
    scenario = tmp_path / "q9.toml"  # a valid file, but no Q9 among the simulator's channels
    scenario.write_text('[[event]]\nkind = "flatline"\nat = 1\nduration = 2\nchannels = ["Q9"]\n')
    feed_port = free_port()
    demo = eegmon("demo", "--port", "0", "--feed-port", str(feed_port), "--scenario", str(scenario))
    demo.process.wait(60)
    assert demo.stop() == 2
    assert demo.lines[-1].startswith("eegmon: error: the simulator did not start: ")
    assert "'Q9' not in the stream's channels" in demo.lines[-1]
    assert running_with(f"eegmon-demo-{demo.process.pid}") == []
    assert running_with(f"ws://127.0.0.1:{feed_port}") == []
