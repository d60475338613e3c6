"""Invariants of the alert state machine, against a reference model of the debounce."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.alerts import AlertBook, Finding
from detector.episodes import Episode, EpisodeLog
from detector.types import Alert, StreamMeta

META = StreamMeta("s", "id", ("A", "B", "C"), 10.0)
ORDER = {"active": 0, "acknowledged": 1, "cleared": 2}


def finding(kind: str, flags: list[bool]) -> Finding:
    f = np.array(flags)
    return Finding(
        kind, f, f.astype(float), "{channels} for {duration:.1f} s.", {"x": f.astype(float)}
    )


def reference_inside(flag_rows: list[list[bool]], k: int, n: int, m: int) -> list[list[bool]]:
    """Per-window channel membership, written the slow obvious way."""
    n_units = len(flag_rows[0])
    inside = [False] * n_units
    history: list[list[bool]] = [[] for _ in range(n_units)]
    clean = [0] * n_units
    result = []
    for row in flag_rows:
        for u, flag in enumerate(row):
            history[u] = [*history[u], flag][-n:]
            clean[u] = 0 if flag else clean[u] + 1
            if not inside[u] and sum(history[u]) >= k:
                inside[u] = True
            elif inside[u] and clean[u] >= m:
                inside[u] = False
                history[u] = []
        result.append(list(inside))
    return result


debounce_st = st.tuples(st.integers(1, 4), st.integers(0, 3), st.integers(1, 4)).map(
    lambda t: (t[0], t[0] + t[1], t[2])
)
step_st = st.one_of(
    st.tuples(
        st.just("window"),
        st.sampled_from(["flatline", "saturation"]),
        st.lists(st.booleans(), min_size=3, max_size=3),
    ),
    st.tuples(st.just("ack"), st.sampled_from(["flatline", "saturation"]), st.just([])),
)


@settings(max_examples=200, deadline=None)
@given(debounce=debounce_st, steps=st.lists(step_st, max_size=80))
def test_any_flag_sequence_gives_valid_alerts(debounce, steps):
    k, n, m = debounce
    book = AlertBook(META, k, n, m)
    states: dict[str, list[str]] = {}
    kind_of: dict[str, str] = {}
    rows: dict[str, list[list[bool]]] = {"flatline": [], "saturation": []}
    t = 0.0
    for action, kind, flags in steps:
        if action == "window":
            changed = book.observe(finding(kind, flags), t, t + 1.0)
            rows[kind].append(flags)
            expected = reference_inside(rows[kind], k, n, m)[-1]
            current = book.current(kind)
            channels = [] if current is None else current.channels
            assert channels == [
                lab for lab, inside in zip(META.labels, expected, strict=True) if inside
            ]
        else:
            current = book.current(kind)
            acked = None if current is None else book.acknowledge(current.id, "who", t)
            changed = [] if acked is None else [acked]
        t += 0.5
        for alert in changed:
            seen = states.setdefault(alert.id, [])
            assert not seen or seen[-1] != "cleared", "a cleared alert changed again"
            assert not seen or ORDER[alert.state] >= ORDER[seen[-1]], "state went backwards"
            kind_of.setdefault(alert.id, alert.kind)
            seen.append(alert.state)
            if alert.state == "cleared":
                assert alert.cleared_at == t + 0.5  # the end of the window that cleared it
            else:
                assert alert.channels, "an active alert always names channels"
        active_kinds = [a.kind for a in book.active()]
        assert len(active_kinds) == len(set(active_kinds)), "two active alerts of one kind"
    # an id is never reused: every episode opens with a fresh id in state active
    for alert_id, seen in states.items():
        assert seen[0] == "active"
        assert alert_id.startswith(kind_of[alert_id] + "-")


@settings(max_examples=100, deadline=None)
@given(debounce=debounce_st, lead=st.integers(0, 5), length=st.integers(0, 8))
def test_k_of_n_raises_once_and_m_clean_windows_clear(debounce, lead, length):
    k, n, m = debounce
    book = AlertBook(META, k, n, m)
    seq = [False] * lead + [True] * length + [False] * (m + 2)
    out = []
    for i, flag in enumerate(seq):
        out.extend(
            (i, a)
            for a in book.observe(finding("flatline", [flag, False, False]), i * 0.5, i * 0.5 + 1)
        )
    if length < k:
        assert out == []
        return
    (i_raise, raised), (i_clear, cleared) = out
    assert (raised.state, cleared.state) == ("active", "cleared")
    assert raised.id == cleared.id == "flatline-1"
    assert i_raise == lead + k - 1
    assert raised.onset == lead * 0.5
    assert i_clear == lead + length + m - 1
    assert cleared.cleared_at == i_clear * 0.5 + 1


def test_channel_set_change_is_an_update_with_same_id():
    book = AlertBook(META, 1, 1, 1)
    first = book.observe(finding("flatline", [True, False, False]), 0.0, 1.0)
    acked = book.acknowledge(first[0].id, "nurse", 1.2)
    second = book.observe(finding("flatline", [True, False, True]), 0.5, 1.5)
    third = book.observe(finding("flatline", [False, False, False]), 1.0, 2.0)
    fourth = book.observe(finding("flatline", [False, True, False]), 1.5, 2.5)
    assert acked is not None
    assert acked.state == "acknowledged"
    assert [(a.id, a.state, a.channels) for a in first + second + third + fourth] == [
        ("flatline-1", "active", ["A"]),
        ("flatline-1", "acknowledged", ["A", "C"]),
        ("flatline-1", "cleared", ["A", "C"]),
        ("flatline-2", "active", ["B"]),
    ]


def test_snapshots_do_not_change_after_being_handed_out():
    book = AlertBook(META, 1, 1, 1)
    (first,) = book.observe(finding("flatline", [True, False, False]), 0.0, 1.0)
    book.observe(finding("flatline", [True, True, False]), 0.5, 1.5)
    assert first.channels == ["A"]


# -- refractory period, upgrade, latching ----------------------------------------------
HOP = 0.5


def drive(book: AlertBook, kind: str, flags: list[bool], acks: frozenset[int] = frozenset()):
    """Windows every HOP s on channel A; acknowledge the current alert at the steps in `acks`."""
    events = []
    for i, flag in enumerate(flags):
        end = i * HOP + 1.0
        changed = book.observe(finding(kind, [flag, False, False]), i * HOP, end)
        changed += book.tick(end)
        if i in acks and (current := book.current(kind)) is not None:
            acked = book.acknowledge(current.id, "nurse", end)
            changed += [] if acked is None else [acked]
        events.extend((end, a) for a in changed)
    return events


@settings(max_examples=150, deadline=None)
@given(
    flags=st.lists(st.booleans(), min_size=1, max_size=200),
    refractory=st.sampled_from([0.0, 5.0, 10.0, 30.0]),
)
def test_flapping_gives_at_most_one_alert_per_refractory_period(flags, refractory):
    book = AlertBook(META, 1, 1, 1, refractory_s=refractory)
    events = drive(book, "flatline", flags)
    raised = sorted({a.detected_at for _, a in events if a.state == "active"})
    ids = {a.id for _, a in events}
    assert len(ids) == len(raised)
    for earlier, later in itertools.pairwise(raised):
        assert later - earlier >= refractory
    for at, alert in events:
        if alert.state == "cleared":
            assert at - alert.detected_at >= refractory - 1e-9


def test_condition_flapping_at_1_hz_is_one_alert():
    book = AlertBook(META, 2, 3, 3, refractory_s=10.0)
    flags = [True, True, False, False] * 60  # 1 Hz at a 0.5 s hop, for 2 minutes
    events = drive(book, "flatline", flags)
    assert {a.id for _, a in events} == {"flatline-1"}


@settings(max_examples=100, deadline=None)
@given(on=st.integers(1, 400), after=st.integers(0, 50), upgrade=st.sampled_from([5.0, 30.0]))
def test_a_medium_alert_that_lasts_upgrades_once_and_then_latches(on, after, upgrade):
    book = AlertBook(META, 1, 1, 1, upgrade_after_s=upgrade)
    events = drive(book, "flatline", [True] * on + [False] * after)
    upgraded = [(at, a) for at, a in events if a.upgraded_at is not None]
    lasted = (on - 1) * HOP  # from the first window's start to the last flagged window's end
    if lasted + 1.0 < upgrade:
        assert upgraded == []
        assert all(a.severity == "medium" for _, a in events)
        return
    first_at, first = upgraded[0]
    assert first.severity == "high"
    assert first.upgraded_at == first_at >= first.onset + upgrade
    assert len({a.upgraded_at for _, a in upgraded}) == 1
    # upgraded alerts latch: the condition ended, the alert stays until acknowledged
    assert events[-1][1].state == "active"
    assert book.current("flatline") is not None


@settings(max_examples=150, deadline=None)
@given(
    flags=st.lists(st.booleans(), min_size=1, max_size=120),
    acks=st.frozensets(st.integers(0, 119), max_size=5),
)
def test_latched_alerts_stay_until_acknowledged_and_ack_never_hides(flags, acks):
    book = AlertBook(META, 1, 1, 1, latch=("seizure_suspect",))
    events = drive(book, "seizure_suspect", flags, acks)
    for at, alert in events:
        if alert.state == "cleared":
            assert alert.acknowledged_by == "nurse", "a latched alert cleared unacknowledged"
            assert alert.ended_at is not None
            assert alert.ended_at <= at
    current = book.current("seizure_suspect")
    if current is not None:  # still listed: active, or acknowledged while the condition lasts
        assert current in book.active()
        if current.state == "acknowledged":
            assert current.ended_at is None or current.acknowledged_at < current.ended_at
    ever_flagged = any(flags)
    assert ever_flagged == bool(events)


def test_acknowledging_a_latched_alert_after_its_condition_clears_it():
    book = AlertBook(META, 1, 1, 1, latch=("seizure_suspect",))
    events = drive(book, "seizure_suspect", [True] * 4 + [False] * 10)
    assert [a.state for _, a in events] == ["active", "active"]
    assert events[-1][1].ended_at == 3.0
    cleared = book.acknowledge("seizure_suspect-1", "nurse", 20.0)
    assert cleared is not None
    assert (cleared.state, cleared.acknowledged_by, cleared.cleared_at) == ("cleared", "nurse", 3.0)
    assert book.active() == []


def reference_inside_with_strong(
    rows: list[tuple[list[bool], list[bool]]], k: int, n: int, m: int, sk: int, sn: int
) -> list[list[bool]]:
    """Membership with a shorter sustain for strong flags, the slow obvious way."""
    n_units = len(rows[0][0])
    inside = [False] * n_units
    history: list[list[tuple[bool, bool]]] = [[] for _ in range(n_units)]
    clean = [0] * n_units
    result = []
    for flags, strong in rows:
        for u in range(n_units):
            history[u] = [*history[u], (flags[u], strong[u] and flags[u])][-n:]
            clean[u] = 0 if flags[u] else clean[u] + 1
            due = sum(f for f, _ in history[u]) >= k
            due = due or sum(s for _, s in history[u][-sn:]) >= sk
            if not inside[u] and due:
                inside[u] = True
            elif inside[u] and clean[u] >= m:
                inside[u] = False
                history[u] = []
        result.append(list(inside))
    return result


@settings(max_examples=200, deadline=None)
@given(
    debounce=debounce_st,
    strong=st.tuples(st.integers(1, 7), st.integers(0, 7)),
    rows=st.lists(
        st.tuples(
            st.lists(st.booleans(), min_size=3, max_size=3),
            st.lists(st.booleans(), min_size=3, max_size=3),
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_strong_flags_enter_after_their_shorter_sustain(debounce, strong, rows):
    """Strong flags (a subset: a strong unflagged unit is not flagged) enter after sk of sn."""
    k, n, m = debounce
    sk, sn = min(strong[0], n), min(strong[0] + strong[1], n)
    book = AlertBook(META, k, n, m, strong_debounce={"seizure_suspect": (sk, sn)})
    plain = AlertBook(META, k, n, m)
    raised = False  # the strong book raised an alert at some window so far
    for i, (flags, strong_flags) in enumerate(rows):
        f = np.array(flags)
        book.observe(
            Finding(
                "seizure_suspect", f, f.astype(float), "{channels}", strong=np.array(strong_flags)
            ),
            i * 0.5,
            i * 0.5 + 1,
        )
        plain.observe(
            Finding("seizure_suspect", f, f.astype(float), "{channels}"), i * 0.5, i * 0.5 + 1
        )
        expected = reference_inside_with_strong(rows[: i + 1], k, n, m, sk, sn)[-1]
        current = book.current("seizure_suspect")
        channels = [] if current is None else current.channels
        assert channels == [
            lab for lab, inside in zip(META.labels, expected, strict=True) if inside
        ]
        # Strong evidence only ever brings the first alert sooner, never later.
        if plain.current("seizure_suspect") is not None:
            assert book.current("seizure_suspect") is not None or raised
        raised = raised or current is not None


def test_a_strong_debounce_longer_than_the_kinds_history_is_refused():
    with pytest.raises(ValueError, match=r"strong debounce \(2, 5\) of seizure_suspect"):
        AlertBook(META, 2, 3, 3, strong_debounce={"seizure_suspect": (2, 5)})
    with pytest.raises(ValueError, match=r"strong debounce \(0, 2\) of flatline"):
        AlertBook(META, 2, 3, 3, {"flatline": (2, 4, 3)}, strong_debounce={"flatline": (0, 2)})


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=150),
    debounce=st.sampled_from([(1, 1, 1), (2, 3, 2), (3, 4, 3)]),
    refractory=st.sampled_from([0.0, 5.0, 30.0]),
    latch=st.booleans(),
)
def test_episodes_are_the_returns_of_the_condition_in_order_and_never_overlap(
    rows, debounce, refractory, latch
):
    k, n, m = debounce
    book = AlertBook(META, k, n, m, refractory_s=refractory, latch=("flatline",) if latch else ())
    log = EpisodeLog()
    episodes: list[Episode] = []
    for i, row in enumerate(rows):
        end = i * HOP + 1.0
        for alert in book.observe(finding("flatline", row), i * HOP, end) + book.tick(end):
            episodes += log.add(alert, end)
    episodes += log.close()
    inside = [any(units) for units in reference_inside(rows, k, n, m)]
    returns = [
        i * HOP + 1.0 for i, now in enumerate(inside) if now and (i == 0 or not inside[i - 1])
    ]
    assert sorted(e.detected_at for e in episodes) == returns  # each return, at its window
    by_alert: dict[str, list[Episode]] = {}
    for episode in sorted(episodes, key=lambda e: e.detected_at):
        by_alert.setdefault(episode.alert.id, []).append(episode)
    for mine in by_alert.values():
        assert [e.number for e in mine] == list(range(1, len(mine) + 1))
        for episode in mine:
            assert episode.onset <= episode.detected_at
            assert episode.end is None or episode.detected_at <= episode.end
        for before, after in itertools.pairwise(mine):
            assert before.end is not None
            assert before.end <= after.onset
        assert all(e.end is not None for e in mine[:-1])


def test_a_latched_alert_counts_each_return_with_its_own_onset_and_detection():
    book = AlertBook(META, 2, 3, 2, latch=("seizure_suspect",))
    flags = ([True] * 6 + [False] * 10) * 3
    events = drive(book, "seizure_suspect", flags)
    assert {a.id for _, a in events} == {"seizure_suspect-1"}  # live: one alert, latched
    log = EpisodeLog()
    episodes = [e for at, alert in events for e in log.add(alert, at)] + log.close()
    assert [(e.number, e.onset, e.detected_at, e.end) for e in episodes] == [
        (1, 0.0, 1.5, 4.5),
        (2, 8.0, 9.5, 12.5),
        (3, 16.0, 17.5, 20.5),
    ]
    assert [(a.onset, a.detected_at) for _, a in events] == [(0.0, 1.5)] * len(events)


@settings(max_examples=100, deadline=None)
@given(
    present=st.lists(st.booleans(), min_size=1, max_size=80),
    latch=st.booleans(),
    refractory=st.sampled_from([0.0, 3.0, 30.0]),
)
def test_episodes_of_a_condition_seen_outside_the_signal_never_overlap(present, latch, refractory):
    """Raised and ended as `Detector.set_condition` does: the caller passes the alert's onset."""
    kind = "recording_failed"
    book = AlertBook(META, 1, 1, 1, refractory_s=refractory, latch=(kind,) if latch else ())
    log = EpisodeLog()
    episodes: list[Episode] = []
    for step, now in enumerate(present):
        at = float(step)
        current = book.current(kind)
        changed: list[Alert] = []
        if now and not book.ongoing(kind):
            onset = at if current is None else current.onset
            changed.append(book.raise_event(kind, [], onset, at, 1.0, "Disk full.", {}))
        elif not now and book.ongoing(kind):
            changed += book.end(kind, at)
        for alert in changed + book.tick(at):
            episodes += log.add(alert)
    episodes += log.close()
    starts = [float(i) for i, now in enumerate(present) if now and (i == 0 or not present[i - 1])]
    assert sorted(e.detected_at for e in episodes) == starts
    for episode in episodes:
        assert episode.onset == episode.detected_at  # the caller knew no other onset
        assert episode.end is None or episode.detected_at < episode.end
    by_alert: dict[str, list[Episode]] = {}
    for episode in sorted(episodes, key=lambda e: e.detected_at):
        by_alert.setdefault(episode.alert.id, []).append(episode)
    for mine in by_alert.values():
        assert [e.number for e in mine] == list(range(1, len(mine) + 1))
        for before, after in itertools.pairwise(mine):
            assert before.end is not None
            assert before.end <= after.onset
