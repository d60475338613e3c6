"""Security of a running monitor and dashboard: origins, tokens, sizes, churn, slow readers."""

from __future__ import annotations

import datetime
import json
import re
import socket
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from protocol.feed import MAX_CLIENT_MESSAGE
from tests.reliability.harness import CounterOutlet, feed_url, gauge, growth, scaled
from tests.support import FeedProbe, Proc, wait_for

pytestmark = pytest.mark.slow

ORIGINS = {
    "allowed": "http://allowed.host",
    "evil": "http://evil.example",
    "suffix attack": "http://allowed.host.evil.example",
    "null": "null",
    "none": None,
}
#: Browsers always send an Origin; a missing one is a non-browser client (scripts, the dashboard).
ACCEPTED = {"allowed", "none"}


def opens(url: str, origin: str | None, **kwargs) -> bool | int:
    """True when the handshake succeeds, else the HTTP status of the refusal."""
    headers = {} if origin is None else {"Origin": origin}
    try:
        with connect(url, additional_headers=headers, open_timeout=10, **kwargs) as ws:
            ws.recv(timeout=10)
        return True
    except InvalidStatus as exc:
        return int(exc.response.status_code)


@pytest.fixture(scope="module")
def bed() -> Iterator[tuple[Proc, str]]:
    """One monitor on a live outlet, shared by this module's tests: (process, feed URL)."""
    outlet = CounterOutlet(f"eegmon-test-security-{uuid.uuid4().hex[:8]}", "amp-sec").start()
    args = ["monitor", "--stream", outlet.name, "--feed-port", "0", "--quiet"]
    mon = Proc([*args, "--allow-origin", "http://allowed.host"])
    try:
        yield mon, feed_url(mon)
    finally:
        mon.stop()
        outlet.stop()


def test_origin_matrix_on_the_feed_and_the_dashboard(eegmon, bed, figures) -> None:
    """Each origin tries the monitor's feed and the dashboard's Bokeh websocket."""
    figures.fault = "websocket handshakes with Origin: " + ", ".join(ORIGINS)
    figures.load = "one monitor (8 ch × 256 Hz) and one dashboard"
    _, feed = bed
    dash = eegmon("dashboard", "--feed", feed, "--port", "0", "--allow-origin", "allowed.host")
    page = dash.wait_line("dashboard at ", timeout=60).split("dashboard at ")[1].strip()
    html = urllib.request.urlopen(page, timeout=30).read().decode()
    token = re.search(r'"token":\s*"([^"]+)"', html)
    assert token, "no Bokeh session token in the page"
    bokeh_ws = page.replace("http", "ws", 1) + "ws"
    matrix = {}
    for what, origin in ORIGINS.items():
        matrix[what] = {
            "feed": opens(feed, origin),
            "dashboard": opens(bokeh_ws, origin, subprotocols=["bokeh", token[1]]),
        }
    figures["accepted"] = matrix
    for what, result in matrix.items():
        refused = True if what in ACCEPTED else 403
        assert result == {"feed": refused, "dashboard": refused}, what


def test_exposed_without_a_token_exits_2_and_with_one_requires_it(
    eegmon, unique_name: str, figures
) -> None:
    """Binding beyond loopback: refused without a token; with one, clients must show it."""
    figures.fault = "monitor and dashboard bound to 0.0.0.0"
    figures.load = "process starts"
    outlet = CounterOutlet(unique_name, f"amp-{uuid.uuid4().hex[:6]}").start()
    token = "t0ken-" + uuid.uuid4().hex
    exposed = eegmon(
        *["monitor", "--stream", unique_name, "--feed-host", "0.0.0.0", "--feed-port", "0"],
        env={"EEGMON_FEED_TOKEN": token},
    )
    no_token = {"EEGMON_FEED_TOKEN": "", "EEGMON_DASHBOARD_TOKEN": ""}
    refused = {  # started together: each exits on its own
        "monitor": eegmon(
            *["monitor", "--stream", unique_name, "--feed-host", "0.0.0.0", "--feed-port", "0"],
            env=no_token,
        ),
        "dashboard": eegmon(
            *["dashboard", "--feed", "ws://127.0.0.1:1", "--host", "0.0.0.0", "--port", "0"],
            env=no_token,
        ),
    }
    results = {what: (proc.process.wait(60), proc.lines) for what, proc in refused.items()}
    port = feed_url(exposed).rsplit(":", 1)[1]
    url = f"ws://127.0.0.1:{port}"
    try:
        with connect(url, open_timeout=10):
            without = "accepted"
    except InvalidStatus as exc:
        without = exc.response.status_code
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        hello = json.loads(ws.recv(timeout=10))
    figures.update(
        {k: {"exit": code, "said": lines[-1:]} for k, (code, lines) in results.items()},
        exposed_feed_without_token=without,
        exposed_feed_with_token=hello["type"],
    )
    for code, lines in results.values():
        assert code == 2
        assert len(lines) == 1
        assert lines[0].startswith("eegmon: error: ")
    assert without == 401
    assert hello["type"] == "hello"
    outlet.stop()


