"""Why an answer came out as it did: the trace staff read (``ask --explain``, the admin tab's
"Warum?", ``POST /api/explain``, ``eval qa --explain-failures``).

One code path: ``compose_answer`` takes a ``TraceRecorder`` and writes down what it computes
anyway (the candidates, the ranking model's probabilities, the verifier's logits and the verified
stage's probabilities, the stage and threshold that decided, the rules that fired): references to
what it has computed, nothing more, so a recorder costs nothing and changes nothing (without one,
it writes into a throwaway one). ``explanation`` then adds what staff need beside it, computed
from the same question, passages and index: the BM25 and vector scores of each passage, which of
the question's content words each passage holds and which no document holds at all, and the
features that moved each candidate most (``coef * (x - mean) / scale`` of the model that decided).
All records are frozen dataclasses; ``Explanation.to_dict`` is the JSON, and
``Explanation.sections`` the German text, the same lines for the terminal and the admin tab.

Which stage is the cause, in this order (simple on purpose, so that staff can follow it):

1. **Frage** – the question holds no word at all (nothing was searched).
2. **Regel – fehlende Angabe** – asked for someone's phone number or e-mail address, the documents
   name the person without it ("Eine Telefonnummer von X ist in den Dokumenten nicht angegeben").
3. For a refusal, **Retrieval** when the passages cannot hold the answer: none was found; the
   question has no content word to search for; a name or noun of the question stands in no
   document at all (a gap in the corpus: add a document, or a synonym); or no passage holds at
   least ``FOUND_SHARE`` of the question's content words (idf-weighted, as the features count
   them). English questions are not matched word by word: for them only their names and numbers
   count, which are written alike in both languages.
4. **Regel – Art der Angabe** – the passages were found, but no unit holds what the question asks
   for (no date for "wann", no number for "wie viele"), so there was nothing to decide on.
5. **Regel – neueres Dokument** – answered after documents disagreed: the newer one's value is shown.
6. **Regel – Kontaktangabe** – asked for a contact detail, the unit that gives it was taken below
   the threshold because it is about the person asked for.
7. **Antwortmodell** otherwise: passages found, and the best candidate's probability reached the
   threshold (answered) or stayed below it (refused; a model error if the passage says it).

With a language model configured, the rule "Sprachmodell" says that it phrased the answer: the
stages before it decided whether to answer (``Assistant.explain`` runs it as ``ask`` does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..datatypes import Answer, Chunk, Hit, Unit, german_date
from ..documents.chunking import BULLET, is_contact
from ..index.protocol import Index
from ..language.questions import ATTRIBUTE_NAMES, STRICT_KINDS, Question
from ..language.text import one_line
from .answer_model import VERIFIER_FEATURES, AnswerModel, verifier_columns
from .features import FEATURES, Candidate, QueryTerm, coverage, gather_candidates, query_terms

FOUND_SHARE = 0.5  # a passage holding this share of the question's content words counts as found
SHOWN_CANDIDATES = 5  # the best candidates shown (and every one the answer shows)
SHOWN_EFFECTS = 3  # the features that moved a candidate most
TEXT_CHARS = 220  # of a passage or unit shown in the trace

# Rules compose_answer records (``TraceRecorder.rule``).
ATTRIBUTE = "attribute"  # a contact detail asked for by name: _attribute_answer decided
NEWER = "newer"  # documents disagreed: the newer one's value was taken

STAGES = {"verified": "Antwortmodell mit Prüfmodell (Merkmale und Verifier)",
          "ranking": "Antwortmodell (nur Merkmale; ohne Prüfmodell)",
          "english": "Ähnlichkeit (englische Frage: kein Wortabgleich)"}
KINDS = {"date": "Datum", "number": "Anzahl", "cost": "Betrag", "person": "Person", "contact": "Kontakt",
         "place": "Ort", "other": "Sonstiges"}
WANTED = {"date": "ein Datum", "number": "eine Zahl", "cost": "einen Betrag", "contact": "eine Kontaktangabe"}
LANGUAGES = {"de": "Deutsch", "en": "Englisch"}
ATTRIBUTES = {"email": "E-Mail-Adresse", "phone": "Telefonnummer"}


class TraceRecorder:
    """What ``compose_answer`` computed for one question, written down as it goes."""

    def __init__(self) -> None:
        self.question: Question | None = None
        self.query_vector: np.ndarray | None = None
        self.hits: list[Hit] = []
        self.candidates: list[Candidate] = []
        self.matrix: np.ndarray | None = None
        self.ranking: np.ndarray | None = None  # the ranking model's probability per candidate
        self.ranking_model: AnswerModel | None = None
        self.judged: list[int] = []  # the candidates the verifier read
        self.logits: np.ndarray | None = None
        self.verified: np.ndarray | None = None  # the verified stage's probability per candidate
        self.verified_model: AnswerModel | None = None
        self.similarity: np.ndarray | None = None  # English questions: what decides
        self.stage = ""
        self.threshold: float | None = None
        self.rules: list[str] = []

    def found(self, question: Question, hits: Sequence[Hit], query_vector: np.ndarray,
              candidates: Sequence[Candidate]) -> None:
        self.question, self.hits, self.query_vector = question, list(hits), query_vector
        self.candidates = list(candidates)

    def ranked(self, matrix: np.ndarray, probabilities: np.ndarray, model: AnswerModel) -> None:
        self.matrix, self.ranking, self.ranking_model = matrix, probabilities, model

    def english(self, matrix: np.ndarray, similarity: np.ndarray) -> None:
        self.matrix, self.similarity = matrix, similarity

    def read_by_verifier(self, judged: Sequence[int], logits: np.ndarray) -> None:
        self.judged, self.logits = [int(i) for i in judged], np.asarray(logits, dtype=np.float64)

    def judged_verified(self, probabilities: np.ndarray, model: AnswerModel) -> None:
        self.verified, self.verified_model = probabilities, model

    def decided(self, stage: str, threshold: float) -> None:
        self.stage, self.threshold = stage, float(threshold)

    def rule(self, name: str) -> None:
        self.rules.append(name)


# -- the records -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnderstoodQuestion:
    """The question as the assistant read it."""

    typed: str  # as sent
    cleaned: str  # without control characters, cut to 500 characters
    spelled: str  # with the documents' spelling
    searched: str  # what was searched: with the subject of earlier turns for a follow-up
    kind: str  # "date", "number", "cost", "person", "contact", "place", "other"
    language: str
    attribute: str = ""  # "email" or "phone" when that detail of a named person is asked for
    wants_list: bool = False
    follow_up: str = ""  # the subject taken from earlier turns ("" when none)
    spelling: tuple[tuple[str, str], ...] = ()  # (as typed, as the documents spell it)
    shortened: bool = False


@dataclass(frozen=True)
class TermTrace:
    """A content word of the question."""

    word: str
    weight: float  # idf: rarer words count more
    name: bool  # a name or number ("RuhrFutur", "2018")
    noun: bool
    in_corpus: bool  # some document holds it
    in_passages: bool  # some passage found holds it


@dataclass(frozen=True)
class PassageTrace:
    rank: int
    document: str
    title: str
    date: str
    page: int | None
    chunk: str
    fused: float  # the score retrieval ranked by
    bm25: float | None
    bm25_rank: int | None  # None: BM25 did not propose it
    vector: float | None  # cosine similarity
    vector_rank: int | None
    share: float  # idf-weighted share of the question's content words it holds
    holds: tuple[str, ...]  # the content words it holds
    lacks: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class FeatureEffect:
    name: str
    value: float
    effect: float  # on the logit: coef * (value - mean) / scale


@dataclass(frozen=True)
class CandidateTrace:
    passage: int  # rank of its passage
    text: str
    probability: float | None  # what was compared with the threshold (None: not judged)
    ranking: float | None = None  # the ranking model's probability
    verifier: float | None = None  # the verifier's logit, for the candidates it read
    similarity: float | None = None
    effects: tuple[FeatureEffect, ...] = ()
    shown: bool = False  # the answer shows it


@dataclass(frozen=True)
class Rule:
    name: str
    text: str


@dataclass(frozen=True)
class Verdict:
    stage: str  # "Frage", "Retrieval", "Antwortmodell", "Regeln"
    ok: bool
    text: str


@dataclass(frozen=True)
class Section:
    """A stage of the trace as German lines, for the terminal and the admin tab."""

    title: str
    lines: tuple[str, ...]
    verdict: str


@dataclass(frozen=True)
class Explanation:
    question: UnderstoodQuestion
    answer: str
    decision: str  # "beantwortet" or "abgelehnt"
    cause: str  # "Retrieval", "Antwortmodell", "Regel – …", "Frage"
    terms: tuple[TermTrace, ...] = ()
    absent_terms: tuple[str, ...] = ()  # content words no document holds: a gap in the corpus
    passages: tuple[PassageTrace, ...] = ()
    candidates: tuple[CandidateTrace, ...] = ()  # the best SHOWN_CANDIDATES and those the answer shows
    candidate_count: int = 0
    units_without_kind: int = 0  # units of the passages left out: no value of the asked kind, no role
    stage: str = ""  # "verified", "ranking" or "english"; "" when nothing was decided
    threshold: float | None = None
    rules: tuple[Rule, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    settings: dict[str, object] = field(default_factory=dict)  # what shaped it (no secrets)

    @property
    def summary(self) -> str:
        return f"Entscheidung: {self.decision} – Ursache: {self.cause}"

    def to_dict(self) -> dict[str, object]:
        """The JSON object (``ask --explain --json``, ``/api/explain``), with the German sections."""
        return {**asdict(self), "summary": self.summary, "sections": [asdict(s) for s in self.sections()]}

    def sections(self) -> tuple[Section, ...]:
        """The trace in German, a section per stage, each ending with its verdict."""
        verdict = {v.stage: ("ok – " if v.ok else "NICHT ok – ") + v.text for v in self.verdicts}
        return (Section("Frage", tuple(self._question_lines()), verdict.get("Frage", "")),
                Section("Retrieval", tuple(self._retrieval_lines()), verdict.get("Retrieval", "")),
                Section("Antwortentscheidung", tuple(self._decision_lines()), verdict.get("Antwortmodell", "")),
                Section("Regeln", tuple(f"{rule.name}: {rule.text}" for rule in self.rules) or ("keine",),
                        verdict.get("Regeln", "")))

    def text(self) -> str:
        """The trace as plain text for a terminal, ending with the decision."""
        lines = []
        for section in self.sections():
            lines.append(f"== {section.title} ==")
            lines += [f"  {line}" for line in section.lines]
            if section.verdict:
                lines.append(f"  Urteil: {section.verdict}")
        lines.append(self.summary)
        return "\n".join(lines) + "\n"

    def _question_lines(self) -> list[str]:
        q = self.question
        lines = [f"Eingabe: „{q.typed}“"]
        if q.cleaned != q.typed:
            lines.append(f"Bereinigt: „{q.cleaned}“" + (" (auf 500 Zeichen gekürzt)" if q.shortened else ""))
        if q.spelling:
            lines.append("Schreibweise der Dokumente: " + ", ".join(f"„{a}“ → „{b}“" for a, b in q.spelling))
        if q.follow_up:
            lines.append(f"Folgefrage: Thema aus früheren Runden „{q.follow_up}“")
        lines.append(f"Gesucht: „{q.searched}“")
        asked = f"Art: {KINDS.get(q.kind, q.kind)} · Sprache: {LANGUAGES.get(q.language, q.language)}"
        if q.attribute:
            asked += f" · gefragte Angabe: {ATTRIBUTES.get(q.attribute, q.attribute)}"
        if q.wants_list:
            asked += " · mehrere Dinge gefragt (Liste)"
        return [*lines, asked]

    def _retrieval_lines(self) -> list[str]:
        lines = []
        if self.terms:
            lines.append("Inhaltswörter der Frage: " + ", ".join(
                f"{t.word} ({'Name' if t.name else 'Nomen' if t.noun else 'Wort'}, idf {t.weight:.2f}"
                f"{'' if t.in_corpus else ', in keinem Dokument'})" for t in self.terms))
        if self.absent_terms:
            lines.append("In keinem Dokument (Lücke im Korpus, keine Einstellung): "
                         + ", ".join(f"„{word}“" for word in self.absent_terms))
        if self.settings:
            lines.append(f"Suche: {self.settings.get('fusion')}, {len(self.passages)} Passagen "
                         f"(answering.passages = {self.settings.get('passages')})")
        for p in self.passages:
            where = ", ".join(x for x in (p.title or p.document, german_date(p.date),
                                          f"S. {p.page}" if p.page else "") if x)
            bm25 = f"BM25 {p.bm25:.3f} (Rang {p.bm25_rank or '–'})" if p.bm25 is not None else "BM25 –"
            vector = f"Vektor {p.vector:.3f} (Rang {p.vector_rank or '–'})" if p.vector is not None else "Vektor –"
            lines.append(f"{p.rank}. {where} [{p.document}] – fusioniert {p.fused:.3f} · {bm25} · {vector}")
            lines.append(f"   enthält {_percent(p.share)} der Wörter: {', '.join(p.holds) or '–'}"
                         + (f"; fehlt: {', '.join(p.lacks)}" if p.lacks else ""))
            lines.append(f"   „{p.text}“")
        return lines or ["keine Passage gefunden"]

    def _decision_lines(self) -> list[str]:
        if not self.stage:
            left = f" ({self.units_without_kind} Einheiten ohne die gefragte Angabe ausgeschieden)"
            return [f"keine Kandidaten{left if self.units_without_kind else ''}; nichts zu entscheiden"]
        threshold = f"Schwelle {self.threshold:.3f}" if self.threshold is not None else "keine Schwelle"
        lines = [f"Stufe: {STAGES.get(self.stage, self.stage)}; {threshold}",
                 f"{self.candidate_count} {'Einheit' if self.candidate_count == 1 else 'Einheiten'} als Kandidaten"
                 + (f" ({self.units_without_kind} ohne die gefragte Angabe ausgeschieden)"
                    if self.units_without_kind else "")]
        for number, c in enumerate(self.candidates, start=1):
            measured = ([f"p = {c.probability:.3f}"] if c.probability is not None
                        else [] if self.stage == "english" else ["nicht geprüft"])
            if c.ranking is not None and self.stage == "verified":
                measured.append(f"Rangmodell {c.ranking:.3f}")
            if c.verifier is not None:
                measured.append(f"Verifier-Logit {c.verifier:+.2f}")
            if c.similarity is not None:
                measured.append(f"Ähnlichkeit {c.similarity:.3f}")
            lines.append(f"{number}. {' · '.join(measured)} [Passage {c.passage}]"
                         f"{' ← in der Antwort' if c.shown else ''}")
            lines.append(f"   „{c.text}“")
            if c.effects:
                lines.append("   bewegt von: " + ", ".join(f"{e.name} = {e.value:.2f} ({e.effect:+.2f})"
                                                          for e in c.effects))
        return lines


# -- the trace, from what compose_answer recorded ------------------------------------------------------

def explanation(understood: UnderstoodQuestion, trace: TraceRecorder, answer: Answer, index: Index,
                settings: dict[str, object] | None = None) -> Explanation:
    """The trace of ``answer``, from what ``compose_answer`` recorded in ``trace`` (empty when the
    question held no word and nothing was searched)."""
    base = {"question": understood, "answer": answer.text, "settings": dict(settings or {}),
            "decision": "beantwortet" if answer.answered else "abgelehnt"}
    question = trace.question
    if question is None:
        verdict = Verdict("Frage", False, "Die Frage enthält kein Wort; nichts wurde gesucht.")
        return Explanation(**base, cause="Frage", verdicts=(verdict,))
    hits = trace.hits
    terms = query_terms(question, index)
    held = [set(index.terms(f"{hit.chunk.meta.title}\n{hit.chunk.text}")) for hit in hits]
    unseen = float(index.term_weights(["\x00"])[0])  # the weight of a term no passage contains
    in_passages = [any(coverage([t], found)[0] > 0 for found in held) for t in terms]
    in_corpus = [found or any(float(index.term_weights(option[:1])[0]) < unseen for option in t.stems)
                 for t, found in zip(terms, in_passages)]
    term_traces = tuple(TermTrace(t.word, _number(t.weight), t.entity, t.noun, c, p)
                        for t, c, p in zip(terms, in_corpus, in_passages))
    absent = tuple(t.word for t, c in zip(terms, in_corpus) if not c)
    passages = tuple(_passages(question, hits, held, terms, index, trace.query_vector))
    gathered = len(gather_candidates(hits, index, trace.query_vector)) if hits else 0
    shown = _shown_units(answer)
    candidates, best = _candidates(trace, shown)
    rules = _rules(question, trace, answer, shown, len(trace.candidates), gathered)
    if answer.answered and base["settings"].get("language_model"):
        rules += (Rule("Sprachmodell", "das Sprachmodell (llm.url) formulierte die Antwort aus den Passagen; "
                                       "entschieden haben die Stufen davor"),)

    retrieval = _retrieval_verdict(question, terms, in_corpus, passages)
    model = _model_verdict(question, trace, best, gathered)
    rule_names = {rule.name for rule in rules}
    if "Fehlende Angabe" in rule_names:
        cause = "Regel – fehlende Angabe"
    elif not answer.answered and not retrieval.ok:
        cause = "Retrieval"
    elif not answer.answered and not trace.candidates:
        cause = "Regel – Art der Angabe" if gathered else "Retrieval"
    elif answer.answered and "Neueres Dokument gewinnt" in rule_names:
        cause = "Regel – neueres Dokument"
    elif answer.answered and "Kontaktangabe der genannten Person" in rule_names:
        cause = "Regel – Kontaktangabe"
    else:
        cause = "Antwortmodell"
    understood_verdict = Verdict("Frage", True, f"verstanden (Art: {KINDS.get(understood.kind, understood.kind)}, "
                                 f"{LANGUAGES.get(understood.language, understood.language)})"
                                 + (f", Folgefrage zu „{understood.follow_up}“" if understood.follow_up else ""))
    # ok: the stage let the answer through (a rule that answers, e.g. with the detail that is given, is ok)
    rules_verdict = Verdict("Regeln", answer.answered or not cause.startswith("Regel"),
                            f"entschieden durch {cause}" if cause.startswith("Regel")
                            else "keine Regel hat entschieden")
    return Explanation(**base, cause=cause, terms=term_traces, absent_terms=absent, passages=passages,
                       candidates=candidates, candidate_count=len(trace.candidates),
                       units_without_kind=max(0, gathered - len(trace.candidates)), stage=trace.stage,
                       threshold=_number(trace.threshold), rules=rules,
                       verdicts=(understood_verdict, retrieval, model, rules_verdict))


def _passages(question: Question, hits: Sequence[Hit], held: Sequence[set[str]], terms: Sequence[QueryTerm],
              index: Index, query_vector: np.ndarray) -> list[PassageTrace]:
    """Each passage with its scores: BM25 of the searched text and the cosine similarity, computed
    for these passages as retrieval computed them for its candidates."""
    positions = [hit.position for hit in hits if hit.position >= 0]
    bm25 = index.lexical_search(question.text, 1, also=positions).scores if positions else {}
    cosine = (dict(zip(positions, index.chunk_similarities(np.asarray(positions, dtype=np.int64),
                                                          np.asarray(query_vector, dtype=np.float32)).tolist()))
              if positions else {})
    result = []
    for rank, (hit, found) in enumerate(zip(hits, held), start=1):
        chunk = hit.chunk
        credit = [coverage([t], found)[0] > 0 for t in terms]
        result.append(PassageTrace(
            rank, chunk.document, chunk.meta.title, chunk.meta.date, chunk.page, chunk.id, _number(hit.score),
            _number(bm25.get(hit.position)), hit.ranks.get("bm25"), _number(cosine.get(hit.position)),
            hit.ranks.get("vector"), _number(coverage(terms, found)[0] if terms else 0.0),
            tuple(t.word for t, c in zip(terms, credit) if c), tuple(t.word for t, c in zip(terms, credit) if not c),
            _short(chunk.text)))
    return result


def _shown_units(answer: Answer) -> list[tuple[Chunk, Unit]]:
    """The units the answer quotes, in the order of their citations."""
    shown: list[tuple[Chunk, Unit]] = []
    for citation in answer.citations:
        chunk = citation.chunk
        for start, end in citation.highlights:
            unit = next((u for u in chunk.units if u.start <= chunk.start + start and chunk.start + end <= u.end), None)
            if unit is not None and (chunk, unit) not in shown:
                shown.append((chunk, unit))
    return shown


def _candidates(trace: TraceRecorder, shown: Sequence[tuple[Chunk, Unit]]) -> tuple[tuple[CandidateTrace, ...],
                                                                                      float | None]:
    """The best candidates by what decided (and those the answer shows), and the best one's value."""
    candidates = trace.candidates
    if not candidates or trace.matrix is None:
        return (), None
    deciding = (trace.verified if trace.verified is not None else
                trace.similarity if trace.similarity is not None else trace.ranking)
    if deciding is None:
        return (), None
    deciding = np.asarray(deciding, dtype=np.float64)
    if trace.stage == "english":  # the similarity decides whether; of the closest, the verifier which
        order = [int(i) for i in np.argsort(-deciding, kind="stable")]
        if trace.logits is not None and trace.logits.size:
            read = [trace.judged[k] for k in np.argsort(-trace.logits, kind="stable").tolist()]
            order = [*read, *(i for i in order if i not in read)]
    else:
        order = [int(i) for i in np.argsort(-deciding, kind="stable")]
    keys = {(trace.hits[c.hit].chunk.id, c.unit.start, c.unit.end): i for i, c in enumerate(candidates)}
    shown_indices = [keys[key] for key in ((chunk.id, unit.start, unit.end) for chunk, unit in shown) if key in keys]
    chosen = list(dict.fromkeys([*order[:SHOWN_CANDIDATES], *shown_indices]))
    logits = dict(zip(trace.judged, trace.logits.tolist())) if trace.logits is not None else {}
    verified_rows = {}
    if trace.verified_model is not None and trace.logits is not None:
        columns = verifier_columns(trace.logits)
        verified_rows = {i: np.concatenate([trace.matrix[i], columns[k]]) for k, i in enumerate(trace.judged)}
    result = []
    for i in chosen:
        candidate = candidates[i]
        if trace.stage == "verified":
            probability = float(deciding[i]) if i in logits else None
            effects = _effects(trace.verified_model, verified_rows[i], (*FEATURES, *VERIFIER_FEATURES)) \
                if i in verified_rows else _effects(trace.ranking_model, trace.matrix[i], FEATURES)
        elif trace.stage == "english":
            probability, effects = None, ()
        else:
            probability = float(deciding[i])
            effects = _effects(trace.ranking_model, trace.matrix[i], FEATURES)
        similarity = float(trace.similarity[i]) if trace.similarity is not None else None
        result.append(CandidateTrace(
            candidate.hit + 1, _short(candidate.text), _number(probability),
            _number(float(trace.ranking[i])) if trace.ranking is not None else None, _number(logits.get(i)),
            _number(similarity if similarity is not None and similarity > -1.0 else None), effects, i in shown_indices))
    best = float(np.max(deciding)) if trace.stage == "english" else float(deciding[order[0]])
    return tuple(result), _number(best)


