"""Recorded EEG files of any supported format, opened by their extension.

Replay, the offline scan and the evaluation all read through
`open_recording`, so they see the very same samples; callers import from
here (`Recording`, `FileProblem` and `Annotation` included). One reader per
family fills in the `Recording`:

- EDF/EDF+/BDF/BDF+: `streamer.recordings.edf`, our own checked and chunked reader;
- FIF, BrainVision, EEGLAB, CNT, GDF...: `streamer.recordings.mne_formats`, through MNE;
- XDF: `streamer.recordings.xdf`, through pyxdf.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from streamer.recordings import edf, mne_formats, xdf
from streamer.recordings.recording import Annotation, FileProblem, Recording

__all__ = [
    "Annotation",
    "FileProblem",
    "Recording",
    "check_file",
    "content_id",
    "find_recordings",
    "known_suffix",
    "open_recording",
]

KNOWN_SUFFIXES = (*edf.SUFFIXES, *mne_formats.SUFFIXES, *xdf.SUFFIXES)
#: What a directory search picks up (``.eeg`` is left out: it is also BrainVision's data file).
SEARCHED_SUFFIXES = tuple(s for s in KNOWN_SUFFIXES if s != ".eeg")


def known_suffix(path: Path) -> str | None:
    """The format suffix of `path` (lower case, ``.fif.gz`` included), or None.

    >>> known_suffix(Path("night.FIF.gz")), known_suffix(Path("notes.txt"))
    ('.fif.gz', None)
    """
    name = path.name.lower()
    for suffix in KNOWN_SUFFIXES:
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
    if suffix in edf.SUFFIXES:
        return edf.open_edf(path)
    if suffix in xdf.SUFFIXES:
        return xdf.open_xdf(path)
    return mne_formats.open_mne(path, suffix)


def check_file(path: Path) -> str:
    """The format suffix of `path` if it may be opened; `FileProblem` if it surely cannot.

    Only names and sizes are looked at, so a command line can refuse a missing
    or empty file before loading any reader.
    """
    suffix = known_suffix(path)
    if not path.exists():
        raise FileProblem(path, "no such file")
    if suffix is None:
        known = ", ".join(KNOWN_SUFFIXES)
        raise FileProblem(path, f"unknown file type {path.suffix or '(none)'!r}; known: {known}")
    if path.is_dir() and suffix != ".mff":
        raise FileProblem(path, "is a directory")
    if path.is_file() and path.stat().st_size == 0:
        raise FileProblem(path, "empty file")
    return suffix
