"""``eegmon replay`` and ``eegmon scan``: recorded files, live or offline."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from eegmon.cli import fail, say, stop_on_signals

if TYPE_CHECKING:
    from detector import DetectorConfig
    from streamer.files import Recording
    from streamer.scan import FileScan


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
    from streamer.files import FileProblem

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
@click.option("--jsonl", help="Write one JSON line per alert to FILE (- for stdout).")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), help="Write <file>.alerts.jsonl per file."
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Config TOML.")
def scan(
    paths: tuple[str, ...], jsonl: str | None, out_dir: Path | None, config_path: Path | None
) -> None:
    """Run the monitor's detector over recorded files or directories, as fast as possible.

    A summary per file goes to stderr: duration, alerts per kind, real-time factor.
    """
    from streamer.files import FileProblem, find_recordings, open_recording

    targets: list[str] = []
    problems: list[str] = []
    for given in paths:
        found = find_recordings([given])
        if Path(given).is_dir() and not found:
            problems.append(f"{given}: no recordings found (searched for EDF, BDF, FIF, XDF...)")
        targets.extend(str(p) if Path(given).is_dir() else given for p in found)
    sink = _open_jsonl(jsonl)
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot create {str(out_dir)!r}: {exc.strerror}")

    def problem(message: str) -> None:
        if len(targets) + empty_dirs <= 1:
            fail(message)
        problems.append(message)
        click.echo(f"eegmon: error: {message}", err=True)

    empty_dirs = len(problems)
    if not targets:
        fail(problems[0] if len(problems) == 1 else f"no recordings in {', '.join(paths)}")
    for message in list(problems):
        click.echo(f"eegmon: error: {message}", err=True)
    try:
        for target in targets:
            try:
                recording = open_recording(target)
            except FileProblem as exc:
                problem(str(exc))
                continue
            except OSError as exc:
                problem(f"{target}: {exc.strerror or exc}")
                continue
            for warning in recording.warnings:
                click.echo(f"eegmon scan: warning: {target}: {warning}", err=True)
            try:
                detector_config = _detector_config(config_path)
                result = _scan_one(recording, target, detector_config, sink, out_dir)
            except ValueError as exc:  # e.g. a rate the detector's windows cannot use
                problem(f"{target}: {exc}")
                continue
            except BrokenPipeError:
                raise
            except OSError as exc:
                problem(f"{target}: read failed ({exc.strerror or exc})")
                continue
            click.echo(f"eegmon scan: {result.summary()}", err=True)
    except BrokenPipeError:  # `eegmon scan ... --jsonl - | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    finally:
        if sink is not None and sink is not sys.stdout:
            sink.close()
    if problems:
        fail(f"{len(problems)} of {len(targets) + empty_dirs} inputs could not be scanned")


@functools.cache
def _detector_config(path: Path | None) -> DetectorConfig:
    """Loaded at the first file that opens: a bad file is reported without loading the detector."""
    from eegmon import config as config_file

    try:
        return config_file.load(path)[0]
    except ValueError as exc:
        fail(str(exc))


def _scan_one(
    recording: Recording,
    target: str,
    config: DetectorConfig,
    sink: IO[str] | None,
    out_dir: Path | None,
) -> FileScan:
    """Scan one opened file; alert lines go to `sink` and ``<out_dir>/<name>.alerts.jsonl``."""
    from streamer.scan import scan_recording

    with recording, contextlib.ExitStack() as stack:
        outputs = [] if sink is None else [sink]
        if out_dir is not None:
            per_file = out_dir / f"{Path(target).name}.alerts.jsonl"
            outputs.append(stack.enter_context(open(per_file, "w", encoding="utf-8")))

        def write(line: dict[str, Any]) -> None:
            text = json.dumps(line, allow_nan=False) + "\n"
            for out in outputs:
                out.write(text)
                out.flush()

        return scan_recording(recording, target, config, on_alert=write)


def _open_jsonl(jsonl: str | None) -> IO[str] | None:
    if jsonl is None:
        return None
    if jsonl == "-":
        return sys.stdout
    try:
        return open(jsonl, "w", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {jsonl!r}: {exc.strerror}")
