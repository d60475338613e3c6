"""Real recordings, and copies of them with faults injected at known times."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass(frozen=True)
class Faulty:
    """A modified copy of a real EDF+ recording and where its faults are."""

    path: Path
    flat_channel: str
    flat_s: tuple[float, float]
    clipped_channel: str
    clipped_s: tuple[float, float]


@pytest.fixture(scope="session")
def eegmmidb(test_data: Path) -> Path:
    """PhysioNet eegmmidb S001R01: 64 ch @ 160 Hz, EDF+ with annotations, 60 s."""
    return test_data / "eegmmidb_S001" / "S001R01.edf"


@pytest.fixture(scope="session")
def faulty_edf(eegmmidb: Path, tmp_path_factory: pytest.TempPathFactory) -> Faulty:
    """R01 with Cz flat (electrode off) at 20-32 s and Oz clipping at 40-50 s, written by edfio."""
    import edfio

    edf = edfio.read_edf(eegmmidb, lazy_load_data=False)
    rate = 160
    flat = ("Cz..", (20.0, 32.0))
    clip = ("Oz..", (40.0, 50.0))
    signal = edf.get_signal(flat[0])
    data = signal.data.copy()
    a, b = (round(t * rate) for t in flat[1])
    data[a:b] = data[a]
    signal.update_data(data, keep_physical_range=True)
    signal = edf.get_signal(clip[0])
    data = signal.data.copy()
    a, b = (round(t * rate) for t in clip[1])
    data[a:b] = np.clip(data[a:b] * 40.0, -1000.0, 1000.0)  # an amplifier driven into its rails
    signal.update_data(data, keep_physical_range=True)
    path = tmp_path_factory.mktemp("faulty") / "S001R01_faults.edf"
    edf.write(path)
    return Faulty(path, flat[0], flat[1], clip[0], clip[1])
