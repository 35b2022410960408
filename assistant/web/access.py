"""Who may use the admin tab: wrong passwords limited per client and overall, sessions that expire.

Free of Gradio, so it is tested with an injected clock. ``LoginThrottle`` counts failed logins
per client address, and all of them together (so that many addresses cannot guess either), and
refuses further attempts for a while. ``AdminAccess`` compares the password in constant time and
hands out session expiry times, which every admin action checks and renews; it also checks the
bearer credential of the staff's API endpoint (``/api/explain``: the password or the staff
token), counting wrong ones with the same throttle, so that the API is no second way to guess
the password. Neither ever logs or keeps the password that was typed.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..settings import AdminSettings, Settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]

WRONG_PASSWORD = "Falsches Passwort."
TOO_MANY = "Zu viele Fehlversuche. Bitte in {wait} erneut versuchen."
NOT_LOGGED_IN = "Bitte zuerst anmelden."
NO_CREDENTIAL = ("Nur für die Redaktion: bitte das Verwaltungspasswort oder das Redaktions-Token als "
                 "Bearer-Token senden.")
WRONG_CREDENTIAL = "Das Token ist falsch."
EXPIRED = "Die Sitzung ist abgelaufen. Bitte erneut anmelden."
LOGGED_IN = "Angemeldet. Die Sitzung endet nach {minutes:g} Minuten ohne Aktion."


@dataclass
class _Client:
    failures: deque[float] = field(default_factory=deque)  # times of recent failed logins
    locked_until: float = 0.0


class LoginThrottle:
    """Refuses logins from a client that failed ``max_failures`` times within ``window`` seconds,
    for ``lockout`` seconds; and from every client once ``global_failures`` failed logins (all
    clients together) fall within ``window``. At most ``max_clients`` addresses are remembered,
    the least recent dropped first; the global count still includes them. Thread-safe."""

    def __init__(self, max_failures: int = AdminSettings.max_failures,
                 window: float = 60 * AdminSettings.lockout_minutes, lockout: float = 60 * AdminSettings.lockout_minutes,
                 global_failures: int = 10 * AdminSettings.max_failures, max_clients: int = 10_000,
                 clock: Clock = time.monotonic):
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self.global_failures, self.max_clients = global_failures, max_clients
        self._clock = clock
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._everyone = _Client()
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        with self._lock:
            record = self._clients.get(client, _Client())
            return max(0.0, max(record.locked_until, self._everyone.locked_until) - self._clock())

    def failed(self, client: str) -> None:
        """Count a wrong password from ``client``."""
        with self._lock:
            now = self._clock()
            record = self._clients.pop(client, None) or _Client()
            self._clients[client] = record  # most recent last
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
            self._count(record, now, self.max_failures)
            self._count(self._everyone, now, self.global_failures)

    def succeeded(self, client: str) -> None:
        """A correct password: ``client``'s earlier failures no longer count."""
        with self._lock:
            self._clients.pop(client, None)

    def _count(self, record: _Client, now: float, limit: int) -> None:
        record.failures.append(now)
        while record.failures[0] <= now - self.window:
            record.failures.popleft()
        if len(record.failures) >= limit:
            record.locked_until = now + self.lockout
            record.failures.clear()


@dataclass
class AdminAccess:
    """The admin password and sessions: ``login`` opens a session (its expiry time, kept in the
    server-side Gradio state of one browser tab), ``renew`` checks it before every action."""

    password: str
    session_seconds: float
    throttle: LoginThrottle
    clock: Clock = time.monotonic
    staff_token: str = ""  # also accepted by authorize (the API), never by login

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = time.monotonic) -> AdminAccess:
        admin = settings.admin
        lockout = 60 * admin.lockout_minutes
        throttle = LoginThrottle(admin.max_failures, lockout, lockout, 10 * admin.max_failures, clock=clock)
        return cls(admin.password, 60 * admin.session_minutes, throttle, clock, admin.staff_token)

    def login(self, secret: str | None, client: str) -> tuple[float | None, str]:
        """The new session's expiry time and a welcome, or None and why not (German). While a
        client is locked out, even the right password is refused."""
        wait = self.throttle.wait(client)
        if wait > 0:
            log.warning("admin login from %s refused: too many wrong passwords", client)
            return None, TOO_MANY.format(wait=_minutes(wait))
        if not _matches(secret, self.password):
            self.throttle.failed(client)
            log.warning("admin login from %s: wrong password", client)
            return None, WRONG_PASSWORD
        self.throttle.succeeded(client)
        log.info("admin login from %s", client)
        return self.clock() + self.session_seconds, LOGGED_IN.format(minutes=self.session_seconds / 60)

    def authorize(self, secret: str | None, client: str) -> tuple[int, str]:
        """For a request with the bearer credential ``secret``: 0 and "" when it is the password or
        the staff token; else the HTTP status (401, or 429 while ``client`` is locked out) and why
        (German). No credential at all is refused without counting; a wrong one counts as a wrong
        password. Both secrets are compared, in constant time, whichever matches."""
        if not secret:
            return 401, NO_CREDENTIAL
        wait = self.throttle.wait(client)
        if wait > 0:
            log.warning("API credential from %s refused: too many wrong passwords", client)
            return 429, TOO_MANY.format(wait=_minutes(wait))
        if _matches(secret, self.password) | _matches(secret, self.staff_token):
            self.throttle.succeeded(client)
            return 0, ""
        self.throttle.failed(client)
        log.warning("API credential from %s: wrong", client)
        return 401, WRONG_CREDENTIAL

    def renew(self, expiry: float | None) -> tuple[float | None, str]:
        """The session's next expiry time and that it is open, else None and why (German)."""
        if expiry is None:
            return None, NOT_LOGGED_IN
        now = self.clock()
        if now >= expiry:
            return None, EXPIRED
        return now + self.session_seconds, LOGGED_IN.format(minutes=self.session_seconds / 60)


def _matches(secret: str | None, expected: str) -> bool:
    """Whether ``secret`` is ``expected`` (never when nothing is expected), compared in constant time."""
    return bool(expected) and hmac.compare_digest((secret or "").encode("utf-8", "surrogatepass"),
                                                  expected.encode("utf-8", "surrogatepass"))


def _minutes(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 Minute" if minutes == 1 else f"{minutes} Minuten"
