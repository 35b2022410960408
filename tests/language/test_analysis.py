"""German analysis for the lexical index: words, stems, umlaut folding, stopwords and compounds."""

from __future__ import annotations

import unicodedata

import pytest

from assistant.language.analysis import STOPWORDS, Analyzer, stem, words

LEARNT_FROM = ("Die Förderung von Talenten ist wichtig. Jedes Potenzial zählt, sagt die Stiftung. "
               "Die Region braucht Bildung.")


@pytest.fixture(scope="module")
def learnt() -> Analyzer:
    return Analyzer.learn([LEARNT_FROM])


def test_words_lowercase_and_split_on_punctuation():
    assert words("Wer ist für Potenzialförderung zuständig?") == ["wer", "ist", "für", "potenzialförderung",
                                                                   "zuständig"]
    assert words("RuhrFutur, 2023: Tel. 0201-177") == ["ruhrfutur", "2023", "tel", "0201", "177"]
    assert words("") == []
    assert words("... – »« !") == []


def test_words_compose_decomposed_umlauts():
    decomposed = unicodedata.normalize("NFD", "Förderung")
    assert decomposed != "Förderung"
    assert words(decomposed) == words("Förderung") == ["förderung"]


def test_umlaut_spellings_give_the_same_terms(learnt: Analyzer):
    for analyzer in (Analyzer(), learnt):
        assert analyzer.terms("Potenzialfoerderung") == analyzer.terms("Potenzialförderung")
        assert analyzer.terms("POTENZIALFÖRDERUNG") == analyzer.terms("Potenzialförderung")
        assert analyzer.terms("Potenzialförderung") != []
    assert stem("foerderung") == stem("förderung")
    assert stem("schueler") == stem("schüler")
    assert stem("staedte") == stem("städte")


def test_sharp_s_and_ss_give_the_same_stem():
    assert stem(words("Straße")[0]) == stem(words("Strasse")[0])
    assert Analyzer().terms("Straße") == Analyzer().terms("Strasse")
    assert Analyzer().terms("Straße") != Analyzer().terms("Strand")


def test_inflections_share_a_stem():
    assert stem("förderung") == stem("förderungen")
    assert stem("städte") == stem("städten")


def test_learnt_analyzer_splits_compounds(learnt: Analyzer):
    förderung = stem("förderung")
    potenzial = stem("potenzial")
    assert förderung in learnt.parts and potenzial in learnt.parts
    terms = learnt.terms("Potenzialförderung")
    assert terms[0] == stem("potenzialförderung")  # the whole word first
    assert förderung in terms
    assert potenzial in terms
    # "Förderung" alone gives a term that the compound also carries: the word finds the compound
    assert set(learnt.terms("Förderung")) <= set(terms)


def test_compound_with_linking_s(learnt: Analyzer):
    terms = learnt.terms("Bildungsförderung")  # Bildung + s + Förderung
    assert stem("förderung") in terms
    assert stem("bildung") in terms


def test_compound_of_umlaut_spelling_splits_the_same(learnt: Analyzer):
    assert learnt.terms("Potenzialfoerderung") == learnt.terms("Potenzialförderung")


def test_analyzer_without_parts_does_not_split():
    analyzer = Analyzer()
    assert analyzer.parts == frozenset()
    assert analyzer.terms("Potenzialförderung") == [stem("potenzialförderung")]
    assert analyzer.terms("Bildungsinitiative Ruhrgebiet") == [stem("bildungsinitiative"), stem("ruhrgebiet")]


def test_short_words_are_not_split(learnt: Analyzer):
    # fewer than 2 * min_part letters: never split, even if parts would match
    assert learnt.terms("Potenz") == [stem("potenz")]


def test_unknown_word_is_not_split_into_nonsense(learnt: Analyzer):
    terms = learnt.terms("Geschäftsführer")  # neither part occurs in the learnt text
    assert terms == [stem("geschäftsführer")]


def test_stopwords_are_dropped(learnt: Analyzer):
    assert {"der", "und", "wer", "die", "ist", "für"} <= STOPWORDS
    for analyzer in (Analyzer(), learnt):
        assert analyzer.terms("der und wer") == []
        terms = analyzer.terms("Wer ist der Ansprechpartner und die Stadt?")
        assert terms == [stem("ansprechpartner"), stem("stadt")]
        assert not {"der", "und", "wer", "die", "ist"} & set(terms)


def test_stopwords_are_not_learnt_as_parts():
    analyzer = Analyzer.learn(["der und wer oder aber über nicht"])
    assert analyzer.parts == frozenset()


def test_digits_are_kept_as_terms():
    analyzer = Analyzer.learn([LEARNT_FROM])
    terms = analyzer.terms("Seit 2017 sind 600 Menschen dabei")
    assert terms == [stem("seit"), "2017", "600", stem("menschen"), stem("dabei")]
    terms = analyzer.terms("Tel. 0201-177 878-12 im Jahr 2023")
    for number in ("0201", "177", "878", "12", "2023"):
        assert number in terms
    # long numbers are not split into "compound parts"
    assert analyzer.terms("20230421") == ["20230421"]


def test_digits_are_not_learnt_as_parts():
    analyzer = Analyzer.learn(["Im Jahr 2023 kamen 12345 Menschen."])
    assert "2023" not in analyzer.parts and "12345" not in analyzer.parts
    assert stem("menschen") in analyzer.parts


def test_learn_keeps_only_words_of_min_length():
    analyzer = Analyzer.learn(["Ruhr Tag Bildung"])
    assert stem("bildung") in analyzer.parts
    assert stem("ruhr") in analyzer.parts  # exactly min_part letters
    assert stem("tag") not in analyzer.parts


def test_question_and_document_meet_on_terms(learnt: Analyzer):
    question = set(learnt.terms("Wer ist für die Förderung zuständig?"))
    document = set(learnt.terms("Bernd Kreuzinger leitet die Potenzialförderung."))
    assert stem("förderung") in question & document


def test_an_abbreviation_in_capitals_is_a_term_the_conjunction_is_not():
    analyzer = Analyzer()
    assert "ob" in analyzer.terms("Dagmar Mühlenfeld (damalige OB Mülheim)")
    assert "ob" not in analyzer.terms("Ob das gelingt, ist offen.")
