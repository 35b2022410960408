"""The chat page: rendering of answers and sources (the browser test checks the same in a real
page), feedback, and what the served app keeps per visitor."""

import html
import json
import re

import pytest
from gradio_client import Client

from assistant.datatypes import Answer, Chunk, Citation, DocumentMeta
from assistant.web.feedback import FeedbackLog
from assistant.web.gradio_fixes import EVENT_RECORDS, RecentSessions
from assistant.web.render import (answer_markdown, documents_html, escape_markdown, explanation_html, feedback_html,
                                  source_html)
from assistant.web.ui import kept_turn
from conftest import serving, session_components

HOSTILE = '<img src=x onerror=alert(1)> ![x](http://example.invalid/x.png) <script>alert(2)</script> **fett**'


def test_escape_markdown_neutralises_html_and_markdown():
    escaped = escape_markdown(HOSTILE)
    assert "<" not in escaped and ">" not in escaped
    assert "![" not in escaped and "](" not in escaped and "**" not in escaped


def test_answer_markdown_links_citations_named_by_their_source_and_escapes_text():
    chunk = Chunk("d#0", "d", "Text", 0, 4, None, DocumentMeta(title=f'Titel "{HOSTILE}" `code` *x* _y_ \\'))
    answer = Answer(f"Die Antwort {HOSTILE} [1]\nZweiter Satz [2]", True, (Citation(1, chunk),))
    markdown = answer_markdown(answer)
    assert '<a href="#quelle-2" title="Quelle 2">[2]</a>' in markdown
    link = re.search(r'<a href="#quelle-1" title="([^"<>`*_\\]*)">\[1\]</a>', markdown)
    assert link and html.unescape(link[1]) == f'Quelle 1: Titel "{HOSTILE}" `code` *x* _y_ \\'
    assert "<img" not in markdown and "<script" not in markdown
    assert not re.search(r"!\[x\]\(http", markdown)


def test_not_found_answer_mentions_related_passages():
    chunk = Chunk("d#0", "d", "Text", 0, 4, None)
    markdown = answer_markdown(Answer("Dazu finden sich keine Angaben.", False, (), (Citation(1, chunk),)))
    assert "Vielleicht hilfreich" in markdown


def test_source_html_escapes_and_marks_the_quoted_sentence():
    text = f"Kontakt {HOSTILE}\nBernd Kreuzinger: k@t.de"
    start = text.index("Bernd")
    chunk = Chunk("d.txt#0", "d.txt", text, 0, len(text), 2,
                  DocumentMeta(title="<b>Titel</b>", publisher="RuhrFutur", date="2023-04-21"))
    rendered = source_html(Citation(1, chunk, ((start, len(text)),)), full_text="<i>ganz</i>")
    assert "<img" not in rendered and "<script" not in rendered and "<b>Titel" not in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered
    assert "<mark>Bernd Kreuzinger: k@t.de</mark>" in rendered
    assert 'id="quelle-1"' in rendered and "21.04.2023" in rendered and "Seite 2" in rendered
    assert "&lt;i&gt;ganz&lt;/i&gt;" in rendered


def test_documents_html_lists_documents_with_dates(seed_kb):
    rendered = documents_html(seed_kb)
    assert rendered.count("<tr>") == 1 + len(seed_kb.manifest.documents)
    assert "21.04.2023" in rendered


