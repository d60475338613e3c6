"""``eegmon replay`` and ``eegmon scan``: recorded files, live or offline."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from eegmon.common import fail, quiet_liblsl, say, stop_on_signals

if TYPE_CHECKING:
    from eegmon.config import ConfigFile
    from streamer.offline.archive import Outcome, Progress


def _speed(text: str) -> float | None:
    if text.strip().lower() == "max":
        return None
    try:
        return float(text)
    except ValueError:
        fail(f"--speed {text!r} is not a number (0.1-100) or 'max'")


def _progress_bar() -> tuple[Callable[[float, float], None] | None, Callable[[], None]]:
    """A tqdm bar on stderr when it is a terminal; nothing otherwise (logs stay clean)."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(
        total=0.0, unit="s", file=sys.stderr, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s"
    )

    def update(position: float, duration: float) -> None:
        bar.total = round(duration, 1)
        bar.n = round(position, 1)
        bar.update(0)

    return update, bar.close


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=False))
@click.option("--speed", default="1", show_default=True, help="0.1-100 times real time, or max.")
@click.option("--loop", is_flag=True, help="Start over at the end of the file, until stopped.")
@click.option("--name", help="LSL stream name [the file's name].")
@click.option("--start", "start_s", type=float, default=0.0, help="Begin SEC seconds in [0].")
def replay(file: Path, speed: str, loop: bool, name: str | None, start_s: float) -> None:
    """Publish a recorded file (EDF, BDF, FIF, BrainVision, XDF...) as a live LSL stream."""
    from simulators.player import FilePlayer
    from streamer.recordings.files import FileProblem

    progress, done = _progress_bar()
    try:
        player = FilePlayer(
            file, name=name, speed=_speed(speed), loop=loop, start_s=start_s, progress=progress
        )
    except (FileProblem, ValueError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    for warning in player.recording.warnings:
        click.echo(f"eegmon replay: warning: {file}: {warning}", err=True)
    quiet_liblsl()
    with stop_on_signals() as stop:
        player.open()
        say(f"eegmon replay: {player.summary()}")
        say(f"eegmon replay: waiting for an inlet on {player.name!r}")
        try:
            stats = player.run(stop)
        finally:
            done()
    how = "stopped" if stop.is_set() else "finished"
    say(f"eegmon replay: {how} after {stats.samples} samples ({stats.loops} passes)")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--jsonl", help="Write one JSON line per alert episode to FILE (- for stdout).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Write per file <file>.alerts.jsonl and <file>.html, an index.html, and keep results "
    "so a rerun scans only what is new.",
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Config TOML.")
@click.option("--scheduler", help="Run on this Dask cluster (tcp://HOST:PORT).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes of the embedded Dask cluster [the cores].",
)
@click.option(
    "--segment-hours",
    type=click.FloatRange(min=0.01),
    default=4.0,  # streamer.offline.archive.SEGMENT_S
    show_default=True,
    help="Split longer files into segments of about this length.",
)
@click.option(
    "--no-staging",
    is_flag=True,
    help="Judge every window against the recording's pooled baselines, without staging sleep "
    "(faster; the alerts of monitor --no-staging).",
)
def scan(
    paths: tuple[str, ...],
    jsonl: str | None,
    out_dir: Path | None,
    config_path: Path | None,
    scheduler: str | None,
    workers: int | None,
    segment_hours: float,
    no_staging: bool,
) -> None:
    """Run the monitor's detector over recorded files or directories, as fast as possible.

    Files are tasks on a Dask cluster (--scheduler, or an embedded one of
    --workers processes); a summary per file goes to stderr: duration, alerts
    per kind, real-time factor. Sleep is staged as each file is scanned and
    each window judged in its stage, as the monitor does live.
    """
    if scheduler is not None:
        _check_scheduler(scheduler)
    targets, problems = _targets(paths)
    if not targets:
        fail(problems[0] if len(problems) == 1 else f"no recordings in {', '.join(paths)}")
    inputs = len(targets) + len(problems)
    config_file = _read_config(config_path)
    sink = _open_jsonl(jsonl)
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot create {str(out_dir)!r}: {exc.strerror}")
    # Imported once the options are known good: the detector's imports take seconds.
    from streamer.offline.archive import ResultStore, overlap_s, scan_archive

    try:
        config = config_file.detector()
    except ValueError as exc:
        fail(str(exc))
    warmup_h = overlap_s(config) / 3600
    if segment_hours < 2 * warmup_h:
        click.echo(
            f"eegmon scan: warning: segments of {segment_hours:g} h each re-analyse "
            f"{warmup_h:.2f} h of warm-up before them; long files cost much more than once",
            err=True,
        )
    for message in problems:
        click.echo(f"eegmon: error: {message}", err=True)
    progress, close_progress = _scan_progress(len(targets))
    outcomes_out = _OutcomeWriter(sink, out_dir, inputs, progress)
    try:
        with stop_on_signals() as stop, _cluster(scheduler, workers, targets) as client:
            outcomes = scan_archive(
                targets,
                config,
                client=client,
                store=None if out_dir is None else ResultStore(out_dir, config, not no_staging),
                segment_s=segment_hours * 3600,
                on_outcome=outcomes_out.outcome,
                on_progress=progress,
                stop=stop,
                series=out_dir is not None,  # only the reports plot it
                stage=not no_staging,
            )
    except BrokenPipeError:  # `eegmon scan ... --jsonl - | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    finally:
        close_progress()
        if sink is not None and sink is not sys.stdout:
            sink.close()
    if out_dir is not None:
        outcomes_out.index(outcomes)
    if stop.is_set():
        done = sum(o.scan is not None for o in outcomes)
        click.echo(f"eegmon scan: stopped after {done} of {len(targets)} files", err=True)
        sys.exit(1)
    failed = len(problems) + outcomes_out.failed
    if failed:
        fail(f"{failed} of {inputs} inputs could not be scanned")


def _targets(paths: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The files to scan (directories searched), and one line per input that surely fails.

    Only names and sizes are looked at: a missing or empty file is refused
    before any reader (or the detector) is loaded.
    """
    from streamer.recordings.files import FileProblem, check_file, find_recordings

    targets: list[str] = []
    problems: list[str] = []
    for given in paths:
        found = find_recordings([given])
        if Path(given).is_dir() and not found:
            problems.append(f"{given}: no recordings found (searched for EDF, BDF, FIF, XDF...)")
        for path in found:
            name = str(path) if Path(given).is_dir() else given
            try:
                check_file(path)
            except FileProblem as exc:  # missing, empty...: known without reading it
                problems.append(f"{name}: {exc.problem}")
            else:
                targets.append(name)
    return targets, problems


#: Below this much data a cluster's start-up (several seconds) costs more than it saves.
IN_PROCESS_BYTES = 32 << 20


@contextlib.contextmanager
def _cluster(scheduler: str | None, workers: int | None, targets: list[str]) -> Iterator[Any]:
    """A Dask client: of `scheduler`, of an embedded LocalCluster, or None to scan in-process."""
    import logging

    if scheduler is None:
        size = sum(os.path.getsize(t) for t in targets if os.path.isfile(t))
        if workers == 1 or (workers is None and size < IN_PROCESS_BYTES):
            yield None
            return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except Exception as exc:  # Dask raises many kinds; each is one line here
            hint = (
                " (tls:// needs Dask's distributed.comm.tls settings)" if "tls" in scheduler else ""
            )
            fail(f"cannot reach the Dask scheduler at {scheduler!r} ({exc}){hint}")
        click.echo(f"eegmon scan: on the Dask cluster at {scheduler}", err=True)
        with client:
            yield client
        return
    count = workers or os.cpu_count() or 1
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        click.echo(f"eegmon scan: on a local Dask cluster of {count} workers", err=True)
        yield client


def _scan_progress(files: int) -> tuple[Callable[[Progress], None] | None, Callable[[], None]]:
    """A tqdm bar of files, hours of EEG and real-time factor, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=files, unit="file", file=sys.stderr, dynamic_ncols=True)

    def update(progress: Progress) -> None:
        bar.n = progress.files_done
        bar.set_postfix_str(
            f"{progress.signal_s / 3600:.1f} h of EEG, {progress.realtime_factor:.0f}x real time"
        )

    return update, bar.close


def _first_line(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as existing:
            return existing.readline()
    except OSError:
        return None


class _OutcomeWriter:
    """Writes each file's outcome: stderr lines, JSON lines, per-file report; then the index."""

    def __init__(
        self,
        sink: IO[str] | None,
        out_dir: Path | None,
        inputs: int,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self.sink = sink
        self.out_dir = out_dir
        self.inputs = inputs
        self.progress = progress
        self.failed = 0
        self.names: dict[str, str] = {}  # file -> its name in out_dir

    def echo(self, line: str) -> None:
        if self.progress is not None:
            from tqdm import tqdm

            tqdm.write(line, file=sys.stderr)
        else:
            click.echo(line, err=True)

    def outcome(self, outcome: Outcome) -> None:
        if outcome.scan is None:
            message = f"{outcome.file}: {outcome.failure}"
            if self.inputs == 1:
                fail(message)
            self.failed += 1
            self.echo(f"eegmon: error: {message}")
            return
        from dashboard.report import render_recording

        result = outcome.scan
        for warning in result.warnings:
            self.echo(f"eegmon scan: warning: {outcome.file}: {warning}")
        lines = [json.dumps(a, allow_nan=False) + "\n" for a in result.alerts]
        if self.sink is not None:
            self.sink.writelines(lines)
            self.sink.flush()
        if self.out_dir is not None:
            name = Path(outcome.file).name
            if name in self.names.values():
                name = f"{name}-{result.source_id[-8:]}"
            self.names[outcome.file] = name
            (self.out_dir / f"{name}.alerts.jsonl").write_text("".join(lines), encoding="utf-8")
            stages = self._stages(name, outcome)
            report = self.out_dir / f"{name}.html"
            scanned = result.to_dict()
            shown = {"scan": scanned, "stages": stages}
            digest = hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()
            # A rerun renders only what is new; the name alone could now be another
            # recording's (files moved) or another configuration's report.
            marker = f"<!-- eegmon scan result {digest} -->\n"
            if _first_line(report) != marker:
                report.write_text(marker + render_recording(scanned, stages), encoding="utf-8")
        self.echo(f"eegmon scan: {result.summary()}" + ("; done before" if outcome.stored else ""))

    def _stages(self, name: str, outcome: Outcome) -> list[dict[str, Any]]:
        """The file's hypnogram beside its alerts (staged again only for a new result), its rows."""
        from dataclasses import asdict

        from streamer.offline.stages import read_stages, write_stages

        assert self.out_dir is not None
        target = self.out_dir / f"{name}.stages.tsv"
        unscored = write_stages(target, Path(outcome.file), keep=outcome.stored)
        if unscored is not None:
            self.echo(f"eegmon scan: warning: {outcome.file}: sleep not staged: {unscored}")
        return [asdict(row) for row in read_stages(target)]

    def index(self, outcomes: list[Outcome]) -> None:
        from dashboard.report import render_index

        assert self.out_dir is not None
        entries = [
            {
                "file": o.file,
                "report": f"{self.names[o.file]}.html" if o.file in self.names else None,
                "scan": None if o.scan is None else o.scan.to_dict(),
                "failure": o.failure,
            }
            for o in outcomes
        ]
        (self.out_dir / "index.html").write_text(render_index(entries), encoding="utf-8")


def _read_config(path: Path | None) -> ConfigFile:
    from eegmon import config

    try:
        return config.read(path)
    except ValueError as exc:
        fail(str(exc))


#: What Dask's ``Client`` connects to (``HOST:PORT`` alone means tcp).
SCHEDULER_SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")


def _check_scheduler(address: str) -> None:
    """Refuse an address Dask cannot connect to whatever runs there, before loading Dask."""
    parts = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme == "inproc":
        return
    try:
        port = parts.port
    except ValueError:  # not a number, or beyond 65535
        port = None
    if parts.scheme not in SCHEDULER_SCHEMES or not parts.hostname or not port:
        fail(f"--scheduler {address!r} is not a Dask address like tcp://HOST:PORT")


def _open_jsonl(jsonl: str | None) -> IO[str] | None:
    if jsonl is None:
        return None
    if jsonl == "-":
        return sys.stdout
    try:
        return open(jsonl, "w", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {jsonl!r}: {exc.strerror}")
