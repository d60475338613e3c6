"""SzCORE event scoring: timescoring's own documented cases, and one counted by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timescoring import scoring
from timescoring.annotations import Annotation

from evaluation.metrics import ANY_KIND, Detection, Event, score, unlabelled_hours
from evaluation.szcore import RESOLUTION_HZ, SZCORE, SzcoreScore, score_kind, score_spans

HOUR = 3600.0


def _check(s: SzcoreScore, sensitivity: float | None, precision: float | None, per_day: float):
    assert s.sensitivity == (None if sensitivity is None else pytest.approx(sensitivity))
    assert s.precision == (None if precision is None else pytest.approx(precision))
    assert s.false_alarms_per_24h == pytest.approx(per_day)


def test_timescoring_documented_cases():
    """The event scoring cases of timescoring's own tests (tests/test.py), one hour each."""
    simple = {**SZCORE, "toleranceStart": 0, "toleranceEnd": 10, "minDurationBetweenEvents": 0}
    _check(score_spans([(40, 60)], [(10, 20), (42, 65)], HOUR, parameters=simple), 1, 0.5, 24)
    before = {**SZCORE, "toleranceStart": 1}
    _check(score_spans([(40, 60)], [(39, 60)], HOUR, parameters=before), 1, 1, 0)
    # split at 5 min (SzCORE's own parameters): the second half is a false alarm
    _check(score_spans([(40, 60)], [(42, 65 + 6 * 60)], HOUR), 1, 0.5, 24)
    _check(score_spans([(40, 60)], [], HOUR), 0, None, 0)
    _check(score_spans([], [(40, 60)], HOUR), None, 0, 24)


def test_hand_counted_night_strict_and_szcore():
    """Four labelled seizures, four alert episodes: what each scoring makes of them.

    SzCORE merges the seizures at 100-160 s and 200-230 s (40 s apart) into
    one, detected by the episode at 240 s (within 60 s after); the episode at
    1975 s detects the seizure at 2000 s (within 30 s before); 1000 s is
    missed; the episodes at 1500 and 1560 s (50 s apart) merge into one false
    alarm. The strict scoring (2 s) detects none and counts every episode
    false.
    """
    kind = "seizure_suspect"
    events = [Event(100, 60, kind), Event(200, 30, kind), Event(1000, 30, kind)]
    events.append(Event(2000, 20, kind))
    found = [
        Detection(kind, ("C3",), 240, 242, 250),
        Detection(kind, ("C3",), 1500, 1502, 1510),
        Detection(kind, ("C3",), 1560, 1562, 1570),
        Detection(kind, ("C3",), 1975, 1977, 1980),
        Detection("flatline", ("C3",), 1000, 1001, 1010),  # another kind: not counted
    ]
    s = score_kind(kind, events, found, HOUR)
    assert (s.events, s.detected, s.false_alarms) == (3, 2, 1)
    assert s.sensitivity == pytest.approx(2 / 3)
    assert s.precision == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert s.false_alarms_per_24h == pytest.approx(24.0)
    strict = score(events, found, HOUR)[kind]
    assert (strict.events, strict.detected, strict.false_alarms) == (4, 0, 4)
    # per hour of unlabelled time (events widened by 2 s): 64 + 34 + 34 + 24 s labelled
    assert unlabelled_hours(events, HOUR, 2.0) == pytest.approx((HOUR - 156) / HOUR)
    assert strict.hours == unlabelled_hours(events, HOUR, 2.0)
    # pooled over two recordings: counts and hours add up
    s.merge(score_kind(kind, [Event(10, 5, kind)], [], HOUR / 2))
    assert (s.events, s.detected, s.false_alarms) == (4, 2, 1)
    assert s.false_alarms_per_24h == pytest.approx(24 / 1.5)
    assert s.row()["sensitivity"] == 0.5


def test_an_episode_to_the_end_of_the_file_and_the_baseline():
    """An episode still open at the end runs to it; the baseline's episodes match any kind."""
    kind = "seizure_suspect"
    events = [Event(0.0, 23.6, kind)]  # a Bonn set S segment: seizure throughout
    open_ended = [Detection(kind, (), 5.0, 6.0, None)]
    s = score_kind(kind, events, open_ended, 23.6)
    assert (s.events, s.detected, s.false_alarms) == (1, 1, 0)
    baseline = [Detection(ANY_KIND, ("EEG",), 3.0, 4.0, 8.0)]
    assert score_kind(kind, events, baseline, 23.6).detected == 1
    assert score_kind(kind, [], baseline, 23.6).false_alarms == 1


spans = st.lists(st.tuples(st.integers(0, 3500), st.integers(1, 400)), max_size=6)


def _disjoint(pairs: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """Sorted, disjoint spans at 1 s (as timescoring's own annotations are)."""
    out: list[tuple[float, float]] = []
    for start, length in sorted(pairs):
        if out and start <= out[-1][1]:
            continue
        out.append((float(start), float(min(start + length, 3600))))
    return out


@settings(max_examples=60, deadline=None)
@given(reference=spans, hypothesis=spans)
def test_same_counts_as_timescoring_itself(reference, hypothesis):
    ref, hyp = _disjoint(reference), _disjoint(hypothesis)
    samples = round(HOUR * RESOLUTION_HZ)
    raw = scoring.EventScoring(
        Annotation(ref, RESOLUTION_HZ, samples),
        Annotation(hyp, RESOLUTION_HZ, samples),
        scoring.EventScoring.Parameters(**SZCORE),
    )
    mine = score_spans(ref, hyp, HOUR)
    assert (mine.events, mine.detected, mine.false_alarms) == (raw.refTrue, raw.tp, raw.fp)
    if not np.isnan(raw.f1):
        assert mine.f1 == pytest.approx(raw.f1)
    assert mine.false_alarms_per_24h == pytest.approx(raw.fpRate)
