"""`eegmon ward`: every EEG stream on the network monitored, one dashboard for every bed.

A sleep lab has 4 to 12 beds; starting a monitor per bed by hand, each with
the right stream, port and files, is how one gets forgotten on a busy night.
The ward looks for EEG streams every few seconds and starts one ``eegmon
monitor`` process per stream (the same command an operator would run), its
journal, recordings and model state under ``DATA_DIR/<stream name>/``. A
monitor that dies is started again on the same feed port, appending to the
same journal; each start records to a new file, so nothing recorded is ever
overwritten. A bed whose stream disappeared stays on the ward, NOT
MONITORING, until a person removes it; the removal is journaled.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eegmon.processes import Child, free_port

#: Seconds between two looks for new streams.
DISCOVER_EVERY_S = 3.0
#: Seconds a monitor may take to find its stream again after a restart.
RESOLVE_TIMEOUT_S = 30
#: Backoff between restarts of a monitor that keeps dying, from first to longest.
RESTART_BACKOFF_S = (1.0, 5.0, 30.0)


@dataclass(frozen=True)
class Stream:
    """An EEG stream seen on the network."""

    name: str
    source_id: str


def folder_name(stream_name: str) -> str:
    """A stream's folder under the data directory: its name, made safe for any file system.

    >>> folder_name("bed 3/left"), folder_name(".."), folder_name("Bed-4_EEG")
    ('bed_3_left', '_', 'Bed-4_EEG')
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stream_name).strip(".")
    return safe or "_"


@dataclass
class Bed:
    """One stream's monitor process, its files and its feed."""

    stream: Stream
    folder: Path
    feed_port: int
    child: Child | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0

    @property
    def feed_url(self) -> str:
        return f"ws://127.0.0.1:{self.feed_port}"

    def monitor_args(self, extra: list[str]) -> list[str]:
        """The monitor's command line: the stream by source_id, files in the bed's folder."""
        select = (
            ["--source-id", self.stream.source_id]
            if self.stream.source_id
            else ["--stream", self.stream.name]
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return [
            "monitor",
            *select,
            "--feed-port",
            str(self.feed_port),
            "--quiet",
            "--resolve-timeout",
            str(RESOLVE_TIMEOUT_S),
            "--alerts",
            str(self.folder / "alerts.jsonl"),
            "--record",
            str(self.folder / f"recording-{stamp}-{self.restarts}.edf"),
            "--model-state",
            str(self.folder / "model-state.npz"),
            *extra,
        ]


class Ward:
    """Finds EEG streams, runs and restarts one monitor each, and tells `on_bed` of new beds.

    `discover` lists the streams visible now; `on_bed(name, feed_url)` adds a
    bed to the dashboard. Runs on the caller's thread until `stop` is set; `stop_all` then
    stops the monitors it started.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        discover: Callable[[], list[Stream]],
        on_bed: Callable[[str, str], object],
        say: Callable[[str], None],
        monitor_options: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir
        self.discover = discover
        self.on_bed = on_bed
        self.say = say
        #: Options every monitor gets (``--users FILE``: the people of the ward's dashboard).
        self.monitor_options = list(monitor_options)
        self.beds: dict[str, Bed] = {}
        #: streams a person removed while still visible: not taken back until they reappear
        self._removed: set[Stream] = set()
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        next_look = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_look:
                next_look = now + DISCOVER_EVERY_S
                visible = self.discover()
                self._removed &= set(visible)
                for stream in visible:
                    self._admit(stream)
            self._supervise(now)
            stop.wait(0.2)

    def _admit(self, stream: Stream) -> None:
        with self._lock:
            # A bed's monitor follows its source_id: another device under the same name is
            # never mixed into it, nor given a second bed of the same name.
            if stream.name in self.beds or stream in self._removed:
                return
            folder = self.data_dir / folder_name(stream.name)
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            bed = Bed(stream, folder, free_port())
            self.beds[stream.name] = bed
        self.say(
            f"eegmon ward: new bed {stream.name!r} (source_id {stream.source_id!r}): "
            f"monitor feed {bed.feed_url}, files in {folder}"
        )
        self.on_bed(stream.name, bed.feed_url)

    def _supervise(self, now: float) -> None:
        with self._lock:
            beds = list(self.beds.values())
        for bed in beds:
            if bed.child is not None and bed.child.process.poll() is not None:
                code = bed.child.process.returncode
                bed.child = None
                delay = RESTART_BACKOFF_S[min(bed.restarts, len(RESTART_BACKOFF_S) - 1)]
                if now - bed.started_at > 60.0:
                    delay = RESTART_BACKOFF_S[0]  # it ran a good while: not a crash loop
                bed.restarts += 1
                bed.next_start = now + delay
                self.say(
                    f"eegmon ward: the monitor of bed {bed.stream.name!r} exited (code {code}); "
                    f"restarting in {delay:g} s"
                )
            if bed.child is None and now >= bed.next_start:
                bed.started_at = now
                args = bed.monitor_args(self.monitor_options)
                bed.child = Child(f"bed {bed.stream.name}", args, self.say)

    def remove(self, name: str, who: str) -> bool:
        """A person removes a bed: its monitor stops and the removal is journaled."""
        from streamer.live.journal import AlertJournal

        with self._lock:
            bed = self.beds.pop(name, None)
            if bed is None:
                return False
            self._removed.add(bed.stream)
        if bed.child is not None:
            bed.child.stop()
        journal = AlertJournal(bed.folder / "alerts.jsonl")
        try:
            journal.note("bed_removed", stream=name, source_id=bed.stream.source_id, who=who)
        finally:
            journal.close()
        self.say(f"eegmon ward: bed {name!r} removed by {who}")
        return True

    def stop_all(self) -> None:
        """Stop every monitor: all asked at once, then each waited for."""
        with self._lock:
            children = [bed.child for bed in self.beds.values() if bed.child is not None]
        for child in children:
            child.interrupt()
        for child in children:
            child.stop()


def lsl_streams(pattern: str = "*", wait_s: float = 1.0) -> list[Stream]:
    """The EEG streams visible on the network now (numeric, regular rate, type EEG) whose
    name matches the shell-style `pattern` (another ward's beds may share the network)."""
    import pylsl

    found = pylsl.resolve_byprop("type", "EEG", minimum=0, timeout=wait_s)
    return sorted(
        {
            Stream(info.name(), info.source_id())
            for info in found
            if info.channel_format() != pylsl.cf_string
            and info.nominal_srate() > 0
            and fnmatch.fnmatchcase(info.name(), pattern)
        },
        key=lambda stream: stream.name,
    )
