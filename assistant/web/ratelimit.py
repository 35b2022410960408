"""Requests per client address, limited: a token bucket per address, free of any web framework.

Each address may make ``per_minute`` requests a minute on average and up to ``burst`` at once;
at most ``max_clients`` addresses are remembered (the least recently seen is forgotten first, so
a flood of addresses cannot fill the memory; a forgotten address starts with a full bucket).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """``take(client)`` counts a request: 0 when it may go ahead, else the seconds to wait. Thread-safe."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait
