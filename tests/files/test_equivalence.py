"""Scan and live replay of one real recording raise the same alerts.

The contract is in docs/design.md ("Why the detector is pure").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detector import DetectorConfig
from streamer.live.journal import read_journal
from streamer.offline.scan import scan_recording
from streamer.recordings.files import open_recording
from tests.files.conftest import Faulty
from tests.support import replay_into_monitor, wait_for

pytestmark = pytest.mark.slow

HOP = DetectorConfig().hop_s


def final_states(journal: Path) -> dict[str, dict]:
    """The last state of every alert in a monitor's journal."""
    last: dict[str, dict] = {}
    for record in read_journal(journal):
        if "alert" in record and record.get("event") in ("raised", "updated", "cleared"):
            last[record["alert"]["id"]] = record["alert"]
    return last


def alerts_of(episodes: list[dict]) -> list[dict]:
    """The scan's episode lines grouped back into alerts, as live: first onset, last state."""
    by_id: dict[str, list[dict]] = {}
    for line in sorted(episodes, key=lambda line: line["episode"]):
        by_id.setdefault(line["id"], []).append(line)
    return [mine[-1] | {"onset": mine[0]["onset"]} for mine in by_id.values()]


def test_replay_into_a_live_monitor_equals_the_offline_scan(
    eegmon, unique_name: str, tmp_path: Path, faulty_edf: Faulty
) -> None:
    with open_recording(faulty_edf.path) as rec:
        episodes = scan_recording(rec, str(faulty_edf.path)).alerts
    scanned = alerts_of(episodes)
    journal = tmp_path / "alerts.jsonl"
    _, monitor, t0 = replay_into_monitor(
        eegmon, faulty_edf.path, unique_name, ["--speed", "20"], ["--alerts", str(journal)]
    )
    wait_for(
        lambda: (
            journal.exists()
            and any(a["kind"] == "signal_lost" for a in final_states(journal).values())
        ),
        40,
        "the end of the replay (signal_lost once the file is over)",
    )
    assert monitor.stop() == 0
    live = [a for a in final_states(journal).values() if a["kind"] != "signal_lost"]

    def grouped(alerts: list[dict], shift: float) -> dict[tuple[str, tuple[str, ...]], list[float]]:
        groups: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        for a in alerts:
            groups.setdefault((a["kind"], tuple(a["channels"])), []).append(a["onset"] - shift)
        return {k: sorted(v) for k, v in groups.items()}

    def episode_counts(alerts: list[dict]) -> list[tuple[str, int]]:
        return sorted((a["kind"], a["episode"]) for a in alerts)

    assert episode_counts(live) == episode_counts(scanned)

    offline = grouped(scanned, 0.0)
    online = grouped(live, t0)
    assert set(online) == set(offline)
    for k, onsets in offline.items():
        assert len(online[k]) == len(onsets), k
        for live_onset, scan_onset in zip(online[k], onsets, strict=True):
            assert abs(live_onset - scan_onset) <= HOP, (
                f"{k}: live {live_onset:.3f} s, scan {scan_onset:.3f} s"
            )
    # The injected faults are among them, where they were put.
    [flat] = offline["flatline", (faulty_edf.flat_channel,)]
    [clipped] = offline["saturation", (faulty_edf.clipped_channel,)]
    assert faulty_edf.flat_s[0] - 1.0 <= flat <= faulty_edf.flat_s[0] + 1.0
    assert faulty_edf.clipped_s[0] - 1.0 <= clipped <= faulty_edf.clipped_s[0] + 1.0
