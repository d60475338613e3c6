"""The formats MNE reads (FIF, BrainVision, EEGLAB, CNT, GDF, Persyst, Nihon Kohden, MFF...).

They go through ``mne.io.read_raw(preload=False)``, so samples are read a
chunk at a time. EEG, EOG, ECG, EMG, sEEG and ECoG channels are kept; the
others are listed in `Recording.dropped`.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from streamer.recordings.recording import (
    KEPT_TYPES,
    Annotation,
    FileProblem,
    Recording,
    first_line,
    unique_labels,
)

#: ``.eeg`` alone is Nihon Kohden; BrainVision is opened by ``.vhdr``.
SUFFIXES = (".fif", ".fif.gz", ".vhdr", ".set", ".cnt", ".gdf", ".lay", ".eeg", ".mff", ".cdt")

#: MNE's channel types that we keep, and ours.
_TYPES = {kind.lower(): kind for kind in KEPT_TYPES}


class _MneSource:
    def __init__(self, raw: Any, picks: list[int]) -> None:
        self.raw = raw
        self.picks = picks

    def read(self, start: int, stop: int) -> NDArray[np.float32]:
        volts: NDArray[np.float64] = self.raw.get_data(picks=self.picks, start=start, stop=stop)
        return (volts * 1e6).astype(np.float32)

    def close(self) -> None:
        self.raw.close()


def open_mne(path: Path, suffix: str) -> Recording:
    """Open a file MNE reads; `suffix` (``.fif.gz``...) names its format."""
    import mne

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = mne.io.read_raw(path, preload=False, verbose="error")
    except Exception as exc:  # readers raise anything on a damaged file; one line for the user
        raise FileProblem(path, f"cannot be read ({first_line(exc)})") from None
    types = raw.get_channel_types()
    picks = [i for i, t in enumerate(types) if t in _TYPES]
    dropped = tuple(
        f"{raw.ch_names[i]}: {t} channel" for i, t in enumerate(types) if i not in picks
    )
    if not picks:
        raw.close()
        raise FileProblem(path, "no EEG signal (no EEG, EOG, ECG or EMG channel)")
    if raw.n_times == 0:
        raw.close()
        raise FileProblem(path, "no samples")
    ann = raw.annotations
    origin = raw.first_time if ann.orig_time is not None else 0.0
    annotations = tuple(
        Annotation(float(o) - origin, float(d), str(t))
        for o, d, t in zip(ann.onset, ann.duration, ann.description, strict=True)
    )
    meas = raw.info["meas_date"]
    return Recording(
        path=path,
        format=suffix.lstrip(".").upper(),
        labels=unique_labels([raw.ch_names[i] for i in picks]),
        types=tuple(_TYPES[types[i]] for i in picks),
        rate=float(raw.info["sfreq"]),
        n_samples=int(raw.n_times),
        start_time=meas if isinstance(meas, datetime) else None,
        annotations=annotations,
        dropped=dropped,
        _source=_MneSource(raw, picks),
    )
