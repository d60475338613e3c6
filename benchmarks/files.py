"""Recorded files: scan speed, scan memory, recording throughput, fastest lossless replay.

- scan: real-time factor (file seconds / wall seconds, one thread) of `scan_recording`
  on generated sleep EEG files, median of 3 runs, without the report's series;
- memory: peak RSS of a child process that scans a file, for files of growing
  length (bounded means it does not grow), and of one that reads a 2 GB EDF
  through the chunked reader the scan uses;
- record: samples per second the EDF+ recorder writes (convert, write, fsync);
- replay: the highest ``eegmon replay --speed`` at which a live ``eegmon monitor``
  receives and analyses every sample of a real 64-channel recording (none
  dropped, none skipped to catch up).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from detector.types import Block, StreamMeta
from protocol.feed import MAX_SERVER_MESSAGE
from simulators import SleepEEG, montage
from streamer.offline.scan import scan_recording
from streamer.recordings.edf_file import EdfFile as _EdfFile
from streamer.recordings.edf_file import RecordLayout as _Layout
from streamer.recordings.files import open_recording
from streamer.recordings.recorder import Recorder

ROOT = Path(__file__).resolve().parents[1]
SCAN_CONFIGS = [(19, 256.0), (64, 160.0)]
SCAN_SECONDS = 300.0
BIG_BYTES = 2 << 30


def write_sleep_edf(path: Path, n_channels: int, rate: float, seconds: float) -> Path:
    """Simulated sleep EEG written by the recorder (0.1 µV steps, like a recording)."""
    labels = montage(n_channels).labels
    source = SleepEEG(labels, rate, seed=3)
    recorder = Recorder(path, StreamMeta("bench", "bench", labels, rate), queue_blocks=1 << 16)
    step = round(rate * 10)
    for first in range(0, round(seconds * rate), step):
        data = source.generate(step)
        recorder.block(Block(data, (first + np.arange(step)) / rate, first))
    recorder.close()
    return path


def scan_rtf(path: Path) -> tuple[float, float]:
    walls = []
    for _ in range(3):
        with open_recording(path) as rec:
            # the detector alone: `eegmon scan --no-staging` without --out
            result = scan_recording(rec, str(path), series=False)
        walls.append(result.wall_s)
    return result.duration_s, result.duration_s / statistics.median(walls)


def child_peak_rss_mb(code: str) -> tuple[float, str]:
    """Run `code` in a fresh interpreter; its peak RSS (MiB, VmHWM) and its stdout.

    VmHWM belongs to the new program; getrusage's maxrss would carry the
    parent's peak over fork and exec.
    """
    peak = (
        "\nfrom pathlib import Path"
        "\nprint(next(ln.split()[1] for ln in Path('/proc/self/status').read_text().splitlines()"
        " if ln.startswith('VmHWM')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code + peak],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    *out, rss_kib = done.stdout.split()
    return int(rss_kib) / 1024, " ".join(out)


def write_big_edf(path: Path, size: int) -> Path:
    """A 19 ch @ 256 Hz EDF of about `size` bytes: one random record repeated (fast to write)."""
    layout = _Layout(False, 19, 256, 1.0, 3276.7)
    meta = StreamMeta("big", "big", montage(19).labels, 256.0)
    edf = _EdfFile(path, layout, meta, datetime.now())
    record = np.random.default_rng(0).integers(-3000, 3000, (19, 256)).astype(np.int32)
    n = size // (19 * 256 * 2 + 512)
    for i in range(n):
        edf.write_record(record, f"+{i}\x14\x14\x00".encode())
    edf.close()
    return path


def record_rate() -> dict[str, Any]:
    n_channels, rate, seconds = 64, 1000.0, 120.0
    labels = tuple(f"C{i}" for i in range(n_channels))
    data = (np.random.default_rng(0).standard_normal((n_channels, round(rate))) * 30).astype(
        np.float32
    )
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Recorder(
            Path(tmp) / "rate.edf", StreamMeta("r", "r", labels, rate), queue_blocks=1 << 16
        )
        started = time.perf_counter()
        for s in range(int(seconds)):
            first = s * round(rate)
            recorder.block(Block(data, (first + np.arange(data.shape[1])) / rate, first))
        recorder.close()
        wall = time.perf_counter() - started
        size = recorder.path.stat().st_size
    return {
        "what": "record",
        "stream": f"{n_channels} ch @ {rate:g} Hz",
        "seconds": seconds,
        "rtf": round(seconds / wall, 1),
        "MB_per_s": round(size / wall / 1e6, 1),
    }


def replay_without_loss(source: Path, speed: str) -> dict[str, Any]:
    """One replay into a real monitor; did every sample arrive?"""
    name = f"bench-replay-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open_recording(source) as rec:
        total = rec.n_samples
    player = subprocess.Popen(
        [sys.executable, "-m", "eegmon", "replay", str(source), "--speed", speed, "--name", name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    monitor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eegmon",
            "monitor",
            "--stream",
            name,
            "--feed-port",
            "0",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        url = ""
        for line in monitor.stdout or []:
            if "feed at " in line:
                url = line.split("feed at ")[1].strip()
                break
        from websockets.sync.client import connect

        status: dict[str, Any] = {}
        started = time.monotonic()
        with connect(url, open_timeout=10, max_size=MAX_SERVER_MESSAGE) as ws:
            while time.monotonic() - started < 300:
                message = json.loads(ws.recv(timeout=30))
                if message["type"] == "status":
                    status = message
                    if status["samples"] + status["samples_dropped"] >= total or (
                        not status["connected"]
                    ):
                        break
        return {
            "what": "replay",
            "speed": speed,
            "received": status.get("samples"),
            "of": total,
            "dropped": status.get("samples_dropped"),
            "skipped_s": status.get("skipped_s"),
            "lossless": status.get("samples") == total
            and status.get("samples_dropped") == 0
            and not status.get("skipped_s"),
        }
    finally:
        for process in (monitor, player):
            process.terminate()
            process.wait(10)


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n_channels, rate in SCAN_CONFIGS:
            path = write_sleep_edf(
                folder / f"sleep{n_channels}.edf", n_channels, rate, SCAN_SECONDS
            )
            duration, rtf = scan_rtf(path)
            rows.append(
                {
                    "what": "scan",
                    "stream": f"{n_channels} ch @ {rate:g} Hz",
                    "seconds": duration,
                    "rtf": round(rtf, 1),
                }
            )
        for minutes in (5, 20):
            path = write_sleep_edf(folder / f"long{minutes}.edf", 19, 256.0, minutes * 60.0)
            rss, _ = child_peak_rss_mb(
                "from streamer.offline.allocator import retain_freed_memory\n"
                "from streamer.recordings.files import open_recording\n"
                "from streamer.offline.scan import scan_recording\n"
                "retain_freed_memory()\n"
                f"rec = open_recording({str(path)!r})\n"
                f"scan_recording(rec, {str(path)!r})"
            )
            rows.append(
                {
                    "what": "scan peak RSS",
                    "stream": "19 ch @ 256 Hz",
                    "seconds": minutes * 60.0,
                    "MB_file": round(path.stat().st_size / 1e6, 1),
                    "peak_rss_MiB": round(rss, 1),
                }
            )
        big = write_big_edf(folder / "big.edf", BIG_BYTES)
        started = time.perf_counter()
        rss, samples = child_peak_rss_mb(
            "from streamer.recordings.files import open_recording\n"
            f"rec = open_recording({str(big)!r})\n"
            "print(sum(d.shape[1] for _, d in rec.blocks(10.0)))"
        )
        wall = time.perf_counter() - started
        rows.append(
            {
                "what": "read 2 GB peak RSS",
                "stream": "19 ch @ 256 Hz",
                "seconds": int(samples) / 256.0,
                "MB_file": round(big.stat().st_size / 1e6, 1),
                "peak_rss_MiB": round(rss, 1),
                "MB_per_s": round(big.stat().st_size / wall / 1e6, 1),
            }
        )
        big.unlink()
    rows.append(record_rate())
    data = Path(os.environ.get("EEGMON_TEST_DATA", ROOT.parent / "shared" / "data"))
    source = data / "eegmmidb_S001" / "S001R03.edf"
    if source.exists():
        for speed in ("10", "25", "50", "100", "max"):
            rows.append(replay_without_loss(source, speed))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    return [{key: row.get(key) for key in columns} for row in rows]


def summary(rows: list[dict[str, Any]]) -> str:
    scans = ", ".join(f"{r['stream']}: {r['rtf']:g}x" for r in rows if r["what"] == "scan")
    lossless = [r["speed"] for r in rows if r["what"] == "replay" and r["lossless"]]
    memory = [r for r in rows if "RSS" in r["what"]]
    peaks = ", ".join(f"{r['MB_file']:g} MB file: {r['peak_rss_MiB']:g} MiB" for r in memory)
    return (
        f"scan real-time factor {scans}; peak memory {peaks}; "
        f"lossless replay speeds: {', '.join(lossless) or 'none'}"
    )
