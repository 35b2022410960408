"""The questions with known answers that the answer decision and the verifier learn from, run
through the real pipeline: what ``answer_model.py`` and ``train_verifier.py`` share.

* The German XQuAD dev articles, each in ``VARIANTS`` versions with two of its five paragraphs
  removed (seeded), so that questions about a removed paragraph are near-topic questions the
  remaining text cannot answer, exactly how ``xquad-de-abstain-dev`` was made;
* ``xquad-de-abstain-dev`` itself (scored, and trained on by the decision, cross-validated);
* the questions written for training over the seed documents (``seed-training.jsonl``: contact
  blocks, captions, roles, dates, everyday and English wording, follow-ups), spread over the folds.

For every question the assistant retrieves passages and gathers the candidate units as it does
when answering; each candidate is labelled by whether it holds the gold answer (by the answer's
offset in its paragraph, or by the evidence text). Every learnt figure is cross-validated by
article: ``FOLDS`` folds of articles (the seed questions spread over them); the verifier is
fine-tuned once per ``GROUPS`` pair of folds. The rows are cached under ``benchmarks/.cache``
by a digest of the code that makes them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from common import CACHE, HERE, PROJECT, SHARED

from assistant.answers.answer_model import AnswerModel, Decision
from assistant.answers.answering import candidate_passage, candidates_for
from assistant.answers.features import FEATURES, feature_matrix
from assistant.datatypes import Document
from assistant.documents.loading import read_jsonl
from assistant.evaluation import load_qa
from assistant.index.embedding import load_embedder
from assistant.index.protocol import Index
from assistant.library import Library
from assistant.session import Assistant
from assistant.settings import Settings

FOLDS = 6
GROUPS = ((0, 1), (2, 3), (4, 5))  # the folds each cross-validation verifier is not trained on
VARIANTS = 4  # versions of every article with two paragraphs removed
SEED_TRAINING = HERE / "seed-training.jsonl"
ABSTAIN = SHARED / "xquad-de-abstain-dev"
XQUAD = SHARED / "xquad-de-dev"
WORK = CACHE / "answer-model"


@dataclass(frozen=True)
class Case:
    """A question of a training or test set, and where its answer is."""

    set: str
    article: str
    id: str
    question: str
    answers: tuple[str, ...]  # empty: the corpus does not answer it
    gold: tuple[str, int, int] | None = None  # document, start and end of the answer in it
    evidence: str = ""  # or: text the answering unit contains
    history: tuple[str, ...] = ()  # earlier questions of the conversation


@dataclass
class Rows:
    """The candidates of one case: features, what the verifier reads of each, and labels."""

    case: Case
    matrix: np.ndarray
    passages: list[str]
    labels: np.ndarray
    asked: str  # the question as searched (with a follow-up's subject)


def rows_digest(rows: Sequence[Rows]) -> str:
    """A digest of what the verifier is trained on and reads: the questions, their candidates'
    features, texts and labels. What is kept of the verifier is kept by it, so that a change of code
    that leaves the rows as they are does not ask for hours of training again."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update("\x00".join([row.case.set, row.case.id, row.asked, *row.passages]).encode())
        digest.update(row.matrix.tobytes() + row.labels.tobytes())
    return digest.hexdigest()[:16]


def group_weights(number: int, rows: str, reading: str) -> Path:
    """Where the verifier fine-tuned without ``GROUPS[number]`` is kept, by the digests of the rows
    and of the reading model it started from (``reading_data.reading_digest``)."""
    return WORK / f"verifier-group{number}-{rows}-{reading}.npz"


def oof_logits(rows: str, reading: str) -> Path:
    """Where the out-of-fold verifier logits of every candidate of every question are kept (by the
    same digests as ``group_weights``)."""
    return WORK / f"verifier-logits-{rows}-{reading}.pkl"


def xquad_documents() -> list[Document]:
    return read_jsonl((XQUAD / "corpus.jsonl").read_bytes(), origin="corpus.jsonl")


