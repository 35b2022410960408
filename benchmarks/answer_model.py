"""Learn the answer decision and measure it, cross-validated by article.

Training questions come with known answers: the German XQuAD dev articles, each in several
versions with two of its five paragraphs removed (seeded), so that questions about a removed
paragraph are near-topic questions the remaining text cannot answer, exactly how
``xquad-de-abstain-dev`` was made; and the official ``xquad-de-abstain-dev`` itself. For every
question the real pipeline runs (retrieval, candidate units, ``features.py``), and each candidate
is labelled by whether it holds the gold answer (by the answer's offset in its paragraph).

A logistic regression is fitted and scored by article: six folds of four articles, so no question
is ever scored by a model that saw its article. The out-of-fold probabilities give the curve of
answer_hit against false answers on ``xquad-de-abstain-dev``; the threshold is the one with the
most answer_hit among those that refuse at least 90 % of its unanswerable questions (a wrong
answer with a citation is the worst outcome). At that threshold each fold's model then answers
its held-out questions through the whole assistant (``Assistant.ask``), which gives the table in
the README. The model fitted on all articles is written to ``assistant/answers/models/answer-model.json``.

    python benchmarks/answer_model.py        # needs the bench extras (scikit-learn, matplotlib)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import pickle
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from common import CACHE, HERE, PROJECT, SHARED, table, write_result

from assistant.answers.answer_model import BUNDLED, AnswerModel
from assistant.answers.answering import candidates_for
from assistant.answers.features import FEATURES, Candidate, feature_matrix
from assistant.datatypes import Document
from assistant.documents.loading import read_jsonl
from assistant.evaluation import contains_answer, load_qa
from assistant.index.embedding import load_embedder
from assistant.language.questions import Question
from assistant.library import Library
from assistant.session import Assistant, ChatSession
from assistant.settings import Settings

FOLDS = 6
VARIANTS = 4  # versions of every article with two paragraphs removed
# Questions written for training over the seed documents (their styles: contact blocks, captions,
# roles), weighted so that they count about as much as the XQuAD questions together. The dev
# questions of initiatives-qa-dev.jsonl and unanswerable-dev.jsonl are never trained on.
SEED_TRAINING = HERE / "seed-training.jsonl"
SEED_WEIGHT = 10.0
MIN_REFUSED = 0.9
ABSTAIN = SHARED / "xquad-de-abstain-dev"
XQUAD = SHARED / "xquad-de-dev"
CURVE = HERE / "results" / "answer-model.png"


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


@dataclass
class Rows:
    """The candidates of one case: features, labels, and the question's answers."""

    case: Case
    question: Question
    candidates: list[Candidate]
    matrix: np.ndarray
    labels: np.ndarray


def placeholder_model() -> AnswerModel:
    """A model that answers everything: extraction needs an Assistant, not a decision."""
    n = len(FEATURES)
    return AnswerModel(FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 0.0, 0.0)


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
                 (qa.answer_any + qa.answer_all) if qa.evidence is not None else (), evidence=qa.evidence or "")
            for number, qa in enumerate(load_qa(SEED_TRAINING))]


def extract(assistant: Assistant, cases: Sequence[Case]) -> list[Rows]:
    """Features and labels of every candidate of every case, through the real retrieval."""
    result = []
    for case in cases:
        question, vector, hits = assistant.retrieve(case.question)
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
        result.append(Rows(case, question, candidates, matrix, labels))
    return result


def code_version() -> str:
    """A digest of the code that makes features, so cached features are recomputed when it changes."""
    digest = hashlib.sha256()
    for name in ("answers/features.py", "language/questions.py", "language/vocabulary.py", "documents/chunking.py",
                 "language/analysis.py", "language/text.py", "answers/retrieval.py", "answers/answering.py"):
        digest.update((PROJECT / "assistant" / name).read_bytes())
    digest.update(SEED_TRAINING.read_bytes())
    return digest.hexdigest()[:16]


