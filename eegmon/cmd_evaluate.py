"""``eegmon evaluate``: event-level quality of the detector on labelled recordings.

Each file is read by `streamer.recordings.files` and goes through the same `Detector`
as ``eegmon scan`` and the live monitor (run here block by block, so a
channel joining an alert is timed to the window), and through the
fixed-threshold line-length baseline; both sets of alert episodes (a latched
seizure alert seeing a second seizure counts twice, `detector.episodes`) are
matched to the labelled events (BIDS ``*_events.tsv`` or the file's EDF+
annotations) by `evaluation.metrics.score`, and scored as SzCORE does
(`evaluation.szcore`). As in the monitor, the sleep is staged as the file
goes (`staging.LiveStager`) and each staged epoch told to the detector
(`detector.stages`), unless ``--no-staging``; with ``--hypnogram`` those
stages, final and live, and the whole recording's staging (`staging.whole`,
as `scan --out` reports it) are compared with an expert's (`evaluation.hypnogram`).
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from eegmon.common import fail, say

if TYPE_CHECKING:
    from collections.abc import Sequence

    from detector import DetectorConfig
    from evaluation.hypnogram import Agreement
    from evaluation.metrics import Detection, Event
    from evaluation.szcore import SzcoreScore
    from staging import LiveStager, StagedEpoch

#: The stagings compared with an expert's hypnogram: the whole recording's at once (the
#: hypnogram of `scan --out`), the live stager's final revision, and its first stage.
STAGINGS = ("recording", "final", "live")
#: One labelled event as read from a TSV: onset and duration (s), label, channels.
EventRow = tuple[float, float, str, tuple[str, ...]]


@dataclass
class Night:
    """A recording's 30 s epochs as staged while it was evaluated: each one's final stage
    and the live one (as first staged); `unstaged` says why it was not staged, if not."""

    final: list[str | None] = field(default_factory=list)
    live: list[str | None] = field(default_factory=list)
    unstaged: str | None = None


def read_events_tsv(path: Path) -> list[EventRow]:
    """BIDS events: onset, duration, trial_type and optional channels (comma-separated)."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
    except OSError as exc:
        fail(f"cannot read events {str(path)!r}: {exc.strerror}")
    events: list[EventRow] = []
    for number, row in enumerate(rows, start=2):
        try:
            onset, duration = float(row["onset"]), float(row.get("duration") or 0.0)
            label = (row.get("trial_type") or "").strip()
        except (KeyError, TypeError, ValueError):
            fail(f"{path}: line {number}: needs numeric 'onset' and 'duration' and a 'trial_type'")
        if not label:
            fail(f"{path}: line {number}: empty trial_type")
        channels = tuple(c.strip() for c in (row.get("channels") or "").split(",") if c.strip())
        events.append((onset, duration, label, channels))
    return events


def _events_file(path: Path, given: Path | None) -> Path | None:
    """The events TSV of recording `path`: given, or its sibling; None: its annotations."""
    if given is not None:
        return given
    stem = path.name.split(".")[0]
    for candidate in (path.with_name(f"{stem}_events.tsv"), path.with_name(f"{stem}.tsv")):
        if candidate.is_file():
            return candidate
    return None


def _events(rows: list[EventRow] | None, recording: Any) -> list[Event]:
    """Events to score against: the TSV's rows, else the recording's alert-kind annotations."""
    from evaluation.metrics import Event, expected_kind
    from protocol.kinds import KINDS

    if rows is not None:
        return [Event(onset, length, expected_kind(label), ch) for onset, length, label, ch in rows]
    events: list[Event] = []
    for note in recording.annotations:
        kind = expected_kind(note.text.strip())
        if kind in KINDS:
            events.append(Event(note.onset, note.duration, kind))
    return events


