"""The report's per-epoch series is optional: a scan without it finds the same alerts."""

from __future__ import annotations

from pathlib import Path

from detector import DetectorConfig
from streamer.offline.archive import ResultStore, join, scan_archive
from streamer.offline.scan import scan_recording
from streamer.recordings.files import open_recording
from tests.files.conftest import Faulty


def test_a_scan_without_series_finds_the_same_alerts(faulty_edf: Faulty) -> None:
    with open_recording(faulty_edf.path) as rec:
        full = scan_recording(rec, str(faulty_edf.path))
    with open_recording(faulty_edf.path) as rec:
        bare = scan_recording(rec, str(faulty_edf.path), series=False)
    assert full.series is not None
    assert len(full.series.t) == 2  # two 30 s epochs
    assert bare.series is None
    assert bare.alerts == full.alerts
    assert {"flatline", "saturation"} <= set(bare.counts())


def test_a_stored_result_without_series_is_scanned_again_for_a_report(
    faulty_edf: Faulty, tmp_path: Path
) -> None:
    config = DetectorConfig()
    store = ResultStore(tmp_path, config)
    files = [str(faulty_edf.path)]

    [bare] = scan_archive(files, config, store=store, series=False)
    assert bare.scan is not None
    assert not bare.stored
    assert bare.scan.series is None

    [wanted] = scan_archive(files, config, store=store)  # a report needs the series
    assert wanted.scan is not None
    assert not wanted.stored
    assert wanted.scan.series is not None
    assert wanted.scan.series.t == [0.0, 30.0]
    assert wanted.scan.alerts == bare.scan.alerts

    [again] = scan_archive(files, config, store=store)  # now stored with its series
    assert again.stored
    assert again.scan is not None
    assert again.scan.series == wanted.scan.series
    [quick] = scan_archive(files, config, store=store, series=False)  # more than asked: fine
    assert quick.stored
    assert quick.scan is not None
    assert quick.scan.alerts == bare.scan.alerts


def test_a_file_joined_from_segments_has_a_series_only_if_every_segment_has_one(
    faulty_edf: Faulty,
) -> None:
    with open_recording(faulty_edf.path) as rec:
        full = scan_recording(rec, str(faulty_edf.path))
    with open_recording(faulty_edf.path) as rec:
        bare = scan_recording(rec, str(faulty_edf.path), series=False)
    both = join([full, full]).series
    assert both is not None
    assert len(both.t) == 2 * len(full.series.t)  # type: ignore[union-attr]
    assert join([full, bare]).series is None
    assert join([bare, full]).series is None
