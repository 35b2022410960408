"""Answer with the one unit of the documents that says it, or say that the documents do not.

No language model is needed. The candidates are the units of the best passages (sentences,
contact blocks, single people of photo captions; never page furniture), each described by the
features of ``features.py``. The learnt ``Decision`` (``answer_model.py``) ranks them by those
features; the best few are read together with the question by the verifier (``verifier.py``,
a fine-tuned cross-encoder), and the decision's second stage gives each of them, from features
and verifier together, the probability that it answers the question. The best candidate is the
answer when that probability reaches the threshold; below it the assistant says that the
documents do not answer and offers the closest passages only as "Vielleicht hilfreich".

Around that decision, rules that a citizen would expect:

* **One fact per answer.** One unit, followed by its citation number. A second (and third) only
  when it completes the first: the items of a list the first introduces or belongs to, when the
  question asks for several things; the contact block of the person the first names, when the
  question asks who or how to reach someone; the sentence a first sentence refers back to ("Er
  ...", "Dennoch ...") when that is where the question's names are.
* **Say what is missing.** Asked for someone's phone number where the documents give only an
  e-mail address, the answer says so and gives the address ("Eine Telefonnummer ist nicht
  angegeben; E-Mail: ..."); where they name the person but give no contact at all, it says that.
* **Newer wins.** When two documents disagree on the asked fact (a count, a date, a name), the
  answer comes from the newer document and shows its date.
* **Values marked.** For questions that want a date, number, e-mail address or phone number, the
  value is marked in the answer (``Answer.marks``) and in the source (``Citation.values``).

English questions cannot be matched word by word against German documents, so for them the
decision to answer rests on the multilingual similarity (``min_similarity_english``) of units
that name the question's names; among those that reach it, the verifier picks the unit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..datatypes import Answer, Chunk, Citation, Hit, Unit, german_date
from ..documents.chunking import BULLET, blocks, is_contact, is_heading
from ..index.protocol import Index
from ..language.questions import (ATTRIBUTE_NAMES, EMAIL, LEADS, PERSON, ROLE, STRICT_KINDS, Question,
                                  answer_values, attribute_values)
from ..settings import AnsweringSettings
from .answer_model import Decision, verifier_columns
from .explanation import ATTRIBUTE, NEWER, TraceRecorder
from .verifier import Verifier, verifier_passage
from .features import FEATURES, REFERS_BACK, Candidate, coverage, feature_matrix, gather_candidates, query_terms

NOT_FOUND = ("Dazu finden sich in den Dokumenten keine Angaben. Bitte formulieren Sie die Frage anders "
             "oder wenden Sie sich an die genannten Ansprechpersonen.")
NOT_FOUND_EN = "Die Dokumente enthalten dazu keine Angaben. (The documents do not answer this question.)"
MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\s]*\)")
MAX_UNITS = 3
NEWER_WITHIN = 0.2  # a newer document's candidate this close in probability replaces a conflicting older one


@dataclass(frozen=True)
class Choice:
    """A unit chosen for the answer, and where it comes from."""

    candidate: Candidate
    chunk: Chunk
    note: str = ""  # said after the citation, e.g. the newer document's date


@dataclass
class _Table:
    """The candidates of one question with their features and probabilities."""

    candidates: list[Candidate]
    matrix: np.ndarray
    probabilities: np.ndarray
    hits: Sequence[Hit]
    order: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.order = [int(i) for i in np.argsort(-self.probabilities, kind="stable")]


def compose_answer(question: Question, hits: Sequence[Hit], index: Index, query_vector: np.ndarray,
                   decision: Decision, verifier: Verifier | None = None,
                   settings: AnsweringSettings = AnsweringSettings(), trace: TraceRecorder | None = None) -> Answer:
    """The answer to ``question`` from ``hits`` (best first), or the reason there is none; the
    verifier (if given, and the decision has a verified stage) judges the best candidates. What it
    computes is written into ``trace`` (``explanation.py``), which changes nothing else."""
    trace = trace or TraceRecorder()
    hits = list(hits[:settings.passages])
    candidates = candidates_for(question, hits, index, query_vector)
    trace.found(question, hits, query_vector, candidates)
    if not candidates:
        return refusal(question, hits)
    matrix = feature_matrix(question, candidates, hits, index, query_vector)
    if decision.verified is None:
        verifier = None
    if question.language == "en":
        # No German words to match: the similarity decides, among units that name every name of
        # the question ("RuhrFutur", "Benjamin Fricke"), which are written alike in both languages,
        # whether to answer; the verifier, which reads English too, which of the closest says it.
        names = matrix[:, FEATURES.index("entity_coverage_window")] >= 1.0
        similar = np.where(names, matrix[:, FEATURES.index("similarity")], -1.0)
        table = _Table(candidates, matrix, similar, hits)
        trace.english(matrix, similar)
        trace.decided("english", settings.min_similarity_english)
        if similar[table.order[0]] < settings.min_similarity_english:
            return refusal(question, hits)
        if verifier is not None:
            closest = [i for i in table.order[:decision.verify] if similar[i] >= settings.min_similarity_english]
            by_verifier = np.full(len(candidates), -np.inf)
            by_verifier[closest] = _logits(question, table, closest, verifier)
            trace.read_by_verifier(closest, by_verifier[closest])
            table = _Table(candidates, matrix, by_verifier, hits)
        best = table.order[0]
    else:
        model = decision.verified if verifier is not None else decision.ranking
        table = _Table(candidates, matrix, decision.ranking.probabilities(matrix), hits)
        trace.ranked(matrix, table.probabilities, decision.ranking)
        if verifier is not None:  # and so decision.verified too (set above)
            judged = table.order[:decision.verify]
            probabilities = np.zeros(len(candidates))  # the others are not answers: below every threshold
            logits = _logits(question, table, judged, verifier)
            trace.read_by_verifier(judged, logits)
            probabilities[judged] = decision.verified.probabilities(
                np.hstack([matrix[judged], verifier_columns(logits)]))
            table = _Table(candidates, matrix, probabilities, hits)
            trace.judged_verified(probabilities, decision.verified)
        trace.decided("verified" if model is decision.verified else "ranking", model.threshold)
        best = table.order[0]
        if question.attribute:
            trace.rule(ATTRIBUTE)
            return _attribute_answer(question, table, index, model.threshold) or refusal(question, hits)
        if table.probabilities[best] < model.threshold:
            return refusal(question, hits)
        best, disagree = _newer(question, table, best, model.threshold)
        if disagree:
            trace.rule(NEWER)
            date = table.hits[table.candidates[best].hit].chunk.meta.date
            return cite(question, _complete(question, table, best, f" (Stand: {german_date(date)}; ältere Dokumente "
                                                                     "nennen einen anderen Wert)"))
    return cite(question, _complete(question, table, best))


def _logits(question: Question, table: _Table, judged: Sequence[int], verifier: Verifier) -> np.ndarray:
    """The verifier's logits for the candidates ``judged``, in one forward pass."""
    return verifier.logits(question.text, [candidate_passage(table.candidates[i], table.hits) for i in judged])


