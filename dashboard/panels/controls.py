"""How a bed's traces are shown: page length, sensitivity, display filter; and Silence.

Each change redraws the traces from the feed client's ring at once.

Names: ``page``, ``sensitivity``, ``display_filter``, ``mute``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from bokeh.layouts import row
from bokeh.models import Row
from bokeh.models.widgets import Button, RadioButtonGroup, Select, Toggle

from .traces import (
    DEFAULT_SENSITIVITY_UV,
    FILTER_BAND_HZ,
    PAGES_S,
    SENSITIVITIES_UV,
    TracesPanel,
)


class DisplayControls:
    """The row of display settings of one bed, and the alarm's Silence button.

    Parameters
    ----------
    traces
        The traces the settings apply to.
    redraw
        Called after a setting changed (the bed view's refresh).
    """

    def __init__(self, traces: TracesPanel, redraw: Callable[[], None]) -> None:
        self.traces = traces
        self.redraw = redraw
        self.page = RadioButtonGroup(
            name="page", labels=[f"{p} s page" for p in PAGES_S], active=0, width=170
        )
        self.page.on_change("active", self._on_page)
        sensitivities: list[str | tuple[Any, str]] = [
            (str(s), f"{s} µV/div") for s in SENSITIVITIES_UV
        ]
        self.sensitivity = Select(
            name="sensitivity",
            title="",
            value=str(DEFAULT_SENSITIVITY_UV),
            options=sensitivities,
            width=120,
        )
        self.sensitivity.on_change("value", self._on_sensitivity)
        self.filter_toggle = Toggle(
            name="display_filter",
            label=f"Filter {FILTER_BAND_HZ[0]:g}-{FILTER_BAND_HZ[1]:g} Hz",
            active=True,
            width=150,
        )
        self.filter_toggle.on_change("active", self._on_filter)
        self.mute = Button(name="mute", label="Silence alarm", button_type="danger", width=230)

    def row(self) -> Row:
        return row(self.page, self.sensitivity, self.filter_toggle, self.mute)

    def _on_page(self, attr: str, old: int, new: int) -> None:
        with contextlib.suppress(IndexError, TypeError):
            self.traces.set_page(float(PAGES_S[new]))
        self.redraw()

    def _on_sensitivity(self, attr: str, old: str, new: str) -> None:
        with contextlib.suppress(ValueError):
            self.traces.set_sensitivity(float(new))
        self.redraw()

    def _on_filter(self, attr: str, old: bool, new: bool) -> None:
        self.traces.set_filter(bool(new))
        self.redraw()
