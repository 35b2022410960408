import pytest

from assistant.datatypes import Answer
from assistant.session import (EMPTY_QUESTION, MAX_QUESTION_CHARS, Assistant, ChatSession, Turn, clean_question,
                               contextual_query, is_follow_up)


@pytest.fixture(scope="module")
def assistant(seed_kb, seed_settings, embedder):
    return Assistant(seed_settings, seed_kb, embedder)


@pytest.mark.parametrize("question, expected", [
    ("Und wie lautet ihre E-Mail-Adresse?", True),
    ("Wie ist seine Telefonnummer?", True),
    ("Und dort?", True),
    ("What about his phone number?", True),
    ("Wer ist für Potenzialförderung zuständig?", False),
    ("Wann wurde die Bildungsinitiative RuhrFutur gegründet?", False),
])
def test_follow_up_detection(question, expected):
    assert is_follow_up(question) is expected


def test_contextual_query_carries_subject_and_names():
    earlier = Turn("Wer ist Ansprechpartnerin für Digitalisierung?",
                   Answer("Digitalisierung – TalentMetropole Ruhr – Dr. Britta L. Schröder: s@t.de [1]", True))
    query = contextual_query("Und wie lautet ihre E-Mail-Adresse?", [earlier])
    assert query.startswith("Wer ist Ansprechpartnerin für Digitalisierung?")
    assert "Britta L. Schröder" in query and query.endswith("Und wie lautet ihre E-Mail-Adresse?")
    assert contextual_query("Wann wurde RuhrFutur gegründet?", [earlier]) == "Wann wurde RuhrFutur gegründet?"
    assert contextual_query("Und ihre E-Mail?", []) == "Und ihre E-Mail?"


def test_follow_up_in_a_chat_session(assistant):
    session = ChatSession(assistant)
    first = session.ask("Wer ist Ansprechpartnerin für Digitalisierung?")
    assert "Schröder" in first.text
    second = session.ask("Und wie lautet ihre E-Mail-Adresse?")
    assert second.answered and "schroeder@talentmetropoleruhr.de" in second.text
    session.reset()
    assert session.turns == []


def test_history_of_plain_questions(assistant):
    answer = assistant.ask("Und wie lautet ihre E-Mail-Adresse?", ["Wer ist Ansprechpartnerin für Digitalisierung?"])
    assert "schroeder@talentmetropoleruhr.de" in answer.text


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "???", "\x00\x07"])
def test_empty_questions_get_a_polite_message(assistant, question):
    answer = assistant.ask(question)
    assert not answer.answered and answer.text == EMPTY_QUESTION


def test_long_questions_are_capped_with_a_notice(assistant):
    answer = assistant.ask("Wer ist für Potenzialförderung zuständig? " + "bitte " * 20_000)
    assert "ersten" in answer.notice and str(MAX_QUESTION_CHARS) in answer.notice


def test_clean_question_removes_control_characters():
    text, notice = clean_question("Wer\x00 ist\x1b[31m zuständig?\u200b")
    assert text == "Wer ist [31m zuständig?" and notice == ""
