"""The spine, end to end: real simulator and monitor processes, LSL and the feed on loopback."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import numpy as np
import pylsl
import pytest

from streamer.live.journal import read_journal
from tests.support import FeedProbe, free_port

pytestmark = pytest.mark.slow

FLAT_AT, FLAT_FOR = 4.0, 6.0


def monitor_url(proc) -> str:
    return proc.wait_line("feed at ", timeout=30).split("feed at ")[1].strip()


def alerts(client: FeedProbe, kind: str | None = None) -> list[dict]:
    return [m for m in client.of_type("alert") if kind is None or m["alert"]["kind"] == kind]


def marker_inlet(name: str) -> pylsl.StreamInlet:
    info = pylsl.resolve_byprop("name", f"{name}-markers", timeout=10)
    assert info, f"no markers stream {name}-markers"
    inlet = pylsl.StreamInlet(info[0])
    inlet.open_stream(timeout=5)
    return inlet


def test_flatline_is_raised_on_its_channel_and_cleared(
    eegmon, feed_client, unique_name: str, tmp_path: Path
) -> None:
    scenario = tmp_path / "o1_off.toml"
    scenario.write_text(
        f'[[event]]\nkind = "flatline"\nat = {FLAT_AT}\nduration = {FLAT_FOR}\nchannels = ["O1"]\n'
    )
    journal = tmp_path / "alerts.jsonl"
    # The monitor first, waiting for the stream, then the simulator: the monitor is up
    # when the stream's clock starts, so the electrode may come off after a few seconds.
    mon = eegmon(
        "monitor", "--stream", unique_name, "--feed-port", "0", "--alerts", str(journal),
        "--quiet", "--resolve-timeout", "60",
    )  # fmt: skip
    sim = eegmon("simulate", "--name", unique_name, "--scenario", str(scenario), "--seed", "3")
    sim.wait_line("publishing LSL stream")
    truth = marker_inlet(unique_name)
    client = feed_client(monitor_url(mon))
    hello = client.wait(lambda m: m["type"] == "hello", 10, "hello")
    assert hello["stream"]["name"] == unique_name
    assert "O1" in hello["stream"]["labels"]

    onset = None
    while onset is None:
        sample, _ = truth.pull_sample(timeout=FLAT_AT + 15)
        assert sample is not None, "the simulator published no ground truth"
        event = json.loads(sample[0])
        if event["event"] == "flatline" and event["phase"] == "start":
            onset = event["onset"]
    raised = client.wait(
        lambda m: m["type"] == "alert" and m["alert"]["kind"] == "flatline", 10, "a flatline alert"
    )["alert"]
    assert raised["channels"] == ["O1"]
    assert raised["severity"] == "medium"
    assert raised["published_at"] - onset <= 3.0, "flatline detected too late"
    assert raised["onset"] >= onset - 1.0
    client.wait(
        lambda m: (
            m["type"] == "alert"
            and m["alert"]["id"] == raised["id"]
            and m["alert"]["state"] == "cleared"
        ),
        FLAT_FOR + 10,
        "the flatline alert to clear after the electrode is back",
    )
    named = {ch for m in alerts(client) for ch in m["alert"]["channels"]}
    assert named == {"O1"}, f"alerts named other channels: {named}"
    assert mon.process.poll() is None
    records = list(read_journal(journal))
    assert records[0]["event"] == "session_started"
    records = [r for r in records if "alert" in r]
    assert [r["event"] for r in records if r["alert"]["kind"] == "flatline"][:1] == ["raised"]
    assert records[-1]["alert"]["state"] == "cleared"


def test_signal_lost_when_the_source_dies_kept_when_it_returns_until_acknowledged(
    eegmon, feed_client, unique_name: str
) -> None:
    sim = eegmon("simulate", "--name", unique_name, "--seed", "5")
    mon = eegmon(  # started with the simulator: it waits for the stream
        "monitor", "--stream", unique_name, "--feed-port", "0", "--quiet", "--resolve-timeout", "60"
    )
    client = feed_client(monitor_url(mon))
    client.wait(lambda m: m["type"] == "status" and m["rate"] > 0, 10, "samples flowing")
    sim.kill()
    killed_at = pylsl.local_clock()
    lost = client.wait(
        lambda m: m["type"] == "alert" and m["alert"]["kind"] == "signal_lost", 10, "signal_lost"
    )["alert"]
    assert lost["severity"] == "high"
    assert lost["published_at"] - killed_at <= 3.0
    client.wait(lambda m: m["type"] == "status" and not m["connected"], 5, "status: lost")
    again = eegmon("simulate", "--name", unique_name, "--seed", "5")  # same source_id
    again.wait_line("publishing LSL stream")
    back = client.wait(
        lambda m: (
            m["type"] == "alert"
            and m["alert"]["id"] == lost["id"]
            and m["alert"]["ended_at"] is not None
        ),
        20,
        "signal_lost to end when the source is back",
    )["alert"]
    assert back["state"] == "active", "a high alert latches until someone has seen it"
    assert "is back" in back["message"]
    assert back["evidence"]["lost_s"] >= 2.0
    client.send({"type": "ack", "id": lost["id"], "who": "night tech"})
    cleared = client.wait(
        lambda m: (
            m["type"] == "alert"
            and m["alert"]["id"] == lost["id"]
            and m["alert"]["state"] == "cleared"
        ),
        20,
        "signal_lost to clear once acknowledged",
    )["alert"]
    assert cleared["acknowledged_by"] == "night tech"
    assert mon.process.poll() is None, "the monitor must never exit on a lost stream"
    assert mon.stop(signal.SIGTERM) == 0


def test_any_labelled_lsl_outlet_with_a_real_recording(
    eegmon, feed_client, unique_name: str, test_data: Path
) -> None:
    """A plain pylsl outlet (not ours) replays real EEG; a channel goes flat on purpose."""
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(test_data / "eegmmidb_S001" / "S001R01.edf", verbose="error")
    rate = float(raw.info["sfreq"])
    data = (raw.get_data() * 1e6).astype(np.float32)  # volts → µV
    labels = [name.strip(".") for name in raw.ch_names]
    flat_channel = labels.index("Cz")
    flat_from, flat_to = int(4 * rate), int(12 * rate)
    data[flat_channel, flat_from:flat_to] = data[flat_channel, flat_from]

    info = pylsl.StreamInfo(unique_name, "EEG", len(labels), rate, "float32", f"edf-{unique_name}")
    channels = info.desc().append_child("channels")
    for label in labels:
        channels.append_child("channel").append_child_value("label", label)
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()

    def play() -> None:
        t0, sent = pylsl.local_clock(), 0
        while not stop.is_set() and sent < data.shape[1]:
            due = min(int((pylsl.local_clock() - t0) * rate), data.shape[1])
            if due > sent:
                stamps = (t0 + np.arange(sent, due) / rate).tolist()
                outlet.push_chunk(np.ascontiguousarray(data[:, sent:due].T), stamps)
                sent = due
            stop.wait(0.02)

    mon = eegmon("monitor", "--stream", unique_name, "--feed-port", str(free_port()), "--quiet")
    player = threading.Thread(target=play, daemon=True)
    try:
        client = feed_client(monitor_url(mon))
        player.start()
        hello = client.wait(lambda m: m["type"] == "hello", 10, "hello")
        assert hello["stream"]["labels"] == labels
        assert hello["stream"]["rate"] == rate
        flat = client.wait(
            lambda m: m["type"] == "alert" and m["alert"]["kind"] == "flatline", 20, "flatline"
        )["alert"]
        assert flat["channels"] == ["Cz"]
        traces = client.wait(lambda m: m["type"] == "traces", 5, "traces")
        assert len(traces["data"]) == len(labels)
    finally:
        stop.set()
        player.join(timeout=5)
