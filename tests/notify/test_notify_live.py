"""Notifications end to end: real simulator, monitor and ``eegmon ack`` processes; real
webhook, SMTP server and LSL inlet on loopback."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pylsl
import pytest

from eegmon.config import ConfigError, read
from streamer.live.journal import read_journal
from tests.support import ROOT, FeedProbe, wait_for

pytestmark = pytest.mark.slow


def scenario(tmp_path: Path, *events: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text("\n".join(f"[[event]]\n{event}\n" for event in events))
    return str(path)


def flat(at: float, duration: float, channel: str = "O1", kind: str = "flatline") -> str:
    return f'kind = "{kind}"\nat = {at}\nduration = {duration}\nchannels = ["{channel}"]'


def feed_url(monitor) -> str:
    return monitor.wait_line("feed at ", timeout=30).split("feed at ")[1].strip()


def start(eegmon, name: str, simulate: tuple[str, ...], *monitor_args: str):
    """The monitor first, waiting for the stream, then the simulator: the stream's clock
    starts when the monitor is already up, so a fault at a few seconds is never missed."""
    monitor = eegmon(
        "monitor", "--stream", name, "--feed-port", "0", "--quiet", "--resolve-timeout", "60",
        *monitor_args,
    )  # fmt: skip
    sim = eegmon("simulate", "--name", name, *simulate)
    return monitor, sim, feed_url(monitor)


def raised(client: FeedProbe, kind: str, timeout: float = 30) -> dict:
    message = client.wait(
        lambda m: m["type"] == "alert" and m["event"] == "raised" and m["alert"]["kind"] == kind,
        timeout,
        f"{kind} raised on the feed",
    )
    return message["alert"]


def run_eegmon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eegmon", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )


def test_a_flatline_reaches_the_webhook_the_mailbox_and_lsl_and_survives_kill_9(
    eegmon, feed_client, http_receiver, smtp_receiver, unique_name: str, tmp_path: Path
) -> None:
    web = http_receiver()
    journal = tmp_path / "alerts.jsonl"
    events = scenario(tmp_path, flat(4, 20), flat(8, 10, "C3", "saturation"))
    monitor, _, url = start(
        eegmon, unique_name, ("--scenario", events), "--alerts", str(journal),
        "--notify", web.url("/ward"), "--notify", smtp_receiver.url(), "--alerts-outlet",
    )  # fmt: skip
    client = feed_client(url)
    (info,) = pylsl.resolve_byprop("name", f"{unique_name}-alerts", timeout=10)
    markers = pylsl.StreamInlet(info)
    markers.open_stream(timeout=5)

    alert = raised(client, "flatline")
    post = wait_for(
        lambda: next((p for p in web.posts if "flatline" in p.text), None), 5, "the json:// post"
    )
    assert post.path == "/ward"
    assert "O1" in post.text
    assert alert["id"] in post.text
    assert post.at - alert["published_at"] < 2.0, "notified more than 2 s after publication"
    mail = wait_for(
        lambda: next((m for m in smtp_receiver.mails if "flatline" in m.text), None), 10, "e-mail"
    )
    assert mail.recipients == ["nurse@localhost"]
    assert "O1" in mail.text
    assert mail.at - alert["published_at"] < 2.0

    sample, _ = markers.pull_sample(timeout=5)
    assert sample is not None, "no marker on the alerts stream"
    marker = json.loads(sample[0])
    assert (marker["event"], marker["kind"], marker["id"]) == ("raised", "flatline", alert["id"])
    assert marker["channels"] == ["O1"]

    second = raised(client, "saturation")
    monitor.kill()  # right after the alert reached the feed
    assert monitor.process.returncode == -9
    journaled = [r["alert"]["id"] for r in read_journal(journal) if r["event"] == "raised"]
    assert journaled == [alert["id"], second["id"]]


@pytest.mark.parametrize("failure", ["fail", "hang"])
def test_a_failing_receiver_delays_nothing_and_gets_everything_when_back(
    failure: str,
    eegmon,
    feed_client,
    http_receiver,
    unique_name: str,
    tmp_path: Path,
) -> None:
    good, bad = http_receiver(), http_receiver(failure)
    bad_url = bad.url("/bad", rto="1")  # apprise's read timeout: a hung receiver costs 1 s a try
    config = tmp_path / "lab.toml"
    config.write_text(
        "[notify]\n"
        f'medium = ["{good.url("/good")}", "{bad_url}"]\n'
        "retry_initial_s = 0.2\nretry_max_s = 0.5\nfailing_after = 2\n"
    )
    journal = tmp_path / "alerts.jsonl"
    events = scenario(tmp_path, flat(4, 3), flat(8, 3, "C3", "saturation"))
    _, _, url = start(
        eegmon, unique_name, ("--scenario", events),
        "--alerts", str(journal), "--config", str(config),
    )  # fmt: skip
    client = feed_client(url)

    for kind in ("flatline", "saturation"):
        alert = raised(client, kind)
        assert alert["latency_s"] < 0.5, "detection was delayed"
        post = wait_for(
            lambda kind=kind: next((p for p in good.posts if kind in p.text), None), 5, kind
        )
        assert post.at - alert["published_at"] < 2.0, f"{kind} reached the healthy receiver late"
    status = client.wait(
        lambda m: m["type"] == "status" and m["notify"]["failing"] and m["notify"]["pending"] >= 2,
        10,
        "the failing destination and both notices waiting for it, in status",
    )
    assert status["notify"]["failing"] == [bad_url]
    heartbeats = [m["now"] for m in client.of_type("status")]
    assert max(b - a for a, b in itertools.pairwise(heartbeats)) < 2.0

    bad.recover()
    wait_for(lambda: len(bad.posts) >= 2, 10, "the pending notifications after recovery")
    assert [k for p in bad.posts for k in ("flatline", "saturation") if k in p.text] == [
        "flatline",
        "saturation",
    ]
    client.wait(
        lambda m: m["type"] == "status" and m["notify"]["failing"] == [], 5, "recovery in status"
    )

    def bad_lines() -> list[dict]:
        return [r for r in read_journal(journal) if r.get("destination") == bad_url]

    # The receiver has the post before the monitor has its answer and journals it.
    wait_for(
        lambda: sum(r["outcome"] == "delivered" for r in bad_lines()) >= 2,
        10,
        "both deliveries to the recovered receiver in the journal",
    )
    lines = bad_lines()
    assert [r["outcome"] for r in lines].count("failed") >= 2
    assert [r["kinds"] for r in lines if r["outcome"] == "delivered"] == [
        ["flatline"],
        ["saturation"],
    ]


def escalation_config(tmp_path: Path, web, after_s: float) -> str:
    config = tmp_path / "lab.toml"
    config.write_text(
        "[notify]\n"
        f'high = ["{web.url("/pager")}"]\n'
        f'escalate = ["{web.url("/chief")}"]\n'
        f"escalation_after_s = {after_s}\n"
    )
    return str(config)


def lose_the_signal(eegmon, feed_client, unique_name: str, journal: Path, config: str):
    _, sim, url = start(
        eegmon, unique_name, (),
        "--stall-timeout", "1", "--alerts", str(journal), "--config", config,
    )  # fmt: skip
    client = feed_client(url)
    client.wait(lambda m: m["type"] == "status" and m["samples"] > 0, 10, "samples flowing")
    sim.kill()
    return url, client, raised(client, "signal_lost")


def test_an_unacknowledged_high_alert_is_escalated_to_the_second_route(
    eegmon, feed_client, http_receiver, unique_name: str, tmp_path: Path
) -> None:
    web = http_receiver()
    journal = tmp_path / "alerts.jsonl"
    config = escalation_config(tmp_path, web, after_s=1.5)
    _, _, alert = lose_the_signal(eegmon, feed_client, unique_name, journal, config)

    chief = wait_for(lambda: web.at("/chief"), 10, "the escalation on the second route")[0]
    assert chief.payload["title"].startswith("ESCALATED")
    assert "signal_lost" in chief.text
    assert alert["id"] in chief.text
    assert chief.at - alert["published_at"] >= 1.5
    pages = wait_for(lambda: len(web.at("/pager")) == 2 and web.at("/pager"), 5, "re-notified")
    assert "HIGH signal_lost" in pages[0].payload["title"]
    assert pages[1].payload["title"].startswith("ESCALATED")
    escalated = wait_for(
        lambda: [r for r in read_journal(journal) if r["event"] == "escalated"], 5, "journal line"
    )
    assert escalated[0]["alert"]["id"] == alert["id"]

    shown = run_eegmon("alerts", str(journal), "--kind", "signal_lost", "--since", "1h")
    assert shown.returncode == 0, shown.stderr
    table = shown.stdout.splitlines()
    assert table[0].split()[:4] == ["seq", "time", "event", "kind"]
    rows = {line.split()[3]: line for line in table[1:-1]}  # event column (after date and time)
    assert {"raised", "escalated", "notification"} <= set(rows)
    assert "/chief: delivered" in shown.stdout


def test_an_acknowledged_high_alert_is_not_escalated(
    eegmon, feed_client, http_receiver, unique_name: str, tmp_path: Path
) -> None:
    web = http_receiver()
    journal = tmp_path / "alerts.jsonl"
    config = escalation_config(tmp_path, web, after_s=4)
    url, client, alert = lose_the_signal(eegmon, feed_client, unique_name, journal, config)
    wait_for(lambda: web.at("/pager"), 5, "the page")

    unknown = run_eegmon("ack", "no-such-alert", "--feed", url)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        f"eegmon: error: no active alert 'no-such-alert' on {url} (active: {alert['id']})"
    ]
    acked = run_eegmon("ack", alert["id"], "--feed", url, "--who", "nurse-ana")
    assert acked.returncode == 0, acked.stderr
    assert "acknowledged by nurse-ana" in acked.stdout

    deadline = alert["published_at"] + 4 + 1.0
    client.wait(lambda m: m["type"] == "status" and m["now"] > deadline, 15, "T + 1 s to pass")
    assert web.at("/chief") == []
    assert len(web.at("/pager")) == 1
    records = list(read_journal(journal))
    assert [r["who"] for r in records if r["event"] == "acknowledged"] == ["nurse-ana"]
    assert not [r for r in records if r["event"] == "escalated"]


def test_a_bad_notification_url_is_one_line_and_exit_2_before_resolving() -> None:
    bad_url = run_eegmon("monitor", "--stream", "nothing-here", "--notify", "nosuch://u:pw@h/")
    assert bad_url.returncode == 2
    assert bad_url.stderr.splitlines() == [
        "eegmon: error: notification URL 'nosuch://u:***@h/' is not one apprise can send to"
    ]


def test_an_unknown_notify_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text('[notify]\nescalate_after_s = 60\nhigh = ["json://127.0.0.1:9/"]\n')
    with pytest.raises(ConfigError, match=r"\[notify\]: unknown key 'escalate_after_s'"):
        read(config).notify()
    config.write_text("notify = 3\n")
    with pytest.raises(ConfigError, match="notify must be a table"):
        read(config).notify()
