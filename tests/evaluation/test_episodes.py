"""The evaluation counts a latched alert's episodes, as the detector numbers them."""

from __future__ import annotations

import itertools

from detector import Detector
from detector.types import Alert
from evaluation import corpus
from evaluation.metrics import detections, score


def test_each_seizure_of_a_bonn_assembly_is_an_episode_of_one_latched_alert(test_data):
    case = corpus.bonn(test_data / "bonn", "Z")
    detector = Detector(case.stream)
    snapshots: list[tuple[Alert, float]] = []
    for block in case.blocks():
        at = float(block.timestamps[-1])
        snapshots += [(a, at) for a in detector.process(block).alerts]
    seizure = [a for a, _ in snapshots if a.kind == "seizure_suspect"]
    assert len({a.id for a in seizure}) == 1  # live: one alert, latched, never acknowledged
    found = [d for d in detections(snapshots) if d.kind == "seizure_suspect"]
    assert len(found) == max(a.episode for a in seizure) >= 15
    for before, after in itertools.pairwise(found):
        assert before.end is not None
        assert before.onset <= before.detected_at <= before.end <= after.onset
    # each episode is its own seizure: it lands in one labelled event, no two in the same
    tolerance = 2.0
    hit = [
        [i for i, e in enumerate(case.events) if e.onset - tolerance <= d.onset <= e.end]
        for d in found
    ]
    assert all(len(events) == 1 for events in hit)
    assert len({events[0] for events in hit}) == len(found)
    result = score(case.events, found, case.duration_s)["seizure_suspect"]
    assert result.detected == len(found)
    assert result.false_alarms == 0