def fit(rows: Sequence[Rows], threshold: float = 0.5, about: str = "") -> AnswerModel:
    from sklearn.linear_model import LogisticRegression

    matrix = np.vstack([r.matrix for r in rows if len(r.matrix)])
    labels = np.concatenate([r.labels for r in rows if len(r.matrix)])
    weights = np.concatenate([np.full(len(r.matrix), SEED_WEIGHT if r.case.set == "seed" else 1.0)
                              for r in rows if len(r.matrix)])
    mean, scale = matrix.mean(axis=0), matrix.std(axis=0)
    scale[scale == 0] = 1.0
    regression = LogisticRegression(C=1.0, max_iter=5000).fit((matrix - mean) / scale, labels, sample_weight=weights)
    return AnswerModel(FEATURES, mean, scale, regression.coef_[0], float(regression.intercept_[0]), threshold, about)


def folds(articles: Sequence[str]) -> list[set[str]]:
    ordered = sorted(articles)
    np.random.default_rng(0).shuffle(ordered)
    return [set(ordered[i::FOLDS]) for i in range(FOLDS)]


def curve(scores: dict[str, tuple[float, bool]], cases: Sequence[Case]) -> list[tuple[float, float, float]]:
    """(threshold, answer_hit, refused) for thresholds 0.00 ... 1.00, from each question's best
    candidate probability and whether that candidate holds the answer."""
    answerable = [scores[c.id] for c in cases if c.answers]
    unanswerable = [scores[c.id][0] for c in cases if not c.answers]
    return [(t, float(np.mean([p >= t and right for p, right in answerable])),
             float(np.mean([p < t for p in unanswerable]))) for t in np.round(np.linspace(0, 1, 101), 2)]


def score_answers(assistant: Assistant, cases: Sequence[Case]) -> list[dict]:
    rows = []
    for case in cases:
        answer = ChatSession(assistant).ask(case.question)
        rows.append({"id": case.id, "answerable": bool(case.answers), "answered": answer.answered,
                     "hit": bool(case.answers) and answer.answered and contains_answer(answer.text, case.answers),
                     "length": len(answer.text), "answer": answer.text})
    return rows


def totals(rows: Sequence[dict]) -> dict[str, float]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    return {"questions": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "answer_hit": round(float(np.mean([r["hit"] for r in answerable])), 3),
            "refused": round(float(np.mean([not r["answered"] for r in unanswerable])), 3),
            "false_answers": sum(r["answered"] for r in unanswerable),
            "median_answer_chars": statistics.median([r["length"] for r in answerable if r["answered"]] or [0])}


