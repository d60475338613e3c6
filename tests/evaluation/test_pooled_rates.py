"""Pooled false alarm rates count the hours of every recording, not only where a kind fired."""

from __future__ import annotations

from evaluation import corpus
from evaluation.metrics import Detection, Event, score


def test_a_kind_raised_in_one_recording_is_per_hour_of_all_of_them() -> None:
    pop = Detection("electrode_pop", ("C3",), 100.0, 100.5)
    flat = Event(600.0, 10.0, "flatline", ("O1",))
    with_pop = {"eegmon": score([], [pop], 3600.0), "baseline": {}}
    with_event = {"eegmon": score([flat], [], 3600.0), "baseline": {}}
    quiet = {"eegmon": {}, "baseline": {}}  # nothing labelled, nothing raised
    pooled = corpus.total([with_pop, with_event, quiet], "eegmon", [3600.0, 3600.0, 1800.0])
    hours = pooled["electrode_pop"].hours
    assert 2.49 < hours < 2.5  # 1 h + 1 h less the flatline and its tolerance + 0.5 h
    assert pooled["electrode_pop"].false_alarms == 1
    assert pooled["flatline"].events == 1
