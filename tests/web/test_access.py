"""Admin access: login limits and session expiry with a clock moved by hand, then the same rules
through the real Gradio server, called the way a hostile client would: raw queue requests
(admin events have no API name, but the browser's protocol reaches them by number)."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from assistant.datatypes import Answer
from assistant.library import Library
from assistant.session import Assistant, LiveAssistant
from assistant.web.access import AdminAccess, LoginThrottle
from assistant.web.feedback import FeedbackLog
from assistant.web.ui import build_app
from conftest import SEED_CORPUS, RawClient, free_port, session_components

PASSWORD = "Zugang-7f3a-richtig"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += 60 * minutes


def access(clock: Clock, **limits) -> AdminAccess:
    throttle = LoginThrottle(**{"max_failures": 5, "window": 900, "lockout": 900, "global_failures": 50,
                                **limits}, clock=clock)
    return AdminAccess(PASSWORD, 30 * 60, throttle, clock)


def test_five_wrong_passwords_lock_the_address_out_even_with_the_right_one():
    clock = Clock()
    gate = access(clock)
    for _ in range(5):
        assert gate.login("falsch", "198.51.100.1") == (None, "Falsches Passwort.")
    expiry, message = gate.login(PASSWORD, "198.51.100.1")
    assert expiry is None and message == "Zu viele Fehlversuche. Bitte in 15 Minuten erneut versuchen."
    clock.advance(14.5)
    assert gate.login(PASSWORD, "198.51.100.1") == (None, "Zu viele Fehlversuche. Bitte in 1 Minute erneut versuchen.")
    clock.advance(0.5)
    expiry, message = gate.login(PASSWORD, "198.51.100.1")
    assert expiry == clock.now + 30 * 60 and message.startswith("Angemeldet")


def test_failures_outside_the_window_or_before_a_correct_login_do_not_count():
    clock = Clock()
    gate = access(clock)
    for _ in range(4):
        gate.login("falsch", "198.51.100.2")
    clock.advance(16)  # older than the 15-minute window
    for _ in range(4):
        gate.login("falsch", "198.51.100.2")
    assert gate.login(PASSWORD, "198.51.100.2")[0] is not None  # a correct login clears the count
    for _ in range(4):
        gate.login("falsch", "198.51.100.2")
    assert gate.login(PASSWORD, "198.51.100.2")[0] is not None


def test_one_address_does_not_lock_out_others_until_the_global_limit():
    clock = Clock()
    gate = access(clock, global_failures=12)
    for _ in range(5):
        gate.login("falsch", "198.51.100.3")
    assert gate.login(PASSWORD, "198.51.100.4")[0] is not None
    for address in range(10, 17):  # many addresses, each below its own limit: 7 more failures, 12 in all
        gate.login("falsch", f"203.0.113.{address}")
    expiry, message = gate.login(PASSWORD, "198.51.100.4")
    assert expiry is None and message.startswith("Zu viele Fehlversuche")


def test_only_the_most_recent_addresses_are_remembered():
    throttle = LoginThrottle(max_failures=2, lockout=900, max_clients=3, global_failures=1000, clock=Clock())
    for address in range(10):
        throttle.failed(f"203.0.113.{address}")
    throttle.failed("203.0.113.0")
    throttle.failed("203.0.113.9")
    assert throttle.wait("203.0.113.0") == 0  # its first failure was forgotten to keep the table small
    assert throttle.wait("203.0.113.9") == 900


def test_session_expires_after_idle_minutes_and_every_action_renews_it():
    clock = Clock()
    gate = access(clock)
    expiry, _ = gate.login(PASSWORD, "198.51.100.5")
    clock.advance(29)
    expiry, message = gate.renew(expiry)
    assert expiry == clock.now + 30 * 60 and message == "Angemeldet. Die Sitzung endet nach 30 Minuten ohne Aktion."
    clock.advance(30)
    assert gate.renew(expiry) == (None, "Die Sitzung ist abgelaufen. Bitte erneut anmelden.")
    assert gate.renew(None) == (None, "Bitte zuerst anmelden.")


@pytest.mark.parametrize("secret", [None, "", PASSWORD[:-1], PASSWORD + " ", PASSWORD.upper(), "Zugang-7f3a-richtig\x00",
                                    PASSWORD + "\ud800"])
def test_only_the_exact_password_opens_a_session(secret):
    assert access(Clock()).login(secret, "198.51.100.6")[0] is None


def test_without_an_admin_password_nobody_logs_in():
    gate = AdminAccess("", 1800, LoginThrottle(clock=Clock()))
    assert gate.login("", "198.51.100.7")[0] is None


def test_the_api_credential_is_the_password_or_the_staff_token_and_wrong_ones_count_as_wrong_passwords():
    clock = Clock()
    gate = AdminAccess(PASSWORD, 1800, LoginThrottle(max_failures=3, lockout=900, clock=clock), clock, "token-42")
    assert gate.authorize(PASSWORD, "198.51.100.8") == (0, "") and gate.authorize("token-42", "198.51.100.8") == (0, "")
    assert gate.authorize(None, "198.51.100.8")[0] == gate.authorize("", "198.51.100.8")[0] == 401  # not counted
    assert gate.login("token-42", "198.51.100.8")[0] is None  # the token is no login to the admin tab
    for _ in range(2):
        assert gate.authorize("geraten", "198.51.100.8") == (401, "Das Token ist falsch.")
    status, message = gate.authorize(PASSWORD, "198.51.100.8")  # the login above and two guesses: locked out
    assert status == 429 and message.startswith("Zu viele Fehlversuche")
    assert gate.login(PASSWORD, "198.51.100.8")[0] is None  # the admin tab is locked for that address too
    assert AdminAccess("", 1800, LoginThrottle(clock=clock)).authorize("", "198.51.100.9")[0] == 401


# -- through the real Gradio server -------------------------------------------------------------

@pytest.fixture(scope="module")
def admin_server(seed_kb, seed_settings, embedder, tmp_path_factory):
    """The real app (in this process, so its clock can be moved) with a password, over a copy of
    two seed documents."""
    corpus = tmp_path_factory.mktemp("admin-corpus")
    for name in ("ruhrfutur-kreis-unna-tritt-bei.txt", "ruhrfutur-pressemitteilung-fuenf-weitere-staedte-2023.txt"):
        shutil.copy(SEED_CORPUS / name, corpus / name)
    settings = seed_settings.replace(corpus_dir=corpus, admin={"password": PASSWORD},
                                     app={"feedback_file": corpus.parent / "feedback.jsonl"})
    clock = Clock()
    live = LiveAssistant(Assistant(settings, seed_kb, embedder), Library(settings))
    app = build_app(live, access=AdminAccess.from_settings(settings, clock))
    app.queue()
    _, url, _ = app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    yield url, corpus, clock, settings, app
    app.close()


REFUSED = [None, "**Bitte zuerst anmelden.**", {"visible": False, "__type__": "update"}, "", "",
           {"choices": [], "__type__": "update"}, "", {"choices": [], "__type__": "update"}]
WHY = "Wer ist für Potenzialförderung zuständig?"


def test_every_admin_action_is_refused_on_the_server_without_a_session(admin_server):
    url, corpus, _, _, _ = admin_server
    before = sorted(p.name for p in corpus.iterdir())
    client = RawClient(url, "198.51.100.20")
    release = client.upload("neu.txt", "Das Bildungsbüro Herne lädt zum Elternabend ein.".encode())
    forged = 1e18  # a session time sent by the client is ignored: the state lives on the server
    assert client.call("admin-hinzufuegen/click", forged, release, "Titel", "", "") == REFUSED
    # Gradio itself rejects a document that this session's dropdown never offered (the guard's
    # refusal of a document it did offer is checked after expiry, below)
    assert client.call("admin-entfernen/click", forged, "ruhrfutur-kreis-unna-tritt-bei.txt") is None
    assert client.call("admin-aktualisieren/click", forged) == REFUSED
    assert client.call("admin-neu-laden/click", forged) == REFUSED
    assert client.call("admin-warum/click", forged, WHY) == REFUSED[:4]  # no trace without a session
    assert sorted(p.name for p in corpus.iterdir()) == before
    # the same requests work once this session has logged in
    assert client.login(PASSWORD).startswith("Angemeldet")
    added = client.call("admin-hinzufuegen/click", None, release, "Titel", "", "")
    assert ["neu.txt", "neu.txt"] in added[5]["choices"]  # now offered for removal
    assert "neu.txt hinzugefügt" in added[3] and (corpus / "neu.txt").is_file()
    removed = client.call("admin-entfernen/click", None, "neu.txt")
    assert "neu.txt entfernt" in removed[3] and sorted(p.name for p in corpus.iterdir()) == before
    assert "Entscheidung: " in client.call("admin-warum/click", None, WHY)[3]


def test_why_explains_a_thumbs_down_with_its_conversation(admin_server):
    url, _, _, settings, _ = admin_server
    earlier = "Wann ist RuhrFutur gegründet worden?"
    FeedbackLog(settings.app.feedback_file).record("Und wer <b>leitet</b> sie?", Answer("Keine Angabe.", False), False,
                                                   [earlier])
    client = RawClient(url, "198.51.100.24")
    assert client.call("admin-warum-rueckmeldung/click", None, None) == REFUSED[:4]
    assert client.login(PASSWORD).startswith("Angemeldet")
    offered = client.call("admin-neu-laden/click", None)[7]["choices"]
    key = next(value for label, value in offered if "leitet" in label)
    trace = client.call("admin-warum-rueckmeldung/click", None, key)[3]
    assert "Rückmeldung 👎 vom" in trace and "damals geantwortet: „Keine Angabe.“" in trace
    assert "Und wer &lt;b&gt;leitet&lt;/b&gt; sie?" in trace and "<b>leitet" not in trace  # escaped
    assert "Folgefrage" in trace and "Entscheidung: " in trace and "<details" in trace


def test_an_idle_session_expires_and_actions_ask_to_log_in_again(admin_server):
    url, corpus, clock, _, _ = admin_server
    client = RawClient(url, "198.51.100.21")
    assert client.login(PASSWORD) == "Angemeldet. Die Sitzung endet nach 30 Minuten ohne Aktion."
    clock.advance(29)
    assert client.call("admin-neu-laden/click", None)[3].startswith("Aktive Version")
    clock.advance(29)  # 58 minutes after login, but only 29 after the last action
    assert client.call("admin-neu-laden/click", None)[3].startswith("Aktive Version")
    clock.advance(31)
    expired = client.call("admin-entfernen/click", None, "ruhrfutur-kreis-unna-tritt-bei.txt")
    assert expired[:3] == [None, "**Die Sitzung ist abgelaufen. Bitte erneut anmelden.**",
                           {"visible": False, "__type__": "update"}]
    assert (corpus / "ruhrfutur-kreis-unna-tritt-bei.txt").is_file()
    assert client.call("admin-neu-laden/click", None) == REFUSED  # stays logged out


def test_repeated_logins_and_actions_keep_the_sessions_server_state_the_same_size(admin_server):
    url, _, _, _, app = admin_server
    client = RawClient(url, "198.51.100.23")
    for _ in range(3):
        assert client.login(PASSWORD).startswith("Angemeldet")
        assert client.call("admin-neu-laden/click", None)[1].startswith("Angemeldet")
    assert session_components(app, client.session) == len(app.blocks)


def test_wrong_passwords_lock_out_that_address_only(admin_server):
    url, _, clock, _, _ = admin_server
    guesser = RawClient(url, "203.0.113.66")
    for _ in range(5):
        assert guesser.login("rate-mal") == "**Falsches Passwort.**"
    assert guesser.login(PASSWORD) == "**Zu viele Fehlversuche. Bitte in 15 Minuten erneut versuchen.**"
    assert RawClient(url, "203.0.113.66").login(PASSWORD).startswith("**Zu viele")  # a new tab does not help
    assert RawClient(url, "198.51.100.22").login(PASSWORD).startswith("Angemeldet")
    clock.advance(15)
    assert guesser.login(PASSWORD).startswith("Angemeldet")


def test_the_admin_password_is_never_logged_printed_or_sent_back(admin_server, caplog, capfd):
    url, _, _, settings, _ = admin_server
    caplog.set_level(logging.DEBUG)
    typo = PASSWORD[:-2] + "gg"  # a near miss would give the password away as well
    client = RawClient(url, "198.51.100.23")
    outputs = [client.call("admin-anmelden/click", typo), client.call("admin-anmelden/click", PASSWORD)]
    logging.getLogger("assistant").info("settings: %s", settings)
    print(settings, repr(settings), f"{settings}")
    out, err = capfd.readouterr()
    assert "wrong password" in caplog.text and "password='***'" in out  # the capture works
    everything = caplog.text + out + err + json.dumps(outputs)
    assert PASSWORD not in everything and typo not in everything