def plot(points: list[tuple[float, float, float]], chosen: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4.2), dpi=110)
    axes.plot([1 - r for _, _, r in points], [h for _, h, _ in points], color="#1f4e79", marker=".", markersize=3)
    t, hit, refused = next(p for p in points if p[0] == chosen)
    axes.scatter([1 - refused], [hit], color="#b00020", zorder=3, label=f"Schwelle {t:.2f}: {hit:.3f} / {refused:.3f}")
    axes.axvline(1 - MIN_REFUSED, color="#777777", linestyle="--", linewidth=1, label="10 % falsche Antworten")
    axes.set_xlabel("Anteil falscher Antworten (unbeantwortbare Fragen beantwortet)")
    axes.set_ylabel("answer_hit (beantwortbare Fragen)")
    axes.set_title("xquad-de-abstain-dev, nach Artikeln kreuzvalidiert")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(exist_ok=True)
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BUNDLED, help="where to write the model")
    args = parser.parse_args()

    settings = Settings()
    embedder = load_embedder(settings.embedding.model, settings.embedding.batch_size, settings.embedding.threads)
    documents = xquad_documents()
    library = Library(settings.replace(index_dir=CACHE / "answer-model" / "xquad", keep_versions=1))
    full = library.open(embedder, lambda: documents, progress=True)
    placeholder = placeholder_model()

    def assistant_over(kept: Sequence[Document]) -> Assistant:
        kb = library.index_in_memory(kept, embedder, previous=full)  # every vector is known
        return Assistant(settings, kb, embedder, model=placeholder)

    by_article: dict[str, list[Document]] = {}
    for document in documents:
        by_article.setdefault(document.id.rsplit("_", 1)[0], []).append(document)
    abstain_documents = read_jsonl((ABSTAIN / "corpus.jsonl").read_bytes(), origin="corpus.jsonl")
    abstain_assistant = assistant_over(abstain_documents)
    abstain = abstain_cases()
    seed_kb = Library(settings.replace(corpus_dir=PROJECT / "corpus", index_dir=CACHE / "answer-model" / "seed",
                                       keep_versions=1)).open(embedder)
    seed_assistant = Assistant(settings, seed_kb, embedder, model=placeholder)
    seed = seed_cases()
    cached = CACHE / "answer-model" / f"rows-{code_version()}.pkl"
    if cached.is_file():
        training, abstain_rows, seed_rows = pickle.loads(cached.read_bytes())
    else:
        training = []
        for variant in range(VARIANTS):
            random = np.random.default_rng(100 + variant)
            removed = {d.id for group in by_article.values() for d in random.choice(group, 2, replace=False)}
            kept = [d for d in documents if d.id not in removed]
            training += extract(assistant_over(kept), xquad_cases(f"variant{variant}", {d.id for d in kept}))
            print(f"variant {variant}: {len(training)} questions so far", flush=True)
        abstain_rows = extract(abstain_assistant, abstain)
        seed_rows = extract(seed_assistant, seed)
        cached.write_bytes(pickle.dumps((training, abstain_rows, seed_rows)))

    scores: dict[str, tuple[float, bool]] = {}
    fold_models = []
    everything = training + abstain_rows + seed_rows
    for held_out in folds(list(by_article) + [f"seed{i}" for i in range(FOLDS)]):
        model = fit([r for r in everything if r.case.article not in held_out])
        fold_models.append((held_out, model))
        for rows in abstain_rows:
            if rows.case.article in held_out:
                probabilities = model.probabilities(rows.matrix)
                best = int(np.argmax(probabilities)) if len(probabilities) else -1
                scores[rows.case.id] = (float(probabilities[best]) if best >= 0 else 0.0,
                                        bool(rows.labels[best]) if best >= 0 else False)
    points = curve(scores, abstain)
    eligible = [p for p in points if p[2] >= MIN_REFUSED]
    threshold = max(eligible, key=lambda p: (p[1], -p[0]))[0]

    answered_rows, seed_answers = [], []
    for held_out, model in fold_models:
        fold_model = replace(model, threshold=threshold)
        fold_assistant = Assistant(settings, abstain_assistant.kb, embedder, model=fold_model)
        answered_rows += score_answers(fold_assistant, [c for c in abstain if c.article in held_out])
        seed_answers += score_answers(Assistant(settings, seed_kb, embedder, model=fold_model),
                                      [c for c in seed if c.article in held_out])
    cross_validated = totals(answered_rows)
    seed_cross_validated = totals(seed_answers)

    about = (f"python benchmarks/answer_model.py, {date.today().isoformat()}: logistic regression on "
             f"{sum(len(r.matrix) for r in everything)} candidates of {len(everything)} questions (xquad-de-dev "
             f"articles in {VARIANTS} versions with two of five paragraphs removed, xquad-de-abstain-dev, and "
             f"{SEED_TRAINING.name} over the seed documents); threshold from the curve "
             f"cross-validated by article (at least {MIN_REFUSED:.0%} of unanswerable questions refused)")
    final = fit(everything, threshold, about)
    final.save(args.output)
    plot(points, threshold, CURVE)

    weights = sorted(zip(FEATURES, final.coef), key=lambda item: -abs(item[1]))
    text = "\n".join([
        f"xquad-de-abstain-dev, cross-validated by article ({FOLDS} folds), threshold {threshold:.2f}:", "",
        table(list(cross_validated), [list(cross_validated.values())]), "",
        f"{SEED_TRAINING.name} (training questions over the seed documents), cross-validated:", "",
        table(list(seed_cross_validated), [list(seed_cross_validated.values())]), "",
        "Curve (out-of-fold, best candidate): threshold, answer_hit, share of unanswerable refused", "",
        table(["threshold", "answer_hit", "refused"], [(f"{t:.2f}", f"{h:.3f}", f"{r:.3f}") for t, h, r in points[::5]]),
        "", "Largest weights (standardised features):", "",
        table(["feature", "weight"], [(name, f"{weight:+.2f}") for name, weight in weights[:12]]),
    ])
    write_result("answer_model", {"threshold": threshold, "cross_validated": cross_validated,
                                  "seed_cross_validated": seed_cross_validated, "curve": points,
                                  "answers": answered_rows, "seed_answers": seed_answers}, text)
    print(f"\nmodel written to {args.output.relative_to(PROJECT) if args.output.is_relative_to(PROJECT) else args.output}")


if __name__ == "__main__":
    main()