def _effects(model: AnswerModel | None, row: np.ndarray, names: Sequence[str]) -> tuple[FeatureEffect, ...]:
    """The features that moved this candidate's logit most, away from the model's average candidate."""
    if model is None:
        return ()
    effect = model.coef * (np.asarray(row, dtype=np.float64) - model.mean) / model.scale
    strongest = np.argsort(-np.abs(effect), kind="stable")[:SHOWN_EFFECTS]
    return tuple(FeatureEffect(names[i], _number(float(row[i])), _number(float(effect[i]))) for i in strongest)


def _rules(question: Question, trace: TraceRecorder, answer: Answer, shown: Sequence[tuple[Chunk, Unit]],
           candidates: int, gathered: int) -> tuple[Rule, ...]:
    rules = []
    if gathered > candidates:
        wanted = WANTED.get(question.kind, "die gefragte Rolle")
        rules.append(Rule("Art der Angabe", f"nur Einheiten, die {wanted} enthalten, können antworten: "
                                            f"{gathered - candidates} von {gathered} ausgeschieden"))
    if ATTRIBUTE in trace.rules:
        wanted = ATTRIBUTE_NAMES.get(question.attribute, "")
        if wanted and answer.text.startswith(f"{wanted} von "):
            rules.append(Rule("Fehlende Angabe", answer.text.split(";")[0].rstrip(".") + "."))
        elif answer.answered and _below_threshold(trace, shown):
            rules.append(Rule("Kontaktangabe der genannten Person",
                              f"die Einheit über die gefragte Person nennt die {ATTRIBUTES[question.attribute]}"))
        elif answer.answered:
            rules.append(Rule("Gefragte Angabe", f"die beste Einheit nennt die {ATTRIBUTES[question.attribute]}"))
        else:
            rules.append(Rule("Gefragte Angabe", "keine Einheit nennt die gefragte Person mit einer Kontaktangabe"))
    if NEWER in trace.rules:
        rules.append(Rule("Neueres Dokument gewinnt", "Dokumente nennen verschiedene Werte; die Antwort kommt aus "
                                                      "dem neueren und nennt dessen Stand"))
    if answer.answered and shown:
        main = shown[0]
        extras = [(chunk, unit) for chunk, unit in shown if (chunk, unit) != main]
        if len(shown) == 1:
            rules.append(Rule("Eine Angabe", "die Antwort ist eine Einheit mit ihrer Quellennummer"))
        texts = [chunk.unit_text(unit) for chunk, unit in extras]
        if any(BULLET.match(text) for text in texts):
            rules.append(Rule("Liste vervollständigt", "die Punkte der Liste, die die Einheit einleitet oder zu der "
                                                       "sie gehört, sind angehängt"))
        if any(is_contact(text) and not BULLET.match(text) for text in texts):
            rules.append(Rule("Kontaktblock", "der Kontaktblock der genannten Person ist angehängt"))
        if any(chunk.id == main[0].id and unit.end <= main[1].start and not BULLET.match(chunk.unit_text(unit))
               and not is_contact(chunk.unit_text(unit)) for chunk, unit in extras):
            rules.append(Rule("Rückbezug", "der Satz davor ist angehängt: auf ihn bezieht sich die Einheit "
                                           "(„Er …“, „Dennoch …“)"))
    return tuple(rules)


