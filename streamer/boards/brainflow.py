"""One BrainFlow board read and published as an LSL EEG stream.

The stream follows eegmon's contract (docs/design.md): type ``EEG``,
``float32`` microvolts, the board's nominal rate, the EEG channels only,
labelled from BrainFlow's board description (``Ch1..N`` when the board has
none), and a ``source_id`` made of the board and its serial number, port or
address, so the monitor takes the same amplifier back after a reconnection
and never mixes another one in.

BrainFlow stamps each sample with the host's wall clock when it arrives.
Those stamps are mapped to the LSL clock with the smallest delay seen over
the last minute (the best bound on the offset between the two clocks), so
sample spacing stays the board's own and a playback file recorded long ago
still lands in the present. A board that stops delivering is reconnected
in the background; meanwhile nothing is published, which the monitor raises
as ``signal_lost``, exactly as for an LSL device.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pylsl
from brainflow.board_shim import BoardIds, BoardShim, BrainFlowError, BrainFlowInputParams
from numpy.typing import NDArray

from streamer.publish import eeg_info

log = logging.getLogger(__name__)

#: Names accepted for the two boards that need no hardware.
ALIASES = {"synthetic": BoardIds.SYNTHETIC_BOARD, "playback": BoardIds.PLAYBACK_FILE_BOARD}
#: Seconds without a sample after which the board counts as lost and is reconnected.
LOST_AFTER_S = 2.0
#: Seconds of clock-offset observations kept; the least delayed one wins.
OFFSET_MEMORY_S = 60.0


class BoardError(ValueError):
    """A board that cannot be used as asked (unknown name, no EEG channel, missing file)."""


def board_id(name: str) -> BoardIds:
    """The BrainFlow board of a command-line name: ``synthetic``, ``cyton``, ``CYTON_BOARD``, ``0``.

    >>> board_id("synthetic").name, board_id("cyton_daisy").name, board_id("0").name
    ('SYNTHETIC_BOARD', 'CYTON_DAISY_BOARD', 'CYTON_BOARD')
    >>> board_id("cytn")
    Traceback (most recent call last):
    ...
    streamer.boards.brainflow.BoardError: unknown BrainFlow board 'cytn'; for example: cyton, ...
    """
    key = name.strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    members = {member.name.lower(): member for member in BoardIds}
    for candidate in (key, f"{key}_board"):
        if candidate in members:
            return members[candidate]
    try:
        return BoardIds(int(key))
    except ValueError:
        pass
    raise BoardError(
        f"unknown BrainFlow board {name!r}; for example: cyton, ganglion, cyton_daisy, "
        "unicorn, muse_2, freeeeg32, synthetic, playback (--help lists them all)"
    )


def board_name(board: BoardIds) -> str:
    """The short name of a board, as ``--board`` takes it.

    >>> board_name(BoardIds.CYTON_DAISY_BOARD), board_name(BoardIds.PLAYBACK_FILE_BOARD)
    ('cyton_daisy', 'playback')
    """
    aliased = {board: alias for alias, board in ALIASES.items()}
    return str(aliased.get(board, board.name.lower().removesuffix("_board")))


def known_boards() -> list[str]:
    """Every board name `board_id` accepts, for ``--help``."""
    return sorted({*ALIASES, *(board_name(m) for m in BoardIds if m.value >= 0)})


@dataclass(frozen=True)
class BoardSettings:
    """What ``eegmon acquire`` was asked for."""

    board: str
    name: str = "eegmon-board"
    serial_port: str = ""
    ip_address: str = ""
    serial_number: str = ""
    file: Path | None = None
    master_board: str = "synthetic"

    def params(self) -> BrainFlowInputParams:
        params = BrainFlowInputParams()
        params.serial_port = self.serial_port
        params.ip_address = self.ip_address
        params.serial_number = self.serial_number
        if self.file is not None:
            params.file = str(self.file)
            params.master_board = int(board_id(self.master_board))
        return params

    def source_id(self, board: BoardIds) -> str:
        """The board and what tells this unit from another of the same model."""
        unit = self.serial_number or self.serial_port or self.ip_address
        if self.file is not None:
            unit = self.file.name
        return f"brainflow-{board_name(board)}-{unit or 'default'}"


class ClockMap:
    """Maps a board's wall-clock stamps to the LSL clock, keeping the board's own spacing.

    >>> clock = ClockMap(memory_s=60.0)
    >>> clock.observe(board_last=1000.0, lsl_now=5.2)  # received 0.2 s after being stamped
    >>> clock.observe(board_last=1001.0, lsl_now=6.05)  # a less delayed arrival: it wins
    >>> clock.to_lsl(np.array([1000.0, 1001.0])).round(2).tolist()
    [5.05, 6.05]
    """

    def __init__(self, memory_s: float = OFFSET_MEMORY_S) -> None:
        self.memory_s = memory_s
        self._seen: deque[tuple[float, float]] = deque()  # (lsl time, board - lsl)

    def observe(self, board_last: float, lsl_now: float) -> None:
        offset = board_last - lsl_now
        if self._seen and abs(offset - self._seen[-1][1]) > 5.0:
            self._seen.clear()  # the board's clock jumped (playback looped, clock set)
        self._seen.append((lsl_now, offset))
        while self._seen and self._seen[0][0] < lsl_now - self.memory_s:
            self._seen.popleft()

    def to_lsl(self, board_stamps: NDArray[np.float64]) -> NDArray[np.float64]:
        offset = max(offset for _, offset in self._seen)
        return np.asarray(board_stamps - offset, dtype=np.float64)


class BoardPublisher:
    """Reads one board and pushes its EEG channels to an LSL outlet until stopped."""

    def __init__(
        self,
        settings: BoardSettings,
        *,
        say: Callable[[str], None] = print,
        poll_s: float = 0.02,
        verbose: bool = False,
    ) -> None:
        if not verbose:
            BoardShim.disable_board_logger()  # its errors go to stderr, ours say what happened
        self.settings = settings
        self.board = board_id(settings.board)
        if self.board == BoardIds.PLAYBACK_FILE_BOARD:
            if settings.file is None:
                raise BoardError("the playback board needs --file (a BrainFlow recording)")
            if not settings.file.is_file():
                raise BoardError(f"playback file {str(settings.file)!r} does not exist")
        self.say = say
        self.poll_s = poll_s
        described = self.board if settings.file is None else board_id(settings.master_board)
        try:
            self.rate = float(BoardShim.get_sampling_rate(described))
            self.channels = list(BoardShim.get_eeg_channels(described))
            self.stamp_row = int(BoardShim.get_timestamp_channel(described))
        except BrainFlowError as exc:
            raise BoardError(f"board {settings.board!r} has no EEG channels: {exc}") from None
        self.labels = _eeg_labels(described, len(self.channels))
        self.source_id = settings.source_id(self.board)
        self.clock = ClockMap()
        self.samples = 0
        self._shim: BoardShim | None = None

    def stream_info(self) -> pylsl.StreamInfo:
        return eeg_info(
            self.settings.name,
            self.labels,
            self.rate,
            self.source_id,
            manufacturer="BrainFlow",
            model=board_name(self.board),
        )

    def summary(self) -> str:
        return (
            f"publishing LSL stream {self.settings.name!r} (EEG, {len(self.labels)} ch @ "
            f"{self.rate:g} Hz, source_id {self.source_id}) from BrainFlow board "
            f"{board_name(self.board)}"
        )

    def run(self, stop: threading.Event) -> None:
        """Publish until `stop` is set; a board that stops delivering is reconnected."""
        outlet = pylsl.StreamOutlet(self.stream_info())
        self.say(self.summary())
        try:
            while not stop.is_set():
                if self._shim is None and not self._connect(stop):
                    continue
                self._pump(outlet, stop)
        finally:
            self._release()

    def _connect(self, stop: threading.Event) -> bool:
        shim = BoardShim(self.board, self.settings.params())
        try:
            shim.prepare_session()
            shim.start_stream()
        except BrainFlowError as exc:
            self.say(f"board {self.settings.board!r} not available ({exc}); retrying")
            _release(shim)
            stop.wait(2.0)
            return False
        self._shim = shim
        return True

    def _pump(self, outlet: pylsl.StreamOutlet, stop: threading.Event) -> None:
        """Push what arrives until the board falls silent for `LOST_AFTER_S`."""
        assert self._shim is not None
        last_sample = time.monotonic()
        while not stop.wait(self.poll_s):
            try:
                data = self._shim.get_board_data()
            except BrainFlowError as exc:
                log.warning("board read failed: %s", exc)
                data = np.empty((0, 0))
            if data.size:
                self._push(outlet, data)
                last_sample = time.monotonic()
            elif time.monotonic() - last_sample > LOST_AFTER_S:
                self.say(f"no data from board {self.settings.board!r}; reconnecting")
                self._release()
                return

    def _push(self, outlet: pylsl.StreamOutlet, data: NDArray[np.float64]) -> None:
        stamps = np.asarray(data[self.stamp_row], dtype=np.float64)
        self.clock.observe(float(stamps[-1]), pylsl.local_clock())
        eeg = np.ascontiguousarray(data[self.channels].T, dtype=np.float32)
        outlet.push_chunk(eeg, self.clock.to_lsl(stamps).tolist())
        self.samples += eeg.shape[0]

    def _release(self) -> None:
        shim, self._shim = self._shim, None
        if shim is not None:
            _release(shim)


def _eeg_labels(board: BoardIds, n: int) -> list[str]:
    """BrainFlow's EEG names for the board, or ``Ch1..N`` when it has none."""
    try:
        names = [str(name).strip() for name in BoardShim.get_eeg_names(board)]
    except BrainFlowError:
        names = []
    return names if len(names) == n and all(names) else [f"Ch{i + 1}" for i in range(n)]


def _release(shim: BoardShim) -> None:
    try:
        if shim.is_prepared():
            shim.release_session()
    except BrainFlowError as exc:
        log.warning("releasing the board failed: %s", exc)
