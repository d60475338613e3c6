"""Stage-aware judging: each sleep stage against its own baselines, arousals not alarmed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from detector import Detector, DetectorConfig, StreamMeta
from detector.stages import STAGE_SETTLE_S
from evaluation import corpus
from evaluation.metrics import score
from streamer.offline.scan import scan_recording
from streamer.recordings.files import open_recording
from tests.detector.conftest import feed, synthetic_eeg
from tests.files.dreams import dreams_edf

RATE = 128.0
CLINICAL = ("seizure_suspect", "anomaly")


def clinical(detector: Detector, data: NDArray[np.float64], stages: dict[float, str]) -> list[str]:
    """Kinds of the clinical alerts raised on `data`, each stage told at its time (s)."""
    told = sorted(stages.items())
    kinds: list[str] = []
    step = round(10 * RATE)
    for first in range(0, data.shape[1], step):
        while told and told[0][0] <= first / RATE:
            at, stage = told.pop(0)
            detector.stage(round(at // 30), stage, at)
        out = feed(detector, data[:, first : first + step], first_index=first, max_block=step)
        kinds += [a.kind for a in out.alerts if a.kind in CLINICAL and a.state == "active"]
    return kinds


def light_then_deep(seconds: float = 300.0) -> NDArray[np.float64]:
    """Light sleep, then from 150 s on slow-wave sleep at three times its amplitude."""
    data = synthetic_eeg(1, seconds, RATE, seed=4)
    data[:, round(150 * RATE) :] *= 3.0
    return data


def test_deep_sleep_is_judged_against_its_own_baseline() -> None:
    meta = StreamMeta("bed", "amp", ("Cz",), RATE)
    # Unstaged, three times the amplitude learned in light sleep is a seizure's.
    assert "seizure_suspect" in clinical(Detector(meta), light_then_deep(), {})
    # Staged N3 (as the stager says soon after it begins), it is N3's own amplitude.
    staged = clinical(Detector(meta), light_then_deep(), {35.0: "N2", 140.0: "N3"})
    assert staged == []


def test_a_stage_takes_effect_at_its_stream_time_however_it_arrives() -> None:
    meta = StreamMeta("bed", "amp", ("Cz",), RATE)
    data = light_then_deep(200.0)
    cut = round((140.0 + STAGE_SETTLE_S / 2) * RATE)
    early, late = Detector(meta), Detector(meta)
    early.stage(4, "N3", 140.0)  # told before its time, as the scan may
    a = feed(early, data, max_block=1000)
    b = feed(late, data[:, :cut], max_block=1000)
    late.stage(4, "N3", 140.0)  # told a second after, as the monitor's thread may
    b.extend(feed(late, data[:, cut:], first_index=cut, max_block=1000))
    assert [w.score for w in a.windows] == [w.score for w in b.windows]
    assert a.windows[-1].score != feed(Detector(meta), data, max_block=1000).windows[-1].score


def test_an_arousal_length_burst_alarms_unstaged_but_not_in_sleep() -> None:
    meta = StreamMeta("bed", "amp", ("Cz",), RATE)
    data = synthetic_eeg(1, 240.0, RATE, seed=6)
    t = np.arange(round(8 * RATE)) / RATE
    burst = slice(round(200 * RATE), round(208 * RATE))
    data[0, burst] += 150.0 * np.sin(2 * np.pi * 6.0 * t)  # 8 s, as an arousal or a movement
    assert "seizure_suspect" in clinical(Detector(meta), data, {})
    assert clinical(Detector(meta), data, {35.0: "N2"}) == []
    long = synthetic_eeg(1, 260.0, RATE, seed=6)
    t = np.arange(round(40 * RATE)) / RATE
    long[0, round(200 * RATE) : round(240 * RATE)] += 150.0 * np.sin(2 * np.pi * 6.0 * t)
    assert "seizure_suspect" in clinical(Detector(meta), long, {35.0: "N2"})  # 40 s: a seizure


def test_an_unknown_stage_is_refused() -> None:
    detector = Detector(StreamMeta("bed", "amp", ("Cz",), RATE))
    with pytest.raises(ValueError, match="unknown sleep stage 'S2'"):
        detector.stage(0, "S2", 65.0)


def test_sleep_sustain_must_not_exceed_its_span() -> None:
    with pytest.raises(ValueError, match="sleep_seizure_k"):
        DetectorConfig(sleep_seizure_k=31)


def test_real_sleep_staged_live_raises_no_clinical_alarm(data_dir: Path) -> None:
    case = corpus.dreams(data_dir / "dreams_spindles", 4)  # the most arousals and movements
    mine, _ = corpus.run(case)
    alarms = [d for d in mine if d.kind in CLINICAL]
    hours = case.duration_s / 3600
    assert len(alarms) <= 0.5 * hours, alarms


def test_a_seizure_is_found_before_any_stage_is_known(data_dir: Path) -> None:
    case = corpus.chbmit(data_dir / "chbmit_chb01_03")
    assert case.stages == []
    found = score(case.events, corpus.run(case)[0], case.duration_s)["seizure_suspect"]
    assert found.detected == 1
    assert found.latency_median is not None
    assert found.latency_median <= 10.0


def test_a_staged_scan_raises_what_the_monitor_would(data_dir: Path, tmp_path: Path) -> None:
    """The scan stages as it goes; live, each stage reaches the detector a second late."""
    edf = dreams_edf(data_dir / "dreams_spindles" / "excerpt4.txt", tmp_path / "n4.edf", 5.0)
    with open_recording(edf) as recording:
        scanned = scan_recording(recording, str(edf), series=False, stage=True)
        data = np.hstack([chunk for _, chunk in recording.blocks(60.0)]).astype(np.float64)
        meta = StreamMeta("n4", scanned.source_id, recording.labels, recording.rate)
    staged = corpus.live_stages(data, meta.labels, meta.rate)
    assert staged
    live = Detector(meta)
    alerts = []
    for block in corpus.array_blocks(data, meta.rate, chunk=50):
        while staged and staged[0][2] + 1.0 <= block.timestamps[-1]:
            live.stage(*staged.pop(0))
        alerts += [a for a in live.process(block).alerts if a.state == "active"]
    first = {(a.kind, a.onset) for a in alerts}
    assert first
    assert {(a["kind"], a["onset"]) for a in scanned.alerts} == first


def test_what_each_stage_learned_survives_a_restart() -> None:
    meta = StreamMeta("bed", "amp", ("Cz",), RATE)
    data = light_then_deep(300.0)
    night = Detector(meta)
    night.stage(0, "N2", 35.0)
    night.stage(4, "N3", 140.0)
    feed(night, data, max_block=1000)
    state = night.model_state()
    assert set(state.facts["stages"]) == {"N2", "N3"}
    restarted, fresh = Detector(meta), Detector(meta)
    restarted.load_model_state(state)
    more = synthetic_eeg(1, 120.0, RATE, seed=9) * 3.0
    scores = []
    for detector in (restarted, fresh):
        detector.stage(0, "N3", 0.0)  # the restarted stager's first epoch
        windows = feed(detector, more, max_block=1000).windows
        scores.append([w.threshold for w in windows])
    # 5 s in: N3's threshold is back at once; a fresh N3 needs 100 s of its own scores
    assert scores[0][8] < float("inf") == scores[1][8]
