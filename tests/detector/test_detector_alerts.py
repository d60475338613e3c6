"""Invariants of the alert state machine, against a reference model of the debounce."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.alerts import AlertBook, Finding
from detector.types import StreamMeta

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
