"""The night trends panel: what the feed's `dashboard.trends.NightTrends` kept, drawn.

A compressed spectral array of one chosen channel, the band-power ratios,
the signal quality and the alerts raised, one 30 s column each, on the bed
view's time axis, with the technicians' notes marked (`panels.notes`).
Redrawn only when a column was completed or another channel was chosen.

Names: ``trend_channel``, ``csa``, ``csa_source``, ``trend_source``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, DataRange1d, LinearColorMapper, Range1d
from bokeh.models.widgets import Select
from bokeh.palettes import Turbo256
from bokeh.plotting import figure

from protocol.kinds import SEVERITIES

from ..alarm import SEVERITY_COLORS
from ..feed_client import FeedClient
from ..trends import TrendSnapshot
from .timeaxis import TimeAxis, clock_formatter

TRENDS_EVERY_S = 2.0
#: Columns of ``trend_source``: x, the ratios, the quality, the alerts by severity, bar width.
TREND_COLUMNS = ("x", "adr", "dtabr", "q_mean", "q_min", *SEVERITIES, "width")


class TrendsPanel:
    """The night trends tab of one bed.

    Parameters
    ----------
    client
        The bed's feed, which keeps the trends.
    axis
        The bed view's time axis.
    """

    def __init__(self, client: FeedClient, axis: TimeAxis) -> None:
        self.client = client
        self.axis = axis
        self._key: tuple[Any, ...] = ()
        self._refreshed_at = -np.inf
        self.trend_channel = Select(name="trend_channel", title="Spectrogram of", width=160)
        self.trend_channel.on_change("value", lambda attr, old, new: self.refresh(True))
        self.csa_source = ColumnDataSource(
            name="csa_source", data={"image": [], "x": [], "y": [], "dw": [], "dh": []}
        )
        self.trend_source = ColumnDataSource(
            name="trend_source", data={k: [] for k in TREND_COLUMNS}
        )
        self.csa_mapper = LinearColorMapper(palette=Turbo256, low=-1, high=2)
        self.x_range = DataRange1d()
        self._clock = clock_formatter(self.axis.origin)
        #: The trend figures, on one x range (the notes' marks go on each).
        self.figures = [
            self._csa_figure(),
            self._ratios_figure(),
            self._quality_figure(),
            self._alerts_figure(),
        ]
        self.layout = column(self.trend_channel, *self.figures, sizing_mode="stretch_width")

    # -- models ------------------------------------------------------------------------

    def _figure(self, title: str, height: int) -> Any:
        fig = figure(
            title=title,
            height=height,
            sizing_mode="stretch_width",
            x_range=self.x_range,
            tools="",
            toolbar_location=None,
            min_border_left=60,
        )
        fig.xaxis.formatter = self._clock
        return fig

    def _csa_figure(self) -> Any:
        csa = self._figure("Compressed spectral array (log10 µV²/Hz), 30 s columns", 220)
        csa.name = "csa"
        csa.image(
            image="image", x="x", y="y", dw="dw", dh="dh", source=self.csa_source,
            color_mapper=self.csa_mapper,
        )  # fmt: skip
        csa.yaxis.axis_label = "Hz"
        return csa

    def _ratios_figure(self) -> Any:
        ratios = self._figure("Band-power ratios (mean over channels)", 150)
        ratios.line("x", "adr", source=self.trend_source, color="#1565c0", legend_label="α/δ")
        ratios.line(
            "x", "dtabr", source=self.trend_source, color="#ef6c00", legend_label="(δ+θ)/(α+β)"
        )
        ratios.legend.location = "top_left"
        ratios.legend.background_fill_alpha = 0.6
        return ratios

    def _quality_figure(self) -> Any:
        quality = self._figure("Signal quality (1 good, 0 unusable)", 130)
        quality.y_range = Range1d(start=0, end=1.05)
        quality.line("x", "q_mean", source=self.trend_source, color="#2e7d32", legend_label="mean")
        quality.line("x", "q_min", source=self.trend_source, color="#d32f2f", legend_label="worst")
        quality.legend.location = "bottom_left"
        return quality

    def _alerts_figure(self) -> Any:
        density = self._figure("Alerts raised per 30 s", 130)
        density.vbar_stack(
            list(SEVERITIES),
            x="x",
            width="width",
            source=self.trend_source,
            color=[SEVERITY_COLORS[s] for s in SEVERITIES],
        )
        return density

    # -- refresh (document thread) -----------------------------------------------------

    def update(self) -> None:
        """Refresh every `TRENDS_EVERY_S` seconds."""
        if time.monotonic() - self._refreshed_at >= TRENDS_EVERY_S:
            self.refresh(False)

    def refresh(self, force: bool) -> None:
        """Redraw when a column was completed, or always when `force`."""
        self._refreshed_at = time.monotonic()
        snap = self.client.snapshot(traces=False)
        channel = self._channel(snap.labels[: self.client.trends.max_channels])
        key = (self.client.trends.version, channel)
        if key == self._key and not force:
            return
        self._key = key
        shift = self.axis.shift(snap.wall_offset)
        trends = self.client.trend_snapshot(channel)
        if shift is None or not trends.times.size:
            return
        self._draw(trends, trends.times + shift)

    def _channel(self, labels: tuple[str, ...]) -> int:
        """The channel chosen in ``trend_channel``, whose options follow the feed's `labels`."""
        options: list[str | tuple[Any, str]] = [(str(i), label) for i, label in enumerate(labels)]
        if options != self.trend_channel.options:
            self.trend_channel.options = options
            if self.trend_channel.value not in {str(i) for i in range(len(labels))}:
                self.trend_channel.value = "0" if labels else ""
        try:
            return int(self.trend_channel.value)
        except ValueError:
            return 0

    def _draw(self, trends: TrendSnapshot, x: np.ndarray) -> None:
        bin_s = trends.bin_s
        if trends.csa.shape[1]:
            image = trends.csa.T.astype(np.float32)
            finite = image[np.isfinite(image)]
            if finite.size:
                low, high = np.percentile(finite, [2, 98])
                self.csa_mapper.update(low=float(low), high=float(max(high, low + 0.1)))
            # One column per bin; bins missing from the stream are absent, not stretched.
            self.csa_source.data = {
                "image": [image],
                "x": [float(x[0])],
                "y": [float(trends.freqs[0] - 0.5)],
                "dw": [float(x[-1] - x[0] + bin_s)],
                "dh": [float(trends.freqs.size)],
            }
        self.trend_source.data = {
            "x": x + bin_s / 2,
            "adr": trends.ratios["alpha/delta"],
            "dtabr": trends.ratios["(delta+theta)/(alpha+beta)"],
            "q_mean": trends.quality_mean,
            "q_min": trends.quality_min,
            **{severity: trends.alerts[severity] for severity in SEVERITIES},
            "width": np.full(x.size, bin_s * 0.9),
        }
