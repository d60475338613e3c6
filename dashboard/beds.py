"""The beds a dashboard shows: fixed feeds, or a ward's beds that come and go.

Beds keep their index for the life of the dashboard (``/bed?bed=N`` stays
the same bed): new beds are appended, and a removed bed is hidden, its feed
client stopped, never renumbered. Removal is a person's decision, given to
`on_remove` (the ward journals it and stops that bed's monitor).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from .feed_client import FeedClient


class Beds:
    """Thread-safe: the ward adds beds from its own thread, pages read and remove from theirs."""

    def __init__(
        self,
        urls: Sequence[str] = (),
        on_remove: Callable[[str, str], None] | None = None,
    ) -> None:
        #: Every bed's feed client, by index; shared with the pages, only ever appended to.
        self.clients: list[FeedClient] = [FeedClient(url) for url in urls]
        self.keys: list[str] = list(urls)
        self.on_remove = on_remove
        self._removed: set[int] = set()
        self._started = False
        self._lock = threading.Lock()

    @property
    def removable(self) -> bool:
        """Whether a person may remove beds (a ward), or the feeds are fixed."""
        return self.on_remove is not None

    def add(self, key: str, url: str) -> int:
        """A new bed (`key` names it to `on_remove`); its index."""
        client = FeedClient(url)
        with self._lock:
            if self._started:
                client.start()
            self.clients.append(client)
            self.keys.append(key)
            return len(self.clients) - 1

    def shown(self) -> list[int]:
        """Indexes of the beds not removed, in order."""
        with self._lock:
            return [i for i in range(len(self.clients)) if i not in self._removed]

    def remove(self, index: int, who: str) -> bool:
        """A person removes a bed; False if it cannot be removed (fixed feeds, unknown bed)."""
        with self._lock:
            if self.on_remove is None or index in self._removed or index >= len(self.clients):
                return False
            self._removed.add(index)
            key, client = self.keys[index], self.clients[index]
        client.stop()
        self.on_remove(key, who)
        return True

    def start(self) -> None:
        with self._lock:
            self._started = True
            clients = list(self.clients)
        for client in clients:
            client.start()

    def stop(self) -> None:
        with self._lock:
            self._started = False
            clients = list(self.clients)
        for client in clients:
            client.stop()