def format_table(rows: list[dict[str, Any]]) -> str:
    """The per-kind table: eegmon and the baseline side by side."""
    head = (
        f"{'kind':16s} {'who':9s} {'events':>6s} {'sens':>6s} {'local':>6s} "
        f"{'FA/h':>7s} {'lat50':>6s} {'lat95':>6s}"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['kind']:16s} {r['who']:9s} {r['events']:6d} {_num(r['sensitivity'], '6.2f')} "
            f"{_num(r['localization'], '6.2f')} {_num(r['false_alarms_per_hour'], '7.2f')} "
            f"{_num(r['latency_median_s'], '6.2f')} {_num(r['latency_p95_s'], '6.2f')}"
        )
    return "\n".join(lines)


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--events",
    "events_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="BIDS *_events.tsv, one per FILE in order [FILE's sibling *_events.tsv, or its EDF+ "
    "annotations].",
)
@click.option(
    "--hypnogram",
    "hypnogram_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Expert hypnogram, one per FILE in order: TSV (onset, duration, stage) or DREAMS "
    "(a stage every 5 s); eegmon's final and live stages are compared with it.",
)
@click.option(
    "--szcore",
    "szcore_kinds",
    multiple=True,
    default=("seizure_suspect",),
    show_default=True,
    metavar="KIND",
    help="Alert kind also scored as SzCORE scores seizures (repeatable).",
)
@click.option(
    "--no-staging",
    is_flag=True,
    help="Do not stage sleep: the detector judges every window against the whole "
    "recording's baselines (as monitor --no-staging).",
)
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="Write the rows as JSON."
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Config TOML.")
@click.option(
    "--tolerance", type=float, default=2.0, show_default=True, help="Seconds after an event's end."
)
def evaluate(
    files: tuple[str, ...],
    events_paths: tuple[Path, ...],
    hypnogram_paths: tuple[Path, ...],
    szcore_kinds: tuple[str, ...],
    no_staging: bool,
    json_path: Path | None,
    config_path: Path | None,
    tolerance: float,
) -> None:
    """Sensitivity, false alarms per hour, latency and localization per kind, against labels.

    A fixed-threshold line-length detector is scored beside eegmon on the same
    events, and both are scored again as SzCORE does (sensitivity, precision,
    F1, false alarms per 24 h). With --hypnogram: the sleep stages' accuracy,
    Cohen's kappa and confusion matrix against the expert's.
    """
    from protocol.kinds import KINDS

    for name, paths in (("--events", events_paths), ("--hypnogram", hypnogram_paths)):
        if paths and len(paths) != len(files):
            fail(f"give one {name} per file ({len(files)} files, {len(paths)} {name})")
    if no_staging and hypnogram_paths:
        fail("--hypnogram compares the stages that --no-staging leaves out: give one of them")
    unknown = [kind for kind in szcore_kinds if kind not in KINDS]
    if unknown:
        fail(f"--szcore {unknown[0]!r}: not an alert kind ({', '.join(KINDS)})")
    if not (tolerance >= 0):
        fail(f"--tolerance must be >= 0, got {tolerance!r}")
    if json_path is not None and (json_path.is_dir() or not json_path.parent.is_dir()):
        fail(f"--json {str(json_path)!r}: not a file in an existing folder")
    from eegmon import config as config_file

    labelled = _labels(files, events_paths)
    experts = _hypnograms(hypnogram_paths)
    try:
        config = config_file.read(config_path)
    except ValueError as exc:
        fail(str(exc))
    try:
        detector_config = config.detector()
    except ValueError as exc:
        fail(str(exc))
    table, nights = _event_rows(
        files, labelled, detector_config, tolerance, szcore_kinds, not no_staging
    )
    if experts:
        table += _staging_rows(files, hypnogram_paths, experts, nights)
    if json_path is not None:
        try:
            json_path.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {str(json_path)!r}: {exc.strerror}")


def _event_rows(
    files: tuple[str, ...],
    labelled: list[list[EventRow] | None],
    config: DetectorConfig,
    tolerance: float,
    szcore_kinds: tuple[str, ...],
    staging: bool,
) -> tuple[list[dict[str, Any]], list[Night]]:
    """Every file run and scored; the pooled tables printed and returned as rows; the nights."""
    # Imported after the checks: the detector's imports take seconds.
    from evaluation.metrics import KindScore, score, unlabelled_hours
    from evaluation.szcore import SzcoreScore, score_kind

    totals: dict[tuple[str, str], KindScore] = {}
    szcore: dict[tuple[str, str], SzcoreScore] = {}
    hours = 0.0
    nights: list[Night] = []
    for name, rows in zip(files, labelled, strict=True):
        events, found, duration, night = _run_file(name, rows, config, staging)
        nights.append(night)
        hours += unlabelled_hours(events, duration, tolerance)
        kinds = {e.kind for e in events}
        for who, mine in found.items():
            per_kind = score(
                events, mine, duration, tolerance_s=tolerance,
                kinds=None if who == "eegmon" else kinds,
            )  # fmt: skip
            for kind, s in per_kind.items():
                totals.setdefault((kind, who), KindScore(kind)).merge(s)
            for kind in szcore_kinds:
                szcore.setdefault((kind, who), SzcoreScore(kind)).merge(
                    score_kind(kind, events, mine, duration)
                )
    for s in totals.values():
        s.hours = hours  # every file's, not only those where the kind was seen
    strict = [
        {"scoring": "strict", "who": who, **s.row()}
        for (_, who), s in sorted(totals.items(), key=_order)
    ]
    overlap = [
        {"scoring": "szcore", "who": who, **s.row()}
        for (_, who), s in sorted(szcore.items(), key=_order)
    ]
    say(format_table(strict))
    if overlap:
        say("")
        say(format_szcore(overlap))
    return strict + overlap, nights


