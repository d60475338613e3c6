"""evaluate and --model-state on real processes; the monitor's bounded latency on real LSL."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import numpy as np
import pylsl
import pytest

from detector import Detector
from streamer.live.acquisition import Acquisition
from streamer.live.lsl import Selector, resolve
from streamer.live.monitor import Monitor
from tests.support import wait_for


@pytest.mark.slow
def test_evaluate_prints_eegmon_and_baseline_per_kind(eegmon, test_data, tmp_path: Path):
    edf = test_data / "eegmmidb_S001" / "S001R01.edf"
    events = tmp_path / "events.tsv"
    events.write_text("onset\tduration\ttrial_type\tchannels\n20\t5\tflatline\tCz\n")
    out = tmp_path / "rows.json"
    proc = eegmon("evaluate", str(edf), "--events", str(events), "--json", str(out))
    assert proc.process.wait(120) == 0, "\n".join(proc.lines)
    proc.stop()
    assert any(line.startswith("flatline         eegmon") for line in proc.lines)
    rows = json.loads(out.read_text())
    flat = {r["who"]: r for r in rows if r["kind"] == "flatline"}
    assert flat["eegmon"]["events"] == flat["baseline"]["events"] == 1
    assert flat["eegmon"]["sensitivity"] == 0.0  # nothing is flat in this recording


def test_evaluate_refuses_mismatched_events(eegmon, tmp_path: Path):
    proc = eegmon("evaluate", "a.edf", "b.edf", "--events", str(tmp_path / "x.tsv"))
    assert proc.process.wait(30) == 2
    proc.stop()
    assert proc.lines == ["eegmon: error: give one --events per file (2 files, 1 --events)"]


@pytest.mark.slow
def test_model_state_is_saved_at_exit_and_loaded_by_the_next_monitor(
    eegmon, unique_name: str, tmp_path: Path
):
    state = tmp_path / "bed1.state"
    # Both simulators and the first monitor start together (the monitor waits for its stream).
    eegmon("simulate", "--name", unique_name, "--seed", "4", "--channels", "8")
    eegmon("simulate", "--name", unique_name + "-b", "--seed", "9", "--channels", "8")
    args = ("monitor", "--stream", unique_name, "--feed-port", "0", "--quiet")
    first = eegmon(
        "monitor", "--stream", unique_name, "--feed-port", "0", "--status-every", "0.5",
        "--model-state", str(state), "--resolve-timeout", "60",
    )  # fmt: skip
    first.wait_line("no model state at")
    wait_for(
        lambda: sum(" rate " in line for line in first.lines) >= 4, 20, "a few seconds monitored"
    )
    assert first.stop(signal.SIGTERM) == 0
    with np.load(state, allow_pickle=False) as npz:  # data, never a pickle
        saved = json.loads(npz["meta"].tobytes())["detector"]
    assert saved["labels"]
    assert saved["learned"] > 0
    # Started together: a monitor saves its state only every minute and at exit.
    second = eegmon(*args, "--model-state", str(state))
    third = eegmon(
        "monitor", "--stream", unique_name + "-b", "--feed-port", "0", "--quiet",
        "--model-state", str(state),
    )  # fmt: skip
    line = second.wait_line("model state loaded from")
    assert f"({saved['learned']} windows learned)" in line
    assert "source_id" in third.wait_line("not used")


def test_monitor_behind_real_time_analyses_the_newest_signal(unique_name: str):
    rate, n_ch, seconds = 250.0, 4, 30
    info = pylsl.StreamInfo(unique_name, "EEG", n_ch, rate, "float32", "lag-test")
    outlet = pylsl.StreamOutlet(info, chunk_size=25)
    acquisition = Acquisition(resolve(Selector("name", unique_name), timeout=5))
    wait_for(outlet.have_consumers, 5, "the inlet to connect")
    rng = np.random.default_rng(0)
    n = round(seconds * rate)
    t0 = pylsl.local_clock() - seconds  # 30 s of signal that is already late
    outlet.push_chunk(
        rng.normal(scale=20.0, size=(n, n_ch)).astype(np.float32),
        (t0 + np.arange(n) / rate).tolist(),
    )
    messages: list[dict] = []
    monitor = Monitor(
        acquisition, Detector(acquisition.meta), publish=messages.append, status_interval=0.2
    )
    stop = threading.Event()
    thread = threading.Thread(target=monitor.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: acquisition.stats.samples >= n, 10, "every sample received")
        wait_for(
            lambda: any(m["type"] == "status" and m["samples"] >= n for m in messages), 5, "status"
        )
    finally:
        stop.set()
        thread.join(5)
        acquisition.close()
    status = [m for m in messages if m["type"] == "status"][-1]
    assert status["skipped_s"] >= seconds - 4.0  # all but the newest seconds were skipped
    assert monitor.windows <= 10
    assert status["work_p50_s"] is not None
    assert status["work_p50_s"] < 0.5
    alerts = [m["alert"]["kind"] for m in messages if m["type"] == "alert"]
    assert "samples_dropped" not in alerts  # skipped is not missing
