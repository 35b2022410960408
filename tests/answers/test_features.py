"""What the answer decision knows about a (question, unit) pair, on the real seed index."""

import numpy as np
import pytest

from assistant.answers.features import FEATURES, coverage, entity_words, feature_matrix, gather_candidates, query_terms
from assistant.language.questions import classify
from assistant.language.vocabulary import alternatives
from conftest import pinned_settings


def terms_of(kb, question: str):
    return {t.word: t for t in query_terms(classify(question), kb)}


def test_query_terms_leave_out_question_and_frame_words(seed_kb):
    terms = terms_of(seed_kb, "Wie lautet die E-Mail-Adresse von Bernd Kreuzinger?")
    assert set(terms) == {"bernd", "kreuzinger"}
    assert all(t.entity and t.noun for t in terms.values())


def test_rare_words_weigh_more(seed_kb):
    terms = terms_of(seed_kb, "Welche Städte gehören zur Städtekooperation Integration.Interkommunal?")
    assert terms["städtekooperation"].weight > terms["städte"].weight
    assert terms["städte"].focus and not terms["städtekooperation"].focus


@pytest.mark.parametrize("question, text", [
    ("Wer war damals OB von Essen?", "Reinhard Paß (damaliger Oberbürgermeister Essen)"),  # abbreviation
    ("Wer war Oberbürgermeisterin von Mülheim?", "Dagmar Mühlenfeld (damalige OB Mülheim)"),  # and back
    ("Welche Unis machen mit?", "Die Ruhr-Universität Bochum und weitere Universitäten machen mit."),
    ("Was tut RuhrFutur für Chancengleichheit?", "RuhrFutur tut viel für Chancengerechtigkeit."),  # synonym
    ("Wann war der Auftakt?", "Dezember 2017: Kick-off-Veranstaltung"),
    ("Wer ist für Potenzialförderrung zuständig?", "Potenzialförderung: Bernd Kreuzinger"),  # a typo
    ("Was macht die Förderung?", "Potenzialförderung: Bernd Kreuzinger"),  # a compound part
])
def test_coverage_counts_abbreviations_synonyms_typos_and_compound_parts(seed_kb, question, text):
    terms = query_terms(classify(question), seed_kb)
    share, missing = coverage(terms, set(seed_kb.terms(text)))
    assert share >= 0.8, [(t.word, t.stems) for t in terms]


def test_coverage_notices_a_missing_name(seed_kb):
    terms = query_terms(classify("Wann wurde die Stiftung Mercator gegründet?"), seed_kb)
    found = set(seed_kb.terms("2013 wurde RuhrFutur gegründet."))
    assert coverage(terms, found, only="entity") == (0.0, pytest.approx(max(t.weight for t in terms if t.entity)))


@pytest.mark.parametrize("question, names", [
    ("Wer gewann den Super Bowl 50?", {"Super", "Bowl", "50"}),
    ("Wann wurde RuhrFutur gegründet?", {"RuhrFutur"}),
    ('Wann wurde "Ein Zeichen für Vielfalt" gesetzt?', {"Zeichen", "Vielfalt"}),
    ("Und wie lautet ihre E-Mail-Adresse?", set()),
    ("Wer ist für Potenzialförderung zuständig?", set()),
])
def test_entity_words(question, names):
    assert entity_words(question) == names


def test_alternatives_are_symmetric_within_a_group():
    assert "kick-off" in alternatives("auftakt") and "auftakt" in alternatives("kick-off")
    assert alternatives("ob") == ("oberbürgermeister", "oberbürgermeisterin")
    assert alternatives("wort-das-es-nicht-gibt") == ()


def test_feature_matrix_has_a_row_per_candidate_and_known_ranges(seed_kb, embedder):
    question = classify("Wer ist für Potenzialförderung zuständig?")
    vector = embedder.embed_queries([question.text])[0]
    from assistant.answers.retrieval import Retriever
    hits = Retriever(seed_kb, embedder, pinned_settings()).search(question.text, k=5, query_vector=vector)
    candidates = gather_candidates(hits, seed_kb, vector)
    matrix = feature_matrix(question, candidates, hits, seed_kb, vector)
    assert matrix.shape == (len(candidates), len(FEATURES)) and np.isfinite(matrix).all()
    column = {name: matrix[:, i] for i, name in enumerate(FEATURES)}
    assert ((column["coverage"] >= 0) & (column["coverage"] <= 1)).all()
    assert column["similarity_gap"].max() == 0 and column["kind_person"].all()
    best = int(np.argmax(column["coverage"]))
    assert "Potenzialförderung" in candidates[best].text