def _order(item: tuple[tuple[str, str], Any]) -> tuple[str, bool]:
    """By kind, eegmon before the baseline."""
    (kind, who), _ = item
    return kind, who != "eegmon"


def _labels(files: tuple[str, ...], events_paths: tuple[Path, ...]) -> list[list[EventRow] | None]:
    """Each file checked, and its events TSV read (None: the file's annotations will do)."""
    from streamer.recordings.files import FileProblem, check_file

    labelled: list[list[EventRow] | None] = []
    for number, name in enumerate(files):
        try:
            check_file(Path(name))
        except FileProblem as exc:
            fail(str(exc))
        source = _events_file(Path(name), events_paths[number] if events_paths else None)
        labelled.append(None if source is None else read_events_tsv(source))
    return labelled


def _run_file(
    name: str, rows: list[EventRow] | None, config: DetectorConfig, staging: bool
) -> tuple[list[Event], dict[str, list[Detection]], float, Night]:
    """One recording's events, eegmon's and the baseline's alert episodes, duration and night."""
    import numpy as np

    from detector import Alert, Block, Detector, StreamMeta
    from evaluation.baseline import LineLengthBaseline
    from evaluation.metrics import detections
    from streamer.recordings.files import FileProblem, content_id, open_recording

    path = Path(name)
    try:
        recording = open_recording(path)
    except FileProblem as exc:
        fail(str(exc))
    with recording:
        events = _events(rows, recording)
        stream = StreamMeta(path.name, content_id(path), recording.labels, recording.rate)
        try:
            detector = Detector(stream, config)
        except ValueError as exc:
            fail(f"{name}: {exc}")
        baseline = LineLengthBaseline(stream)
        stager, unstaged = _stager(recording.labels, recording.rate) if staging else (None, None)
        staged: list[StagedEpoch] = []
        snapshots: list[tuple[Alert, float]] = []
        raised: list[tuple[Alert, float]] = []
        started = time.perf_counter()
        # hop-sized blocks, so an episode's time is exact to the window
        for first, data in recording.blocks(detector.config.hop_s):
            if stager is not None:  # as the monitor: each stage judges windows from its time on
                for epoch in stager.add(first, data):
                    detector.stage(epoch.index, epoch.stage, epoch.staged_at_s)
                    staged.append(epoch)
            stamps = (first + np.arange(data.shape[1])) / recording.rate
            block = Block(data, stamps, first)
            at = float(stamps[-1])
            snapshots.extend((a, at) for a in detector.process(block).alerts)
            raised.extend((a, at) for a in baseline.process(block))
        if stager is not None:
            staged += stager.finish()
        speed = recording.duration / max(time.perf_counter() - started, 1e-9)
    mine = detections(snapshots)
    say(
        f"{name}: {recording.duration:.1f} s, {len(events)} labelled events, "
        f"{len(mine)} alert episodes, {speed:.0f}x real time"
    )
    night = _night(staged, recording.duration, unstaged)
    return events, {"eegmon": mine, "baseline": detections(raised)}, recording.duration, night


