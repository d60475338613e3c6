"""Bonn EEG segments joined into one EDF: normal EEG with ictal segments among it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation.corpus import BONN_RATE, _join

#: Samples of a 100 s EDF data record at Bonn's rate.
RECORD = round(100 * BONN_RATE)
#: Each join cross-fades 0.5 s.
FADE = round(0.5 * BONN_RATE)


def write_bonn_edf(
    path: Path, data: Path, ictal_after: list[int], normal: int
) -> list[tuple[float, float]]:
    """`normal` Z segments, an S segment after each index in `ictal_after`; the seizures' spans (s).

    Z has 50 segments, taken again in turn for longer files; the file is cut
    to whole 100 s records (what EDF needs at 173.61 Hz).
    """
    import edfio

    zs = [np.loadtxt(p) for p in sorted((data / "bonn" / "Z").glob("*.txt"))[:normal]]
    zs = [zs[i % len(zs)] for i in range(normal)]
    ss = [np.loadtxt(p) for p in sorted((data / "bonn" / "S").glob("*.txt"))[: len(ictal_after)]]
    plan: list[np.ndarray] = []
    seizures: list[tuple[float, float]] = []
    at = 0
    for index, segment in enumerate(zs):
        plan.append(segment)
        at += len(segment) - FADE
        if index in ictal_after:
            seizure = ss[len(seizures)]
            seizures.append((at / BONN_RATE, (at + len(seizure) - FADE) / BONN_RATE))
            plan.append(seizure)
            at += len(seizure) - FADE
    signal = _join(plan, BONN_RATE)
    signal = signal[: len(signal) // RECORD * RECORD]
    edf_signal = edfio.EdfSignal(
        signal, sampling_frequency=BONN_RATE, label="ch", physical_dimension="uV"
    )
    edfio.Edf([edf_signal], data_record_duration=100).write(path)
    return [s for s in seizures if s[1] <= len(signal) / BONN_RATE]
