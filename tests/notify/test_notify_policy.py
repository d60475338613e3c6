"""The escalation and rate-limit state machine, on a fake clock, against random histories."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.notify import Notice, Policy

T, REFRACTORY, SUMMARY = 10.0, 3.0, 7.0
KINDS = {
    "signal_lost": "high",
    "seizure_suspect": "high",
    "flatline": "medium",
    "line_noise": "low",
}

# One step of a history: raise a new alert of a kind, acknowledge or clear the n-th raised
# alert (modulo how many exist), or let time pass.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("raise"), st.sampled_from(sorted(KINDS))),
        st.tuples(st.just("ack"), st.integers(0, 50)),
        st.tuples(st.just("clear"), st.integers(0, 50)),
        st.tuples(st.just("upgrade"), st.integers(0, 50)),
        st.tuples(
            st.just("wait"),
            st.one_of(st.sampled_from([0.5, REFRACTORY, SUMMARY, T, T + 1]), st.floats(0, 12)),
        ),
    ),
    max_size=60,
)


@dataclass
class History:
    """What happened, as the test's own bookkeeping (independent of the policy)."""

    raised: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (kind, when)
    upgraded: dict[str, float] = field(default_factory=dict)  # medium id made high -> when
    ended: dict[str, float] = field(default_factory=dict)  # id -> when acked or cleared
    cleared: set[str] = field(default_factory=set)
    sent: list[tuple[float, Notice]] = field(default_factory=list)


def run(history_steps: list[tuple]) -> tuple[History, Policy, float]:
    policy = Policy(T, REFRACTORY, SUMMARY)
    history = History()
    now = 0.0
    for step, arg in history_steps:
        notices: list[Notice] = []
        if step == "raise":
            alert_id = f"a{len(history.raised)}"
            history.raised[alert_id] = (arg, now)
            alert = {"id": alert_id, "kind": arg, "severity": KINDS[arg], "state": "active"}
            notices = policy.event("raised", alert, now)
        elif step in ("ack", "clear") and history.raised:
            alert_id = sorted(history.raised)[arg % len(history.raised)]
            if alert_id in history.cleared:
                continue
            kind = history.raised[alert_id][0]
            state = "acknowledged" if step == "ack" else "cleared"
            if step == "clear":
                history.cleared.add(alert_id)
            history.ended.setdefault(alert_id, now)
            alert = {"id": alert_id, "kind": kind, "severity": KINDS[kind], "state": state}
            notices = policy.event(state, alert, now)
        elif step == "upgrade" and history.raised:
            alert_id = sorted(history.raised)[arg % len(history.raised)]
            kind = history.raised[alert_id][0]
            if KINDS[kind] != "medium" or alert_id in history.upgraded | history.ended:
                continue
            history.upgraded[alert_id] = now
            alert = {"id": alert_id, "kind": kind, "severity": "high", "state": "active"}
            notices = policy.event("updated", alert, now)
        elif step == "wait":
            now += arg
        notices += policy.tick(now)
        history.sent.extend((now, n) for n in notices)
    return history, policy, now


@settings(max_examples=150, deadline=None)
@given(steps)
def test_at_most_one_notice_per_kind_per_minimum_interval(history_steps: list[tuple]) -> None:
    history, _, _ = run(history_steps)
    last: dict[str, float] = {}
    for when, notice in history.sent:
        if notice.reason in ("suppressed", "summary"):
            continue
        kind = notice.kinds[0]
        if notice.reason not in ("escalated", "upgraded"):  # these are never held back
            assert when - last.get(kind, -1e9) >= REFRACTORY, (kind, when, last)
        last[kind] = when


@settings(max_examples=150, deadline=None)
@given(steps)
def test_unacknowledged_high_alerts_escalate_once_and_only_they(history_steps: list[tuple]) -> None:
    history, _, end = run(history_steps)
    escalated = [
        (when, n.alerts[0]["id"], n) for when, n in history.sent if n.reason == "escalated"
    ]
    ids = [alert_id for _, alert_id, _ in escalated]
    assert len(ids) == len(set(ids)), "escalated twice"
    for when, alert_id, notice in escalated:
        kind, raised_at = history.raised[alert_id]
        raised_at = history.upgraded.get(alert_id, raised_at)
        assert KINDS[kind] == "high" or alert_id in history.upgraded
        assert when >= raised_at + T
        assert history.ended.get(alert_id, float("inf")) >= when, "escalated after its ack"
        assert set(notice.routes) == {"high", "escalate"}
    for alert_id, (kind, raised_at) in history.raised.items():
        raised_at = history.upgraded.get(alert_id, raised_at)
        waited_out = raised_at + T <= end and history.ended.get(alert_id, float("inf")) > end
        if (KINDS[kind] == "high" or alert_id in history.upgraded) and waited_out:
            assert alert_id in ids, f"{alert_id} waited {end - raised_at} s unacknowledged"


@settings(max_examples=150, deadline=None)
@given(steps)
def test_nothing_raised_is_lost_and_low_alerts_only_come_summed_up(
    history_steps: list[tuple],
) -> None:
    history, policy, _ = run(history_steps)
    delivered = history.sent + [(float("inf"), n) for n in policy.flush()]
    told: dict[str, list[str]] = {}
    for _, notice in delivered:
        for alert in notice.alerts:
            told.setdefault(alert["id"], []).append(notice.reason)
    for alert_id, (kind, _) in history.raised.items():
        reasons = [r for r in told.get(alert_id, []) if r != "suppressed"]
        if KINDS[kind] == "low":
            assert reasons == ["summary"], (alert_id, reasons)
        else:
            assert {"raised", "repeated"} & set(reasons), (alert_id, told.get(alert_id))


@settings(max_examples=100, deadline=None)
@given(steps)
def test_summaries_wait_for_their_period(history_steps: list[tuple]) -> None:
    history, _, _ = run(history_steps)
    for when, notice in history.sent:
        if notice.reason == "summary":
            first = min(history.raised[a["id"]][1] for a in notice.alerts)
            assert when >= first + SUMMARY
            assert {a["severity"] for a in notice.alerts} == {"low"}


@settings(max_examples=100, deadline=None)
@given(steps)
def test_an_alert_made_high_is_told_to_the_high_route_at_once(history_steps: list[tuple]) -> None:
    history, _, _ = run(history_steps)
    upgrades = {
        n.alerts[0]["id"]: (when, n.routes) for when, n in history.sent if n.reason == "upgraded"
    }
    assert {a: (t, ("high",)) for a, t in history.upgraded.items()} == upgrades