def _stager(labels: Sequence[str], rate: float) -> tuple[LiveStager | None, str | None]:
    """The monitor's sleep stager for the recording, or why it cannot be staged."""
    from staging import LiveStager  # slow: YASA, MNE, LightGBM

    try:
        return LiveStager(labels, rate), None
    except ValueError as exc:  # no EEG channel to stage from, a rate below 50 Hz
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _night(staged: list[StagedEpoch], duration: float, unstaged: str | None) -> Night:
    """Every whole 30 s epoch's final and first stage (None where it was not staged)."""
    from protocol.feed import SLEEP_EPOCH_S

    final = {epoch.index: epoch.stage for epoch in staged}
    live: dict[int, str] = {}
    for epoch in staged:
        live.setdefault(epoch.index, epoch.stage)
    count = max(int(duration // SLEEP_EPOCH_S), max(final, default=-1) + 1)
    return Night(
        [final.get(i) for i in range(count)], [live.get(i) for i in range(count)], unstaged
    )


def format_szcore(rows: list[dict[str, Any]]) -> str:
    """SzCORE's table: any overlap, 30 s before and 60 s after, merged under 90 s."""
    lines = [
        "SzCORE event scoring (any overlap; 30 s before, 60 s after; merged under 90 s apart)",
        f"{'kind':16s} {'who':9s} {'events':>6s} {'sens':>6s} {'prec':>6s} {'F1':>6s} "
        f"{'FA/24h':>8s}",
    ]
    for r in rows:
        lines.append(
            f"{r['kind']:16s} {r['who']:9s} {r['events']:6d} {_num(r['sensitivity'], '6.2f')} "
            f"{_num(r['precision'], '6.2f')} {_num(r['f1'], '6.2f')} "
            f"{_num(r['false_alarms_per_24h'], '8.1f')}"
        )
    return "\n".join(lines)


def _num(v: Any, fmt: str) -> str:
    return "-".rjust(int(fmt.split(".")[0])) if v is None else format(v, fmt)


def _hypnograms(paths: tuple[Path, ...]) -> list[list[str | None]]:
    """The expert hypnograms, read before any recording is (a bad one stops the run)."""
    from evaluation.hypnogram import HypnogramProblem, read_hypnogram

    experts = []
    for path in paths:
        try:
            experts.append(read_hypnogram(path))
        except HypnogramProblem as exc:
            fail(f"--hypnogram {str(path)!r}: {exc}")
    return experts


def _staging_rows(
    files: tuple[str, ...],
    paths: tuple[Path, ...],
    experts: list[list[str | None]],
    nights: list[Night],
) -> list[dict[str, Any]]:
    """Each file's stages compared with its expert's; the tables printed and returned as rows."""
    from evaluation.hypnogram import Agreement
    from streamer.offline.stages import stage_file

    pooled = {who: Agreement() for who in STAGINGS}
    rows: list[dict[str, Any]] = []
    for name, path, expert, night in zip(files, paths, experts, nights, strict=True):
        if night.unstaged is not None:
            _warn(f"{name}: sleep not staged, not compared with {path}: {night.unstaged}")
            continue
        whole = [row.stage for row in stage_file(Path(name))[0]]
        if abs(len(night.final) - len(expert)) > 1:
            _warn(
                f"{name}: {len(night.final)} epochs of 30 s, {path} scores {len(expert)}: "
                f"the first {min(len(night.final), len(expert))} compared"
            )
        for who, found in zip(STAGINGS, (whole, night.final, night.live), strict=True):
            agreement = Agreement()
            agreement.add(expert, found)
            pooled[who].extend(agreement)
            rows.append(_staging_row(name, str(path), who, agreement))
    if len(rows) > len(STAGINGS):
        rows += [_staging_row("all", "", who, a) for who, a in pooled.items()]
    if rows:
        say("")
        say(format_staging(rows, pooled))
    return rows


def _staging_row(name: str, path: str, who: str, agreement: Agreement) -> dict[str, Any]:
    def rounded(v: float | None) -> float | None:
        return None if v is None else round(v, 3)

    return {
        "scoring": "staging", "kind": "sleep_stage", "who": who, "recording": name,
        "hypnogram": path, "epochs": agreement.epochs, "accuracy": rounded(agreement.accuracy),
        "kappa": rounded(agreement.kappa), "confusion": agreement.confusion(),
    }  # fmt: skip


def format_staging(rows: list[dict[str, Any]], pooled: dict[str, Agreement]) -> str:
    """Agreement per recording (and pooled), then the pooled confusion matrices."""
    width = max(len("recording"), *(len(r["recording"]) for r in rows))
    lines = [
        "sleep stages against the expert's hypnogram (30 s epochs)",
        f"{'recording':{width}s} {'who':9s} {'epochs':>6s} {'acc':>6s} {'kappa':>6s}  hypnogram",
    ]
    for r in rows:
        lines.append(
            f"{r['recording']:{width}s} {r['who']:9s} {r['epochs']:6d} "
            f"{_num(r['accuracy'], '6.2f')} {_num(r['kappa'], '6.2f')}  {r['hypnogram']}"
        )
    for who, agreement in pooled.items():
        matrix = agreement.confusion()
        columns = list(next(iter(matrix.values())))
        lines += ["", f"{who} stages (columns) by the expert's (rows), epochs"]
        lines.append("      " + "".join(f"{c:>6s}" for c in columns))
        lines += [
            f"{want:6s}" + "".join(f"{n:6d}" for n in got.values()) for want, got in matrix.items()
        ]
    return "\n".join(lines)


def _warn(message: str) -> None:
    click.echo(f"eegmon evaluate: warning: {message}", err=True)
