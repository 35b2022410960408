"""Compose a short, cited answer from retrieved passages, or say that the documents do not answer.

No language model is needed: the candidates are the sentences and blocks ("units") of the best
passages, whose vectors were computed at build time. Each is scored by

* its similarity to the question (multilingual-e5, so English questions match German text),
* the share of the question's stemmed terms it contains, weighted by rarity (idf),
* whether it holds what the question asks for (a date for "wann", a number for "wie viele",
  a person for "wer", an e-mail address or phone number for "wie erreiche ich", ...),
* the rank of its passage.

The best one to three units become the answer, each followed by its citation number. A
contact block (role, organisation, name and e-mail) is one unit, so "wer"-questions get the
person with their contact. The "not found" decision looks at how well the best passage covers
the question's rare terms and how similar the best unit is; the thresholds are chosen in
``benchmarks/refusal.py`` from the dev questions and questions the documents cannot answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .analysis import Analyzer
from .chunking import BULLET, is_contact, is_heading
from .datatypes import Answer, Citation, Hit
from .indexing import KnowledgeBase
from .questions import FRAME_WORDS, STRICT_KINDS, Question, has_answer_type

SENTENCE_END = re.compile(r"[.!?…][\"'»«“”)]*$")
NOT_FOUND = ("Dazu finden sich in den Dokumenten keine Angaben. Bitte formulieren Sie die Frage anders "
             "oder wenden Sie sich an die genannten Ansprechpersonen.")
NOT_FOUND_EN = "Die Dokumente enthalten dazu keine Angaben. (The documents do not answer this question.)"


@dataclass(frozen=True)
class AnswerSettings:
    passages: int = 5  # passages whose units are candidates
    max_sentences: int = 3
    keep_within: float = 0.6  # further sentences must score this share of the best one
    # Chosen by benchmarks/refusal.py (README, "Not found"):
    min_coverage: float = 0.2  # idf-weighted share of the question's terms the first passages contain
    min_similarity: float = 0.83  # e5 similarity the best sentence must reach
    min_similarity_english: float = 0.83  # English questions: no lexical evidence, so similarity alone


@dataclass(frozen=True)
class Candidate:
    hit: int  # index into the hits
    start: int  # offsets into the document
    end: int
    text: str
    similarity: float
    coverage: float
    typed: bool
    score: float


@dataclass(frozen=True)
class Evidence:
    """How strongly the best passage supports an answer; the not-found decision reads this."""

    coverage: float
    similarity: float


def compose_answer(question: Question, hits: list[Hit], kb: KnowledgeBase, query_vector: np.ndarray,
                   settings: AnswerSettings = AnswerSettings()) -> Answer:
    """The extractive answer for ``question`` from ``hits`` (best first)."""
    hits = hits[:settings.passages]
    candidates = score_candidates(question, hits, kb, query_vector)
    evidence = measure_evidence(question, hits, candidates, kb)
    if not candidates or not is_answerable(question, evidence, settings):
        related = tuple(Citation(n, hit.chunk) for n, hit in enumerate(hits[:3], start=1))
        return Answer(NOT_FOUND_EN if question.language == "en" else NOT_FOUND, False, (), related)
    chosen = select(candidates, settings)
    return cite(chosen, hits)


def content_terms(question: Question, kb: KnowledgeBase) -> tuple[list[str], np.ndarray]:
    """The question's stemmed terms, without words that only name the kind of answer wanted, and
    their idf weights."""
    analyzer = kb.lexical.analyzer
    frame = _frame_terms(analyzer)
    terms = [t for t in dict.fromkeys(analyzer.terms(question.text)) if t not in frame]
    return terms, kb.lexical.idf(terms) if terms else np.zeros(0)


@lru_cache(maxsize=8)
def _frame_terms(analyzer: Analyzer) -> frozenset[str]:
    return frozenset(t for word in FRAME_WORDS for t in analyzer.terms(word))


def score_candidates(question: Question, hits: list[Hit], kb: KnowledgeBase,
                     query_vector: np.ndarray) -> list[Candidate]:
    analyzer = kb.lexical.analyzer
    terms, weights = content_terms(question, kb)
    raw = []
    for index, hit in enumerate(hits):
        chunk = hit.chunk
        similarities = kb.unit_similarities(hit.position, query_vector) if hit.position >= 0 else np.zeros(0)
        for unit_number, (start, end) in enumerate(chunk.units):
            text = chunk.text[start - chunk.start:end - chunk.start]
            similarity = float(similarities[unit_number]) if unit_number < len(similarities) else 0.0
            raw.append((index, start, end, text, similarity, _coverage(terms, weights, analyzer.terms(text)),
                        question.kind != "other" and has_answer_type(text, question.kind)))
    if not raw:
        return []
    similarities = np.array([r[4] for r in raw])
    low, high = float(similarities.min()), float(similarities.max())
    english = question.language == "en"
    candidates = []
    for index, start, end, text, similarity, coverage, typed in raw:
        relative = (similarity - low) / (high - low) if high > low else 1.0
        lexical = 0.0 if english else coverage
        score = 0.45 * relative + 0.35 * lexical + 0.2 * typed + 0.1 / (1 + index)
        if is_label_list(text):
            score *= 0.75
        if question.kind in STRICT_KINDS and not typed:
            score *= 0.5  # a "wann" answer without a date, a "wie viele" without a number ...
        candidates.append(Candidate(index, start, end, text, similarity, coverage, typed, score))
    return sorted(candidates, key=lambda c: -c.score)


def is_label_list(text: str) -> bool:
    """Several lines, none a sentence, bullet or contact line: a download list or navigation,
    which seldom answers a question even when it repeats its words."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and not any(SENTENCE_END.search(line) or BULLET.match(line) or is_contact(line)
                                      for line in lines)


