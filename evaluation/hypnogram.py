"""Expert hypnograms, and how eegmon's sleep stages agree with them.

Two formats, told apart by their first line:

- a TSV with the columns ``onset``, ``duration`` and ``stage`` (others,
  such as the ``live_stage`` and ``confidence`` of ``eegmon scan --out``'s
  ``<file>.stages.tsv``, are ignored); stages are AASM (W, N1, N2, N3, REM)
  or their usual spellings (R, S1 to S4, ``Sleep stage 2``...); ``?``,
  movement and artefact rows are unscored;
- the DREAMS databases' hypnograms: a bracketed header (``[Hypnogram]``),
  then one Rechtschaffen & Kales code per 5 s (`RK_STAGES`; -1 movement,
  unscored).

Both give one stage per 30 s epoch from the recording's start (``None``
where unscored): the stage scored for most of the epoch, the earliest of a
tie; a last partial epoch is left out. Light to import (no staging, no
signal libraries), so that a bad file is refused before the heavy imports.

Examples
--------
>>> parse_hypnogram("onset\\tduration\\tstage\\n0\\t30\\tW\\n30\\t30\\tN2\\n60\\t30\\t?\\n")
['W', 'N2', None]
>>> parse_hypnogram("[Hypnogram]\\n" + "5\\n" * 6 + "0\\n1\\n1\\n-1\\n2\\n3\\n")
['W', 'N3']
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from protocol.feed import SLEEP_EPOCH_S, SLEEP_STAGES

#: Rechtschaffen & Kales codes as the DREAMS hypnograms write them, in AASM stages (S3 + S4 = N3).
RK_STAGES = {5: "W", 4: "REM", 3: "N1", 2: "N2", 1: "N3", 0: "N3"}
#: The DREAMS code of movement time: not a stage, unscored.
RK_MOVEMENT = -1
#: The DREAMS hypnograms score a stage every 5 s.
DREAMS_STEP_S = 5.0
#: Hypnograms longer than this are refused rather than read into memory.
LONGEST_S = 7 * 24 * 3600.0
#: Labels read as unscored, lower case (eegmon's own ``?`` among them).
UNSCORED = frozenset(
    {"?", "", "-", "mt", "movement", "movement time", "sleep stage ?", "unscored", "unknown"}
    | {"artefact", "artifact"}
)
#: Other spellings of the stages, lower case; the stages themselves are read in any case.
ALIASES = {
    "wake": "W",
    "awake": "W",
    "r": "REM",
    "s1": "N1",
    "s2": "N2",
    "s3": "N3",
    "s4": "N3",
    "n4": "N3",
    "sleep stage w": "W",
    "sleep stage 1": "N1",
    "sleep stage 2": "N2",
    "sleep stage 3": "N3",
    "sleep stage 4": "N3",
    "sleep stage r": "REM",
} | {f"sleep stage {stage.lower()}": stage for stage in SLEEP_STAGES}
COLUMNS = ("onset", "duration", "stage")


class HypnogramProblem(ValueError):
    """A hypnogram that cannot be read: the message names the line and the problem."""


def read_hypnogram(path: Path) -> list[str | None]:
    """The 30 s stages of the hypnogram file at `path` (`HypnogramProblem` if unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HypnogramProblem(f"cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise HypnogramProblem("not a text file") from None
    return parse_hypnogram(text)


def parse_hypnogram(text: str) -> list[str | None]:
    """The 30 s stages of a hypnogram's text, in either format."""
    lines = text.lstrip("\ufeff").splitlines()
    first = lines[0].strip() if lines else ""
    if first.startswith("[") and first.endswith("]"):
        return _dreams(lines[1:])
    if "onset" in (name.strip().lower() for name in first.split("\t")):
        return _tsv(lines)
    raise HypnogramProblem(
        "not a hypnogram: line 1 is neither a TSV header (onset, duration, stage) "
        "nor a DREAMS header ([Hypnogram])"
    )


def stage_name(label: str) -> str | None:
    """The AASM stage a hypnogram label stands for (None: unscored); `HypnogramProblem` if none.

    >>> stage_name("Sleep stage 4"), stage_name("rem"), stage_name("?")
    ('N3', 'REM', None)
    """
    key = label.strip().lower()
    if key in UNSCORED:
        return None
    stages = {stage.lower(): stage for stage in SLEEP_STAGES}
    found = stages.get(key) or ALIASES.get(key)
    if found is None:
        raise HypnogramProblem(f"unknown stage {label.strip()!r} (W, N1, N2, N3, REM or ?)")
    return found


def _dreams(lines: Sequence[str]) -> list[str | None]:
    codes: list[int] = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for number, line in enumerate(lines[: last + 1], start=2):
        value = line.strip()  # a blank line among the codes is not one: it would shift the rest
        try:
            code = int(value)
        except ValueError:
            code = None
        if code is None or (code not in RK_STAGES and code != RK_MOVEMENT):
            raise HypnogramProblem(
                f"line {number}: {value[:40]!r} is not an R&K code "
                "(5 wake, 4 REM, 3 to 0 S1 to S4, -1 movement)"
            )
        codes.append(code)
    if len(codes) * DREAMS_STEP_S > LONGEST_S:
        raise HypnogramProblem(f"longer than {LONGEST_S / 86400:.0f} days")
    if len(codes) * DREAMS_STEP_S < SLEEP_EPOCH_S:
        raise HypnogramProblem(f"{len(codes)} codes of 5 s: not one whole 30 s epoch")
    steps = [
        (i * DREAMS_STEP_S, DREAMS_STEP_S, RK_STAGES.get(code)) for i, code in enumerate(codes)
    ]
    return _epochs(steps)


def _tsv(lines: Sequence[str]) -> list[str | None]:
    header = [name.strip().lower() for name in lines[0].split("\t")]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise HypnogramProblem(
            f"line 1: no column {', '.join(missing)} (needs onset, duration, stage)"
        )
    at = {name: header.index(name) for name in COLUMNS}
    rows: list[tuple[float, float, str | None]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < len(header):
            raise HypnogramProblem(
                f"line {number}: {len(fields)} fields, the header has {len(header)}"
            )
        try:
            onset, duration = float(fields[at["onset"]]), float(fields[at["duration"]])
        except ValueError:
            raise HypnogramProblem(f"line {number}: onset and duration must be numbers") from None
        if not (onset >= 0 and duration > 0 and onset + duration <= LONGEST_S):
            raise HypnogramProblem(
                f"line {number}: onset {onset:g} s and duration {duration:g} s out of range "
                f"(onset >= 0, duration > 0, within {LONGEST_S / 86400:.0f} days)"
            )
        try:
            stage = stage_name(fields[at["stage"]])
        except HypnogramProblem as exc:
            raise HypnogramProblem(f"line {number}: {exc}") from None
        rows.append((onset, duration, stage))
    if not rows:
        raise HypnogramProblem("no rows after the header")
    return _epochs(rows)


def _epochs(rows: list[tuple[float, float, str | None]]) -> list[str | None]:
    """Each whole 30 s epoch's stage: the one scored for most of it, the earliest of a tie."""
    rows = sorted(rows, key=lambda row: row[0])
    for (onset, duration, _), (after, _, _) in itertools.pairwise(rows):
        if after < onset + duration - 1e-6:
            raise HypnogramProblem(f"rows at {onset:g} s and {after:g} s overlap")
    count = math.floor(max(onset + duration for onset, duration, _ in rows) / SLEEP_EPOCH_S + 1e-9)
    if count == 0:
        raise HypnogramProblem("shorter than one 30 s epoch")
    cover: list[dict[str, float]] = [{} for _ in range(count)]
    for onset, duration, stage in rows:
        if stage is None:
            continue
        end = onset + duration
        for index in range(
            math.floor(onset / SLEEP_EPOCH_S), min(count, math.ceil(end / SLEEP_EPOCH_S))
        ):
            overlap = min(end, (index + 1) * SLEEP_EPOCH_S) - max(onset, index * SLEEP_EPOCH_S)
            if overlap > 1e-9:
                cover[index][stage] = cover[index].get(stage, 0.0) + overlap
    return [max(seconds, key=lambda s: seconds[s]) if seconds else None for seconds in cover]


@dataclass
class Agreement:
    """Epoch pairs (expert, eegmon) of one recording or several pooled; ``?``: eegmon unstaged.

    >>> a = Agreement()
    >>> a.add(["W", "N2", None, "N2"], ["W", "N2", "N3", "N1"])
    >>> a.epochs, a.accuracy
    (3, 0.6666666666666666)
    >>> a.confusion()["N2"]
    {'W': 0, 'N1': 1, 'N2': 1, 'N3': 0, 'REM': 0}
    """

    expert: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)

    def add(self, expert: Sequence[str | None], found: Sequence[str | None]) -> None:
        """The epochs both hypnograms cover and the expert scored (the shorter one's length)."""
        for want, got in zip(expert, found, strict=False):
            if want is not None:
                self.expert.append(want)
                self.found.append("?" if got is None else got)

    def extend(self, other: Agreement) -> None:
        self.expert += other.expert
        self.found += other.found

    @property
    def epochs(self) -> int:
        return len(self.expert)

    @property
    def accuracy(self) -> float | None:
        from staging.agreement import accuracy  # the staging package loads YASA: when needed

        return accuracy(self.expert, self.found) if self.expert else None

    @property
    def kappa(self) -> float | None:
        from staging.agreement import cohen_kappa

        return cohen_kappa(self.expert, self.found) if self.expert else None

    def confusion(self) -> dict[str, dict[str, int]]:
        """Epoch counts: expert stage (rows) by eegmon's (columns, ``?`` if it left any)."""
        columns = [*SLEEP_STAGES, *(["?"] if "?" in self.found else [])]
        counts = Counter(zip(self.expert, self.found, strict=True))
        return {want: {got: counts[want, got] for got in columns} for want in SLEEP_STAGES}
