"""Recording under fire: kill -9 at random moments, a full disk, a crash while closing.

The outlet's counter channel tells exactly which samples a file holds, so the
loss at a kill is measured in samples, not guessed from file sizes.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from streamer.live.journal import read_journal
from streamer.recordings.files import open_recording
from tests.reliability.harness import (
    COUNTER_WRAP,
    CounterOutlet,
    decode_counter,
    last_status,
    samples,
    scaled,
    wait_alert,
)
from tests.support import wait_for

pytestmark = pytest.mark.slow

RATE = 256.0


def readable_everywhere(path: Path) -> tuple[np.ndarray, int]:
    """The recording as our reader sees it, after MNE and edfio read it the same."""
    import edfio
    import mne

    with open_recording(path) as rec:
        data = rec.read(0, rec.n_samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_edf(path, verbose="error")
        edf = edfio.read_edf(path)
    assert raw.n_times == data.shape[1]
    assert edf.num_data_records * int(RATE) == data.shape[1]
    np.testing.assert_allclose(raw.get_data(picks=[0])[0] * 1e6, data[0], atol=1e-3)
    return data, edf.num_data_records


def recorded_counter(data: np.ndarray) -> np.ndarray:
    """The counter channel of a recording, without the zeros padding its last record."""
    counter = decode_counter(data[0])
    return counter[: len(np.trim_zeros(counter, "b"))]


def test_kill_9_at_random_moments_loses_at_most_2_s(
    eegmon, unique_name: str, tmp_path: Path, figures
) -> None:
    """The monitor is killed with SIGKILL while recording, again and again."""
    kills = int(scaled(3, 20))
    rng = random.Random(4)
    figures.fault = (
        f"kill -9 of the recording monitor at {kills} random moments (1-{scaled(2.5, 5):g} s in)"
    )
    figures.load = "8 ch × 256 Hz, real time, EDF+ recording"
    outlet = CounterOutlet(unique_name, f"amp-{uuid.uuid4().hex[:6]}").start()

    def recording(n: int):
        path = tmp_path / f"night-{n}.edf"
        args = ["monitor", "--stream", unique_name, "--feed-port", "0", "--quiet"]
        return eegmon(*args, "--record", str(path)), path

    lost_s, sizes = [], []
    upcoming = recording(0)
    for n in range(kills):
        proc, path = upcoming
        proc.wait_line("feed at ", timeout=60)
        wait_for(lambda p=path: p.exists() and p.stat().st_size > 256 * 10, 20, "the header")
        if n + 1 < kills:  # the next monitor starts up (seconds of imports) while this one records
            upcoming = recording(n + 1)
        time.sleep(rng.uniform(1.0, scaled(2.5, 5.0)))
        proc.kill()
        reached = outlet.due()
        data, records = readable_everywhere(path)
        counter = recorded_counter(data)
        assert np.all(np.diff(counter) % COUNTER_WRAP == 1), "a sample missing inside the file"
        behind = (reached - 1 - counter[-1]) % COUNTER_WRAP if len(counter) else reached
        lost_s.append(behind / RATE)
        sizes.append(records)
    outlet.stop()
    figures.update(
        kills=kills,
        lost_s_max=round(max(lost_s), 2),
        lost_s_median=round(float(np.median(lost_s)), 2),
        seconds_in_file=sizes,
    )
    assert max(lost_s) <= 2.0, f"{max(lost_s):.2f} s lost at a kill"


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (root can mount one here; the tests run as root)."""
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_disk_full_raises_recording_failed_and_monitoring_goes_on(
    monitor, unique_name: str, tmp_path: Path, figures
) -> None:
    """Recording and alert journal on a 16 KiB filesystem that fills within seconds."""
    figures.fault = "recording and alert journal on a 16 KiB tmpfs (full after about 3 s of signal)"
    figures.load = "8 ch × 256 Hz, real time"
    outlet = CounterOutlet(unique_name, f"amp-{uuid.uuid4().hex[:6]}").start()
    with small_disk(tmp_path / "disk", "16k") as disk:
        proc, client = monitor(
            unique_name, "--record", str(disk / "night.edf"), "--alerts", str(disk / "a.jsonl")
        )
        failed = wait_alert(client, "recording_failed", "raised", 30)
        at = samples(client)
        wait_for(lambda: samples(client) > at + 2 * 256, 10, "samples after the failure")
        status = last_status(client)
        figures.update(
            message=failed["message"],
            recording_state=status["recording"]["state"],
            rate_after=round(status["rate"], 1),
        )
        assert failed["severity"] == "high"
        assert "No space left" in failed["message"]
        assert status["recording"]["state"] == "failed"
        assert status["connected"]
        assert proc.stop(signal.SIGINT) == 0, "\n".join(proc.lines[-30:])
        with open_recording(disk / "night.edf") as rec:  # what fitted is intact
            assert rec.n_samples >= RATE
        seqs = [r["seq"] for r in read_journal(disk / "a.jsonl")]  # what fitted, in order
        assert seqs == sorted(set(seqs)), f"journal sequence out of order or repeated: {seqs}"
    outlet.stop()


def test_a_crash_while_closing_leaves_a_readable_file(
    eegmon, unique_name: str, tmp_path: Path, figures
) -> None:
    """SIGINT starts a clean stop; SIGKILL lands while the recording is being closed."""
    crashes = int(scaled(1, 10))
    rng = random.Random(5)
    figures.fault = f"SIGKILL 0-300 ms after SIGINT, {crashes} times"
    figures.load = "8 ch × 256 Hz, real time, EDF+ recording"
    outlet = CounterOutlet(unique_name, f"amp-{uuid.uuid4().hex[:6]}").start()
    kept = []
    for n in range(crashes):
        path = tmp_path / f"night-{n}.edf"
        proc = eegmon(
            "monitor", "--stream", unique_name, "--feed-port", "0", "--quiet", "--record", str(path)
        )
        proc.wait_line("feed at ", timeout=60)
        wait_for(lambda p=path: p.exists() and p.stat().st_size > 256 * 10 + 2 * 4096, 20, "data")
        proc.process.send_signal(signal.SIGINT)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        data, records = readable_everywhere(path)
        assert np.all(np.diff(recorded_counter(data)) % COUNTER_WRAP == 1)
        kept.append(records)
    outlet.stop()
    figures.update(crashes=crashes, seconds_in_file=kept)
    assert min(kept) >= 1