def candidate_passage(candidate: Candidate, hits: Sequence[Hit]) -> str:
    """What the verifier reads of a candidate (training reads the same)."""
    return verifier_passage(hits[candidate.hit].chunk.meta.title, candidate.unit.context, candidate.text)


def candidates_for(question: Question, hits: Sequence[Hit], index: Index,
                   query_vector: np.ndarray) -> list[Candidate]:
    """The units of the hits that can answer the question at all: a date question is not
    answered by a text without a date, nor a "wie viele" question without a count, a price
    question without an amount, a contact question without a contact detail, nor "Wer ist der
    Vorstandsvorsitzende ...?" by a text that names no such role. (A question for someone's phone
    number keeps every unit: where the number is missing, the answer says so.)"""
    candidates = gather_candidates(hits, index, query_vector)
    if question.kind in STRICT_KINDS and not question.attribute:
        candidates = [c for c in candidates if answer_values(c.text, question.kind)]
    if question.kind == "person" and (ROLE.search(question.text) or LEADS.search(question.text)):
        role = [t for t in query_terms(question, index) if t.focus]
        candidates = [c for c in candidates if not role or
                      coverage(role, set(index.terms(f"{c.unit.context}\n{c.text}")))[0] > 0]
    return candidates


def refusal(question: Question, hits: Sequence[Hit], text: str = "") -> Answer:
    """"Not in the documents", with the closest passages as "Vielleicht hilfreich"."""
    related = tuple(Citation(n, hit.chunk) for n, hit in enumerate(hits[:3], start=1))
    return Answer(text or (NOT_FOUND_EN if question.language == "en" else NOT_FOUND), False, (), related)