def _coverage(terms: list[str], weights: np.ndarray, found_terms: list[str]) -> float:
    if not terms:
        return 0.0
    present = set(found_terms)
    total = float(weights.sum())
    return float(sum(w for t, w in zip(terms, weights) if t in present)) / total if total else 0.0


def measure_evidence(question: Question, hits: list[Hit], candidates: list[Candidate], kb: KnowledgeBase) -> Evidence:
    if not hits or not candidates:
        return Evidence(0.0, 0.0)
    analyzer = kb.lexical.analyzer
    terms, weights = content_terms(question, kb)
    # Together, the first three passages must contain the question's rare terms: a date and the
    # event it belongs to may sit in neighbouring passages.
    coverage = _coverage(terms, weights, [t for hit in hits[:3] for t in analyzer.terms(hit.chunk.text)])
    return Evidence(coverage, max(c.similarity for c in candidates))


def is_answerable(question: Question, evidence: Evidence, settings: AnswerSettings) -> bool:
    if question.language == "en":
        return evidence.similarity >= settings.min_similarity_english
    return evidence.coverage >= settings.min_coverage and evidence.similarity >= settings.min_similarity


def select(candidates: list[Candidate], settings: AnswerSettings) -> list[Candidate]:
    """The best candidate, and up to ``max_sentences - 1`` more that score nearly as well and say
    something else."""
    best = candidates[0]
    chosen = [best]
    seen = {_normalise(best.text)}
    for candidate in candidates[1:]:
        if len(chosen) == settings.max_sentences or candidate.score < settings.keep_within * best.score:
            break
        key = _normalise(candidate.text)
        if key in seen or any(key in s or s in key for s in seen):
            continue
        seen.add(key)
        chosen.append(candidate)
    return chosen


def cite(chosen: list[Candidate], hits: list[Hit]) -> Answer:
    """Answer text with [n] after each sentence; passages numbered in order of first use."""
    numbers: dict[int, int] = {}
    highlights: dict[int, list[tuple[int, int]]] = {}
    lines = []
    for candidate in chosen:
        n = numbers.setdefault(candidate.hit, len(numbers) + 1)
        chunk = hits[candidate.hit].chunk
        highlights.setdefault(candidate.hit, []).append((candidate.start - chunk.start, candidate.end - chunk.start))
        lines.append(f"{as_sentence(candidate.text)} [{n}]")
    citations = tuple(Citation(n, hits[i].chunk, tuple(sorted(highlights[i]))) for i, n in numbers.items())
    return Answer("\n".join(lines), True, citations)


def as_sentence(text: str) -> str:
    """A unit on one line: wrapped lines joined by a space, heading and contact lines by " – "."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    result = lines[0] if lines else ""
    for previous, line in zip(lines, lines[1:]):
        result += (" – " if is_heading(previous) or is_contact(previous) else " ") + line
    return result


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()
