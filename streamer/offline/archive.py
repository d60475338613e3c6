"""Archive scan: many recordings on a Dask cluster, long ones split into segments, resumable.

Every file is a task (`probe`: open it, hash its content), then one task per
segment of it (`scan_segment`); a file shorter than 1.5 segments is one
segment. Workers read in 10 s chunks, so a worker's memory does not grow
with the file (XDF excepted: pyxdf loads a file whole).

**Same alerts split or whole.** The detector is stateful, so a segment
starts `overlap_s(config)` earlier than its own span to warm up. What the
detector learns is finite: the model's statistics and each channel's
amplitude baseline cover the last `memory_s` of learned windows, and the
anomaly threshold the scores of the last `threshold_memory()` learned
windows, all as exact sums or an exact rolling quantile; so once a segment
has learned the same windows as one pass, it holds the same state to the
last bit. The warm-up covers both memories (with a quarter more for windows
not learned), the filters' settling, and alerts already running (refractory
period, upgrade). A segment answers for the alert episodes whose onset
falls in its own span ``[start, stop)`` and runs past `stop` until their
alerts are final (cleared, or latched with their condition over). `join`
then gives each episode the alert one pass would: an episode that a segment
saw as a return of an alert begun before its span (``episode`` above 1), or
any episode of a kind whose earlier alert was never cleared (latched:
offline nobody acknowledges it), is the next episode of that earlier alert;
one detected before the earlier alert's last episode ended is that episode,
seen again. Every kind comes out the same, episode for episode (tested),
with two limits:

- the warm-up must see the same decisions as one pass did: if one pass
  raised an `anomaly` (and so learned nothing) within the warm-up, the
  segment, whose threshold starts infinite, learns those windows, and the
  two converge only once they left its memory;
- a latched alert (a `seizure_suspect`, or any upgraded alert) is never
  cleared offline, so one pass keeps one alert of its kind to the end of
  the file; a segment whose warm-up does not reach back to it sees a later
  episode as a new alert, whose message counts the duration from that
  episode's onset where one pass counts from the alert's first.

**Resumable.** Results are stored under ``DIR/.eegmon-scan/`` keyed by the
file's content id, the detector configuration and `SCAN_VERSION` (and the
span, for segments), written atomically; a rerun hashes each file again but
scans only what is not stored. A file that fails is reported with its reason
and not stored, so the next run tries it again.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from detector import DetectorConfig
from streamer.offline.allocator import retain_freed_memory
from streamer.offline.scan import SERIES_STEP_S, FileScan, Series, Span, scan_recording
from streamer.recordings.files import content_id, open_recording

log = logging.getLogger(__name__)

#: Changes whenever the same file and configuration would give other results.
SCAN_VERSION = 2
#: Own span of a segment when a file is split (seconds of signal).
SEGMENT_S = 4 * 3600.0


def overlap_s(config: DetectorConfig) -> float:
    """Seconds analysed before a segment's span so its detector is warm at the span's start.

    Each channel's amplitude baseline must fill its memory (it decides what
    is a seizure, and so what the model may learn), then the model its own,
    then the threshold its own with scores of the filled model (a quarter
    more for windows not learned); alerts need the refractory period and
    the upgrade delay; filters settle in seconds. Rounded up to whole
    30 s epochs.

    Examples
    --------
    >>> overlap_s(DetectorConfig()) / 60
    43.0
    """
    baseline = model = config.memory_windows()
    memories = (baseline + model + config.threshold_memory()) * config.hop_s
    learned = 1.25 * max(memories, config.warmup_windows * config.hop_s)
    alerts = max(config.refractory_s, config.upgrade_after_s or 0.0)
    settle = 10.0 + config.window_s + config.hop_s * max(config.raise_n, config.seizure_n)
    return math.ceil((learned + alerts + settle) / SERIES_STEP_S) * SERIES_STEP_S


def plan_spans(
    n_samples: int, rate: float, config: DetectorConfig, segment_s: float = SEGMENT_S
) -> list[Span]:
    """Own spans of a file's segments, on whole epochs and whole hops (so windows line up).

    Examples
    --------
    >>> [(s.start, s.stop, s.warmup) for s in plan_spans(256 * 3600, 256.0, DetectorConfig())]
    [(0.0, inf, 0.0)]
    >>> spans = plan_spans(256 * 10 * 3600, 256.0, DetectorConfig(), segment_s=4 * 3600)
    >>> [(s.start / 3600, s.stop / 3600) for s in spans]
    [(0.0, 5.0), (5.0, inf)]
    """
    duration = n_samples / rate
    pieces = max(1, round(duration / segment_s)) if duration >= 1.5 * segment_s else 1
    hop = max(1, round(config.hop_s * rate))
    unit = hop * max(1, round(SERIES_STEP_S / config.hop_s))  # samples per epoch, on the hop grid
    cuts = [round(n_samples * i / pieces / unit) * unit for i in range(pieces)]
    warmup = math.ceil(overlap_s(config) * rate / unit) * unit / rate  # whole epochs of hops
    return [
        Span(
            start=cut / rate,
            stop=cuts[i + 1] / rate if i + 1 < pieces else math.inf,
            warmup=warmup if cut else 0.0,
        )
        for i, cut in enumerate(cuts)
    ]


@dataclass(frozen=True)
class Probe:
    """What the archive scan learns from opening a file: enough to plan its segments."""

    file: str
    source_id: str
    n_samples: int
    rate: float


@dataclass(frozen=True)
class Failure:
    """A file (or segment) that could not be scanned, and why, in one line."""

    file: str
    reason: str


def _reason(exc: BaseException) -> str:
    from streamer.recordings.files import FileProblem

    if isinstance(exc, FileProblem):
        return exc.problem
    if isinstance(exc, OSError):
        return f"read failed ({exc.strerror or exc})"
    if isinstance(exc, ValueError):  # e.g. a rate the detector's windows cannot use
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def probe(file: str) -> Probe | Failure:
    """Open and hash a file (a task: runs on a worker, returns rather than raises).

    `file` is absolute (a worker's working directory is not the client's); results
    name it as given.
    """
    try:
        with open_recording(file) as recording:
            return Probe(file, content_id(file), recording.n_samples, recording.rate)
    except Exception as exc:  # a bad file is a result, never a lost worker
        return Failure(file, _reason(exc))


@functools.cache
def _keep_freed_memory() -> None:
    """Once per worker process, as every eegmon command does (Dask's nanny asks glibc to trim).

    Without it the detector's per-window arrays page-fault again and again,
    and a worker scans far slower than ``eegmon scan`` in one process.
    """
    retain_freed_memory()


def scan_segment(
    path: str,
    file: str,
    config: DetectorConfig,
    span: Span,
    source_id: str,
    series: bool = True,
    stage: bool = False,
) -> FileScan | Failure:
    """Scan one segment of `path`, named `file` in the results (a task, like `probe`)."""
    _keep_freed_memory()
    try:
        with open_recording(path) as recording:
            return scan_recording(
                recording, file, config, span=span, source_id=source_id, series=series, stage=stage
            )
    except Exception as exc:  # e.g. a rate the detector's windows cannot use
        return Failure(file, _reason(exc))


def join(parts: Sequence[FileScan]) -> FileScan:
    """One file's result from its segments' results, in order (see the module's doc).

    Alert ids and episodes are numbered again in order of detection, as one
    detector would.
    """
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    # A series with some segments missing would be stored as the file's and plotted
    # with holes: the file has a series only when every segment brought one.
    series = Series(SERIES_STEP_S) if all(p.series is not None for p in parts) else None
    for part in parts:
        if series is not None and part.series is not None:
            series.extend(part.series)
    return replace(
        first,
        duration_s=sum(p.duration_s for p in parts),
        wall_s=sum(p.wall_s for p in parts),
        analysed_s=sum(p.analysed_s for p in parts),
        cpu_s=sum(p.cpu_s for p in parts),
        alerts=_join_episodes(parts),
        series=series,
    )


def _join_episodes(parts: Sequence[FileScan]) -> list[dict[str, Any]]:
    """The segments' episode lines grouped into the alerts of one pass, numbered again."""
    alerts: list[list[dict[str, Any]]] = []  # each alert's episodes, in order
    last: dict[str, list[dict[str, Any]]] = {}  # kind -> its latest alert, from earlier segments
    for part in parts:
        mine: dict[str, list[dict[str, Any]]] = {}  # the segment's alert id -> its alert here
        for line in sorted(part.alerts, key=lambda a: (a["onset"], a["id"])):
            episodes = mine.get(line["id"])
            if episodes is None:
                earlier = last.get(line["kind"])
                if earlier is not None and (
                    earlier[-1]["end"] is None or line["detected_at"] < earlier[-1]["end"]
                ):
                    continue  # that episode again, seen by a segment that warmed up on it
                if earlier is not None and (
                    line["episode"] > 1 or earlier[-1]["state"] != "cleared"
                ):
                    episodes = earlier
                else:
                    episodes = []
                    alerts.append(episodes)
                mine[line["id"]] = episodes
            episodes.append(dict(line))
        last |= {episodes[0]["kind"]: episodes for episodes in mine.values()}
    alerts.sort(key=lambda episodes: (episodes[0]["detected_at"], episodes[0]["onset"]))
    lines: list[dict[str, Any]] = []
    for number, episodes in enumerate(alerts, start=1):
        for episode, line in enumerate(episodes, start=1):
            line |= {"id": f"{line['kind']}-{number}", "episode": episode}
            lines.append(line)
    return sorted(lines, key=lambda a: (a["onset"], a["id"]))


class ResultStore:
    """Finished results under ``folder/.eegmon-scan``, keyed by content and configuration."""

    def __init__(self, folder: Path, config: DetectorConfig, stage: bool = False) -> None:
        self.folder = folder / ".eegmon-scan"
        kept = {"version": SCAN_VERSION, "config": asdict(config), "stage": stage}
        settings = json.dumps(kept, sort_keys=True)
        self.config_key = hashlib.sha256(settings.encode()).hexdigest()[:12]

    def key(self, source_id: str, span: Span | None = None) -> str:
        where = "" if span is None else f"-{span.start:.0f}-{span.stop:.0f}-{span.warmup:.0f}"
        return f"{source_id}-{self.config_key}{where}"

    def get(self, key: str, file: str) -> FileScan | None:
        try:
            text = (self.folder / f"{key}.json").read_text(encoding="utf-8")
        except OSError:  # absent, or unreadable: scan again
            return None
        try:
            result = FileScan.from_dict(json.loads(text))
        except (ValueError, TypeError, KeyError):  # damaged (e.g. a full disk): scan again
            return None
        # the same content may sit elsewhere now: results name the file as given this time
        return replace(result, file=file, alerts=[a | {"file": file} for a in result.alerts])

    def put(self, key: str, result: FileScan) -> None:
        """Store a result; when that fails (disk full), the scan goes on without it."""
        path = self.folder / f"{key}.json"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(result.to_dict(), allow_nan=False), encoding="utf-8")
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            log.warning("result of %s not stored for resuming (%s)", result.file, exc)


@dataclass
class Outcome:
    """One file's end: its result (`stored`: from an earlier run) or why it failed."""

    file: str
    scan: FileScan | None = None
    failure: str | None = None
    stored: bool = False


@dataclass
class Progress:
    """Where an archive scan is: files done, signal scanned (not found stored), time spent."""

    files: int
    files_done: int = 0
    signal_s: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    @property
    def realtime_factor(self) -> float:
        return self.signal_s / max(time.perf_counter() - self.started, 1e-9)


@dataclass(frozen=True)
class _ProbeTask:
    """Open and hash file `index` of the scan."""

    index: int


@dataclass(frozen=True)
class _SegmentTask:
    """Scan segment `number` of file `index`."""

    index: int
    number: int


_Task = _ProbeTask | _SegmentTask


class _InProcess:
    """Runs tasks here, most urgent first: a cluster for a few small files costs more."""

    def __init__(self) -> None:
        self._queue: list[tuple[int, int, _Task, Callable[..., object], tuple[Any, ...]]] = []
        self._order = itertools.count()

    def submit(self, task: _Task, fn: Callable[..., object], *args: Any, priority: int) -> None:
        heapq.heappush(self._queue, (-priority, next(self._order), task, fn, args))

    def results(self) -> Iterator[tuple[_Task, object]]:
        while self._queue:
            _, _, task, fn, args = heapq.heappop(self._queue)
            yield task, fn(*args)

    def cancel(self) -> None:
        self._queue.clear()


class _OnDask:
    """Runs tasks on a Dask cluster; a worker lost mid-task is replaced by the scheduler."""

    def __init__(self, client: Any) -> None:
        from distributed import as_completed

        self.client = client
        self._running = as_completed()  # type: ignore[no-untyped-call]
        self._tasks: dict[Any, _Task] = {}

    def submit(self, task: _Task, fn: Callable[..., object], *args: Any, priority: int) -> None:
        future = self.client.submit(fn, *args, pure=False, priority=priority)
        self._tasks[future] = task
        self._running.add(future)  # type: ignore[no-untyped-call]

    def results(self) -> Iterator[tuple[_Task, object]]:
        for future in self._running:
            task = self._tasks.pop(future)
            try:
                value = future.result()
            except Exception as exc:  # e.g. KilledWorker: the task killed every worker it met
                value = exc
            future.release()
            yield task, value

    def cancel(self) -> None:
        self.client.cancel(list(self._tasks))
        self._running.clear()  # type: ignore[no-untyped-call]


class _ArchiveScan:
    """The state of one `scan_archive`: what each file's tasks brought, and what is settled."""

    def __init__(
        self,
        files: Sequence[str],
        config: DetectorConfig,
        runner: _InProcess | _OnDask,
        store: ResultStore | None,
        segment_s: float,
        series: bool,
        on_outcome: Callable[[Outcome], None] | None,
        stage: bool = False,
    ) -> None:
        self.files, self.config, self.runner, self.store = files, config, runner, store
        self.segment_s, self.series, self.on_outcome = segment_s, series, on_outcome
        self.stage = stage
        self.progress = Progress(len(files))
        self.outcomes: list[Outcome | None] = [None] * len(files)
        self.parts: dict[int, list[FileScan | None]] = {}
        self.plans: dict[int, tuple[Probe, list[Span]]] = {}
        self._reported = 0

    def start(self) -> None:
        for index, file in enumerate(self.files):
            self.runner.submit(_ProbeTask(index), probe, os.path.abspath(file), priority=-index)

    def receive(self, task: _Task, value: object) -> None:
        """A task's result: a failure settles its file; a probe plans it; a segment fills it."""
        file = self.files[task.index]
        if isinstance(value, BaseException):
            value = Failure(file, _reason(value))
        if isinstance(value, Failure):
            if self.outcomes[task.index] is None:
                self._settle(task.index, Outcome(file, failure=value.reason))
        elif isinstance(task, _ProbeTask):
            assert isinstance(value, Probe)
            self._probed(task.index, value)
        else:
            assert isinstance(value, FileScan)
            self._segment_scanned(task, value)
        self._join_when_complete(task.index)

    def results(self) -> list[Outcome]:
        """Every file's outcome, in the order of `files` (those never reached: not scanned)."""
        return [
            o if o is not None else Outcome(f, failure="not scanned")
            for o, f in zip(self.outcomes, self.files, strict=True)
        ]

    def _stored(self, key: str, file: str) -> FileScan | None:
        result = None if self.store is None else self.store.get(key, file)
        return None if result is None or (self.series and result.series is None) else result

    def _probed(self, index: int, found: Probe) -> None:
        """Settle the file from the store, or plan its segments and submit those not stored."""
        file = self.files[index]
        whole = None if self.store is None else self._stored(self.store.key(found.source_id), file)
        if whole is not None:
            self._settle(index, Outcome(file, whole, stored=True))
            return
        spans = plan_spans(found.n_samples, found.rate, self.config, self.segment_s)
        self.plans[index] = (found, spans)
        self.parts[index] = [None] * len(spans)
        for number in reversed(range(len(spans))):
            part = None
            if self.store is not None and len(spans) > 1:
                part = self._stored(self.store.key(found.source_id, spans[number]), file)
            if part is not None:
                self.parts[index][number] = part
                continue
            self.runner.submit(
                _SegmentTask(index, number),
                scan_segment,
                found.file,
                file,
                self.config,
                spans[number],
                found.source_id,
                self.series,
                self.stage,
                priority=-index,
            )

    def _segment_scanned(self, task: _SegmentTask, result: FileScan) -> None:
        found, spans = self.plans[task.index]
        self.parts[task.index][task.number] = result
        self.progress.signal_s += result.duration_s
        if self.store is not None and len(spans) > 1:
            self.store.put(self.store.key(found.source_id, spans[task.number]), result)

    def _join_when_complete(self, index: int) -> None:
        parts = self.parts.get(index)
        if parts is None or self.outcomes[index] is not None or any(p is None for p in parts):
            return
        result = join([p for p in parts if p is not None])
        if self.store is not None:
            self.store.put(self.store.key(self.plans[index][0].source_id), result)
        self._settle(index, Outcome(self.files[index], result))

    def _settle(self, index: int, outcome: Outcome) -> None:
        """Record a file's outcome; report every outcome now ready, in the order of `files`."""
        self.outcomes[index] = outcome
        self.progress.files_done += 1
        while self._reported < len(self.files):
            ready = self.outcomes[self._reported]
            if ready is None:
                break
            self._reported += 1
            if self.on_outcome is not None:
                self.on_outcome(ready)


def scan_archive(
    files: Sequence[str],
    config: DetectorConfig,
    *,
    client: Any = None,
    store: ResultStore | None = None,
    segment_s: float = SEGMENT_S,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    series: bool = True,
    stage: bool = False,
) -> list[Outcome]:
    """Scan `files` on `client` (a ``distributed.Client``) or here when None.

    `on_outcome` is called once per file, in the order of `files`, as soon
    as that file and all before it are done; `on_progress` after every task.
    Setting `stop` ends the scan after the task at hand (what is done stays
    stored). `series` False skips the per-epoch series only reports need;
    a stored result without one is then not reused when it is wanted.
    `stage` stages each file's sleep as it is scanned, as the monitor does
    live (`scan_recording`); give the `store` the same `stage`.
    Returns the outcomes in the order of `files`.
    """
    runner: _InProcess | _OnDask = _InProcess() if client is None else _OnDask(client)
    scan = _ArchiveScan(files, config, runner, store, segment_s, series, on_outcome, stage)
    scan.start()
    for task, value in runner.results():
        scan.receive(task, value)
        if on_progress is not None:
            on_progress(scan.progress)
        if stop is not None and stop.is_set():
            runner.cancel()
            break
    return scan.results()
