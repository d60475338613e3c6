"""`eegmon monitor --record` as a real process: killed with -9, and unable to write."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pylsl
import pytest

from streamer.recordings.files import open_recording
from tests.support import ROOT, FeedProbe, replay_into_monitor, wait_for

pytestmark = pytest.mark.slow


def test_kill_9_while_recording_loses_at_most_2_s(
    eegmon, unique_name: str, tmp_path: Path, test_data: Path
) -> None:
    import edfio
    import mne

    source = test_data / "eegmmidb_S001" / "S001R03.edf"
    path = tmp_path / "night.edf"
    _, monitor, t0 = replay_into_monitor(  # real time
        eegmon, source, unique_name, [], ["--record", str(path)]
    )
    header, record = 256 * 66, 64 * 160 * 2 + 512
    wait_for(
        lambda: path.exists() and path.stat().st_size >= header + 4 * record, 30, "4 s recorded"
    )
    killed_at = pylsl.local_clock()
    monitor.kill()

    with open_recording(path) as rec:
        assert "record count is -1" in rec.warnings[0]
        data = rec.read(0, rec.n_samples)
        note = rec.annotations[0].text
    first = float(note.rsplit("stream time ", 1)[1])  # stream time of the recording's first sample
    recorded_until = first + data.shape[1] / 160.0
    assert killed_at - recorded_until <= 2.0, f"{killed_at - recorded_until:.2f} s lost"
    with open_recording(source) as original:
        offset = round((first - t0) * 160.0)
        expected = original.read(offset, offset + data.shape[1])
    inside = np.abs(expected) < 3276.7
    np.testing.assert_allclose(data[inside], expected[inside], atol=0.051)  # as received, 0.1 µV
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_edf(path, verbose="error")
        edf = edfio.read_edf(path)
    assert raw.n_times == data.shape[1]
    assert edf.num_data_records * 160 == data.shape[1]
    np.testing.assert_allclose(raw.get_data() * 1e6, data, atol=1e-3)


def limited(limit: int) -> None:
    """In the child: files may not grow beyond `limit` bytes (EFBIG instead of SIGXFSZ)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_file_that_cannot_grow_raises_recording_failed_and_monitoring_goes_on(
    eegmon, unique_name: str, tmp_path: Path
) -> None:
    eegmon("simulate", "--name", unique_name, "--seed", "2").wait_line("publishing LSL stream")
    path = tmp_path / "night.edf"
    header, record = 256 * 20, 19 * 256 * 2 + 512
    args = [
        "monitor",
        "--stream",
        unique_name,
        "--feed-port",
        "0",
        "--record",
        str(path),
        "--quiet",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "eegmon", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: limited(header + 4 * record + 100),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    client = None
    try:
        url = wait_for(
            lambda: next(
                (ln.split("feed at ")[1].strip() for ln in lines if "feed at " in ln), None
            ),
            30,
            "feed",
        )
        client = FeedProbe(url)
        failed = client.wait(
            lambda m: m["type"] == "alert" and m["alert"]["kind"] == "recording_failed",
            20,
            "recording_failed",
        )["alert"]
        assert failed["severity"] == "high"
        assert "File too large" in failed["message"]
        assert "monitoring goes on" in failed["message"]
        seen = len(client.messages)
        later = client.wait(
            lambda m: m["type"] == "status" and client.messages.index(m) > seen and m["rate"] > 0,
            10,
            "samples still processed after the failure",
        )
        assert later["recording"]["state"] == "failed"
        assert process.poll() is None
    finally:
        if client is not None:
            client.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
        reader.join(5)
    with open_recording(path) as rec:  # what was written before the failure is intact
        assert rec.n_samples >= 3 * 256
        assert "record count is -1" in rec.warnings[0]
