"""The line-length baseline: the fixed threshold every evaluation table prints beside eegmon.

Per channel, a window whose line length exceeds `factor` times the
channel's median over its first `calibration_s` seconds is flagged; 2 of 3
flagged windows raise. It knows no kinds: its alerts may match an event of
any kind (`ANY_KIND`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from detector.alerts import AlertBook, Finding
from detector.filters import StreamingFilter, design_sos
from detector.types import Alert, Block, StreamMeta
from detector.windows import WindowBuffer
from evaluation.metrics import ANY_KIND


class LineLengthBaseline:
    """Fixed-threshold line-length detector, the comparison every table prints beside eegmon.

    Parameters
    ----------
    stream
        The stream it watches.
    factor
        A window is flagged when its line length exceeds `factor` times the
        channel's median line length over the first `calibration_s` seconds (3.0).
    calibration_s
        Seconds that fix the thresholds (60.0).
    window_s, hop_s
        Windows, as the detector's (1.0, 0.5).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(scale=10.0, size=(1, 256 * 80)).astype(np.float32)
    >>> x[0, 256 * 70 :] *= 6.0  # line length rises sixfold after 70 s
    >>> base = LineLengthBaseline(StreamMeta("s", "s", ("C3",), 256.0))
    >>> raised = [a for a in base.process(Block(x, np.arange(x.shape[1]) / 256.0, 0))]
    >>> [(a.kind, a.channels, a.onset) for a in raised]
    [('line_length', ['C3'], 69.5)]
    """

    def __init__(
        self,
        stream: StreamMeta,
        factor: float = 3.0,
        calibration_s: float = 60.0,
        window_s: float = 1.0,
        hop_s: float = 0.5,
    ) -> None:
        self.stream = stream
        self.factor = factor
        self.calibration_s = calibration_s
        self.window_s = window_s
        self.hop_s = hop_s
        rate = stream.rate
        sos = design_sos(rate, 0.5, None, min(70.0, 0.45 * rate), 4)
        self._filter = StreamingFilter(sos, stream.n_channels)
        self._buffer = WindowBuffer(stream.n_channels, round(window_s * rate), round(hop_s * rate))
        self._book = AlertBook(stream, 2, 3, 3)
        self._calibration: list[NDArray[np.float64]] = []
        self._threshold: NDArray[np.float64] | None = None
        self._first: float | None = None

    def process(self, block: Block) -> list[Alert]:
        """Alerts raised or cleared by this block (kind ``line_length``)."""
        data = np.nan_to_num(block.data.astype(np.float64))
        filtered = self._filter.filter(data)
        bad = np.zeros(data.shape, dtype=bool)
        changed: list[Alert] = []
        for window in self._buffer.push(data, filtered, bad, block.timestamps):
            length = np.mean(np.abs(np.diff(window.filtered, axis=1)), axis=1)
            if self._first is None:
                self._first = window.start
            if self._threshold is None:
                self._calibration.append(length)
                if window.end - self._first >= self.calibration_s:
                    self._threshold = self.factor * np.median(self._calibration, axis=0)
                continue
            flags = length > self._threshold
            finding = Finding(
                ANY_KIND,
                flags,
                length / self._threshold,
                "Line length above {score:.1f} times its threshold on {channels}.",
                {"line_length_uv": length},
            )
            changed.extend(self._book.observe(finding, window.start, window.end))
        return changed
