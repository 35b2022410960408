"""What the answer decision knows about one candidate unit for one question: a row of numbers.

The assistant answers with one unit (a sentence, a contact block, one person of a photo caption)
of the passages retrieval found, or says that the documents do not answer. Both choices are made
by a small model (``answer_model.py``) from the features computed here for every (question,
candidate) pair; ``benchmarks/answer_model.py`` learns it from questions with known answers.

The features judge the unit that would be shown, not the neighbourhood: how similar it is to the
question (multilingual-e5, its vector computed at build time), how much of the question's
content it contains, weighted by rarity (idf), above all the question's names and numbers
("entities"), with stems, compound parts, abbreviations and synonyms (``vocabulary.py``) counting
as found; whether it holds what the question asks for (a date for "wann", a number for "wie
viele", a person for "wer", a phone number when one is asked for); and how it compares with the
other candidates. An entity of the question that the unit does not mention (another
organisation, another event, another person) is strong evidence against it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..datatypes import Hit, Unit
from ..index.protocol import Index
from ..language.analysis import STOPWORDS
from ..language.questions import FRAME_WORDS, Question, answer_values, focus_word
from ..language.text import TOKEN, text_key, word_key
from ..language.vocabulary import ABBREVIATIONS, alternatives

WINDOW = 2  # units before a candidate that may hold what its pronouns refer to ("Er ...")
QUOTED = re.compile(r"[\"„“»«']([^\"„“»«']{3,80})[\"“”»«']")

FEATURES = (
    "similarity", "similarity_gap", "similarity_rank", "passage_similarity", "passage_rank", "passage_score",
    "coverage", "coverage_gap", "coverage_window", "coverage_passage", "missing_rare", "missing_rare_window",
    "entity_coverage", "entity_coverage_window", "entity_missing_passage", "typed", "typed_new", "novelty",
    "length", "contact_unit", "caption_unit", "question_terms", "question_entities", "top_similarity",
    "top_coverage", "kind_date", "kind_number", "kind_person", "kind_contact", "kind_place", "kind_other",
    "previous_coverage", "next_coverage", "previous_similarity", "next_similarity", "refers_back", "bigrams",
    "new_names", "new_numbers", "new_dates", "absent_corpus", "absent_passages", "focus_found",
    "noun_coverage", "other_coverage", "quoted_found",
)
# A unit that starts like this leans on the one before it: "Er ...", "Dennoch ...", "Diese ...".
REFERS_BACK = re.compile(r"(?:er|sie|es|ihr|ihre|ihnen|sein|seine|dies|diese|dieser|dieses|diesem|diesen|dort|"
                         r"dabei|damit|dadurch|daher|darauf|danach|davor|deshalb|deswegen|dennoch|jedoch|"
                         r"trotzdem|außerdem|zudem|auch|später|anschließend|somit|so|hier|deren|dessen)\b",
                         re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """One unit of a retrieved passage, as a possible answer."""

    hit: int  # index into the hits
    unit: Unit
    text: str
    neighbours: str  # the units before it in its passage (what "er", "dort" may refer to)
    similarity: float
    previous: int = -1  # the unit before and after it in its passage (index into chunk.units), or -1
    following: int = -1
    index: int = 0  # its own index in chunk.units


@dataclass(frozen=True)
class QueryTerm:
    """A content word of the question: its stem, what else counts as the same, its idf weight."""

    word: str
    stems: tuple[tuple[str, ...], ...]  # alternatives, each the stems that must all occur
    parts: tuple[str, ...]  # stems of its compound parts: partial credit when only these occur
    weight: float
    entity: bool
    noun: bool = False  # capitalised inside the question: in German a noun or a name
    focus: bool = False  # the thing asked for: "Welche *Partei* ...", "Wie viele *Punkte* ..."


def gather_candidates(hits: Sequence[Hit], index: Index, query_vector: np.ndarray) -> list[Candidate]:
    """The units of the hits, each once: a unit repeated by overlapping passages, or the same
    sentence in two documents, is one candidate (the first, from the better passage)."""
    seen: set[tuple[str, int, int]] = set()
    texts: set[str] = set()
    result = []
    for number, hit in enumerate(hits):
        chunk = hit.chunk
        similarities = index.unit_similarities(hit.position, query_vector) if hit.position >= 0 else np.zeros(0)
        quoted = chunk.unit_texts()
        for i, unit in enumerate(chunk.units):
            key = text_key(quoted[i])
            if (chunk.document, unit.start, unit.end) in seen or key in texts:
                continue
            seen.add((chunk.document, unit.start, unit.end))
            texts.add(key)
            similarity = float(similarities[i]) if i < len(similarities) else 0.0
            neighbours = " ".join(quoted[max(0, i - WINDOW):i])
            following = i + 1 if i + 1 < len(quoted) else -1
            result.append(Candidate(number, unit, quoted[i], neighbours, similarity, i - 1, following, i))
    return result


def query_terms(question: Question, index: Index) -> list[QueryTerm]:
    """The question's content words (not the words that only say what kind of answer is wanted)."""
    text = question.text
    named = entity_words(text)
    focus = focus_word(text)
    found: dict[str, QueryTerm] = {}
    for match in TOKEN.finditer(text):
        word = match.group().casefold()
        abbreviation = match.group().isupper() and word in ABBREVIATIONS
        if (word in STOPWORDS and not abbreviation) or word in FRAME_WORDS or len(word) < 2:
            continue
        analysed = index.terms(match.group())
        if not analysed:
            continue
        whole = analysed[0]
        if whole in found:
            continue
        options = [(whole,)] + [tuple(index.terms(alt.upper() if alt in ABBREVIATIONS else alt))
                                for alt in alternatives(word)]
        options = [o for o in options if o]
        weight = float(index.term_weights([whole])[0])
        found[whole] = QueryTerm(word, tuple(dict.fromkeys(options)), tuple(analysed[1:]), weight,
                                 match.group() in named or word.isdigit(),
                                 match.start() > 0 and match.group()[:1].isupper(), word == focus)
    return list(found.values())


