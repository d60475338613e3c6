"""Archive scan on Dask: real-time factor on 1 and 2 workers, scaling, memory per worker.

- rtf: seconds of EEG per wall second of `scan_archive` (alerts only, as
  ``eegmon scan`` without ``--out``; on 2 workers also with the reports'
  per-epoch series, as with ``--out``) over a folder of
  generated 19 ch @ 256 Hz sleep recordings (15 min each, one task per file),
  in this process (no Dask) and on an embedded LocalCluster of 1 and 2
  worker processes (started and warmed up before the clock runs); median of
  `REPEATS` runs. Scaling efficiency = rtf(2) / (2 × rtf(1)). Beside it,
  seconds of EEG per CPU second of the scans (`rtf_per_cpu_s`), which other
  work on a shared machine does not change, and the load average then.
- memory: peak RSS (VmHWM) of each of 2 workers after scanning segments at
  the start and at the end of a 2 GB EDF (57 h), with the default detector
  (so a 43 min warm-up per segment): chunked reading keeps it flat.
- split cost: extra signal analysed for warm-ups when a 2 GB file is cut into
  the default 4 h segments.
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.files import BIG_BYTES, write_big_edf, write_sleep_edf
from detector import DetectorConfig
from streamer.offline.archive import SEGMENT_S, overlap_s, plan_spans, scan_archive, scan_segment
from streamer.offline.scan import Span
from streamer.recordings.files import content_id, open_recording

FILES, FILE_S, REPEATS = 8, 900.0, 2
#: Own span of each segment read in the memory run (the warm-up comes on top).
MEMORY_SPAN_S = 600.0


Row = dict[str, Any]


def _peak_rss_mib() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line.split()[1] for line in status if line.startswith("VmHWM"))) / 1024


def _warm(client: Any) -> None:
    """Import the scan on every worker before timing (a fresh worker takes seconds)."""
    client.run(lambda: __import__("streamer.offline.scan"))


def _cluster(workers: int) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)  # type: ignore[no-untyped-call]
    _warm(client)
    return cluster, client


def _rtf(
    files: list[str], config: DetectorConfig, client: Any, series: bool = False
) -> tuple[float, float]:
    """Median real-time factor per wall second, and per CPU second of the scans."""
    rates, per_cpu = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        outcomes = scan_archive(files, config, client=client, series=series)
        wall = time.perf_counter() - started
        scans = [o.scan for o in outcomes if o.scan is not None]
        assert len(scans) == len(files), [o.failure for o in outcomes]
        signal = sum(s.duration_s for s in scans)
        rates.append(signal / wall)
        per_cpu.append(signal / sum(s.cpu_s for s in scans))
    return statistics.median(rates), statistics.median(per_cpu)


def _rtf_row(what: str, workers: int | str, eeg_s: float, rtf: tuple[float, float]) -> Row:
    return {
        "what": what,
        "workers": workers,
        "eeg_s": eeg_s,
        "rtf": rtf[0],
        "rtf_per_cpu_s": rtf[1],
        "load_avg": os.getloadavg()[0],
    }


def _rtf_rows(folder: Path, config: DetectorConfig) -> list[Row]:
    """Real-time factors in this process and on 1 and 2 workers, and the scaling."""
    files = [
        str(write_sleep_edf(folder / f"night{i}.edf", 19, 256.0, FILE_S)) for i in range(FILES)
    ]
    eeg_s = FILES * FILE_S
    rows = [_rtf_row("rtf", "in-process", eeg_s, _rtf(files, config, None))]
    by_workers = {}
    for workers in (1, 2):
        cluster, client = _cluster(workers)
        try:
            by_workers[workers] = _rtf(files, config, client)
            if workers == 2:
                with_reports = _rtf(files, config, client, series=True)
        finally:
            client.close()
            cluster.close()
        rows.append(_rtf_row("rtf", workers, eeg_s, by_workers[workers]))
    rows.append(_rtf_row("rtf with reports' series", 2, eeg_s, with_reports))
    one, two = by_workers[1][0], by_workers[2][0]
    rows.append(
        {"what": "scaling 1 -> 2 workers", "speedup": two / one, "efficiency": two / (2 * one)}
    )
    return rows


def _split_row(n_samples: int, rate: float, config: DetectorConfig) -> Row:
    """Extra signal analysed for the warm-ups of a file cut into the default segments."""
    duration = n_samples / rate
    spans = plan_spans(n_samples, rate, config, SEGMENT_S)
    analysed = sum((min(s.stop, duration) - s.start) + min(s.warmup, s.start) for s in spans)
    return {
        "what": "split 2 GB into segments",
        "eeg_s": duration,
        "segments": len(spans),
        "warmup_s": overlap_s(config),
        "extra_analysed": analysed / duration - 1,
    }


def _memory_row(big: Path, n_samples: int, rate: float, config: DetectorConfig) -> Row:
    """Peak RSS of 2 workers scanning a segment at the start and one at the end of `big`."""
    duration = n_samples / rate
    source_id = content_id(big)
    warmup = plan_spans(n_samples, rate, config, SEGMENT_S)[1].warmup
    picks = [
        Span(warmup, warmup + MEMORY_SPAN_S, warmup),
        Span(duration - MEMORY_SPAN_S, float("inf"), warmup),
    ]
    cluster, client = _cluster(2)
    try:
        started = time.perf_counter()
        futures = [
            client.submit(scan_segment, str(big), str(big), config, span, source_id, pure=False)
            for span in picks
        ]
        results = [f.result() for f in futures]
        wall = time.perf_counter() - started
        peaks = client.run(_peak_rss_mib)
    finally:
        client.close()
        cluster.close()
    analysed_s = sum(r.analysed_s for r in results)
    return {
        "what": "2 GB file: peak RSS per worker",
        "MB_file": round(big.stat().st_size / 1e6),
        "eeg_s": duration,
        "analysed_s": analysed_s,
        "rtf": analysed_s / wall,
        "peak_rss_MiB": round(max(peaks.values()), 1),
        "peak_rss_MiB_each": sorted(round(v, 1) for v in peaks.values()),
    }


def run() -> list[Row]:
    config = DetectorConfig()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = _rtf_rows(folder, config)
        big = write_big_edf(folder / "big.edf", BIG_BYTES)
        with open_recording(big) as recording:
            n_samples, rate = recording.n_samples, recording.rate
        rows.append(_split_row(n_samples, rate, config))
        rows.append(_memory_row(big, n_samples, rate, config))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    return [
        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
        | {k: None for k in columns if k not in row}
        for row in rows
    ]


def summary(rows: list[Row]) -> str:
    rtf = {r["workers"]: r["rtf"] for r in rows if r["what"] == "rtf"}
    reports = next(r for r in rows if r["what"].startswith("rtf with"))
    per_cpu = {r["workers"]: r["rtf_per_cpu_s"] for r in rows if r["what"] == "rtf"}
    scaling = next(r for r in rows if r["what"].startswith("scaling"))
    split = next(r for r in rows if r["what"].startswith("split"))
    memory = next(r for r in rows if "RSS" in r["what"])
    archive_s = 5e12 / (19 * 256 * 2)  # 5 TB of 16-bit EDF, 19 ch @ 256 Hz
    cpu_days = archive_s / per_cpu[1] / 86400
    return (
        f"19 ch @ 256 Hz: {rtf['in-process']:.0f}x real time in-process, "
        f"{rtf[1]:.0f}x on 1 worker, {rtf[2]:.0f}x on 2 (speedup {scaling['speedup']:.2f}, "
        f"efficiency {scaling['efficiency']:.0%}), {reports['rtf']:.0f}x on 2 with the reports' "
        f"series; per CPU second {per_cpu[1]:.0f}x; "
        f"2 GB file: {split['segments']} segments, {split['extra_analysed']:.0%} extra signal "
        f"for warm-ups, peak {memory['peak_rss_MiB']:g} MiB per worker; 5 TB: "
        f"{cpu_days:.0f} CPU-days, {archive_s / rtf[2] / 86400:.0f} days on these 2 workers"
    )