def test_oversized_churn_and_a_client_that_stops_reading(bed, figures) -> None:
    """One monitor faces a huge message, a crowd of short visits and a client that never reads."""
    churn = int(scaled(200, 1000))
    stall_s = scaled(5.0, 30.0)
    figures.fault = (
        f"a {4 * MAX_CLIENT_MESSAGE} B message; {churn} connects and disconnects; "
        f"a client that stops reading for {stall_s:g} s"
    )
    figures.load = "8 ch × 256 Hz, real time"
    mon, url = bed
    pid = mon.process.pid
    watcher = FeedProbe(url)
    try:
        watcher.wait(lambda m: m["type"] == "status" and m["rate"] > 0, 20, "samples flowing")
        # Oversized: that client is closed with 1009, the watcher goes on.
        with connect(url, open_timeout=10) as big:
            big.recv(timeout=10)
            big.send(json.dumps({"type": "ack", "id": "x" * (4 * MAX_CLIENT_MESSAGE)}))
            code = None
            try:
                for _ in range(100):
                    big.recv(timeout=10)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
        seen = len(watcher.messages)
        watcher.wait(
            lambda m: watcher.messages.index(m) > seen and m["type"] == "status", 5, "more"
        )

        # Churn: memory, files and threads come back to their baseline.
        for _ in range(20):
            with connect(url, open_timeout=10):
                pass
        before = gauge(pid)
        started = time.monotonic()
        for _ in range(churn):
            with connect(url, open_timeout=10) as ws:
                ws.recv(timeout=10)
        churn_s = time.monotonic() - started
        wait_for(lambda: gauge(pid).fds <= before.fds, 10, "sockets closed")
        after = gauge(pid)

        # A client that stops reading: its socket fills, nobody else notices.
        stuck = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        mark = len(watcher.messages)
        time.sleep(stall_s)  # the stuck client reads nothing for this long
        during = [m for m in watcher.messages[mark:] if m["type"] == "status"]
        stuck.close()
    finally:
        watcher.close()
    gaps = np.diff([m["now"] for m in during])
    figures.update(
        oversized_close_code=code,
        churn_connects=churn,
        churn_per_s=round(churn / churn_s, 1),
        fds=(before.fds, after.fds),
        threads=(before.threads, after.threads),
        rss_mib=(round(before.rss_mib, 1), round(after.rss_mib, 1)),
        rss_growth_pct=round(100 * growth(before.rss_mib, after.rss_mib), 2),
        status_gap_max_s_while_stuck=round(float(gaps.max()), 2) if len(gaps) else None,
        latency_p99_ms_while_stuck=round(1000 * during[-1]["latency_p99_s"], 1),
    )
    assert code == 1009
    assert after.fds <= before.fds
    assert after.threads <= before.threads
    assert growth(before.rss_mib, after.rss_mib) < 0.05
    assert len(during) >= stall_s - 2
    assert gaps.max() < 1.5
    assert during[-1]["latency_p99_s"] < 0.1
    assert during[-1]["samples_dropped"] == 0


def test_no_patient_identifiers_in_logs(eegmon, unique_name: str, tmp_path: Path, figures) -> None:
    """A recording whose header names the patient, replayed into a verbose monitor."""
    import edfio

    figures.fault = "EDF header with patient name, code and birth date; -vv logging"
    figures.load = "8 ch × 256 Hz replay, monitor with journal and recording"
    rate = 256
    rng = np.random.default_rng(3)
    signals = [
        edfio.EdfSignal(
            rng.normal(0, 20, 8 * rate),
            rate,
            label=f"EEG C{i}",
            physical_dimension="uV",
            physical_range=(-3276.7, 3276.7),
        )
        for i in range(8)
    ]
    patient = edfio.Patient(
        code="MCH-0234567", sex="F", birthdate=datetime.date(1961, 2, 3), name="Jane_Doe"
    )
    source = tmp_path / "patient.edf"
    edfio.Edf(signals, patient=patient).write(source)
    journal = tmp_path / "alerts.jsonl"
    # Started together: the player waits for an inlet, the monitor for the stream.
    player = eegmon("-vv", "replay", str(source), "--name", unique_name, "--speed", "4")
    mon = eegmon(
        "-vv",
        "monitor",
        "--stream",
        unique_name,
        "--resolve-timeout",
        "60",
        "--feed-port",
        "0",
        "--alerts",
        str(journal),
        "--record",
        str(tmp_path / "night.edf"),
    )
    client = FeedProbe(feed_url(mon))
    try:
        hello = client.wait(lambda m: m["type"] == "hello", 10, "hello")
        wait_for(lambda: player.process.poll() is not None, 60, "the replay to end")
    finally:
        client.close()
    mon.stop()
    identifiers = ["Jane", "Doe", "MCH-0234567", "1961", "03-FEB"]
    texts = {
        "replay output": "\n".join(player.lines),
        "monitor output": "\n".join(mon.lines),
        "alert journal": journal.read_text() if journal.exists() else "",
        "feed hello": json.dumps(hello),
    }
    leaks = {
        where: [i for i in identifiers if i.lower() in text.lower()]
        for where, text in texts.items()
    }
    figures.update(
        lines_checked=sum(t.count("\n") + 1 for t in texts.values()),
        leaks={k: v for k, v in leaks.items() if v},
    )
    assert len(player.lines) + len(mon.lines) > 3
    assert not any(leaks.values()), leaks
