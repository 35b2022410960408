"""The trace of an answer (``Assistant.explain``): the same answer as ``ask``, and the stage named
that decided it, on the seed index. The assertions are on stage names and structure, never on
probabilities, so they hold with the bundled decision alone and with a verifier (the last tests run
a verified stage with a real, untrained verifier to check that path too)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from assistant.answers.answer_model import VERIFIER_FEATURES, AnswerModel, Decision
from assistant.answers.explanation import STAGES
from assistant.answers.features import FEATURES
from assistant.answers.verifier import Verifier, VerifierWeights
from assistant.datatypes import Document, DocumentMeta
from assistant.evaluation import load_qa
from assistant.index.building import build_knowledge_base
from assistant.index.e5model import E5Torch
from assistant.session import Assistant, Turn
from conftest import BENCHMARKS, PRECISION

MISSING_DOCUMENT = "Wann wurde das Jugendzentrum in Gladbeck eröffnet?"  # no document about it
FOUND_NOT_SAID = "Wo wohnt Katharina Kadgien?"  # her contact block is found; where she lives it does not say
ANSWERED = "Wer ist für Potenzialförderung zuständig?"
REFUSED = [MISSING_DOCUMENT, FOUND_NOT_SAID, "Wer hat die Fußball-WM 2014 gewonnen?",
           "Wie hoch ist das jährliche Budget von RuhrFutur?", "Wie lautet die Telefonnummer von Julia Kalinowski?",
           "Was kostet die Teilnahme am Kongress ZukunftsBildung Ruhr?", "Who won the 2014 football World Cup?", "???"]


def dev_cases():
    return [(case.question, list(case.history)) for case in load_qa(BENCHMARKS / "initiatives-qa-dev.jsonl")]


def at_threshold(decision: Decision, threshold: float) -> Decision:
    return replace(decision, ranking=replace(decision.ranking, threshold=threshold),
                   verified=decision.verified and replace(decision.verified, threshold=threshold))


def verdicts(explanation) -> dict[str, bool]:
    return {verdict.stage: verdict.ok for verdict in explanation.verdicts}


@pytest.mark.parametrize("question, history", [*dev_cases(), *((q, []) for q in REFUSED)],
                         ids=lambda value: value if isinstance(value, str) else "")
def test_explaining_never_changes_the_answer(assistant, question, history):
    answer, explanation = assistant.explain(question, history)
    assert answer == assistant.ask(question, history)
    assert explanation.answer == answer.text
    assert explanation.decision == ("beantwortet" if answer.answered else "abgelehnt")
    assert explanation.summary.startswith(f"Entscheidung: {explanation.decision} – Ursache: ")
    assert json.loads(json.dumps(explanation.to_dict(), allow_nan=False))["summary"] == explanation.summary


def test_a_question_about_a_document_not_in_the_corpus_is_a_retrieval_miss(assistant):
    answer, explanation = assistant.explain(MISSING_DOCUMENT)
    assert not answer.answered and explanation.cause == "Retrieval"
    assert {"jugendzentrum", "gladbeck"} <= set(explanation.absent_terms)  # a gap in the corpus
    assert verdicts(explanation)["Retrieval"] is False
    assert "Lücke im Korpus" in next(v.text for v in explanation.verdicts if v.stage == "Retrieval")
    assert all("gladbeck" in p.lacks for p in explanation.passages)


def test_a_passage_found_but_no_unit_judged_to_answer_is_the_answer_models_refusal(assistant):
    answer, explanation = assistant.explain(FOUND_NOT_SAID)
    assert not answer.answered and explanation.cause == "Antwortmodell"
    assert verdicts(explanation) == {"Frage": True, "Retrieval": True, "Antwortmodell": False, "Regeln": True}
    assert any({"katharina", "kadgien"} <= set(p.holds) for p in explanation.passages)
    assert explanation.stage in STAGES and explanation.candidates
    assert all(c.probability is None or c.probability < explanation.threshold for c in explanation.candidates)
    assert not any(c.shown for c in explanation.candidates)


def test_an_answer_names_the_candidate_it_shows_and_what_moved_it(assistant):
    answer, explanation = assistant.explain(ANSWERED)
    assert answer.answered and explanation.cause == "Antwortmodell"
    assert all(verdicts(explanation).values())
    shown = [c for c in explanation.candidates if c.shown]
    assert len(shown) == 1 and "Kreuzinger" in shown[0].text and shown[0].probability >= explanation.threshold
    assert 1 <= len(shown[0].effects) <= 3 and all(e.name in (*FEATURES, *VERIFIER_FEATURES) for e in shown[0].effects)
    assert [rule.name for rule in explanation.rules] == ["Eine Angabe"]
    first = explanation.passages[0]
    assert first.rank == 1 and "potenzialförderung" in first.holds and first.fused > 0
    assert first.bm25 is not None and first.vector is not None and (first.bm25_rank or first.vector_rank)


def test_the_same_passage_refused_at_a_threshold_no_candidate_reaches_is_the_answer_model(seed_settings, seed_kb,
                                                                                         embedder, assistant):
    strict = Assistant(seed_settings, seed_kb, embedder, at_threshold(assistant.decision, 1.01), assistant.verifier)
    answer, explanation = strict.explain(ANSWERED)
    assert not answer.answered and explanation.cause == "Antwortmodell"
    assert verdicts(explanation)["Retrieval"] and not verdicts(explanation)["Antwortmodell"]
    assert explanation.threshold == pytest.approx(1.01)


def test_a_missing_contact_detail_is_the_rule_that_decided(assistant):
    answer, explanation = assistant.explain("Wie lautet die Telefonnummer von Dr. Britta L. Schröder?")
    assert answer.answered and explanation.cause == "Regel – fehlende Angabe"
    rule = next(rule for rule in explanation.rules if rule.name == "Fehlende Angabe")
    assert rule.text.startswith("Eine Telefonnummer von Dr. Britta L. Schröder ist in den Dokumenten nicht angegeben")
    refused, said = assistant.explain("Wie lautet die Telefonnummer von Julia Kalinowski?")
    assert not refused.answered and said.cause == "Regel – fehlende Angabe"
    assert explanation.question.attribute == "phone"


def test_no_unit_of_the_asked_kind_is_the_rule_that_decided(assistant):
    answer, explanation = assistant.explain("Was kostet die Teilnahme am Kongress ZukunftsBildung Ruhr?")
    assert not answer.answered and explanation.cause == "Regel – Art der Angabe"
    assert explanation.candidate_count == 0 and explanation.units_without_kind > 0 and explanation.stage == ""


def test_an_empty_question_is_the_questions_fault(assistant):
    answer, explanation = assistant.explain("???")
    assert not answer.answered and explanation.cause == "Frage" and explanation.passages == ()


def test_the_question_as_understood_with_follow_up_subject_and_spelling(assistant):
    earlier = "Wer ist Ansprechpartnerin für Digitalisierung?"
    answer, explanation = assistant.explain("Und wie lautet ihre E-Mail-Adresse?", [earlier])
    understood = explanation.question
    assert answer == assistant.ask("Und wie lautet ihre E-Mail-Adresse?", [Turn(earlier)])
    assert "Schröder" in understood.follow_up and understood.searched.endswith(understood.follow_up)
    assert understood.kind == "contact" and understood.language == "de"
    _, spelled = assistant.explain("Wer ist für potenzialfoerderung zuständig?")
    assert ("potenzialfoerderung", "Potenzialförderung") in spelled.question.spelling
    assert "Schreibweise der Dokumente" in spelled.text()


def test_the_german_text_has_a_section_per_stage_and_ends_with_the_decision(assistant):
    _, explanation = assistant.explain(ANSWERED)
    text = explanation.text()
    assert [s.title for s in explanation.sections()] == ["Frage", "Retrieval", "Antwortentscheidung", "Regeln"]
    assert text.rstrip().splitlines()[-1] == "Entscheidung: beantwortet – Ursache: Antwortmodell"
    assert "BM25" in text and "Vektor" in text and "fusioniert" in text and "Schwelle" in text
    record = explanation.to_dict()
    assert {"question", "passages", "candidates", "rules", "verdicts", "decision", "cause", "sections"} <= set(record)


def test_the_newer_document_rule_is_named(embedder, seed_settings, tmp_path):
    documents = [Document("netzwerk-2021.txt", "Das Bildungsnetzwerk Emscher wächst.\n\nDem Bildungsnetzwerk Emscher "
                          "gehören inzwischen 12 Kommunen an.", DocumentMeta("Netzwerk 2021", "Emscher", "2021-03-01")),
                 Document("netzwerk-2023.txt", "Das Bildungsnetzwerk Emscher wächst weiter.\n\nDem Bildungsnetzwerk "
                          "Emscher gehören inzwischen 17 Kommunen an.", DocumentMeta("Netzwerk 2023", "Emscher",
                                                                                     "2023-05-10"))]
    settings = seed_settings.replace(index_dir=tmp_path)
    engine = Assistant(settings, build_knowledge_base(documents, embedder, settings), embedder)
    answer, explanation = engine.explain("Wie viele Kommunen gehören dem Bildungsnetzwerk Emscher an?")
    assert answer.answered and "17 Kommunen" in answer.text
    assert explanation.cause == "Regel – neueres Dokument"
    assert "Neueres Dokument gewinnt" in [rule.name for rule in explanation.rules]


# -- a verified stage, with a real verifier: the bundled encoder's layers and an untrained head -------------

@pytest.fixture(scope="module")
def verified(seed_settings, seed_kb, embedder) -> Assistant:
    """An assistant whose decision has a verified stage (the ranking model's features, and a weight on
    the verifier's logit) and a verifier of the bundled encoder's own layers with a fixed head."""
    encoder = E5Torch(dtype=PRECISION)
    layers = tuple({name: tensor.numpy() for name, tensor in encoder.layer_weights(i).items()}
                   for i in range(encoder.model.layers))
    head = np.random.default_rng(0).normal(0, 0.05, encoder.dim).astype(np.float32)
    verifier = Verifier(VerifierWeights(layers, head, 0.0, "untrained, for tests"), encoder)
    ranking = Decision.load(features=FEATURES).ranking
    stage = AnswerModel((*FEATURES, *VERIFIER_FEATURES), np.concatenate([ranking.mean, np.zeros(3)]),
                        np.concatenate([ranking.scale, np.ones(3)]), np.concatenate([ranking.coef, [0.5, 0.0, 0.0]]),
                        ranking.intercept, ranking.threshold)
    return Assistant(seed_settings, seed_kb, embedder, Decision(ranking, stage, verify=3), verifier)


@pytest.mark.parametrize("question", [ANSWERED, FOUND_NOT_SAID, "Who is the contact person for talent promotion?"])
def test_with_a_verifier_the_trace_holds_its_logits_and_the_answer_stays_the_same(verified, question):
    answer, explanation = verified.explain(question)
    assert answer == verified.ask(question)
    assert explanation.stage == ("english" if question.startswith("Who") else "verified")
    read = [c for c in explanation.candidates if c.verifier is not None]
    assert 1 <= len(read) <= 3  # the verifier reads the best three
    if explanation.stage == "verified":
        assert all(c.probability is not None and c.ranking is not None for c in read)
        assert all(c.probability is None for c in explanation.candidates if c.verifier is None)
        assert all(e.name in (*FEATURES, *VERIFIER_FEATURES) for c in read for e in c.effects)
    assert "Verifier-Logit" in explanation.text()
    json.dumps(explanation.to_dict(), allow_nan=False)
