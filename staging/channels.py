"""Which channels to stage from: one EEG, and the EOG and EMG when there are some.

YASA's classifiers were trained on a central EEG referenced to the opposite
mastoid, so that is looked for first, then any central derivation, then
anything that looks like EEG. Labels are read leniently: a type prefix
(``EEG C4-M1``), any case and any separator (``C4:A1``, ``c4_m1``).

Examples
--------
>>> parse_label("EEG C4-M1")
('C4', 'M1')
>>> pick_channels(["ECG", "EOG LOC-M2", "Fp1-A2", "CZ-A1", "Chin1-Chin2"])
ChannelPick(eeg=3, eog=1, emg=4, eeg_reference=None)
>>> pick_channels(["Fpz-Cz", "Pz-Oz", "EOG horizontal"]).kinds
('eeg', 'eog')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Central derivations, best first: the opposite mastoid, then the vertex, then the same side.
PREFERRED_EEG: tuple[tuple[str, str], ...] = (
    ("C4", "M1"),
    ("C4", "A1"),
    ("C3", "M2"),
    ("C3", "A2"),
    ("CZ", "A1"),
    ("CZ", "A2"),
    ("CZ", "M1"),
    ("CZ", "M2"),
    ("C4", "M2"),
    ("C4", "A2"),
    ("C3", "M1"),
    ("C3", "A1"),
)
CENTRAL = frozenset({"C3", "C4", "CZ"})
#: Words that only say what kind of signal a label is.
TYPE_WORDS = frozenset({"EEG", "EOG", "EMG", "ECG", "EKG"})
#: Eye electrodes, the left one first (YASA's EOG is preferably LOC).
EOG_WORDS: tuple[frozenset[str], ...] = (
    frozenset({"LOC", "E1", "LEOG", "EOGL"}),
    frozenset({"ROC", "E2", "REOG", "EOGR"}),
)
EMG_WORDS = frozenset({"CHIN", "CHIN1", "CHIN2", "CHIN3", "SUBMENTAL"})
# A 10-20 / 10-10 electrode or a mastoid / ear reference: Fp1, AF7, Cz, T8, A1, M2...
ELECTRODE = re.compile(r"^(FP|AF|FT|FC|TP|CP|PO|F|T|C|P|O|A|M|I)(Z|\d{1,2})$")


@dataclass(frozen=True)
class ChannelPick:
    """Row indices of the channels to stage from (EOG and EMG absent when ``None``).

    `eeg_reference` is the row of a mastoid recorded on its own, subtracted
    from the EEG row (monopolar ``C4`` and ``M1`` make ``C4-M1``).
    """

    eeg: int
    eog: int | None = None
    emg: int | None = None
    eeg_reference: int | None = None

    @property
    def rows(self) -> tuple[int, ...]:
        """Every row staging reads: EEG, its reference when derived, EOG, EMG."""
        picked = (self.eeg, self.eeg_reference, self.eog, self.emg)
        return tuple(row for row in picked if row is not None)

    def select(self, data: NDArray[Any]) -> NDArray[np.float64]:
        """The classifier's channels of `data` (rows x samples): EEG (re-referenced), EOG, EMG.

        >>> import numpy as np
        >>> pick = ChannelPick(eeg=0, emg=2, eeg_reference=1)
        >>> pick.select(np.array([[5.0, 6.0], [1.0, 1.0], [9.0, 9.0]])).tolist()
        [[4.0, 5.0], [9.0, 9.0]]
        """
        eeg = data[self.eeg].astype(np.float64)
        if self.eeg_reference is not None:
            eeg = eeg - data[self.eeg_reference]
        others = [data[row].astype(np.float64) for row in (self.eog, self.emg) if row is not None]
        return np.vstack([eeg, *others])

    @property
    def kinds(self) -> tuple[str, ...]:
        """YASA's names of the chosen channels' kinds, in the order of `rows`."""
        named = (("eeg", self.eeg), ("eog", self.eog), ("emg", self.emg))
        return tuple(kind for kind, row in named if row is not None)


def _words(label: str) -> list[str]:
    return re.findall(r"[A-Z0-9]+", label.upper())


def parse_label(label: str) -> tuple[str, str | None]:
    """The active electrode and the reference (``None`` if unreferenced) named by `label`."""
    words = [word for word in _words(label) if word not in TYPE_WORDS]
    if not words:
        return label.strip().upper(), None
    return words[0], words[1] if len(words) > 1 else None


def _is_emg(label: str) -> bool:
    words = _words(label)
    return "EMG" in words or any(word in EMG_WORDS for word in words)


def _eog_rank(label: str) -> int | None:
    """0 for the left eye, 1 for the right, 2 for another EOG, ``None`` if not EOG."""
    words = set(_words(label))
    for rank, names in enumerate(EOG_WORDS):
        if words & names:
            return rank
    return 2 if "EOG" in words else None


def _eeg_rank(label: str) -> int | None:
    """Lower is better; ``None`` if `label` does not look like EEG."""
    if _is_emg(label) or _eog_rank(label) is not None:
        return None
    active, reference = parse_label(label)
    if (active, reference) in PREFERRED_EEG:
        return PREFERRED_EEG.index((active, reference))
    if active in CENTRAL or reference in CENTRAL:
        return len(PREFERRED_EEG)
    if ELECTRODE.match(active) or "EEG" in _words(label):
        return len(PREFERRED_EEG) + 1
    return None


def _best(rank: dict[int, int]) -> int | None:
    # min over (rank, row): the best rank, the first listed among equals
    return min(rank, key=lambda row: (rank[row], row)) if rank else None


def _monopolar_pair(labels: Sequence[str]) -> tuple[int, int, int] | None:
    """The best preferred derivation made of two channels recorded on their own.

    Returns its rank in `PREFERRED_EEG`, the active row and the mastoid row.
    """
    alone: dict[str, int] = {}
    for row, label in enumerate(labels):
        active, reference = parse_label(label)
        if reference is None and not _is_emg(label) and _eog_rank(label) is None:
            alone.setdefault(active, row)
    for rank, (active, reference) in enumerate(PREFERRED_EEG):
        if active in alone and reference in alone:
            return rank, alone[active], alone[reference]
    return None


def pick_channels(labels: Sequence[str]) -> ChannelPick:
    """The EEG, EOG and EMG rows of a recording whose channels are named `labels`.

    A preferred derivation is also made of a central electrode and a mastoid
    recorded on their own (``C4`` and ``M1``), unless a recorded derivation
    ranks as well. Raises ValueError when no label looks like EEG.

    >>> pick_channels(["F3", "C4", "O1", "M1", "M2", "EOG L"])
    ChannelPick(eeg=1, eog=5, emg=None, eeg_reference=3)
    >>> pick_channels(["C4", "M1", "C4-M1"]).eeg_reference is None
    True
    """
    eeg_ranks = {row: r for row, label in enumerate(labels) if (r := _eeg_rank(label)) is not None}
    eeg = _best(eeg_ranks)
    if eeg is None:
        raise ValueError(f"no EEG channel among the labels {list(labels)!r}")
    eog_ranks = {row: r for row, label in enumerate(labels) if (r := _eog_rank(label)) is not None}
    emg_ranks = {row: 0 for row, label in enumerate(labels) if _is_emg(label)}
    eog, emg = _best(eog_ranks), _best(emg_ranks)
    pair = _monopolar_pair(labels)
    if pair is not None and pair[0] < eeg_ranks[eeg]:
        return ChannelPick(eeg=pair[1], eog=eog, emg=emg, eeg_reference=pair[2])
    return ChannelPick(eeg=eeg, eog=eog, emg=emg)
