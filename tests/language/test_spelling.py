"""Everyday spelling put right by the words of the documents, and nothing else changed."""

import pytest

from assistant.language.spelling import Spelling

from conftest import SEED_CORPUS

TEXTS = [path.read_text(encoding="utf-8") for path in sorted(SEED_CORPUS.glob("*.txt"))]


@pytest.fixture(scope="module")
def spelling() -> Spelling:
    return Spelling.from_texts(TEXTS)


@pytest.mark.parametrize("typed, spelt", [
    ("wer war 2011 die oberbuergermeisterin von bochum", "wer war 2011 die Oberbürgermeisterin von Bochum"),
    ("wer war der ob von essen 2011", "wer war der OB von Essen 2011"),
    ("wieviele staedte sind 2023 bei ruhrfutur dazugekommen", "wieviele Städte sind 2023 bei RuhrFutur dazugekommen"),
    ("wer ist fuer potenzialfoerderung zustaendig", "wer ist für Potenzialförderung zustaendig"),
    ("Wie erreiche ich Herrn Kreuzinnger?", "Wie erreiche ich Herrn Kreuzinger?"),  # a letter too many in a name
    ("telefon von katharina kadgin", "telefon von Katharina Kadgien"),  # a letter too few
])
def test_everyday_spelling_becomes_the_documents_spelling(spelling, typed, spelt):
    assert spelling.normalise(typed) == spelt


def test_the_changes_are_named_word_by_word(spelling):
    assert spelling.changes("wer war der ob von bochum") == [("ob", "OB"), ("bochum", "Bochum")]
    assert spelling.changes("Wer ist für Potenzialförderung zuständig?") == []


@pytest.mark.parametrize("question", [
    "Wer ist für Potenzialförderung zuständig?",
    "Who is the contact person for talent promotion?",  # "talent" is not the German noun "Talente"
    "Ob RuhrFutur wächst?",  # "ob" is a word, not the abbreviation, unless an article comes before it
    "Was kostet ein Eis in Hamburg?",  # words the documents lack stay as typed
    "Wer leitet die Kommunikation bei RuhrFutur?",
])
def test_questions_spelt_right_pass_unchanged(spelling, question):
    assert spelling.normalise(question) == question


def test_capitals_the_asker_typed_are_kept(spelling):
    assert spelling.normalise("Die Städte") == "Die Städte"  # the documents mostly write "die"


def test_a_capital_at_the_start_of_a_sentence_says_nothing():
    spelling = Spelling.from_texts(["Telefon: 0201 1234\nDem Netzwerk gehören 12 Kommunen an. Das Netzwerk wächst."])
    assert spelling.normalise("welche telefon-nummer hat dem netzwerk") == "welche telefon-nummer hat dem Netzwerk"


def test_a_typo_near_two_names_is_left_alone():
    spelling = Spelling.from_texts(["Peter Hansen und Maria Jansen sprachen mit Jonas Klein."])
    assert spelling.normalise("frau gansen") == "frau gansen"
    assert spelling.normalise("frau jansen") == "frau Jansen"
