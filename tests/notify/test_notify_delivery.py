"""The notifier in-process, against real receivers on loopback: routing, retries, bounds."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pylsl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from detector.types import StreamMeta
from streamer.live.alert_outlet import AlertOutlet
from streamer.live.journal import AlertJournal, parse_since, read_journal, select
from streamer.notify import Notifier, NotifyConfig, check_urls
from tests.support import wait_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def alert(n: int, kind: str = "flatline", severity: str = "medium", **extra) -> dict:
    return {
        "id": f"t-{kind}-{n}",
        "stream": "bed-4",
        "source_id": "dev-1",
        "kind": kind,
        "severity": severity,
        "channels": ["O1"] if kind != "signal_lost" else [],
        "message": f"{kind} number {n}.",
        "state": "active",
        **extra,
    }


def notification_lines(path: Path) -> list[dict]:
    return [r for r in read_journal(path) if r["event"] == "notification"]


def fast(**overrides) -> NotifyConfig:
    defaults = {"retry_initial_s": 0.05, "retry_max_s": 0.2, "failing_after": 2}
    return NotifyConfig.from_dict({**defaults, **overrides})


def test_routes_by_severity_and_names_kind_and_channel(http_receiver, tmp_path: Path) -> None:
    receiver = http_receiver()
    config = fast(high=[receiver.url("/pager")], medium=[receiver.url("/chat")])
    journal = AlertJournal(tmp_path / "alerts.jsonl")
    notifier = Notifier(config, journal=journal)
    try:
        notifier.alert("raised", alert(1, "signal_lost", "high"))
        notifier.alert("raised", alert(2, "flatline", "medium"))
        notifier.alert("raised", alert(3, "line_noise", "low"))  # no low route: summarised nowhere
        wait_for(lambda: receiver.at("/pager") and receiver.at("/chat"), 5, "both routes")
    finally:
        notifier.close()
        journal.close()
    (pager,) = receiver.at("/pager")
    (chat,) = receiver.at("/chat")
    assert "signal_lost" in pager.text
    assert "HIGH" in pager.payload["title"]
    assert pager.payload["type"] == "failure"
    assert "flatline" in chat.text
    assert "O1" in chat.text
    assert "t-flatline-2" in chat.text
    assert chat.payload["type"] == "warning"
    delivered = list(notification_lines(tmp_path / "alerts.jsonl"))
    assert sorted(r["kinds"][0] for r in delivered) == ["flatline", "signal_lost"]
    assert {r["outcome"] for r in delivered} == {"delivered"}


def test_a_failing_receiver_never_blocks_the_caller_and_gets_everything_on_recovery(
    http_receiver, tmp_path: Path
) -> None:
    bad = http_receiver("fail")
    good = http_receiver()
    config = fast(medium=[bad.url("/bad"), good.url("/good")], min_interval_s=0.001)
    journal = AlertJournal(tmp_path / "alerts.jsonl")
    notifier = Notifier(config, journal=journal)
    try:
        started = time.perf_counter()
        for n in range(5):
            notifier.alert("raised", alert(n, kind=f"kind{n}"))
        assert time.perf_counter() - started < 0.05, "alert() must only queue"
        wait_for(lambda: len(good.at("/good")) == 5, 5, "the healthy receiver's five posts")
        wait_for(lambda: notifier.status()["notify"]["failing"], 5, "the failing destination")
        status = notifier.status()["notify"]
        assert status["failing"] == [bad.url("/bad")]
        assert status["pending"] == 5
        bad.recover()
        wait_for(lambda: len(bad.at("/bad")) == 5, 5, "the recovered receiver's five posts")
        wait_for(lambda: not notifier.status()["notify"]["failing"], 5, "recovery in status")
    finally:
        notifier.close()
        journal.close()
    assert [p.payload["message"].split(".")[0] for p in bad.at("/bad")] == [
        f"kind{n} number {n}" for n in range(5)
    ], "pending notifications arrive in order"
    lines = [r for r in notification_lines(tmp_path / "alerts.jsonl") if "/bad" in r["destination"]]
    failed = [r for r in lines if r["outcome"] == "failed"]
    assert len(failed) >= 2
    assert all("500" in r["error"] or "error" in r["error"].lower() for r in failed)
    assert [r["alert_ids"][0] for r in lines if r["outcome"] == "delivered"] == [
        f"t-kind{n}-{n}" for n in range(5)
    ]


def test_the_queue_is_bounded_and_a_drop_is_visible(http_receiver, tmp_path: Path) -> None:
    bad = http_receiver("fail")
    config = fast(medium=[bad.url()], queue_size=3, min_interval_s=0.001)
    journal = AlertJournal(tmp_path / "alerts.jsonl")
    notifier = Notifier(config, journal=journal)
    try:
        for n in range(6):
            notifier.alert("raised", alert(n, kind=f"kind{n}"))
        wait_for(lambda: notifier.status()["notify"]["dropped"] == 3, 5, "three dropped")
        assert notifier.status()["notify"]["pending"] == 3
    finally:
        notifier.close(grace=0)
        journal.close()
    outcomes = [r["outcome"] for r in notification_lines(tmp_path / "alerts.jsonl")]
    assert outcomes.count("dropped") == 3
    assert outcomes.count("undelivered") == 3


def test_a_full_queue_gives_up_the_least_severe_first(http_receiver) -> None:
    bad = http_receiver("fail")
    routes = [bad.url()]
    config = fast(high=routes, medium=routes, queue_size=2, min_interval_s=0.001)
    notifier = Notifier(config)
    try:
        notifier.alert("raised", alert(0, "signal_lost", "high"))
        wait_for(lambda: bad.refused, 5, "the first attempt")
        notifier.alert("raised", alert(1, "flatline"))
        notifier.alert("raised", alert(2, "saturation"))  # full: the older medium goes
        notifier.alert("raised", alert(3, "seizure_suspect", "high"))  # full: the other medium
        wait_for(lambda: notifier.status()["notify"]["dropped"] == 2, 5, "two dropped")
        bad.recover()
        wait_for(lambda: len(bad.posts) == 2, 5, "what was kept")
    finally:
        notifier.close()
    kept = [p.payload["message"].split(" number")[0] for p in bad.posts]
    assert kept == ["signal_lost", "seizure_suspect"]


def test_escalation_on_the_monitor_clock_and_not_after_ack(http_receiver, tmp_path: Path) -> None:
    receiver = http_receiver()
    clock = FakeClock()
    config = fast(
        high=[receiver.url("/pager")], escalate=[receiver.url("/chief")], escalation_after_s=60
    )
    journal = AlertJournal(tmp_path / "alerts.jsonl")
    notifier = Notifier(config, journal=journal, clock=clock, tick_s=0.01)
    try:
        notifier.alert("raised", alert(1, "signal_lost", "high", published_at=clock.now))
        notifier.alert("raised", alert(2, "seizure_suspect", "high", published_at=clock.now))
        wait_for(lambda: len(receiver.at("/pager")) == 2, 5, "two pages")
        notifier.alert("acknowledged", alert(2, "seizure_suspect", "high", state="acknowledged"))
        wait_for(lambda: notifier.status()["notify"]["waiting_for_ack"] == 1, 5, "the ack")
        clock.now += 59.5
        time.sleep(0.1)  # several dispatcher ticks at a time before the deadline
        assert not receiver.at("/chief")
        clock.now += 0.5
        wait_for(lambda: receiver.at("/chief"), 5, "the escalation")
        wait_for(lambda: len(receiver.at("/pager")) == 3, 5, "the repeated page")
    finally:
        notifier.close()
        journal.close()
    (chief,) = receiver.at("/chief")
    assert chief.payload["title"].startswith("ESCALATED")
    assert "signal_lost" in chief.text
    escalated = [r for r in read_journal(tmp_path / "alerts.jsonl") if r["event"] == "escalated"]
    assert [r["alert"]["id"] for r in escalated] == ["t-signal_lost-1"]
    assert escalated[0]["after_s"] == pytest.approx(60, abs=0.01)


def test_low_alerts_arrive_as_one_summary(http_receiver) -> None:
    receiver = http_receiver()
    clock = FakeClock()
    notifier = Notifier(fast(low=[receiver.url()], low_summary_s=300), clock=clock, tick_s=0.01)
    try:
        for n in range(3):
            notifier.alert(
                "raised", alert(n, "line_noise", "low", channels=[f"T{n}"], published_at=clock.now)
            )
        clock.now += 300
        wait_for(lambda: receiver.posts, 5, "the summary")
    finally:
        notifier.close()
    (summary,) = receiver.posts
    assert "3 low-severity alerts" in summary.payload["title"]
    assert all(f"line_noise on T{n}" in summary.text for n in range(3))


def test_a_flapping_condition_is_told_once_then_summed_up(http_receiver) -> None:
    receiver = http_receiver()
    clock = FakeClock()
    notifier = Notifier(fast(medium=[receiver.url()], min_interval_s=60), clock=clock, tick_s=0.01)
    try:
        for n in range(4):
            notifier.alert("raised", alert(n, published_at=clock.now))
            notifier.alert("cleared", alert(n, state="cleared"))
            clock.now += 5
        wait_for(lambda: receiver.posts, 5, "the first notice")
        clock.now += 40  # 60 s after the first notice
        wait_for(lambda: len(receiver.posts) == 2, 5, "the repeated notice")
    finally:
        notifier.close()
    first, repeated = receiver.posts
    assert "t-flatline-0" in first.text
    assert "raised 3 more times" in repeated.payload["title"]
    assert all(f"t-flatline-{n}" in repeated.text for n in (1, 2, 3))


def test_unknown_urls_and_keys_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'nosuch://user:\*\*\*@host/x'") as refused:
        check_urls(["nosuch://user:hunter2@host/x"])
    assert "hunter2" not in str(refused.value)
    with pytest.raises(ValueError, match="unknown key 'escalation_after'"):
        NotifyConfig.from_dict({"escalation_after": 5})
    with pytest.raises(ValueError, match="min_interval_s must be a positive number"):
        NotifyConfig.from_dict({"min_interval_s": -1})
    with pytest.raises(ValueError, match="high must be a list of URLs"):
        NotifyConfig.from_dict({"high": [3]})


def test_cli_urls_receive_every_severity() -> None:
    config = NotifyConfig.from_dict({"high": ["json://a/"], "escalate": ["json://b/"]})
    both = config.with_urls(["json://c/"])
    assert both.high == ("json://a/", "json://c/")
    assert both.low == both.medium == ("json://c/",)
    assert both.destinations == ("json://a/", "json://c/", "json://b/")


def test_alert_markers_reach_an_lsl_inlet(unique_name: str) -> None:
    outlet = AlertOutlet(StreamMeta(unique_name, "dev-1", ("O1", "O2"), 256.0))
    try:
        (info,) = pylsl.resolve_byprop("name", f"{unique_name}-alerts", timeout=10)
        assert info.type() == "Markers"
        assert info.source_id() == "dev-1-alerts"
        inlet = pylsl.StreamInlet(info)
        inlet.open_stream(timeout=5)
        wait_for(lambda: outlet._outlet.have_consumers(), 5, "the inlet")
        outlet.alert("raised", alert(1))
        outlet.alert("cleared", alert(1, state="cleared"))
        samples = [inlet.pull_sample(timeout=5)[0] for _ in range(2)]
    finally:
        outlet.close()
    events = [json.loads(s[0]) for s in samples]
    assert [(e["event"], e["kind"], e["channels"]) for e in events] == [
        ("raised", "flatline", ["O1"]),
        ("cleared", "flatline", ["O1"]),
    ]


@given(
    amount=st.integers(min_value=0, max_value=36_500),
    unit=st.sampled_from(["s", "m", "h", "d"]),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_since_durations_count_back_from_now(amount: int, unit: str, now: datetime) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit] * amount
    assert parse_since(f"{amount}{unit}", now) == now - timedelta(seconds=seconds)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, None]),
    )
)
def test_since_iso_times_round_trip(when: datetime) -> None:
    parsed = parse_since(when.isoformat())
    assert parsed.tzinfo is not None
    assert parsed == (when if when.tzinfo else when.astimezone())


@given(st.text(max_size=30))
def test_since_refuses_garbage_with_a_message(text: str) -> None:
    """Anything either parses to an aware time or is refused with a message quoting it."""
    try:
        parsed = parse_since(text)
    except ValueError as exc:
        message = str(exc)
    else:
        message = repr(text) if parsed.tzinfo is not None else "naive"
    assert repr(text) in message


def test_journal_selection_by_kind_and_time(tmp_path: Path) -> None:
    journal = AlertJournal(tmp_path / "alerts.jsonl")
    journal.append("raised", alert(1))
    journal.note("notification", kinds=["flatline"], outcome="delivered")
    journal.append("raised", alert(2, "signal_lost", "high"))
    journal.close()
    records = list(read_journal(tmp_path / "alerts.jsonl"))
    flat = list(select(iter(records), kinds=["flatline"]))
    assert [r["seq"] for r in flat] == [1, 2]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert list(select(iter(records), since=future)) == []
