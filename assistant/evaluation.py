"""Measure retrieval and answers: ``eval beir``, ``eval qa`` and the update's quality check.

Retrieval on BEIR-layout data sets (``corpus.jsonl``, ``queries.jsonl``, ``qrels.tsv``) is scored
at document level: the rank of a question's gold document is the rank of its best chunk. Every
method (BM25 alone, vectors alone, fused) is scored on the same index in one run, so the figures
are comparable. Answers are scored on question files in the format of
``initiatives-qa-dev.jsonl``; ``quality_check`` compares two index versions on such a file.
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .answers.explanation import Explanation
from .answers.retrieval import Retriever, one_per_document
from .datatypes import Document
from .documents.loading import read_jsonl
from .index.embedding import Embedder
from .index.protocol import Index
from .index.updating import QualityCheck, Verdict
from .language.text import text_key
from .session import Assistant
from .settings import Settings


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    answers: tuple[str, ...] = ()


@dataclass
class BeirData:
    corpus_file: Path
    queries: list[Query]
    qrels: dict[str, set[str]]


@dataclass
class RetrievalReport:
    method: str
    metrics: dict[str, float]
    per_query: list[dict[str, Any]] = field(default_factory=list)


def load_beir(folder: Path) -> BeirData:
    queries = []
    with (folder / "queries.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                queries.append(Query(str(record["_id"]), record["text"], tuple(record.get("answers") or ())))
    qrels: dict[str, set[str]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if float(row.get("score", 1)) > 0:
                qrels.setdefault(row["query-id"], set()).add(row["corpus-id"])
    return BeirData(folder / "corpus.jsonl", [q for q in queries if q.id in qrels], qrels)


def beir_documents(data: BeirData) -> list[Document]:
    """The data set's corpus as documents, to be indexed (``Library.index_in_memory``)."""
    return read_jsonl(data.corpus_file.read_bytes(), origin=data.corpus_file.name)


def score_retrieval(retriever: Retriever, data: BeirData, method: str, k: int = 10) -> RetrievalReport:
    """Recall@1/5/10 and MRR@10 of one method over all queries."""
    retriever = Retriever(retriever.kb, retriever.embedder, retriever.settings.replace(retrieval={"fusion": method}))
    recall = {1: 0.0, 5: 0.0, 10: 0.0}
    reciprocal = 0.0
    per_query = []
    started = time.perf_counter()
    for query in data.queries:
        ranking = [hit.chunk.document for hit in one_per_document(retriever.search(query.text, k=4 * k))][:k]
        gold = data.qrels[query.id]
        rank = next((i for i, doc in enumerate(ranking, start=1) if doc in gold), None)
        for cutoff in recall:
            recall[cutoff] += len(gold & set(ranking[:cutoff])) / len(gold)
        reciprocal += 1.0 / rank if rank else 0.0
        per_query.append({"id": query.id, "rank": rank, "top": ranking[:3]})
    n = max(len(data.queries), 1)
    metrics = {"recall@1": recall[1] / n, "recall@5": recall[5] / n, "recall@10": recall[10] / n,
               "mrr@10": reciprocal / n, "queries": len(data.queries),
               "ms_per_query": 1000 * (time.perf_counter() - started) / n}
    return RetrievalReport(method, metrics, per_query)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table; floats with three decimals."""
    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


# -- answers ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QaCase:
    id: str
    question: str
    history: tuple[str, ...] = ()
    evidence: str | None = None  # None: the documents do not answer, the assistant must say so
    answer_any: tuple[str, ...] = ()
    answer_all: tuple[str, ...] = ()


def load_qa(path: Path) -> list[QaCase]:
    """Questions in the format of ``initiatives-qa-dev.jsonl``."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            cases.append(QaCase(str(r["id"]), r["question"], tuple(r.get("history") or ()), r.get("evidence"),
                                tuple(r.get("answer_any") or ()), tuple(r.get("answer_all") or ())))
    return cases


