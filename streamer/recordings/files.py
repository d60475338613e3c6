"""Recorded EEG files, read lazily in chunks as microvolt float32 blocks.

One `Recording` per file, whatever its format: channel labels and types, the
sampling rate, the start time, the annotations, and `blocks()` that yields
consecutive chunks so a 2 GB night never sits in memory. Replay and the
offline scan both read through here, so they see the very same samples.

- EDF/EDF+/BDF/BDF+ are read by the small reader below, which checks the
  header field by field (so a damaged file gets one precise sentence) and
  reads only the data records a chunk needs. Its samples equal MNE's and
  edfio's (tested).
- Other formats go through ``mne.io.read_raw(preload=False)``.
- XDF goes through pyxdf, which has no lazy mode: the EEG stream is loaded whole.

Channels are handled deliberately: EEG, EOG, ECG and EMG (anything measured
in volts) are kept with their type; annotation channels become annotations;
stimulus/status channels, channels in other units and channels at another
rate than the EEG are left out and listed in `Recording.dropped`.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

#: Voltage units of EDF/XDF channels (lower case) and their factor to microvolts.
UNIT_TO_UV = {
    "uv": 1.0,
    "µv": 1.0,
    "μv": 1.0,
    "microvolts": 1.0,
    "microvolt": 1.0,
    "mv": 1e3,
    "millivolts": 1e3,
    "v": 1e6,
    "volts": 1e6,
    "nv": 1e-3,
    "nanovolts": 1e-3,
}

EDF_SUFFIXES = (".edf", ".bdf")
#: Formats handed to MNE (``.eeg`` alone is Nihon Kohden; BrainVision is opened by ``.vhdr``).
MNE_SUFFIXES = (".fif", ".fif.gz", ".vhdr", ".set", ".cnt", ".gdf", ".lay", ".eeg", ".mff", ".cdt")
XDF_SUFFIXES = (".xdf", ".xdfz")
#: What a directory search picks up (``.eeg`` is left out: it is also BrainVision's data file).
SEARCHED_SUFFIXES = tuple(s for s in (*EDF_SUFFIXES, *MNE_SUFFIXES, *XDF_SUFFIXES) if s != ".eeg")

#: Channel types kept as signals; all are voltages, published in microvolts.
KEPT_TYPES = ("EEG", "EOG", "ECG", "EMG", "SEEG", "ECOG")
_LABEL_TYPES = (("EEG", "EEG"), ("EOG", "EOG"), ("ECG", "ECG"), ("EKG", "ECG"), ("EMG", "EMG"))
_STIM_LABELS = ("status", "trigger", "stim", "sti 014", "marker")


class FileProblem(ValueError):
    """A file that cannot be read as EEG; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


@dataclass(frozen=True)
class Annotation:
    """A file annotation; `onset` in seconds from the first sample."""

    onset: float
    duration: float
    text: str


class _Source(Protocol):
    def read(self, start: int, stop: int) -> NDArray[np.float32]: ...

    def close(self) -> None: ...


@dataclass
class Recording:
    """An opened recording. Use `open_recording`; close it (or use ``with``)."""

    path: Path
    format: str
    labels: tuple[str, ...]
    types: tuple[str, ...]
    rate: float
    n_samples: int
    start_time: datetime | None
    annotations: tuple[Annotation, ...]
    #: channels left out, each "label: why"
    dropped: tuple[str, ...] = ()
    #: problems that did not stop reading (e.g. an incomplete last record)
    warnings: tuple[str, ...] = ()
    _source: _Source | None = field(default=None, repr=False)

    @property
    def duration(self) -> float:
        return self.n_samples / self.rate

    @property
    def n_channels(self) -> int:
        return len(self.labels)

    def read(self, start: int, stop: int) -> NDArray[np.float32]:
        """Samples ``start .. stop`` (clipped to the file) as (channels, n) float32 µV."""
        start, stop = max(0, start), min(stop, self.n_samples)
        if self._source is None:
            raise ValueError(f"{self.path} is closed")
        if stop <= start:
            return np.empty((self.n_channels, 0), dtype=np.float32)
        return self._source.read(start, stop)

    def blocks(
        self, chunk_s: float = 10.0, start: int = 0
    ) -> Iterator[tuple[int, NDArray[np.float32]]]:
        """(first sample index, data) chunks from `start` to the end; memory stays one chunk."""
        step = max(1, round(chunk_s * self.rate))
        for first in range(max(0, start), self.n_samples, step):
            yield first, self.read(first, first + step)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def known_suffix(path: Path) -> str | None:
    """The format suffix of `path` (lower case, ``.fif.gz`` included), or None."""
    name = path.name.lower()
    for suffix in (*EDF_SUFFIXES, *MNE_SUFFIXES, *XDF_SUFFIXES):
        if name.endswith(suffix):
            return suffix
    return None


