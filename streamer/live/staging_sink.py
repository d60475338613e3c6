"""Live sleep staging beside the monitor: each 30 s epoch published as a ``stage`` message.

Staging is slow next to the detector (a classifier per epoch, seconds to
start), so it never runs on the monitor's thread: blocks go through a
bounded queue to a thread of its own, which starts the stager and publishes
what it stages. When the queue is full the block is dropped (the stager
holds the last value over the gap): the monitor never waits for staging.
The staged epochs also wait in `take_staged` for the monitor's thread, which
tells its detector (`Detector.stage`): the detector is never called from here.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from detector.types import Block, StreamMeta
from protocol.feed import SLEEP_EPOCH_S

if TYPE_CHECKING:
    from staging import StagedEpoch

log = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any]], None]
#: Blocks waiting for the staging thread; more are dropped (and counted).
QUEUE_BLOCKS = 4096
#: Seconds `close` waits for the staging thread; a stager still starting is left behind.
CLOSE_WAIT_S = 2.0
#: The slowest rate staged: YASA's features need frequencies up to 25 Hz and more.
MIN_RATE = 50.0

_Item = tuple[int, NDArray[np.float32]] | None


class StagingSink:
    """A monitor sink that stages the stream's sleep and publishes each epoch.

    `publish` receives the ``stage`` messages (``Feed.publish``, from this
    sink's thread). Each message carries the epoch's ``index`` (from the
    stream's first sample), ``onset`` on the stream clock, ``duration``,
    ``stage``, ``confidence`` and ``final``; an epoch staged again is sent
    again. When staging cannot start or fails, the monitor goes on and the
    reason is logged in one line and kept in `status`.
    """

    def __init__(self, meta: StreamMeta, publish: Publish) -> None:
        self.meta = meta
        self.publish = publish
        self.problem: str | None = None
        self.newest: dict[str, Any] | None = None
        self.dropped_blocks = 0
        self._origin: float | None = None  # stream clock of sample index 0
        self._staged: queue.SimpleQueue[tuple[int, str, float]] = queue.SimpleQueue()
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=QUEUE_BLOCKS)
        self._closing = threading.Event()
        if meta.rate < MIN_RATE:
            self._give_up(f"the stream's rate ({meta.rate:g} Hz) is below {MIN_RATE:g} Hz")
        self._thread = threading.Thread(target=self._run, name="staging", daemon=True)
        if self.problem is None:
            self._thread.start()

    def block(self, block: Block) -> None:
        if self.problem is not None or block.n_samples == 0:
            return
        if self._origin is None:
            self._origin = float(block.timestamps[0]) - block.first_index / self.meta.rate
        try:
            self._queue.put_nowait((block.first_index, block.data.copy()))
        except queue.Full:
            self.dropped_blocks += 1

    def alert(self, event: str, alert: dict[str, Any]) -> None:
        pass

    def take_staged(self) -> list[tuple[int, str, float]]:
        """Epochs staged since the last call: (index, stage, stream time staged), in order."""
        taken = []
        with contextlib.suppress(queue.Empty):
            while True:
                taken.append(self._staged.get_nowait())
        return taken

    def status(self) -> dict[str, Any]:
        """``stage``: the newest epoch's stage and whether it is final, or why there is none."""
        if self.problem is not None:
            return {"stage": {"stage": None, "final": False, "error": self.problem}}
        newest = self.newest
        if newest is None:
            return {"stage": {"stage": None, "final": False, "dropped_blocks": self.dropped_blocks}}
        return {
            "stage": {
                "stage": newest["stage"],
                "final": newest["final"],
                "onset": newest["onset"],
                "dropped_blocks": self.dropped_blocks,
            }
        }

    def close(self) -> None:
        self._closing.set()
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)  # wakes the thread if it waits for a block
            self._thread.join(timeout=CLOSE_WAIT_S)

    def _give_up(self, why: str) -> None:
        self.problem = why
        log.warning("sleep staging is off: %s", why)

    def _first_epoch(self) -> list[tuple[int, NDArray[np.float32]]] | None:
        """The blocks of the first epoch, once it is complete; None if closed before.

        The stager is started only then: it costs seconds of CPU, which a short
        session (or a test) that never completes an epoch does not pay.
        """
        needed, have = SLEEP_EPOCH_S * self.meta.rate, 0
        blocks: list[tuple[int, NDArray[np.float32]]] = []
        while have < needed:
            item = self._queue.get()
            if item is None or self._closing.is_set():
                return None
            blocks.append(item)
            have += item[1].shape[1]
        return blocks

    def _run(self) -> None:
        first = self._first_epoch()
        if first is None:
            return
        try:
            from staging import LiveStager  # slow: YASA, MNE, LightGBM

            stager = LiveStager(self.meta.labels, self.meta.rate)
        except Exception as exc:  # no EEG channel, no classifier, a library error
            self._give_up(str(exc))
            return
        items = iter(first)
        while not self._closing.is_set():
            item = next(items, None) or self._queue.get()
            if item is None:
                return
            try:
                staged = stager.add(*item)
            except Exception as exc:  # a library error: staging stops, monitoring goes on
                self._give_up(f"{type(exc).__name__}: {exc}")
                return
            for epoch in staged:
                self._publish_epoch(epoch, SLEEP_EPOCH_S)
                assert self._origin is not None  # set by the first block, before it was queued
                self._staged.put((epoch.index, epoch.stage, self._origin + epoch.staged_at_s))

    def _publish_epoch(self, epoch: StagedEpoch, duration: float) -> None:
        assert self._origin is not None  # set by the first block, before it was queued
        message = {
            "type": "stage",
            "index": epoch.index,
            "onset": self._origin + epoch.onset_s,
            "duration": duration,
            "stage": epoch.stage,
            "confidence": epoch.confidence,
            "final": epoch.final,
        }
        self.newest = message
        self.publish(message)