def _newer(question: Question, table: _Table, best: int, threshold: float) -> tuple[int, bool]:
    """Whether documents disagree on the asked fact: a candidate of another document, nearly as
    likely, gives another value (a count, a date, a name). Then the newer document's candidate is
    taken to be right. Returns the candidate to answer with and whether there was disagreement."""
    chosen = table.candidates[best]
    values = set(answer_values(chosen.text, question.kind))
    chunk = table.hits[chosen.hit].chunk
    if not values or not chunk.meta.date:
        return best, False
    answer, disagree = best, False
    for other in table.order:
        candidate = table.candidates[other]
        other_chunk = table.hits[candidate.hit].chunk
        if table.probabilities[other] < max(threshold, table.probabilities[best] - NEWER_WITHIN):
            break
        found = set(answer_values(candidate.text, question.kind))
        if other_chunk.document != chunk.document and other_chunk.meta.date and found and not found & values:
            disagree = True
            if other_chunk.meta.date > table.hits[table.candidates[answer].hit].chunk.meta.date:
                answer = other
    return answer, disagree


def _attribute_answer(question: Question, table: _Table, index: Index, threshold: float) -> Answer | None:
    """For "Wie lautet die Telefonnummer von X?": the unit about X that gives it; else what the
    documents give about X instead, saying that the asked detail is missing. None if X is not found."""
    wanted = ATTRIBUTE_NAMES[question.attribute]
    terms = query_terms(question, index)
    named = [t for t in terms if t.entity or t.noun]
    for i in table.order:
        candidate = table.candidates[i]
        text = f"{candidate.unit.context}\n{candidate.text}"
        if table.probabilities[i] >= threshold and attribute_values(candidate.text, question.attribute):
            return cite(question, _complete(question, table, i))
        about = coverage(named, set(index.terms(text)))[0] if named else 0.0
        person = PERSON.search(candidate.text)
        if about < 1.0 or person is None:
            continue
        subject = person.group()
        if attribute_values(candidate.text, question.attribute):
            return cite(question, _complete(question, table, i))
        given = [(name, values) for name, values in
                 (("E-Mail", attribute_values(candidate.text, "email")),
                  ("Telefon", attribute_values(candidate.text, "phone"))) if values]
        if not given:
            return refusal(question, table.hits, f"{wanted} von {subject} ist in den Dokumenten nicht angegeben.")
        name, values = given[0]
        chunk = table.hits[candidate.hit].chunk
        citation = cite(question, [Choice(candidate, chunk)]).citations[0]
        at = chunk.text.find(values[0], candidate.unit.start - chunk.start)
        offered = ((at, at + len(values[0])),)  # what the answer quotes: the detail that is given
        text = f"{wanted} von {subject} ist in den Dokumenten nicht angegeben; {name}: {values[0]} [1]"
        return Answer(text, True, (replace(citation, highlights=offered, values=offered),),
                      marks=_marks(text, [values[0]]))
    return None


def _complete(question: Question, table: _Table, best: int, note: str = "") -> list[Choice]:
    """The best unit, and the units that complete it (see the module docstring); ``note`` goes
    after the first unit's citation."""
    candidate = table.candidates[best]
    chunk = table.hits[candidate.hit].chunk
    texts = chunk.unit_texts()
    chosen = [candidate.index]
    if (question.wants_list and BULLET.match(candidate.text)) or _introduces_list(candidate.text, texts,
                                                                                   candidate.index):
        following = candidate.index + 1
        while following < len(texts) and BULLET.match(texts[following]) and len(chosen) < MAX_UNITS:
            chosen.append(following)
            following += 1
    elif (candidate.index > 0 and REFERS_BACK.match(candidate.text) and not answer_values(candidate.text, question.kind)
          and answer_values(texts[candidate.index - 1], question.kind)):
        chosen.insert(0, candidate.index - 1)  # "Dennoch gelang es ihnen, ..." after the sentence naming them
    following = candidate.index + 1
    if (question.kind == "person" and not PERSON.search(candidate.text) and following < len(texts)
            and following not in chosen and is_contact(texts[following]) and PERSON.search(texts[following])):
        chosen.append(following)  # "Pressekontakte – Melden Sie sich gerne bei uns!" and the contacts below
    choices = [Choice(Candidate(candidate.hit, chunk.units[i], texts[i], "", 0.0, index=i), chunk,
                      note if i == candidate.index else "") for i in chosen]
    if question.kind in ("person", "contact") and not (EMAIL.search(candidate.text) or is_contact(candidate.text)):
        person = PERSON.search(candidate.text)
        for other in table.order:
            extra = table.candidates[other]
            if person and extra is not candidate and is_contact(extra.text) and person.group() in extra.text:
                choices.append(Choice(extra, table.hits[extra.hit].chunk))
                break
    return choices


