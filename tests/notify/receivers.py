"""Real notification receivers on loopback: an HTTP webhook and an SMTP server."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pylsl
from aiosmtpd.controller import Controller

from tests.support import free_port


@dataclass
class Post:
    at: float  # pylsl.local_clock() on receipt: the monitor's clock on this machine
    path: str
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        return f"{self.payload.get('title', '')}\n{self.payload.get('message', '')}"


class HttpReceiver:
    """A webhook that answers 200, answers 500 (``fail``) or hangs for 30 s (``hang``).

    apprise's ``json://`` posts ``{"title", "message", "type", ...}``; every
    accepted post is kept with the time it arrived.
    """

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.posts: list[Post] = []
        self.refused = 0
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.mode == "hang":
                    receiver.refused += 1
                    receiver.release.wait(30)
                    self.send_response(503)
                    self.end_headers()
                    return
                if receiver.mode == "fail":
                    receiver.refused += 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.posts.append(Post(pylsl.local_clock(), self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"json://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def at(self, path: str) -> list[Post]:
        return [p for p in list(self.posts) if p.path == path]

    def recover(self) -> None:
        self.mode = "ok"
        self.release.set()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Mail:
    at: float
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return f"{self.message['Subject']}\n{part.get_content() if part else ''}"


class SmtpReceiver:
    """An aiosmtpd server on loopback that keeps every message it is given."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        receiver = self

        class Handler:
            async def handle_DATA(  # noqa: N802 (aiosmtpd's name)
                self, server: Any, session: Any, envelope: Any
            ) -> str:
                message = message_from_bytes(envelope.content, policy=policy.default)
                receiver.mails.append(
                    Mail(pylsl.local_clock(), envelope.mail_from, envelope.rcpt_tos, message)
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str = "nurse@localhost") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=eegmon@localhost&to={to}"

    def stop(self) -> None:
        self.controller.stop()
