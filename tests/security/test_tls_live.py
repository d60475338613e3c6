"""TLS on a real monitor: wss:// with a self-signed certificate, ws:// refused, eegmon ack."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidMessage
from websockets.sync.client import connect

from tests.reliability.harness import CounterOutlet, feed_url
from tests.security.test_roles_live import add_user
from tests.support import ROOT, FeedProbe, Proc, wait_for

pytestmark = pytest.mark.slow


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, made by openssl."""
    cert, key = folder / "feed.pem", folder / "feed.key"
    subprocess.run(
        [
            *["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
            *["-keyout", str(key), "-out", str(cert), "-subj", "/CN=eegmon test"],
            *["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, str, Path, str]]:
    """A monitor serving wss:// to the people of a users file: (process, URL, CA, a token)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(folder)
    users = folder / "users.toml"
    token = add_user(users, "ada", "responder")
    name = f"eegmon-test-tls-{uuid.uuid4().hex[:8]}"
    outlet = CounterOutlet(name, "amp-tls").start()
    monitor = Proc(
        [
            *["monitor", "--stream", name, "--feed-port", "0", "--users", str(users)],
            *["--tls-cert", str(cert), "--tls-key", str(key), "--stall-timeout", "1", "--quiet"],
        ]
    )
    try:
        url = feed_url(monitor)
        outlet.stop()
        yield monitor, url, cert, token
    finally:
        monitor.stop()
        outlet.stop()


def test_wss_works_with_a_self_signed_certificate_and_ws_is_refused(tls_bed) -> None:
    _, url, cert, token = tls_bed
    assert url.startswith("wss://127.0.0.1:")
    trusted = ssl.create_default_context(cafile=cert)
    bearer = {"Authorization": f"Bearer {token}"}
    with connect(url, ssl=trusted, additional_headers=bearer, open_timeout=30) as ws:
        assert '"type":"hello"' in ws.recv(timeout=10)
    plain = url.replace("wss://", "ws://")
    with (
        pytest.raises((InvalidMessage, OSError)),
        connect(plain, additional_headers=bearer, open_timeout=10),
    ):
        pass
    # The system's CAs do not vouch for a lab's own certificate.
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        connect(url, additional_headers=bearer, open_timeout=10),
    ):
        pass


def test_eegmon_ack_over_wss_with_its_token_from_the_environment_or_a_file(
    tls_bed, tmp_path: Path
) -> None:
    monitor, url, cert, token = tls_bed
    client = FeedProbe(url, ssl=ssl.create_default_context(cafile=cert), additional_headers={
        "Authorization": f"Bearer {token}"
    })  # fmt: skip
    try:
        lost = client.wait(
            lambda m: (
                any(a["kind"] == "signal_lost" for a in m.get("alerts", []))
                or (m["type"] == "alert" and m["alert"]["kind"] == "signal_lost")
            ),
            30,
            "signal_lost",
        )
    finally:
        client.close()
    alert = lost.get("alert") or next(a for a in lost["alerts"] if a["kind"] == "signal_lost")
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    command = [sys.executable, "-m", "eegmon", "-vv", "ack", alert["id"], "--feed", url]
    command += ["--feed-ca", str(cert), "--who", "someone else"]
    wrong = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "EEGMON_TOKEN": "wrong"},
    )
    assert wrong.returncode == 2  # refused: one line, as bad input
    assert "401" in wrong.stderr
    done = subprocess.run(
        [*command, "--token-file", str(token_file)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "acknowledged by ada" in done.stdout
    assert token not in done.stdout + done.stderr
    assert "Bearer ***" in done.stderr, "websockets' debug lines were expected at -vv"
    wait_for(lambda: monitor.process.poll() is None, 1, "the monitor still running")


def test_a_token_on_the_command_line_and_a_feed_without_tls_beyond_loopback_are_warned_of(
    tmp_path: Path,
) -> None:
    name = f"eegmon-test-warn-{uuid.uuid4().hex[:8]}"
    outlet = CounterOutlet(name, "amp-warn").start()
    token = "t0ken-" + uuid.uuid4().hex
    monitor = Proc(
        [
            *["monitor", "--stream", name, "--feed-host", "0.0.0.0", "--feed-port", "0"],
            *["--feed-token", token, "--quiet"],
        ]
    )
    try:
        feed_url(monitor)
        warned = monitor.wait_line("without TLS", timeout=30)
    finally:
        monitor.stop()
        outlet.stop()
    assert "--feed-token is deprecated: a token on the command line shows in ps" in "\n".join(
        monitor.lines
    )
    assert "WARNING" in warned
    assert token not in "\n".join(monitor.lines)
