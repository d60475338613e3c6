"""Fixtures of the notification tests: real receivers, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.notify.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
def http_receiver() -> Iterator[Callable[..., HttpReceiver]]:
    started: list[HttpReceiver] = []

    def start(mode: str = "ok") -> HttpReceiver:
        receiver = HttpReceiver(mode)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    yield receiver
    receiver.stop()
