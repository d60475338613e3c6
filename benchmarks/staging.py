"""Sleep staging: what staging live (causally) costs against YASA offline, and its CPU cost.

On each recording with an expert hypnogram, agreement (accuracy, Cohen's
kappa) with the experts of: YASA offline (``yasa.SleepStaging`` on the whole
recording, `staging.whole`: the hypnogram a scan reports), the live
stager's final stages, and its live stages (each epoch as first shown);
the largest delay from an epoch's end to its first stage; and
the CPU time of live staging per epoch, fed in 1 s blocks as a stream
would. Recordings: the DREAMS excerpts 2, 4, 6, 8 (30 min each, CZ-A1,
expert hypnograms) and the YASA snippets long enough for an epoch. The
pooled DREAMS row is also given without each excerpt's first 10 minutes,
where the live scaling has seen little of the night: in a whole night they
are a small part, in a 30 min excerpt a third.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaluation.hypnogram import read_hypnogram
from staging import LiveStager, accuracy, cohen_kappa, stage_recording
from staging.whole import stage_whole

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DREAMS_EXCERPTS = (2, 4, 6, 8)
DREAMS_SECONDS = 1800.0
BLOCK_S = 1.0
#: The first 10 minutes, where the robust scaling has seen little of the night.
WARM_UP_EPOCHS = 20


#: A recording to stage: name, data (channels, samples) in µV, labels, rate, expert stages.
Recording = tuple[str, NDArray[np.float32], list[str], float, list[str | None]]
#: A DREAMS excerpt: data, rate, labels, expert stages.
Excerpt = tuple[NDArray[np.float32], float, list[str], list[str | None]]


def read_dreams(folder: Path, excerpt: int) -> Excerpt:
    """A DREAMS excerpt: data (1, samples) in µV, rate, labels, and the expert's 30 s stages."""
    path = folder / "dreams_spindles" / f"excerpt{excerpt}.txt"
    label = path.read_text().split("\n", 1)[0].strip("[] ")
    values = np.loadtxt(path, skiprows=1, dtype=np.float32)
    expert = read_hypnogram(folder / "dreams_spindles" / f"Hypnogram_excerpt{excerpt}.txt")
    rate = len(values) / DREAMS_SECONDS  # the recordings' README: from its length
    return values[None, :], rate, [label], expert


def live_cost(data: NDArray[np.float32], labels: list[str], rate: float) -> tuple[float, float]:
    """CPU ms per epoch of live staging in 1 s blocks (to the end), and the slowest block's ms."""
    stager = LiveStager(labels, rate)
    block = round(BLOCK_S * rate)
    slowest = 0.0
    started = time.process_time()
    for first in range(0, data.shape[1], block):
        before = time.process_time()
        stager.add(first, data[:, first : first + block])
        slowest = max(slowest, time.process_time() - before)
    stager.finish()
    total = time.process_time() - started
    epochs = data.shape[1] / rate / 30
    return 1000 * total / epochs, 1000 * slowest


def compare(
    name: str, data: NDArray[np.float32], labels: list[str], rate: float, expert: list[str | None]
) -> tuple[dict[str, Any], list[tuple[str, str, str, str]]]:
    """One benchmark row, and the (expert, YASA, final, live) stage of each scored epoch."""
    stages = stage_recording(data, labels, rate)
    offline = [epoch.stage for epoch in stage_whole(data, labels, rate)]
    scored = [
        (stage, offline[i], stages.final[i].stage, stages.live[i].stage)
        for i, stage in enumerate(expert[: len(stages.final)])
        if stage is not None
    ]
    per_epoch_ms, slowest_ms = live_cost(data, labels, rate)
    delays = [e.staged_at_s - e.onset_s - 30 for e in stages.live]
    row = {"recording": name, **_agreement(scored)}
    row |= {"max_delay_s": round(max(delays), 1), "cpu_ms_per_epoch": round(per_epoch_ms, 1)}
    row["slowest_block_ms"] = round(slowest_ms, 1)
    return row, scored


def _agreement(scored: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    expert = [epoch[0] for epoch in scored]
    row: dict[str, Any] = {"epochs": len(scored)}
    for column, name in ((1, "yasa"), (2, "final"), (3, "live")):
        found = [epoch[column] for epoch in scored]
        row[f"{name}_acc"] = round(100 * accuracy(expert, found), 1)
        row[f"{name}_kappa"] = round(cohen_kappa(expert, found), 3) if len(scored) > 1 else None
    return row


def snippets(
    folder: Path,
) -> list[tuple[str, NDArray[np.float32], list[str], float, list[str | None]]]:
    """The YASA snippets of at least one epoch, with the stage their names give them."""
    import mne

    found: list[Recording] = []
    n3 = np.loadtxt(folder / "yasa" / "data_N3_no-spindles_30sec_100Hz.txt", dtype=np.float32)
    found.append(("yasa N3 30 s", n3[None, :], ["EEG"], 100.0, ["N3"]))
    raw = mne.io.read_raw_fif(folder / "yasa" / "data_resting_EO_200Hz_raw.fif", verbose=False)
    resting = (raw.get_data() * 1e6).astype(np.float32)
    epochs = int(resting.shape[1] / raw.info["sfreq"] // 30)
    found.append(
        ("yasa resting EO", resting, list(raw.ch_names), raw.info["sfreq"], ["W"] * epochs)
    )
    return found


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    pooled: list[tuple[str, str, str, str]] = []
    settled: list[tuple[str, str, str, str]] = []
    for excerpt in DREAMS_EXCERPTS:
        data, rate, labels, expert = read_dreams(DATA, excerpt)
        row, scored = compare(f"DREAMS excerpt{excerpt}", data, labels, rate, expert)
        rows.append(row)
        pooled += scored
        settled += [epoch for i, epoch in enumerate(scored) if i >= WARM_UP_EPOCHS]
    rows.append({"recording": "DREAMS pooled", **_agreement(pooled)})
    rows.append({"recording": f"DREAMS pooled, epochs >= {WARM_UP_EPOCHS}", **_agreement(settled)})
    for name, data, labels, rate, expert in snippets(DATA):
        rows.append(compare(name, data, labels, rate, expert)[0])
    return rows


if __name__ == "__main__":
    for result in run():
        print(result)
