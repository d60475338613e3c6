"""People and roles on a real monitor: who may acknowledge, what is journaled, what logs hide."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pylsl
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from protocol.people import parse_users
from tests.reliability.harness import CounterOutlet, feed_url
from tests.support import ROOT, FeedProbe, Proc, wait_for

pytestmark = pytest.mark.slow


def add_user(users: Path, name: str, role: str) -> str:
    """``eegmon users add``: the token is the one line on stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "eegmon", "users", "add", name, "--role", role, "--users", users],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    (token,) = done.stdout.split()
    return token


@dataclass
class Ward:
    monitor: Proc
    url: str
    journal: Path
    tokens: dict[str, str]

    def client(self, who: str) -> FeedProbe:
        return FeedProbe(
            self.url, additional_headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )

    def records(self, event: str) -> list[dict]:
        lines = self.journal.read_text().splitlines()
        return [r for r in map(json.loads, lines) if r["event"] == event]


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """A monitor with a users file, at -vv, whose stream goes away: signal_lost is raised."""
    folder = tmp_path_factory.mktemp("ward")
    users = folder / "users.toml"
    tokens = {
        name: add_user(users, name, role)
        for name, role in (("ada", "responder"), ("vic", "viewer"), ("ward-screen", "dashboard"))
    }
    name = f"eegmon-test-roles-{uuid.uuid4().hex[:8]}"
    outlet = CounterOutlet(name, "amp-roles").start()
    journal = folder / "alerts.jsonl"
    monitor = Proc(
        [
            *["-vv", "monitor", "--stream", name, "--feed-port", "0", "--users", str(users)],
            *["--alerts", str(journal), "--stall-timeout", "1", "--quiet"],
        ]
    )
    try:
        ward = Ward(monitor, feed_url(monitor), journal, tokens)
        outlet.stop()
        yield ward
    finally:
        monitor.stop()
        outlet.stop()


def test_the_users_file_holds_hashes_only_and_is_private(ward: Ward) -> None:
    users = Path(ward.monitor.args[ward.monitor.args.index("--users") + 1])
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    text = users.read_text()
    assert not any(token in text for token in ward.tokens.values())
    assert {p.name: p.role for p in parse_users(text).people.values()} == {
        "ada": "responder",
        "vic": "viewer",
        "ward-screen": "dashboard",
    }


def lost_alert(client: FeedProbe) -> dict:
    def active() -> dict | None:
        alerts = [m["alert"] for m in client.messages if m["type"] == "alert"]
        alerts += [a for m in client.of_type("hello") for a in m["alerts"]]
        return next((a for a in alerts if a["kind"] == "signal_lost"), None)

    return wait_for(active, 30, "signal_lost")


def test_a_viewers_ack_is_refused_and_the_alert_stays(ward: Ward) -> None:
    viewer, responder = ward.client("vic"), ward.client("ada")
    try:
        alert = lost_alert(viewer)
        viewer.send({"type": "ack", "id": alert["id"], "who": "ada"})
        error = viewer.wait(lambda m: m["type"] == "error", 10, "the refusal")
        assert "only responders acknowledge" in error["message"]
        refused = wait_for(lambda: ward.records("ack_refused"), 10, "ack_refused journaled")
        expected = {
            "event": "ack_refused",
            "alert_id": alert["id"],
            "person": "vic",
            "role": "viewer",
            "who_said": "ada",
            "reason": error["message"].removeprefix("acknowledgement refused: "),
        }
        assert {key: refused[0].get(key) for key in expected} == expected
        fresh = ward.client("ada")
        hello = fresh.wait(lambda m: m["type"] == "hello", 10, "hello")
        fresh.close()
        assert [a["state"] for a in hello["alerts"] if a["id"] == alert["id"]] == ["active"]
        assert not ward.records("acknowledged")
    finally:
        viewer.close()
        responder.close()


def test_a_responders_ack_is_journaled_under_their_name_whatever_who_says(ward: Ward) -> None:
    responder = ward.client("ada")
    try:
        alert = lost_alert(responder)
        responder.send({"type": "ack", "id": alert["id"], "who": "Mallory"})
        acked = responder.wait(
            lambda m: m["type"] == "alert" and m["event"] == "acknowledged", 10, "the ack"
        )
        assert acked["alert"]["acknowledged_by"] == "ada"
        (record,) = wait_for(lambda: ward.records("acknowledged"), 10, "the journal line")
        assert (record["who"], record["who_said"]) == ("ada", "Mallory")
        assert record["alert"]["acknowledged_by"] == "ada"
    finally:
        responder.close()


def test_failed_authentications_are_refused_journaled_without_the_token_and_slowed(
    ward: Ward,
) -> None:
    wrong = "not-a-token-" + uuid.uuid4().hex
    statuses, took = [], []
    for url, headers in (
        (ward.url, {"Authorization": f"Bearer {wrong}"}),
        (ward.url, {}),
        (ward.url, {"Authorization": "Bearer x"}),
        (f"{ward.url}/?token={wrong}", {}),
    ):
        start = time.monotonic()
        try:
            with connect(url, additional_headers=headers, open_timeout=30):
                statuses.append(200)
        except InvalidStatus as exc:
            statuses.append(exc.response.status_code)
        took.append(time.monotonic() - start)
    assert statuses == [401, 401, 401, 401]
    assert took[3] >= 1.0 > took[0], "each failure from one address waits twice as long"
    failed = wait_for(
        lambda: ward.records("auth_failed")[3:] and ward.records("auth_failed"), 10, ""
    )
    assert [r["reason"] for r in failed] == ["unknown token", "no token"] + ["unknown token"] * 2
    assert all(r["address"] == "127.0.0.1" for r in failed)
    assert wrong not in ward.journal.read_text()


def test_no_lsl_alerts_outlet_unless_asked(ward: Ward) -> None:
    """LSL has no authentication: alerts go there only with --alerts-outlet."""
    name = ward.monitor.args[ward.monitor.args.index("--stream") + 1]
    assert pylsl.resolve_byprop("name", f"{name}-alerts", timeout=2) == []


def test_no_token_in_the_monitors_debug_output(ward: Ward) -> None:
    """Runs last in this module: every client above connected with its token at -vv."""
    client = FeedProbe(f"{ward.url}/?token={ward.tokens['ada']}")
    client.wait(lambda m: m["type"] == "hello", 10, "hello")
    client.close()
    ward.monitor.stop()
    output = "\n".join(ward.monitor.lines)
    assert "Authorization: Bearer ***" in output, "websockets' debug lines were expected at -vv"
    for token in ward.tokens.values():
        assert token not in output
    assert ward.tokens["ada"] not in ward.journal.read_text()