def test_feedback_log_keeps_a_question_with_a_lone_surrogate(tmp_path):
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    log.record("Wer ist zuständig?\ud800", Answer("Niemand.", False), liked=False)
    log.record("Zweite Frage", Answer("Antwort", False), liked=True)
    entries = [json.loads(line) for line in (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["question"] for e in entries] == ["Wer ist zuständig?\ud800", "Zweite Frage"]
    assert [e["rating"] for e in entries] == ["down", "up"]
    assert log.recent(1) == entries[1:] and FeedbackLog(tmp_path / "keine.jsonl").recent() == []
    shown = feedback_html(log.recent())
    assert shown.index("Zweite Frage") < shown.index("Wer ist zuständig?") and "👍 gut" in shown
    assert feedback_html([]) == "<p>Noch keine Rückmeldungen.</p>"


def test_explanation_html_escapes_and_opens_the_stage_that_failed(assistant):
    _, explanation = assistant.explain('Wann wurde das <img src=x onerror="alert(1)"> Jugendzentrum in Gladbeck eröffnet?')
    shown = explanation_html(explanation.to_dict(), rated={"time": "2026-12-03T10:15:00+00:00", "question": "<b>x</b>",
                                                           "answer": "[1](javascript:alert(1))"})
    assert "<img" not in shown and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in shown and "<b>x" not in shown
    assert shown.count("<details") == 4 and shown.count("<details open>") == 1
    opened = shown.split("<details open>")[1].split("</details>")[0]
    assert opened.startswith("<summary>Retrieval – NICHT ok</summary>")  # the stage that failed is open
    assert "Entscheidung: abgelehnt – Ursache: Retrieval" in shown and "Rückmeldung 👎 vom 2026-12-03 10:15" in shown


def test_the_feedback_log_keeps_the_conversation_and_lists_thumbs_down_newest_first(tmp_path):
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    log.record("Erste?", Answer("A", True), liked=False)
    log.record("Und dann?", Answer("B", False), liked=False, history=["Erste?"])
    log.record("Gut?", Answer("C", True), liked=True)
    disliked = log.disliked()
    assert [entry["question"] for entry in disliked] == ["Und dann?", "Erste?"]
    assert disliked[0]["history"] == ["Erste?"] and disliked[1]["history"] == []
    assert len({entry["key"] for entry in disliked}) == 2


def test_a_rated_message_maps_to_its_kept_turn():
    assert kept_turn(1, 2, 1) == 0  # the first answer of a one-turn chat
    assert kept_turn(59, 60, 20) == 19  # the last answer of 30 turns, 20 kept
    assert kept_turn(21, 60, 20) == 0  # turn 11 of 30 is the oldest kept
    assert kept_turn(19, 60, 20) == -1  # turn 10 of 30 is no longer kept


@pytest.fixture(scope="module")
def served(seed_kb, seed_settings, embedder, tmp_path_factory):
    """The app as ``serve`` starts it, keeping at most two visitor sessions."""
    settings = seed_settings.replace(app={"feedback_file": tmp_path_factory.mktemp("ui") / "feedback.jsonl",
                                          "max_sessions": 2})
    app, url = serving(settings, seed_kb)
    yield app, url
    app.close()


def ask(client: Client, question: str) -> None:
    _, messages, sources, _ = client.predict(question, [], api_name="/ask")
    assert messages[-1]["role"] == "assistant" and "<blockquote>" in sources


def test_a_session_keeps_one_copy_of_each_component_however_many_questions_it_asks(served):
    app, url = served
    client = Client(url, verbose=False)
    kept = []
    for question in ("Wer ist für Potenzialförderung zuständig?", "Und wie ist seine E-Mail?",
                     "Wann wurde RuhrFutur gegründet?"):
        ask(client, question)
        kept.append(session_components(app, client.session_hash))
    assert kept == [len(app.blocks)] * 3


def test_the_app_keeps_at_most_max_sessions_and_drops_the_least_recently_used(served):
    app, url = served
    first, second, third = (Client(url, verbose=False) for _ in range(3))
    for client in (first, second, first, third):
        ask(client, "Wann wurde RuhrFutur gegründet?")
    assert list(app.state_holder.session_data) == [first.session_hash, third.session_hash]


def test_the_served_queue_keeps_recently_used_sessions_and_few_event_records(served):
    app, _ = served
    assert isinstance(app._queue.pending_messages_per_session, RecentSessions)
    assert app._queue.ANALYTICS_MAX_EVENTS == EVENT_RECORDS < 10_000
    assert app.state_session_capacity == 2


def test_finished_sessions_leave_nothing_behind_once_their_queue_is_dropped(served):
    app, url = served
    queue = app._queue
    queue.pending_messages_per_session.clear()  # the sessions of earlier tests are finished
    queue.pending_messages_per_session.max_size = 2
    visitors = [Client(url, verbose=False) for _ in range(4)]
    for visitor in visitors:
        ask(visitor, "Wann wurde RuhrFutur gegründet?")
    kept = [visitor.session_hash for visitor in visitors[-2:]]
    assert list(queue.pending_messages_per_session) == kept
    assert not {visitor.session_hash for visitor in visitors[:2]} & set(queue.pending_event_ids_session)