def _bigrams(terms: Sequence[QueryTerm]) -> set[tuple[str, str]]:
    """Pairs of the question's consecutive content words, by stem."""
    stems = [t.stems[0][0] for t in terms]
    return set(zip(stems, stems[1:]))


def _bigrams_of(terms: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(terms, terms[1:]))


def entity_words(text: str) -> set[str]:
    """Names and numbers of a question (as written): words with digits or capitals inside
    ("RuhrFutur", "NRW", "2018"), runs of capitalised words ("Jared Allen", "Super Bowl"), and
    quoted titles; never question or frame words ("E-Mail-Adresse")."""
    result: set[str] = set()
    tokens = [m for m in TOKEN.finditer(text) if m.group().casefold() not in FRAME_WORDS]
    for position, match in enumerate(tokens):
        word = match.group()
        if any(ch.isdigit() for ch in word) or (len(word) >= 2 and any(ch.isupper() for ch in word[1:])):
            result.add(word)
        following = tokens[position + 1].group() if position + 1 < len(tokens) else ""
        between = text[match.end():tokens[position + 1].start()] if following else ""
        if (match.start() > 0 and word[:1].isupper() and following[:1].isupper() and between == " "
                and word.casefold() not in STOPWORDS and following.casefold() not in STOPWORDS):
            result.update((word, following))
    for quoted in QUOTED.findall(text):
        result.update(m.group() for m in TOKEN.finditer(quoted) if m.group().casefold() not in STOPWORDS)
    return result


def coverage(terms: Sequence[QueryTerm], found: set[str], only: str = "") -> tuple[float, float]:
    """The idf-weighted share of ``terms`` that ``found`` (a text's terms) contains, and the
    largest weight among those it lacks (0 when none is missing). ``only`` limits the terms to
    "entity", "noun", "other" (not a noun) or "focus" ones; with none of them the share is 1."""
    total = covered = missing = 0.0
    for term in terms:
        if only and not {"entity": term.entity, "noun": term.noun, "other": not term.noun, "focus": term.focus}[only]:
            continue
        credit = _credit(term, found)
        total += term.weight
        covered += credit * term.weight
        if credit < 1.0:
            missing = max(missing, (1.0 - credit) * term.weight)
    if total == 0.0:
        return 1.0, 0.0
    return covered / total, missing


def _credit(term: QueryTerm, found: set[str]) -> float:
    if any(all(s in found for s in option) for option in term.stems):
        return 1.0
    if term.parts and all(part in found for part in term.parts):
        return 0.8
    whole = term.stems[0][0]
    if len(whole) >= 6 and any(_near(whole, other) for other in found if abs(len(other) - len(whole)) <= 1):
        return 0.8  # a typo: "Potenzialförderrung"
    return 0.0


