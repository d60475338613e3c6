"""Montages: how a bed's recorded channels are re-referenced for reading, on the screen only.

A reviewer chooses the montage at review time (ACNS): as recorded, average
reference, longitudinal bipolar (double banana), transverse bipolar, or a
lab's own from a TOML file. A montage is a (derivations x channels) matrix
applied to the block of traces, built from the electrodes the bed actually
has: a derivation is shown only when both its electrodes were recorded.
Old and new 10-10 names (T3/T7, T4/T8, T5/P7, T6/P8) are one electrode, and
the ear and mastoid references A1, A2, M1, M2 are electrodes too (never part
of the average). The detector, recordings and journal keep the channels as
recorded: nothing here leaves the page.

A montage file::

    name = "Neonatal"
    derivations = ["Fp1-C3", "C3-O1", "Fp2-C4", "C4-O2", "T3-C3", "C4-T4"]

Examples
--------
>>> view = derive(BANANA, ("Fp1", "F7", "T7", "Cz", "Pz"))
>>> view.labels
('Fp1-F7', 'F7-T7', 'Cz-Pz')
>>> view.matrix @ np.array([10.0, 4.0, 1.0, 3.0, 2.0])
array([6., 3., 1.])
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from protocol.electrodes import ALIASES, flat_position

#: Ear and mastoid references: electrodes of a derivation, never in the average.
REFERENCES = frozenset({"A1", "A2", "M1", "M2"})
#: The second electrode of an average-reference derivation.
AVERAGE = "avg"
_PREFIX = re.compile(r"^(EEG|EOG)\s+", re.IGNORECASE)
_SUFFIX = re.compile(r"-(REF|LE|AR|AVG)$", re.IGNORECASE)


class MontageError(ValueError):
    """A montage file that cannot be used; the message is one line naming the bad entry."""


@dataclass(frozen=True)
class Montage:
    """A named list of derivations ``(first, second)``; none: the channels as recorded."""

    name: str
    derivations: tuple[tuple[str, str], ...] | None

    @property
    def key(self) -> str:
        """What the page's montage menu sends back."""
        return self.name


@dataclass(frozen=True)
class Derived:
    """A montage applied to one bed's channels: what to draw and how to compute it."""

    labels: tuple[str, ...]  #: ``Fp1-F7``, one per row of `matrix`
    matrix: np.ndarray  #: (derivations, recorded channels)
    sources: tuple[frozenset[str], ...]  #: recorded labels each derivation is about


def electrode(label: str) -> str | None:
    """The electrode a recorded channel label names (canonical upper case), None if none.

    >>> electrode("EEG T3-REF"), electrode("t7"), electrode("M1"), electrode("ECG")
    ('T7', 'T7', 'M1', None)
    """
    name = _SUFFIX.sub("", _PREFIX.sub("", label.strip())).upper()
    name = ALIASES.get(name, name)
    if name in REFERENCES or flat_position(name) is not None:
        return name
    return None


def _shown_name(label: str) -> str:
    """A recorded label without its type prefix and reference suffix: ``EEG Fp1-REF`` -> Fp1."""
    return _SUFFIX.sub("", _PREFIX.sub("", label.strip()))


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((a, b) for a, b in (item.split("-") for item in text.split()))


AS_RECORDED = Montage("As recorded", None)
AVERAGE_REFERENCE = Montage("Average reference", ())  # one derivation per scalp electrode
#: ACNS longitudinal bipolar (double banana): temporal chains, then parasagittal, then midline.
BANANA = Montage(
    "Longitudinal bipolar",
    _pairs(
        "Fp1-F7 F7-T3 T3-T5 T5-O1 Fp2-F8 F8-T4 T4-T6 T6-O2 "
        "Fp1-F3 F3-C3 C3-P3 P3-O1 Fp2-F4 F4-C4 C4-P4 P4-O2 Fz-Cz Cz-Pz"
    ),
)
#: ACNS transverse bipolar: left to right, front to back.
TRANSVERSE = Montage(
    "Transverse bipolar",
    _pairs(
        "F7-Fp1 Fp1-Fp2 Fp2-F8 F7-F3 F3-Fz Fz-F4 F4-F8 A1-T3 T3-C3 C3-Cz Cz-C4 C4-T4 "
        "T4-A2 T5-P3 P3-Pz Pz-P4 P4-T6 T5-O1 O1-O2 O2-T6"
    ),
)
BUILT_IN = (AS_RECORDED, AVERAGE_REFERENCE, BANANA, TRANSVERSE)

_custom: list[Montage] = []


def use_custom(montages: list[Montage]) -> None:
    """Offer `montages` (read from files by the command line) on every bed page from now on."""
    _custom[:] = montages


def load_custom(paths: list[Path]) -> list[Montage]:
    """The montages of `paths`, names all different; MontageError names the bad file."""
    montages: list[Montage] = []
    for path in paths:
        montage = load_montage(path)
        if montage.name in {m.name for m in montages}:
            raise MontageError(f"montage {path}: name {montage.name!r} is used by another file")
        montages.append(montage)
    return montages


def available() -> tuple[Montage, ...]:
    """The built-in montages, then the custom ones."""
    return (*BUILT_IN, *_custom)


def find(key: str) -> Montage:
    """The montage of a menu key; as recorded for an unknown one."""
    return next((m for m in available() if m.key == key), AS_RECORDED)


