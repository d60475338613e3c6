"""Alert notifications: apprise URLs, routed by severity, escalated, rate-limited.

Two halves. `streamer.notify.policy` decides what to send and when (pure, tested
with a fake clock); `streamer.notify.delivery` is the monitor's sink that does
the I/O, one worker per destination so a failing receiver delays nobody else.
"""

from streamer.notify.delivery import Notifier, check_urls
from streamer.notify.policy import Notice, NotifyConfig, Policy

__all__ = ["Notice", "Notifier", "NotifyConfig", "Policy", "check_urls"]