def _below_threshold(trace: TraceRecorder, shown: Sequence[tuple[Chunk, Unit]]) -> bool:
    """Whether the unit the answer shows first stayed below the threshold of the stage that decided."""
    deciding = trace.verified if trace.verified is not None else trace.ranking
    if deciding is None or trace.threshold is None or not shown:
        return False
    chunk, unit = shown[0]
    for i, candidate in enumerate(trace.candidates):
        if trace.hits[candidate.hit].chunk.id == chunk.id and candidate.unit == unit:
            return float(deciding[i]) < trace.threshold
    return False


def _retrieval_verdict(question: Question, terms: Sequence[QueryTerm], in_corpus: Sequence[bool],
                       passages: Sequence[PassageTrace]) -> Verdict:
    if not passages:
        return Verdict("Retrieval", False, "keine Passage gefunden")
    english = question.language == "en"  # only its names and numbers are written as in the documents
    if not terms and not english:
        return Verdict("Retrieval", False, "die Frage enthält kein Inhaltswort, nach dem gesucht werden kann")
    gaps = [t.word for t, found in zip(terms, in_corpus) if not found and (t.entity or (t.noun and not english))]
    if gaps:
        return Verdict("Retrieval", False, "Lücke im Korpus: " + ", ".join(f"„{w}“" for w in gaps)
                       + (" steht" if len(gaps) == 1 else " stehen") + " in keinem Dokument")
    if english:
        return Verdict("Retrieval", True, f"{len(passages)} Passagen gefunden (englische Frage: kein Wortabgleich "
                                          "mit den deutschen Dokumenten außer Namen und Zahlen)")
    best = max(passages, key=lambda p: p.share)
    if best.share < FOUND_SHARE:
        return Verdict("Retrieval", False, "keine Passage enthält die Wörter der Frage (höchstens "
                                           f"{_percent(best.share)}, gefordert {_percent(FOUND_SHARE)})")
    return Verdict("Retrieval", True, f"Passage {best.rank} enthält {_percent(best.share)} der Wörter der Frage")


