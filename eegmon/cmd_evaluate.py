"""``eegmon evaluate``: event-level quality of the detector on labelled recordings.

Each file is read by `streamer.recordings.files` and goes through the same `Detector`
as ``eegmon scan`` and the live monitor (run here block by block, so a
channel joining an alert is timed to the window), and through the
fixed-threshold line-length baseline; both sets of alert episodes (a latched
seizure alert seeing a second seizure counts twice, `detector.episodes`) are
matched to the labelled events (BIDS ``*_events.tsv`` or the file's EDF+
annotations) by `evaluation.metrics.score`.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from eegmon.common import fail, say

if TYPE_CHECKING:
    from detector import Alert, DetectorConfig
    from evaluation.metrics import Event, KindScore

#: One labelled event as read from a TSV: onset and duration (s), label, channels.
EventRow = tuple[float, float, str, tuple[str, ...]]


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

    def num(v: Any, fmt: str) -> str:
        return "-".rjust(int(fmt.split(".")[0])) if v is None else format(v, fmt)

    for r in rows:
        lines.append(
            f"{r['kind']:16s} {r['who']:9s} {r['events']:6d} {num(r['sensitivity'], '6.2f')} "
            f"{num(r['localization'], '6.2f')} {num(r['false_alarms_per_hour'], '7.2f')} "
            f"{num(r['latency_median_s'], '6.2f')} {num(r['latency_p95_s'], '6.2f')}"
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
    "--json", "json_path", type=click.Path(path_type=Path), help="Write the rows as JSON."
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Config TOML.")
@click.option(
    "--tolerance", type=float, default=2.0, show_default=True, help="Seconds after an event's end."
)
def evaluate(
    files: tuple[str, ...],
    events_paths: tuple[Path, ...],
    json_path: Path | None,
    config_path: Path | None,
    tolerance: float,
) -> None:
    """Sensitivity, false alarms per hour, latency and localization per kind, against labels.

    A fixed-threshold line-length detector is scored beside eegmon on the same events.
    """
    if events_paths and len(events_paths) != len(files):
        fail(f"give one --events per file ({len(files)} files, {len(events_paths)} --events)")
    if not (tolerance >= 0):
        fail(f"--tolerance must be >= 0, got {tolerance!r}")
    if json_path is not None and (json_path.is_dir() or not json_path.parent.is_dir()):
        fail(f"--json {str(json_path)!r}: not a file in an existing folder")
    from eegmon import config as config_file

    labelled = _labels(files, events_paths)
    try:
        config = config_file.read(config_path)
    except ValueError as exc:
        fail(str(exc))
    # Imported after the checks above: the detector's imports take seconds.
    from evaluation.metrics import KindScore

    try:
        detector_config = config.detector()
    except ValueError as exc:
        fail(str(exc))
    totals: dict[tuple[str, str], KindScore] = {}
    for name, rows in zip(files, labelled, strict=True):
        for who, per_kind in _score_file(name, rows, detector_config, tolerance).items():
            for kind, s in per_kind.items():
                totals.setdefault((kind, who), KindScore(kind)).merge(s)
    table = [
        {"who": who, **s.row()}
        for (kind, who), s in sorted(
            totals.items(), key=lambda item: (item[0][0], item[0][1] != "eegmon")
        )
    ]
    say(format_table(table))
    if json_path is not None:
        try:
            json_path.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {str(json_path)!r}: {exc.strerror}")


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


def _score_file(
    name: str, rows: list[EventRow] | None, config: DetectorConfig, tolerance: float
) -> dict[str, dict[str, KindScore]]:
    """eegmon's and the baseline's scores on one recording, per kind."""
    import numpy as np

    from detector import Block, Detector, StreamMeta
    from evaluation.baseline import LineLengthBaseline
    from evaluation.metrics import detections, score
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
        snapshots: list[tuple[Alert, float]] = []
        raised: list[tuple[Alert, float]] = []
        started = time.perf_counter()
        # hop-sized blocks, so an episode's time is exact to the window
        for first, data in recording.blocks(detector.config.hop_s):
            stamps = (first + np.arange(data.shape[1])) / recording.rate
            block = Block(data, stamps, first)
            at = float(stamps[-1])
            snapshots.extend((a, at) for a in detector.process(block).alerts)
            raised.extend((a, at) for a in baseline.process(block))
        speed = recording.duration / max(time.perf_counter() - started, 1e-9)
    mine = detections(snapshots)
    kinds = {e.kind for e in events}
    duration = recording.duration
    say(
        f"{name}: {duration:.1f} s, {len(events)} labelled events, "
        f"{len(mine)} alert episodes, {speed:.0f}x real time"
    )
    return {
        "eegmon": score(events, mine, duration, tolerance_s=tolerance),
        "baseline": score(events, detections(raised), duration, tolerance_s=tolerance, kinds=kinds),
    }
