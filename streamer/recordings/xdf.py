"""XDF files (LabRecorder's), through pyxdf.

pyxdf has no lazy mode: the EEG stream is loaded whole. The first regular
numeric stream of type EEG (else the first regular numeric one) is the
recording; string streams become its annotations. Channel units are read
by name; a channel without a known unit is taken as microvolts.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from protocol.units import UNIT_TO_UV
from streamer.recordings.recording import (
    KEPT_TYPES,
    Annotation,
    FileProblem,
    Recording,
    first_line,
    unique_labels,
)

SUFFIXES = (".xdf", ".xdfz")


class _ArraySource:
    """Samples already in memory."""

    def __init__(self, data: NDArray[np.float32]) -> None:
        self.data = data

    def read(self, start: int, stop: int) -> NDArray[np.float32]:
        return self.data[:, start:stop].copy()

    def close(self) -> None:
        self.data = np.empty((0, 0), dtype=np.float32)


def _text(info: dict[str, Any], key: str) -> str:
    """An XDF header value: pyxdf nests every value in lists."""
    value = info.get(key)
    while isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


def _regular_numeric(stream: dict[str, Any]) -> bool:
    info = stream["info"]
    rate = float(_text(info, "nominal_srate") or 0)
    return rate > 0 and _text(info, "channel_format") != "string" and len(stream["time_stamps"]) > 0


def _channels(info: dict[str, Any]) -> tuple[list[str], list[float], list[str]]:
    """Labels, factors to µV and types of the stream's channels (defaults where none given)."""
    try:
        channels = info["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        channels = []
    labels, scales, types = [], [], []
    for i in range(int(_text(info, "channel_count"))):
        ch = channels[i] if i < len(channels) else {}
        labels.append(_text(ch, "label") or f"Ch{i + 1}")
        scales.append(UNIT_TO_UV.get(_text(ch, "unit").lower(), 1.0))  # none given: µV
        kind = _text(ch, "type").upper() or "EEG"
        types.append(kind if kind in KEPT_TYPES else "EEG")
    return labels, scales, types


def open_xdf(path: Path) -> Recording:
    """Load an XDF file's EEG stream and its markers."""
    import pyxdf

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            streams, _ = pyxdf.load_xdf(
                str(path), synchronize_clocks=True, dejitter_timestamps=True
            )
    except Exception as exc:  # pyxdf raises anything on a damaged file; one line for the user
        raise FileProblem(path, f"cannot be read as XDF ({first_line(exc)})") from None
    candidates = [s for s in streams if _regular_numeric(s)]
    eeg = [s for s in candidates if _text(s["info"], "type").upper() == "EEG"] or candidates
    if not eeg:
        raise FileProblem(path, "no regular numeric (EEG) stream in the XDF file")
    stream = eeg[0]
    labels, scales, types = _channels(stream["info"])
    data = (
        np.asarray(stream["time_series"], dtype=np.float64).T * np.array(scales)[:, None]
    ).astype(np.float32)
    t0 = float(stream["time_stamps"][0])
    annotations = [
        Annotation(float(stamp) - t0, 0.0, str(values[0]))
        for s in streams
        if _text(s["info"], "channel_format") == "string"
        for stamp, values in zip(s["time_stamps"], s["time_series"], strict=False)
    ]
    return Recording(
        path=path,
        format="XDF",
        labels=unique_labels(labels),
        types=tuple(types),
        rate=float(_text(stream["info"], "nominal_srate")),
        n_samples=data.shape[1],
        start_time=None,
        annotations=tuple(sorted(annotations, key=lambda a: a.onset)),
        _source=_ArraySource(data),
    )
