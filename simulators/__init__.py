"""Simulated EEG sources for eegmon: realistic sleep EEG with injected faults over LSL.

Names are loaded on first use: checking a scenario or an option must not
load scipy, which only the signal generator (`simulators.eeg`) needs.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Each exported name and the module it lives in.
_HOMES = {
    "DEFAULT_SCHEDULE": "simulators.settings",
    "STAGES": "simulators.settings",
    "SleepEEG": "simulators.eeg",
    "MONTAGES": "simulators.montage",
    "Montage": "simulators.montage",
    "montage": "simulators.montage",
    "positions": "simulators.montage",
    "RunStats": "simulators.outlet",
    "Simulator": "simulators.outlet",
    "Scenario": "simulators.scenario",
    "available_scenarios": "simulators.scenario",
    "load_scenario": "simulators.scenario",
    "parse_scenario": "simulators.scenario",
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
    if name not in _HOMES:
        raise AttributeError(f"module 'simulators' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