def _model_verdict(question: Question, trace: TraceRecorder, best: float | None, gathered: int) -> Verdict:
    if not trace.candidates:
        if gathered and question.kind in STRICT_KINDS:
            text = f"keine Einheit der Passagen enthält {WANTED.get(question.kind, 'die gefragte Angabe')}"
        elif gathered:
            text = "keine Einheit der Passagen nennt die gefragte Rolle"
        else:
            text = "keine Einheiten, über die zu entscheiden wäre"
        return Verdict("Antwortmodell", False, text)
    if best is None or trace.threshold is None:
        return Verdict("Antwortmodell", False, "nicht entschieden")
    measure = "Ähnlichkeit" if trace.stage == "english" else "Wahrscheinlichkeit"
    if trace.stage == "english" and best <= -1.0:
        return Verdict("Antwortmodell", False, "keine Einheit nennt alle Namen und Zahlen der Frage")
    if best >= trace.threshold:
        return Verdict("Antwortmodell", True, f"beste {measure} {best:.3f} ≥ Schwelle {trace.threshold:.3f}")
    return Verdict("Antwortmodell", False, f"beste {measure} {best:.3f} < Schwelle {trace.threshold:.3f}: "
                                           "keine Einheit wurde als Antwort beurteilt")


def _number(value: float | None) -> float | None:
    """Rounded for reading, and None where there is no finite value (JSON has no infinity)."""
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), 4)


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def _short(text: str) -> str:
    line = one_line(text)
    return line if len(line) <= TEXT_CHARS else line[:TEXT_CHARS - 1].rstrip() + "…"