def derive(montage: Montage, labels: tuple[str, ...]) -> Derived:
    """`montage` on the recorded `labels`: derivations whose electrodes both exist.

    >>> derive(AVERAGE_REFERENCE, ("C3", "C4", "A1")).labels
    ('C3-avg', 'C4-avg', 'A1-avg')
    >>> derive(AVERAGE_REFERENCE, ("C3", "C4", "A1")).matrix
    array([[ 0.5, -0.5,  0. ],
           [-0.5,  0.5,  0. ],
           [-0.5, -0.5,  1. ]])
    >>> derive(TRANSVERSE, ("T7", "EEG A1-REF", "C3")).labels
    ('A1-T7', 'T7-C3')
    """
    n = len(labels)
    if montage.derivations is None:
        return Derived(labels, np.eye(n), tuple(frozenset({label}) for label in labels))
    where: dict[str, int] = {}
    for i, label in enumerate(labels):
        name = electrode(label)
        if name is not None:
            where.setdefault(name, i)
    rows: list[np.ndarray] = []
    names: list[str] = []
    sources: list[frozenset[str]] = []
    if montage is AVERAGE_REFERENCE:
        scalp = [i for name, i in where.items() if name not in REFERENCES]
        mean = np.zeros(n)
        mean[scalp] = 1.0 / max(1, len(scalp))
        for i in sorted(where.values()):
            row = np.zeros(n) - mean
            row[i] += 1.0
            rows.append(row)
            names.append(f"{_shown_name(labels[i])}-{AVERAGE}")
            sources.append(frozenset({labels[i]}))  # one bad electrode must not flag them all
    for first, second in montage.derivations:
        a, b = where.get(_canonical(first)), where.get(_canonical(second))
        if a is None or b is None:
            continue
        row = np.zeros(n)
        row[a], row[b] = 1.0, -1.0
        rows.append(row)
        names.append(f"{_shown_name(labels[a])}-{_shown_name(labels[b])}")
        sources.append(frozenset({labels[a], labels[b]}))
    matrix = np.array(rows) if rows else np.zeros((0, n))
    return Derived(tuple(names), matrix, tuple(sources))


def _canonical(name: str) -> str:
    key = name.upper()
    return ALIASES.get(key, key)


# -- montage files ---------------------------------------------------------------------


def parse_derivation(entry: object) -> tuple[str, str]:
    """One ``"Fp1-F7"`` entry of a file: two known, different electrodes.

    >>> parse_derivation("Fp1-F7"), parse_derivation(" T3 - A1 ")
    (('Fp1', 'F7'), ('T3', 'A1'))
    >>> parse_derivation("Fp1-XY")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dashboard.montage.MontageError: derivation 'Fp1-XY': 'XY' is not a 10-10 electrode nor ...
    """
    if not isinstance(entry, str):
        raise MontageError(f'derivation {entry!r} is not a string like "Fp1-F7"')
    parts = [p.strip() for p in entry.split("-")]
    if len(parts) != 2 or not all(parts):
        raise MontageError(f'derivation {entry!r} is not two electrodes like "Fp1-F7"')
    for part in parts:
        if electrode(part) != _canonical(part):
            raise MontageError(
                f"derivation {entry!r}: {part!r} is not a 10-10 electrode nor A1, A2, M1, M2"
            )
    if _canonical(parts[0]) == _canonical(parts[1]):
        raise MontageError(f"derivation {entry!r} uses the same electrode twice")
    return parts[0], parts[1]


def parse_montage(document: dict[str, Any]) -> Montage:
    """A montage from a file's TOML table: ``name`` and ``derivations``.

    >>> parse_montage({"name": "Mine", "derivations": ["C3-A2", "C4-A1"]}).derivations
    (('C3', 'A2'), ('C4', 'A1'))
    >>> parse_montage({"name": "Mine", "derivations": []})
    Traceback (most recent call last):
    ...
    dashboard.montage.MontageError: 'derivations' must be a non-empty list of strings like "Fp1-F7"
    """
    unknown = sorted(set(document) - {"name", "derivations"})
    if unknown:
        raise MontageError(f"unknown key {unknown[0]!r} (a montage has name and derivations)")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 60:
        raise MontageError(f"'name' must be a text of 1 to 60 characters, got {name!r}")
    if name.strip() in {m.name for m in BUILT_IN}:
        raise MontageError(f"'name' {name!r} is a built-in montage's name")
    entries = document.get("derivations")
    if not isinstance(entries, list) or not entries:
        raise MontageError("'derivations' must be a non-empty list of strings like \"Fp1-F7\"")
    derivations: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        first, second = parse_derivation(entry)
        key = (_canonical(first), _canonical(second))
        if key in seen:
            raise MontageError(f"derivation {entry!r} is listed twice")
        seen.add(key)
        derivations.append((first, second))
    return Montage(name.strip(), tuple(derivations))


def load_montage(path: Path) -> Montage:
    """Read a montage file; MontageError with one line naming the file and the bad entry."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return parse_montage(document)
    except OSError as exc:
        raise MontageError(f"montage {path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MontageError(f"montage {path}: not TOML: {exc}") from None
    except MontageError as exc:
        raise MontageError(f"montage {path}: {exc}") from None