def xquad_cases(set_name: str, kept: set[str]) -> list[Case]:
    """The XQuAD dev questions against a corpus of the ``kept`` paragraphs: answerable when their
    paragraph is kept; unanswerable when it is not and no kept paragraph holds the answer."""
    relevant = {row["query-id"]: row["corpus-id"] for row in
                csv.DictReader((XQUAD / "qrels.tsv").open(encoding="utf-8"), delimiter="\t")}
    texts = {d.id: " ".join(d.text.split()).casefold() for d in xquad_documents() if d.id in kept}
    cases = []
    for line in (XQUAD / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        query = json.loads(line)
        paragraph = relevant.get(query["_id"])
        if paragraph is None:
            continue
        answers = tuple(query.get("answers") or ())
        article = paragraph.rsplit("_", 1)[0]
        if paragraph in kept:
            start = query["answer_start"][0]
            cases.append(Case(set_name, article, query["_id"], query["text"], answers,
                              (paragraph, start, start + len(answers[0]))))
        elif not any(" ".join(a.split()).casefold() in text for a in answers for text in texts.values()):
            cases.append(Case(set_name, article, query["_id"], query["text"], ()))
    return cases


def abstain_cases() -> list[Case]:
    """``xquad-de-abstain-dev``, with the answers' offsets taken from the XQuAD questions."""
    by_id = {c.id: c for c in xquad_cases("xquad", {d.id for d in xquad_documents()})}
    result = []
    for qa in load_qa(ABSTAIN / "questions.jsonl"):
        known = by_id[qa.id]
        result.append(replace(known, set="abstain", answers=qa.answer_any if qa.evidence is not None else (),
                              gold=known.gold if qa.evidence is not None else None))
    return result


def seed_cases() -> list[Case]:
    """The training questions over the seed documents, spread over the folds."""
    return [Case("seed", f"seed{number % FOLDS}", qa.id, qa.question,
                 (qa.answer_any + qa.answer_all) if qa.evidence is not None else (), evidence=qa.evidence or "",
                 history=qa.history)
            for number, qa in enumerate(load_qa(SEED_TRAINING))]


def folds(articles: Sequence[str]) -> list[set[str]]:
    """``FOLDS`` sets of articles, seeded."""
    ordered = sorted(articles)
    np.random.default_rng(0).shuffle(ordered)
    return [set(ordered[i::FOLDS]) for i in range(FOLDS)]


def placeholder_decision() -> Decision:
    """A decision that answers everything: extraction needs an Assistant, not a decision (the
    earlier turns of follow-up questions are answered by the bundled decision instead, if it loads)."""
    n = len(FEATURES)
    return Decision(AnswerModel(FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 0.0, 0.0))


def extract(assistant: Assistant, cases: Sequence[Case]) -> list[Rows]:
    """Features, passages and labels of every candidate of every case, through the real retrieval."""
    result = []
    for case in cases:
        question, vector, hits = assistant.retrieve(case.question, case.history)
        candidates = candidates_for(question, hits[:assistant.settings.answering.passages], assistant.kb, vector)
        matrix = feature_matrix(question, candidates, hits, assistant.kb, vector)
        if case.evidence:
            wanted = " ".join(case.evidence.split()).casefold()
            labels = np.array([wanted in " ".join(f"{c.unit.context} {c.text}".split()).casefold() for c in candidates],
                              dtype=bool)
        elif case.gold is None:
            labels = np.zeros(len(candidates), dtype=bool)
        else:
            document, start, end = case.gold
            labels = np.array([hits[c.hit].chunk.document == document and c.unit.start <= start and end <= c.unit.end + 1
                               for c in candidates], dtype=bool)
        result.append(Rows(case, matrix, [candidate_passage(c, hits) for c in candidates], labels, question.text))
    return result


def code_version() -> str:
    """A digest of the code that makes the rows, so cached rows are recomputed when it changes."""
    digest = hashlib.sha256()
    for name in ("answers/features.py", "language/questions.py", "language/vocabulary.py", "documents/chunking.py",
                 "language/analysis.py", "language/text.py", "language/spelling.py", "answers/retrieval.py",
                 "answers/answering.py", "answers/verifier.py", "session.py"):
        digest.update((PROJECT / "assistant" / name).read_bytes())
    digest.update(SEED_TRAINING.read_bytes())
    return digest.hexdigest()[:16]


class Workbench:
    """The corpora and assistants of the training questions, built once (the XQuAD index is kept
    under ``benchmarks/.cache``), and the rows of every case."""

    def __init__(self, settings: Settings | None = None):
        # Extraction needs no verifier: the rows hold what it would read.
        self.settings = (settings or Settings()).replace(answering={"verifier": False})
        embedding = self.settings.embedding
        self.embedder = load_embedder(embedding.model, embedding.batch_size, embedding.threads)
        self.documents = xquad_documents()
        self.library = Library(self.settings.replace(index_dir=WORK / "xquad", keep_versions=1))
        self.full = self.library.open(self.embedder, lambda: self.documents, progress=True)
        try:
            self.decision = Decision.load(features=FEATURES)
        except Exception:  # noqa: BLE001 - a stale bundled model: follow-ups' earlier turns then answer anything
            self.decision = placeholder_decision()

    def assistant(self, kb: Index, decision: Decision | None = None, verifier=None) -> Assistant:
        return Assistant(self.settings.replace(answering={"verifier": verifier is not None}), kb, self.embedder,
                         decision or self.decision, verifier)

    def over(self, kept: Sequence[Document]) -> Index:
        return self.library.index_in_memory(kept, self.embedder, previous=self.full)  # every vector is known

    @cached_property
    def by_article(self) -> dict[str, list[Document]]:
        result: dict[str, list[Document]] = {}
        for document in self.documents:
            result.setdefault(document.id.rsplit("_", 1)[0], []).append(document)
        return result

    @cached_property
    def abstain_index(self) -> Index:
        return self.over(read_jsonl((ABSTAIN / "corpus.jsonl").read_bytes(), origin="corpus.jsonl"))

    @cached_property
    def seed_index(self) -> Index:
        return Library(self.settings.replace(corpus_dir=PROJECT / "corpus", index_dir=WORK / "seed",
                                             keep_versions=1)).open(self.embedder)

    @cached_property
    def articles(self) -> list[str]:
        return list(self.by_article) + [f"seed{i}" for i in range(FOLDS)]

    @cached_property
    def digest(self) -> str:
        return rows_digest([row for rows in self.rows for row in rows])

    @cached_property
    def rows(self) -> tuple[list[Rows], list[Rows], list[Rows]]:
        """(training variants, xquad-de-abstain-dev, seed questions), cached by ``code_version``."""
        cached = WORK / f"rows-{code_version()}.pkl"
        if cached.is_file():
            return pickle.loads(cached.read_bytes())
        training: list[Rows] = []
        for variant in range(VARIANTS):
            random = np.random.default_rng(100 + variant)
            removed = {d.id for group in self.by_article.values() for d in random.choice(group, 2, replace=False)}
            kept = [d for d in self.documents if d.id not in removed]
            training += extract(self.assistant(self.over(kept)), xquad_cases(f"variant{variant}", {d.id for d in kept}))
            print(f"variant {variant}: {len(training)} questions so far", flush=True)
        result = (training, extract(self.assistant(self.abstain_index), abstain_cases()),
                  extract(self.assistant(self.seed_index), seed_cases()))
        WORK.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps(result))
        return result