def _introduces_list(text: str, texts: Sequence[str], index: int) -> bool:
    """A unit that stops short ("..., dass sie gemeinsam", "Dazu gehören:") with list items after it."""
    stripped = text.rstrip()
    return (index + 1 < len(texts) and bool(BULLET.match(texts[index + 1]))
            and not stripped.endswith((".", "!", "?", "…")))


def cite(question: Question, choices: Sequence[Choice]) -> Answer:
    """Answer text, a line per unit followed by [n]; passages numbered in order of first use; the
    asked values marked in the answer and in the sources."""
    numbers: dict[str, int] = {}
    chunks: dict[str, Chunk] = {}
    highlights: dict[str, list[tuple[int, int]]] = {}
    values: dict[str, list[tuple[int, int]]] = {}
    lines = []
    for choice in choices:
        chunk = choice.chunk
        n = numbers.setdefault(chunk.id, len(numbers) + 1)
        chunks[chunk.id] = chunk
        unit = choice.candidate.unit
        line, spans = answer_text(chunk, unit, question)
        highlights.setdefault(chunk.id, []).extend(spans)
        for start, end in spans:
            shown = chunk.text[start:end]
            for value in _asked_values(shown, question):
                at = start + shown.find(value)
                values.setdefault(chunk.id, []).append((at, at + len(value)))
        lines.append(f"{line} [{n}]{choice.note}")
    text = "\n".join(lines)
    citations = tuple(Citation(n, chunks[chunk_id], tuple(sorted(set(highlights[chunk_id]))),
                               tuple(sorted(set(values.get(chunk_id, ())))))
                      for chunk_id, n in numbers.items())
    marked = [chunks[chunk_id].text[a:b] for chunk_id, spans in values.items() for a, b in spans]
    return Answer(text, True, citations, marks=_marks(text, marked))


def _asked_values(text: str, question: Question) -> list[str]:
    if question.attribute:
        return attribute_values(text, question.attribute)
    if question.kind in ("date", "number", "contact"):
        return answer_values(text, question.kind)
    return []


def _marks(text: str, found: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Where in ``text`` the values are (each value's first occurrence, not inside another mark)."""
    spans: list[tuple[int, int]] = []
    for value in dict.fromkeys(" ".join(v.split()) for v in found):
        start = text.find(value)
        if start >= 0 and not any(a < start + len(value) and start < b for a, b in spans):
            spans.append((start, start + len(value)))
    return tuple(sorted(spans))


def answer_text(chunk: Chunk, unit: Unit, question: Question | None = None) -> tuple[str, list[tuple[int, int]]]:
    """A unit on one line as the answer shows it, and the spans of ``chunk.text`` it shows: lines
    wrapped inside a sentence joined by a space, heading and contact lines by " – ", Markdown links
    as their text; of a contact block that lists several people, only the lines of the one asked
    about."""
    text = chunk.unit_text(unit)
    offset = unit.start - chunk.start
    parts = []
    for block in blocks(text):
        part = " ".join(text[block.start:block.end].split())
        parts.append((part, is_heading(part) or is_contact(part), (offset + block.start, offset + block.end)))
    if question is not None and sum(bool(PERSON.search(p) and is_contact(p)) for p, _, _ in parts) > 1:
        asked = [p for p, _, _ in parts if is_contact(p) and _names_asked(p, question)]
        if asked:
            parts = [part for part in parts if not is_contact(part[0]) or part[0] in asked]
    result = parts[0][0] if parts else ""
    for (previous, label, _), (part, _, _) in zip(parts, parts[1:]):
        result += (" – " if label else " ") + part
    shown = MARKDOWN_LINK.sub(r"\1", result).rstrip(",;")  # a caption entry keeps its separator
    spans: list[tuple[int, int]] = []
    for start, end in (span for _, _, span in parts):
        if spans and not chunk.text[spans[-1][1]:start].strip():
            spans[-1] = (spans[-1][0], end)  # lines shown one after the other are one highlight
        else:
            spans.append((start, end))
    return shown, spans


def _names_asked(line: str, question: Question) -> bool:
    person = PERSON.search(line)
    return bool(person) and any(name in question.text for name in person.group().split()[-1:])
