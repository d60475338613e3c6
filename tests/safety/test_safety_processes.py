"""Patient data on real processes: sessions, nothing overwritten, safe model state, loud journal."""

from __future__ import annotations

import pickle
import re
import stat
import time
from pathlib import Path

import pytest

from streamer.live.journal import read_journal
from tests.support import FeedProbe, Proc, wait_for


def feed_of(monitor: Proc) -> FeedProbe:
    return FeedProbe(monitor.wait_line("feed at ").split("feed at ")[1].strip())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def monitor_args(name: str, *extra: str) -> tuple[str, ...]:
    return (
        "monitor", "--stream", name, "--feed-port", "0", "--resolve-timeout", "60",
        "--status-every", "0.5", *extra,
    )  # fmt: skip


def one_night(eegmon, name: str, paths: dict[str, Path], *extra: str) -> tuple[dict, dict]:
    """Monitor a few seconds with a patient, a recording, a journal and a model state."""
    monitor = eegmon(
        *monitor_args(name, "--patient", "P-0042", "--quiet", *extra),
        "--record", str(paths["record"]),
        "--alerts", str(paths["alerts"]),
        "--model-state", str(paths["state"]),
    )  # fmt: skip
    client = feed_of(monitor)
    try:
        hello = client.wait(lambda m: m["type"] == "hello", 10, "hello")
        status = client.wait(
            lambda m: m["type"] == "status" and m["recording"]["seconds"] >= 3, 30, "3 s recorded"
        )
    finally:
        client.close()
    assert monitor.stop() == 0
    return hello, status


@pytest.mark.slow
def test_a_second_night_on_the_same_paths_overwrites_nothing(eegmon, unique_name, tmp_path):
    eegmon("simulate", "--name", unique_name, "--seed", "3", "--channels", "8")
    paths = {
        "record": tmp_path / "night.edf",
        "alerts": tmp_path / "alerts.jsonl",
        "state": tmp_path / "bed.state",
    }
    hello, status = one_night(eegmon, unique_name, paths)
    session = hello["session"]
    assert re.fullmatch(r"[0-9a-f]{12}", session)
    assert (hello["patient"], status["patient"], status["session"]) == ("P-0042", "P-0042", session)
    assert hello["started"] == status["started"]
    for path in paths.values():
        assert mode(path) == 0o600, path
    first_night = paths["record"].read_bytes()
    assert first_night[8:88].decode().startswith("P-0042 X X X ")
    assert f" {session} " in first_night[88:168].decode()
    records = list(read_journal(paths["alerts"]))
    assert records[0]["event"] == "session_started"
    assert {(r["session"], r["patient"]) for r in records} == {(session, "P-0042")}

    hello2, _ = one_night(eegmon, unique_name, paths)
    assert hello2["session"] != session
    assert paths["record"].read_bytes() == first_night, "the first night is untouched"
    second = tmp_path / "night-2.edf"
    assert second.stat().st_size > 256
    assert mode(second) == 0o600
    records = list(read_journal(paths["alerts"]))
    assert {r["session"] for r in records} == {session, hello2["session"]}
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert mode(paths["alerts"]) == 0o600


@pytest.mark.slow
def test_a_model_state_of_another_patient_or_too_old_is_not_used(eegmon, unique_name, tmp_path):
    eegmon("simulate", "--name", unique_name, "--seed", "5", "--channels", "8")
    state = tmp_path / "bed.state"
    first = eegmon(*monitor_args(unique_name, "--patient", "P-1", "--model-state", str(state)))
    first.wait_line("no model state at")
    first.wait_line(" rate ")  # monitoring
    time.sleep(2.0)
    assert first.stop() == 0
    assert mode(state) == 0o600
    same = eegmon(*monitor_args(unique_name, "--patient", "P-1", "--model-state", str(state)))
    other = eegmon(*monitor_args(unique_name, "--patient", "P-2", "--model-state", str(state)))
    nobody = eegmon(*monitor_args(unique_name, "--model-state", str(state)))
    old = eegmon(
        *monitor_args(unique_name, "--patient", "P-1", "--model-state", str(state)),
        "--model-state-max-age", "1s",
    )  # fmt: skip
    assert "windows learned" in same.wait_line("model state loaded from")
    assert "for patient 'P-1', not 'P-2'" in other.wait_line("not used")
    assert "for patient 'P-1', not None" in nobody.wait_line("not used")
    assert "older than" in old.wait_line("not used")
    for monitor in (other, nobody, old):
        monitor.wait_line("feed at ")
        assert sum("model state" in line for line in monitor.lines) == 1, "one line says why"


@pytest.mark.slow
def test_a_tampered_model_state_runs_nothing_and_the_monitor_starts(eegmon, unique_name, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    tampered, noise = tmp_path / "tampered.state", tmp_path / "noise.state"
    tampered.write_bytes(pickle.dumps(Payload()))
    noise.write_bytes(bytes(range(256)) * 40)
    eegmon("simulate", "--name", unique_name, "--seed", "6", "--channels", "8")
    monitors = [
        eegmon(*monitor_args(unique_name, "--model-state", str(path))) for path in (tampered, noise)
    ]
    assert "pickle" in monitors[0].wait_line("not used")
    assert "unreadable" in monitors[1].wait_line("not used")
    for monitor in monitors:
        monitor.wait_line(" rate ")  # monitoring
        assert not any("Traceback" in line for line in monitor.lines)
    assert not marker.exists(), "unpickling would have created it"


@pytest.mark.slow
def test_a_journal_on_a_full_disk_raises_journal_failed_and_monitoring_goes_on(eegmon, unique_name):
    eegmon("simulate", "--name", unique_name, "--seed", "7", "--channels", "8")
    monitor = eegmon(*monitor_args(unique_name, "--alerts", "/dev/full", "--quiet"))
    client = feed_of(monitor)
    try:

        def raised() -> dict | None:  # in the hello when raised before this client connected
            for m in list(client.messages):
                alerts = m["alerts"] if m["type"] == "hello" else [m.get("alert") or {}]
                found = [a for a in alerts if a.get("kind") == "journal_failed"]
                if found:
                    return found[0]
            return None

        failed = wait_for(raised, 20, "journal_failed")
        assert failed["severity"] == "high"
        assert "No space left on device" in failed["message"]
        assert "monitoring goes on" in failed["message"]
        seen = len(client.messages)
        later = client.wait(
            lambda m: (
                m["type"] == "status"
                and client.messages.index(m) > seen
                and m["rate"] > 0
                and m["journal"]["state"] == "failed"
            ),
            10,
            "monitoring after the failure",
        )
        assert later["journal"]["pending"] >= 2  # session_started and journal_failed, kept
        assert later["active_alerts"]["high"] >= 1
    finally:
        client.close()
    assert monitor.stop() == 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--patient", "Jane Doe", "patient code 'Jane Doe': 1-32 letters, digits"),
        ("--patient", "P" * 33, "(a code, not a name)"),
        ("--model-state-max-age", "soon", "duration 'soon' is not like 2d, 1h, 30m, 90s or 600"),
    ],
)
def test_a_bad_patient_code_or_age_is_refused_in_one_line(eegmon, option, value, message):
    proc = eegmon("monitor", "--stream", "none", option, value)
    assert proc.process.wait(30) == 2
    proc.stop()
    assert len(proc.lines) == 1
    assert message in proc.lines[0]