def contains_answer(answer: str, any_of: Sequence[str] = (), all_of: Sequence[str] = ()) -> bool:
    """Whether ``answer`` holds one of ``any_of`` (if given) and all of ``all_of`` (case and spacing ignored)."""
    text = text_key(answer)
    return ((not any_of or any(text_key(s) in text for s in any_of))
            and all(text_key(s) in text for s in all_of))


def score_qa(assistant: Assistant, cases: Sequence[QaCase]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-question results and totals: evidence in the first three citations, answer strings
    present, and refusal exactly where the documents do not answer."""
    rows = []
    for case in cases:
        assistant.answered_turns(case.history)  # the earlier questions are answered (and kept) first
        started = time.perf_counter()
        answer = assistant.ask(case.question, case.history)
        milliseconds = 1000 * (time.perf_counter() - started)
        answerable = case.evidence is not None
        evidence_ok = (any(text_key(case.evidence) in text_key(c.chunk.text) for c in answer.citations[:3])
                       if answerable else None)
        hit = contains_answer(answer.text, case.answer_any, case.answer_all) if answerable else None
        refusal_ok = answer.answered == answerable
        rows.append({"id": case.id, "question": case.question, "answered": answer.answered,
                     "evidence@3": evidence_ok, "answer_hit": hit, "refusal_ok": refusal_ok,
                     "passed": refusal_ok and evidence_ok is not False and hit is not False,
                     "ms": round(milliseconds, 1), "answer": answer.text})
    answerable_rows = [r for r in rows if r["evidence@3"] is not None]
    unanswerable_rows = [r for r in rows if r["evidence@3"] is None]
    totals = {
        "questions": len(rows),
        "passed": sum(r["passed"] for r in rows),
        "evidence@3": _share(r["evidence@3"] for r in answerable_rows),
        "answer_hit": _share(r["answer_hit"] for r in answerable_rows),
        "answered_when_answerable": _share(r["answered"] for r in answerable_rows),
        "correct_refusals": _share(not r["answered"] for r in unanswerable_rows),
        "false_answers": sum(r["answered"] for r in unanswerable_rows),
        "median_answer_chars": (statistics.median(len(r["answer"]) for r in answerable_rows if r["answered"])
                                if any(r["answered"] for r in answerable_rows) else None),
    }
    return rows, totals


def explain_failures(assistant: Assistant, cases: Sequence[QaCase],
                     rows: Sequence[dict[str, Any]]) -> dict[str, Explanation]:
    """The trace of each question ``score_qa`` found failing, by its id (``eval qa --explain-failures``):
    asked again with its history, the same answer comes with what each stage decided."""
    failed = {row["id"] for row in rows if not row["passed"]}
    return {case.id: assistant.explain(case.question, case.history)[1] for case in cases if case.id in failed}


def _share(values) -> float | None:
    values = list(values)
    return sum(bool(v) for v in values) / len(values) if values else None


def answer_hit_rate(assistant: Assistant, data: BeirData) -> float:
    """Share of BEIR questions whose extractive answer contains one of their gold answer strings."""
    hits = [contains_answer(assistant.ask(q.text).text, q.answers) for q in data.queries if q.answers]
    return sum(hits) / len(hits) if hits else 0.0


def quality_check(questions: Path, settings: Settings, embedder: Embedder) -> QualityCheck:
    """The update's check (``update --check FILE``): the questions of ``questions`` answered on the
    version being served and on the new one; worse when fewer pass."""
    cases = load_qa(questions)

    def check(current: Index, new: Index) -> Verdict:
        before = score_qa(Assistant(settings, current, embedder), cases)[1]["passed"]
        after = score_qa(Assistant(settings, new, embedder), cases)[1]["passed"]
        word = "schlechter" if after < before else ("besser" if after > before else "gleich")
        return Verdict(after < before, f"{word}: {after} von {len(cases)} Prüffragen bestanden (bisher {before})")
    return check
