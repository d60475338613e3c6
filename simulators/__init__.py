"""Simulated EEG sources for eegmon: realistic sleep EEG with injected faults over LSL.

The generator (`SleepEEG`, and the `Simulator` that publishes it) is loaded on
first use: checking a scenario or an option must not load scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

from simulators.montage import MONTAGES, Montage, montage, positions
from simulators.scenario import Scenario, available_scenarios, load_scenario, parse_scenario
from simulators.settings import DEFAULT_SCHEDULE, STAGES

#: The names loaded on first use, and their modules.
_LAZY = {
    "SleepEEG": "simulators.eeg",
    "RunStats": "simulators.outlet",
    "Simulator": "simulators.outlet",
}

__all__ = [
    "DEFAULT_SCHEDULE",
    "MONTAGES",
    "STAGES",
    "Montage",
    "RunStats",
    "Scenario",
    "Simulator",
    "SleepEEG",
    "available_scenarios",
    "load_scenario",
    "montage",
    "parse_scenario",
    "positions",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'simulators' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