def find_recordings(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, and directories searched recursively for known extensions (sorted)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and known_suffix(p) in SEARCHED_SUFFIXES
                )
            )
        else:
            found.append(path)
    return found


def content_id(path: str | os.PathLike[str]) -> str:
    """A stable id from the file's bytes (SHA-256, read in 1 MiB pieces): its LSL source_id."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            digest.update(piece)
    return f"eegmon-file-{digest.hexdigest()[:16]}"


def open_recording(path: str | os.PathLike[str]) -> Recording:
    """Open any supported file lazily; raises `FileProblem` with one clear sentence."""
    path = Path(path)
    suffix = check_file(path)
    if suffix in EDF_SUFFIXES:
        return _open_edf(path)
    if suffix in XDF_SUFFIXES:
        return _open_xdf(path)
    return _open_mne(path)


def check_file(path: Path) -> str:
    """The format suffix of `path` if it may be opened; `FileProblem` if it surely cannot.

    Only names and sizes are looked at, so a command line can refuse a missing
    or empty file before loading any reader.
    """
    suffix = known_suffix(path)
    if not path.exists():
        raise FileProblem(path, "no such file")
    if suffix is None:
        known = ", ".join((*EDF_SUFFIXES, *MNE_SUFFIXES, *XDF_SUFFIXES))
        raise FileProblem(path, f"unknown file type {path.suffix or '(none)'!r}; known: {known}")
    if path.is_dir() and suffix != ".mff":
        raise FileProblem(path, "is a directory")
    if path.is_file() and path.stat().st_size == 0:
        raise FileProblem(path, "empty file")
    return suffix


# -- EDF / BDF ---------------------------------------------------------------------------

_MAIN_FIELDS = (
    ("version", 8),
    ("patient", 80),
    ("recording", 80),
    ("start date", 8),
    ("start time", 8),
    ("header size", 8),
    ("reserved", 44),
    ("number of data records", 8),
    ("record duration", 8),
    ("number of signals", 4),
)
_SIGNAL_FIELDS = (
    ("label", 16),
    ("transducer", 80),
    ("physical dimension", 8),
    ("physical minimum", 8),
    ("physical maximum", 8),
    ("digital minimum", 8),
    ("digital maximum", 8),
    ("prefiltering", 80),
    ("samples per record", 8),
    ("reserved", 32),
)


@dataclass(frozen=True)
class _EdfSignal:
    label: str
    unit: str
    pmin: float
    pmax: float
    dmin: int
    dmax: int
    n: int


class _EdfHeader:
    """The parsed and checked header of an EDF(+)/BDF(+) file."""

    def __init__(self, path: Path, raw: bytes, file_size: int) -> None:
        self.path = path
        self.bdf = raw[:8] == b"\xffBIOSEMI"
        looks_like = any(v.startswith(raw[:8]) for v in (b"0       ", b"\xffBIOSEMI"))
        if len(raw) < 256 and looks_like:
            raise FileProblem(path, f"truncated header: {len(raw)} bytes, an EDF header has 256+")
        if not looks_like:
            raise FileProblem(path, "not an EDF or BDF file (its first 8 bytes are not a version)")
        for offset, byte in enumerate(raw[8:256], start=8):
            if not 32 <= byte <= 126:
                raise FileProblem(
                    path, f"non-ASCII byte 0x{byte:02x} in the header at offset {offset}"
                )
        fields: dict[str, str] = {}
        pos = 0
        for name, width in _MAIN_FIELDS:
            fields[name] = raw[pos : pos + width].decode("latin-1")
            pos += width
        self.fields = fields
        ns = self._int(fields["number of signals"], "number of signals")
        if ns <= 0:
            raise FileProblem(path, f"the header declares {ns} signals")
        self.header_size = 256 * (ns + 1)
        if self._int(fields["header size"], "header size") != self.header_size:
            raise FileProblem(
                path,
                f"header size field says {fields['header size'].strip()!r}, "
                f"but {ns} signals need {self.header_size} bytes",
            )
        if len(raw) < self.header_size:
            raise FileProblem(
                path, f"truncated header: {len(raw)} bytes, {ns} signals need {self.header_size}"
            )
        for offset, byte in enumerate(raw[256 : self.header_size], start=256):
            if not 32 <= byte <= 126:
                raise FileProblem(
                    path, f"non-ASCII byte 0x{byte:02x} in the header at offset {offset}"
                )
        columns: dict[str, list[str]] = {}
        for name, width in _SIGNAL_FIELDS:
            columns[name] = [
                raw[pos + i * width : pos + (i + 1) * width].decode("ascii") for i in range(ns)
            ]
            pos += ns * width
        self.duration = self._float(fields["record duration"], "record duration")
        if not self.duration > 0:
            raise FileProblem(path, f"record duration {self.duration!r} s is not positive")
        self.signals: list[_EdfSignal] = []
        for i in range(ns):
            label = columns["label"][i].strip()
            name = f"signal {i + 1} ({label!r})"
            sig = _EdfSignal(
                label=label,
                unit=columns["physical dimension"][i].strip(),
                pmin=self._float(columns["physical minimum"][i], f"{name} physical minimum"),
                pmax=self._float(columns["physical maximum"][i], f"{name} physical maximum"),
                dmin=self._int(columns["digital minimum"][i], f"{name} digital minimum"),
                dmax=self._int(columns["digital maximum"][i], f"{name} digital maximum"),
                n=self._int(columns["samples per record"][i], f"{name} samples per record"),
            )
            if sig.n <= 0:
                raise FileProblem(path, f"{name} has {sig.n} samples per record")
            if sig.pmin == sig.pmax:
                raise FileProblem(
                    path, f"{name}: physical minimum equals maximum ({sig.pmin:g}); cannot scale"
                )
            if sig.dmin >= sig.dmax:
                raise FileProblem(
                    path, f"{name}: digital minimum {sig.dmin} is not below maximum {sig.dmax}"
                )
            self.signals.append(sig)
        self.width = 3 if self.bdf else 2
        self.record_samples = sum(s.n for s in self.signals)
        self.record_bytes = self.record_samples * self.width
        data_bytes = file_size - self.header_size
        self.records, rest = divmod(data_bytes, self.record_bytes)
        self.warnings: list[str] = []
        declared = self._int(fields["number of data records"], "number of data records")
        if declared == -1:
            self.warnings.append(
                f"the record count is -1 (the file was not closed, e.g. a crash while "
                f"recording): reading its {self.records} complete records"
            )
        elif rest and declared == self.records + 1:
            self.warnings.append(
                f"the last data record is incomplete ({rest} of {self.record_bytes} bytes): "
                f"reading the {self.records} complete records"
            )
        elif declared != self.records or rest:
            raise FileProblem(
                path,
                f"the header declares {declared} data records but the file holds "
                f"{data_bytes / self.record_bytes:g}",
            )
        if self.records == 0:
            raise FileProblem(path, "no complete data record")
        self.edf_plus = fields["reserved"].startswith(("EDF+", "BDF+"))
        if fields["reserved"].startswith(("EDF+D", "BDF+D")):
            self.warnings.append("discontinuous EDF+D/BDF+D is read as continuous")

    def _int(self, text: str, what: str) -> int:
        try:
            return int(text.strip())
        except ValueError:
            raise FileProblem(
                self.path, f"header field {what} is not an integer: {text.strip()!r}"
            ) from None

    def _float(self, text: str, what: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise FileProblem(
                self.path, f"header field {what} is not a number: {text.strip()!r}"
            ) from None
        if not math.isfinite(value):
            raise FileProblem(self.path, f"header field {what} is not finite: {text.strip()!r}")
        return value

    def start_time(self) -> datetime | None:
        date, time = self.fields["start date"], self.fields["start time"]
        try:
            day, month, year = (int(x) for x in date.split("."))
            hour, minute, second = (int(x) for x in time.split("."))
            # EDF's two-digit year: 85-99 are 1985-1999 (the spec's clipping date).
            return datetime(
                year + (1900 if year >= 85 else 2000), month, day, hour, minute, second, tzinfo=UTC
            )
        except ValueError:
            return None


def _signal_type(label: str, unit: str) -> str | None:
    """Our type for an EDF signal, or None when it is not a voltage we keep."""
    upper = label.upper()
    if upper.startswith(("EDF ANNOTATIONS", "BDF ANNOTATIONS")):
        return None
    if upper.strip().lower() in _STIM_LABELS:
        return None
    if unit.lower() not in UNIT_TO_UV or not unit:
        return None
    for prefix, kind in _LABEL_TYPES:
        if upper.startswith(prefix):
            return kind
    return "EEG"


def _unique(labels: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for i, label in enumerate(labels):
        name = label or f"Ch{i + 1}"
        if name in seen:
            name = f"{name}#{i + 1}"
        seen.add(name)
        out.append(name)
    return tuple(out)


class _EdfSource:
    """Reads whole data records with ``os.pread`` and keeps only the signals asked for."""

    def __init__(self, path: Path, header: _EdfHeader, kept: list[int]) -> None:
        self.header = header
        self._fd = os.open(path, os.O_RDONLY)
        sigs = header.signals
        offsets = np.cumsum([0] + [s.n for s in sigs])
        self.per_record = sigs[kept[0]].n
        self._columns = (offsets[kept][:, None] + np.arange(self.per_record)).astype(np.intp)
        gain = np.array(
            [(sigs[i].pmax - sigs[i].pmin) / (sigs[i].dmax - sigs[i].dmin) for i in kept]
        )
        offset = np.array([sigs[i].pmin for i in kept]) - gain * np.array(
            [sigs[i].dmin for i in kept]
        )
        to_uv = np.array([UNIT_TO_UV[sigs[i].unit.lower()] for i in kept])
        self._gain = (gain * to_uv)[:, None]
        self._offset = (offset * to_uv)[:, None]

    def records(self, first: int, count: int) -> NDArray[np.int32]:
        """Digital values of records ``first .. first+count`` as (count, record_samples)."""
        h = self.header
        raw = os.pread(self._fd, count * h.record_bytes, h.header_size + first * h.record_bytes)
        if len(raw) < count * h.record_bytes:
            raise OSError(f"{h.path}: the file shrank while being read")
        if h.bdf:
            b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            values = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            values = (values ^ 0x800000) - 0x800000
        else:
            values = np.frombuffer(raw, dtype="<i2").astype(np.int32)
        return values.reshape(count, h.record_samples)

    def read(self, start: int, stop: int) -> NDArray[np.float32]:
        n = self.per_record
        first, last = start // n, (stop - 1) // n + 1
        digital = self.records(first, last - first)[:, self._columns]  # (records, channels, n)
        flat = digital.transpose(1, 0, 2).reshape(len(self._columns), -1)
        flat = flat[:, start - first * n : stop - first * n]
        return (flat * self._gain + self._offset).astype(np.float32)

    def close(self) -> None:
        os.close(self._fd)


_TAL = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*?)\x14\x00", re.DOTALL)


def _edf_annotations(source: _EdfSource, index: int) -> list[Annotation]:
    """Annotations of EDF+ annotation signal `index`, read record by record (bounded memory)."""
    h = source.header
    sigs = h.signals
    begin = sum(s.n for s in sigs[:index]) * h.width
    length = sigs[index].n * h.width
    out: list[Annotation] = []
    first_onset: float | None = None
    batch = max(1, (4 << 20) // h.record_bytes)
    for first in range(0, h.records, batch):
        count = min(batch, h.records - first)
        raw = os.pread(source._fd, count * h.record_bytes, h.header_size + first * h.record_bytes)
        for r in range(count):
            tal = raw[r * h.record_bytes + begin : r * h.record_bytes + begin + length]
            for match in _TAL.finditer(tal):
                onset = float(match.group(1))
                texts = match.group(3).split(b"\x14")
                if first_onset is None:
                    first_onset = onset  # the first record's time-keeping annotation
                for text in texts:
                    if text:
                        duration = float(match.group(2)) if match.group(2) else 0.0
                        out.append(
                            Annotation(onset, duration, text.decode("utf-8", errors="replace"))
                        )
    shift = first_onset or 0.0
    return [Annotation(a.onset - shift, a.duration, a.text) for a in out]


def _open_edf(path: Path) -> Recording:
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(256)
        if len(head) >= 256 and head[252:256].strip().isdigit():
            head += f.read(256 * int(head[252:256]))
    header = _EdfHeader(path, head, size)
    annotation_signals = [
        i
        for i, s in enumerate(header.signals)
        if s.label.upper().startswith(("EDF ANNOTATIONS", "BDF ANNOTATIONS"))
    ]
    candidates = [(i, _signal_type(s.label, s.unit)) for i, s in enumerate(header.signals)]
    voltage = [(i, t) for i, t in candidates if t is not None]
    if not voltage:
        raise FileProblem(path, "no EEG signal (no channel measured in volts)")
    # The stream's rate is the EEG's; channels at other rates are left out.
    eeg_rates = [header.signals[i].n for i, t in voltage if t == "EEG"] or [
        header.signals[i].n for i, _ in voltage
    ]
    per_record = max(set(eeg_rates), key=eeg_rates.count)
    kept = [i for i, _ in voltage if header.signals[i].n == per_record]
    dropped = []
    for i, sig in enumerate(header.signals):
        if i in kept or i in annotation_signals:
            continue
        kind = dict(candidates)[i]
        why = (
            f"{sig.n / header.duration:g} Hz, not the EEG's {per_record / header.duration:g} Hz"
            if kind is not None
            else f"not a voltage (unit {sig.unit!r})"
            if sig.label.lower() not in _STIM_LABELS
            else "stimulus channel"
        )
        dropped.append(f"{sig.label}: {why}")
    source = _EdfSource(path, header, kept)
    try:
        annotations: list[Annotation] = []
        for index in annotation_signals:
            annotations.extend(_edf_annotations(source, index))
        n_samples = header.records * per_record
        duration = header.records * header.duration
        for a in annotations:
            if not (0.0 <= a.onset <= duration):
                raise FileProblem(
                    path,
                    f"annotation {a.text!r} at {a.onset:g} s lies outside the recording "
                    f"(0-{duration:g} s)",
                )
    except BaseException:
        source.close()
        raise
    fmt = ("BDF" if header.bdf else "EDF") + ("+" if header.edf_plus else "")
    return Recording(
        path=path,
        format=fmt,
        labels=_unique([header.signals[i].label for i in kept]),
        types=tuple(str(dict(candidates)[i]) for i in kept),
        rate=per_record / header.duration,
        n_samples=n_samples,
        start_time=header.start_time(),
        annotations=tuple(sorted(annotations, key=lambda a: a.onset)),
        dropped=tuple(dropped),
        warnings=tuple(header.warnings),
        _source=source,
    )


# -- MNE formats -------------------------------------------------------------------------

_MNE_TYPES = {
    "eeg": "EEG",
    "eog": "EOG",
    "ecg": "ECG",
    "emg": "EMG",
    "seeg": "SEEG",
    "ecog": "ECOG",
}


class _MneSource:
    def __init__(self, raw: Any, picks: list[int]) -> None:
        self.raw = raw
        self.picks = picks

    def read(self, start: int, stop: int) -> NDArray[np.float32]:
        data = self.raw.get_data(picks=self.picks, start=start, stop=stop)  # volts
        return (data * 1e6).astype(np.float32)

    def close(self) -> None:
        self.raw.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _open_mne(path: Path) -> Recording:
    import mne

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = mne.io.read_raw(path, preload=False, verbose="error")
    except Exception as exc:  # readers raise anything on a damaged file; one line for the user
        raise FileProblem(path, f"cannot be read ({_first_line(exc)})") from None
    types = raw.get_channel_types()
    picks = [i for i, t in enumerate(types) if t in _MNE_TYPES]
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
        format=(known_suffix(path) or path.suffix).lstrip(".").upper(),
        labels=_unique([raw.ch_names[i] for i in picks]),
        types=tuple(_MNE_TYPES[types[i]] for i in picks),
        rate=float(raw.info["sfreq"]),
        n_samples=int(raw.n_times),
        start_time=meas if isinstance(meas, datetime) else None,
        annotations=annotations,
        dropped=dropped,
        _source=_MneSource(raw, picks),
    )


# -- XDF ---------------------------------------------------------------------------------


class _ArraySource:
    def __init__(self, data: NDArray[np.float32]) -> None:
        self.data = data

    def read(self, start: int, stop: int) -> NDArray[np.float32]:
        return self.data[:, start:stop].copy()

    def close(self) -> None:
        self.data = np.empty((0, 0), dtype=np.float32)


def _xdf_text(info: dict[str, Any], key: str) -> str:
    value = info.get(key)
    while isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


def _open_xdf(path: Path) -> Recording:
    import pyxdf

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            streams, _ = pyxdf.load_xdf(
                str(path), synchronize_clocks=True, dejitter_timestamps=True
            )
    except Exception as exc:  # pyxdf raises anything on a damaged file; one line for the user
        raise FileProblem(path, f"cannot be read as XDF ({_first_line(exc)})") from None

    def regular_numeric(s: dict[str, Any]) -> bool:
        info = s["info"]
        rate = float(_xdf_text(info, "nominal_srate") or 0)
        return (
            rate > 0 and _xdf_text(info, "channel_format") != "string" and len(s["time_stamps"]) > 0
        )

    candidates = [s for s in streams if regular_numeric(s)]
    eeg = [s for s in candidates if _xdf_text(s["info"], "type").upper() == "EEG"] or candidates
    if not eeg:
        raise FileProblem(path, "no regular numeric (EEG) stream in the XDF file")
    stream = eeg[0]
    info = stream["info"]
    n = int(_xdf_text(info, "channel_count"))
    labels, scales, types = [], [], []
    try:
        channels = info["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        channels = []
    for i in range(n):
        ch = channels[i] if i < len(channels) else {}
        labels.append(_xdf_text(ch, "label") or f"Ch{i + 1}")
        scales.append(UNIT_TO_UV.get(_xdf_text(ch, "unit").lower(), 1.0))  # none given: µV
        kind = _xdf_text(ch, "type").upper() or "EEG"
        types.append(kind if kind in KEPT_TYPES else "EEG")
    data = (
        np.asarray(stream["time_series"], dtype=np.float64).T * np.array(scales)[:, None]
    ).astype(np.float32)
    t0 = float(stream["time_stamps"][0])
    annotations = []
    for s in streams:
        if _xdf_text(s["info"], "channel_format") == "string":
            for stamp, values in zip(s["time_stamps"], s["time_series"], strict=False):
                annotations.append(Annotation(float(stamp) - t0, 0.0, str(values[0])))
    return Recording(
        path=path,
        format="XDF",
        labels=_unique(labels),
        types=tuple(types),
        rate=float(_xdf_text(info, "nominal_srate")),
        n_samples=data.shape[1],
        start_time=None,
        annotations=tuple(sorted(annotations, key=lambda a: a.onset)),
        _source=_ArraySource(data),
    )
