"""Simulated EEG sources for eegmon: realistic sleep EEG with injected faults over LSL."""

from simulators.eeg import DEFAULT_SCHEDULE, STAGES, SleepEEG
from simulators.montage import MONTAGES, Montage, montage, positions
from simulators.outlet import RunStats, Simulator
from simulators.scenario import Scenario, available_scenarios, load_scenario, parse_scenario

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
