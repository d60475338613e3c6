"""An archive folder of real and generated recordings, and its scan in one process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from detector import DetectorConfig
from streamer.offline.archive import Outcome, scan_archive
from tests.archive.recordings import QUICK_CONFIG, write_night

#: Segments of 108 s: every generated night is split in two.
SEGMENT_HOURS = 0.03


@pytest.fixture(scope="session")
def quick_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`QUICK_CONFIG` as an ``eegmon --config`` file."""
    path = tmp_path_factory.mktemp("config") / "quick.toml"
    lines = ["[detector]"]
    for key, value in QUICK_CONFIG.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def archive(test_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real recordings (EDF+ and FIF), three generated nights, and a damaged file."""
    root = tmp_path_factory.mktemp("archive")
    (root / "ward-a").mkdir()
    (root / "ward-b").mkdir()
    for run in ("S001R01", "S001R02"):
        shutil.copy(test_data / "eegmmidb_S001" / f"{run}.edf", root / "ward-a" / f"{run}.edf")
    shutil.copy(test_data / "yasa" / "data_resting_EO_200Hz_raw.fif", root / "ward-a" / "rest.fif")
    for seed in (1, 2, 3):
        write_night(root / "ward-b" / f"night{seed}.edf", 240.0, seed=seed)
    (root / "ward-b" / "damaged.edf").write_bytes(b"0       " + b"\x00" * 300)
    return root


def archive_files(root: Path) -> list[str]:
    from streamer.recordings.files import find_recordings

    return [str(p) for p in find_recordings([root])]


@pytest.fixture(scope="session")
def local_scan(archive: Path) -> dict[str, Outcome]:
    """The archive scanned in this process, segment by segment: what a cluster must equal.

    Staged as `eegmon scan` stages by default.
    """
    config = DetectorConfig.from_dict(QUICK_CONFIG)
    files = archive_files(archive)
    outcomes = scan_archive(files, config, segment_s=SEGMENT_HOURS * 3600, stage=True)
    return {o.file: o for o in outcomes}