@lru_cache(maxsize=100_000)
def _near(a: str, b: str) -> bool:
    """One letter inserted, deleted, replaced or two swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:] or (i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i]
                                          and a[i + 2:] == b[i + 2:])
    return a[i:] == b[i + 1:]


def feature_matrix(question: Question, candidates: Sequence[Candidate], hits: Sequence[Hit],
                   index: Index, query_vector: np.ndarray) -> np.ndarray:
    """One row of ``FEATURES`` per candidate."""
    if not candidates:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    terms = query_terms(question, index)
    scale = max([t.weight for t in terms] + [1.0])
    question_values = set(answer_values(question.text, question.kind))
    entity_count = sum(t.entity for t in terms)
    best_score = max((h.score for h in hits), default=1.0) or 1.0
    passage_terms = {i: set(index.terms(f"{hit.chunk.meta.title}\n{hit.chunk.text}")) for i, hit in enumerate(hits)}
    passage_similarity = [float(np.max(index.unit_similarities(h.position, query_vector), initial=-1.0))
                          if h.position >= 0 else 0.0 for h in hits]
    unit_similarities = {i: index.unit_similarities(h.position, query_vector) if h.position >= 0 else np.zeros(0)
                         for i, h in enumerate(hits)}
    pairs = _bigrams(terms)
    question_names = set(answer_values(question.text, "person"))
    question_numbers = set(answer_values(question.text, "number"))
    question_dates = set(answer_values(question.text, "date"))
    # What of the question the whole index never mentions, and what the retrieved passages do not.
    unseen = float(index.term_weights(["\x00"])[0])  # the weight of a term no passage contains
    unknown = sum(t.weight for t in terms if all(float(index.term_weights(o[:1])[0]) >= unseen for o in t.stems))
    all_passages = set().union(*passage_terms.values()) if passage_terms else set()
    total_weight = sum(t.weight for t in terms) or 1.0
    absent_passages = 1.0 - coverage(terms, all_passages)[0]
    has_focus = any(t.focus for t in terms)
    quoted = [word_key(q) for q in QUOTED.findall(question.text)]
    rows = []
    for candidate in candidates:
        hit = hits[candidate.hit]
        own = set(index.terms(f"{candidate.unit.context}\n{candidate.text}"))
        window = own | set(index.terms(f"{hit.chunk.meta.title}\n{candidate.neighbours}"))
        cov, missing = coverage(terms, own)
        cov_window, missing_window = coverage(terms, window)
        cov_passage, _ = coverage(terms, passage_terms[candidate.hit])
        entities, _ = coverage(terms, own, only="entity")
        entities_window, _ = coverage(terms, window, only="entity")
        entities_passage, _ = coverage(terms, passage_terms[candidate.hit], only="entity")
        values = answer_values(candidate.text, question.kind)
        question_words = {w for t in terms for option in t.stems for w in option}
        novel = [t for t in own if t not in question_words]
        neighbour_coverage, neighbour_similarity = [], []
        for other in (candidate.previous, candidate.following):
            if other < 0:
                neighbour_coverage.append(0.0)
                neighbour_similarity.append(0.0)
                continue
            neighbour_coverage.append(coverage(terms, set(index.terms(hit.chunk.unit_text(hit.chunk.units[other]))))[0])
            sims = unit_similarities[candidate.hit]
            neighbour_similarity.append(float(sims[other]) - candidate.similarity if other < len(sims) else 0.0)
        unit_pairs = _bigrams_of(index.terms(candidate.text))
        rows.append([
            candidate.similarity, 0.0, 0.0, passage_similarity[candidate.hit], 1.0 / (1 + candidate.hit),
            hit.score / best_score, cov, 0.0, cov_window, cov_passage, missing / scale, missing_window / scale,
            entities, entities_window, 1.0 - entities_passage, float(bool(values)),
            float(any(v not in question_values for v in values)), len(novel) / max(len(own), 1),
            math.log(1 + len(candidate.text)), float(bool(re.search(r"@|\bTel", candidate.text))),
            float(bool(candidate.unit.context)), float(len(terms)), float(entity_count), 0.0, 0.0,
            *(float(question.kind == kind) for kind in ("date", "number", "person", "contact", "place", "other")),
            *neighbour_coverage, *neighbour_similarity, float(bool(REFERS_BACK.match(candidate.text))),
            len(pairs & unit_pairs) / len(pairs) if pairs else 0.0,
            float(len(set(answer_values(candidate.text, "person")) - question_names)),
            float(len(set(answer_values(candidate.text, "number")) - question_numbers)),
            float(len(set(answer_values(candidate.text, "date")) - question_dates)),
            unknown / total_weight, absent_passages,
            (coverage(terms, own, only="focus")[0] + coverage(terms, window, only="focus")[0]) / 2 if has_focus else -1.0,
            coverage(terms, own, only="noun")[0], coverage(terms, own, only="other")[0],
            (sum(q in word_key(f"{candidate.unit.context} {candidate.text}") for q in quoted) / len(quoted)
             if quoted else -1.0),
        ])
    matrix = np.asarray(rows, dtype=np.float32)
    column = {name: i for i, name in enumerate(FEATURES)}
    similarity, cov = matrix[:, column["similarity"]], matrix[:, column["coverage"]]
    order = np.argsort(-similarity, kind="stable")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(len(order))
    matrix[:, column["similarity_gap"]] = similarity - similarity.max()
    matrix[:, column["similarity_rank"]] = 1.0 / (1.0 + ranks)
    matrix[:, column["coverage_gap"]] = cov - cov.max()
    matrix[:, column["top_similarity"]] = similarity.max()
    matrix[:, column["top_coverage"]] = cov.max()
    return matrix
