"""Hybrid retrieval: BM25 and vector search, fused.

Each method proposes its best ``candidates`` chunks. The default fusion, ``convex``, scores
every proposed chunk by both methods and mixes the normalised scores::

    fused = alpha * bm25 / max(bm25) + (1 - alpha) * (cos - cos_n) / (cos_1 - cos_n)

where ``cos_1`` and ``cos_n`` are the best and the last vector candidate's similarity. On the
German XQuAD dev set this beats reciprocal rank fusion (``rrf``), which is kept as an option
with the single methods ("bm25", "vector"); ``python -m assistant eval beir`` compares them.
Among dated documents the newer gets a small bonus (``recency_bonus``), enough to put the newer
of two releases that answer equally well first, too small to outweigh relevance.
Chunks with the same text (documents that repeat a paragraph) are reported once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from ..datatypes import Hit
from ..index.embedding import Embedder
from ..index.protocol import Index
from ..language.questions import STRICT_KINDS, Question, classify, has_answer_type
from ..language.text import text_key
from ..settings import Settings


class Retriever:
    """Finds the chunks of an ``Index`` that answer a question best (settings ``retrieval``)."""

    def __init__(self, kb: Index, embedder: Embedder, settings: Settings):
        self.kb = kb
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, k: int = 10, documents: Collection[str] | None = None,
               query_vector: np.ndarray | None = None, question: Question | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query``, optionally only from the given document ids;
        ``question`` is ``classify(query)`` where the caller has it already."""
        allowed = None
        if documents is not None:
            allowed = self.kb.document_positions(documents)
            if not len(allowed):
                return []
        fusion = self.settings.retrieval.fusion
        n = max(self.settings.retrieval.candidates, k)
        lexical: list[tuple[int, float]] = []
        vector: list[tuple[int, float]] = []
        bm25_scores: dict[int, float] = {}
        if fusion != "bm25":
            if query_vector is None:
                query_vector = self.embedder.embed_queries([query])[0]
            vector = self.kb.nearest_chunks(query_vector, n, allowed)
        if fusion != "vector":
            # convex fusion needs the BM25 score of the vector candidates too
            found = self.kb.lexical_search(query, n, allowed, [p for p, _ in vector] if fusion == "convex" else ())
            lexical, bm25_scores = found.best, found.scores

        ranks: dict[int, dict[str, int]] = {}
        for method, results in (("bm25", lexical), ("vector", vector)):
            for rank, (position, _) in enumerate(results, start=1):
                ranks.setdefault(position, {})[method] = rank
        if fusion == "bm25":
            scores = dict(lexical)
        elif fusion == "vector":
            positions = np.array([p for p, _ in vector], dtype=np.int64)
            scores = dict(zip(positions.tolist(), self.kb.chunk_similarities(positions, query_vector).tolist()))
        elif fusion == "rrf":
            scores = {p: sum(1.0 / (self.settings.retrieval.rrf_k + r) for r in method_ranks.values())
                      for p, method_ranks in ranks.items()}
        else:
            scores = self._convex(question or classify(query), ranks, bm25_scores, query_vector)
        return self._best(scores, ranks, k)

    def _convex(self, question: Question, ranks: dict[int, dict[str, int]], bm25_scores: dict[int, float],
                query_vector: np.ndarray) -> dict[int, float]:
        if not ranks:
            return {}
        positions = np.fromiter(ranks, dtype=np.int64)
        bm25 = np.array([bm25_scores.get(p, 0.0) for p in positions.tolist()], dtype=np.float32)
        cosine = self.kb.chunk_similarities(positions, np.asarray(query_vector, dtype=np.float32))
        proposed = cosine[[i for i, p in enumerate(positions) if "vector" in ranks[int(p)]]]
        best, last = (float(proposed.max()), float(proposed.min())) if len(proposed) else (1.0, 0.0)
        retrieval = self.settings.retrieval
        alpha = retrieval.english_alpha if question.language == "en" else retrieval.fusion_alpha
        fused = (alpha * bm25 / max(float(bm25.max()), 1e-9)
                 + (1 - alpha) * (cosine - last) / max(best - last, 1e-9))
        if question.kind != "other":
            # Only what can answer counts: a date in a download list or a copyright line does not.
            typed = np.array([any(has_answer_type(text, question.kind) for text in self.kb.chunks[p].unit_texts())
                              for p in positions.tolist()])
            fused += retrieval.answer_type_bonus * typed
            if question.kind in STRICT_KINDS:  # no date cannot answer "wann", no number "wie viele" ...
                fused = np.where(typed, fused, fused * retrieval.untyped_factor)
        fused += retrieval.recency_bonus * self._recency(positions)
        return dict(zip(positions.tolist(), fused.tolist()))

    def _recency(self, positions: np.ndarray) -> np.ndarray:
        """0 for the oldest (or undated) candidate's document up to 1 for the newest, so that of two
        releases that answer equally well the newer one comes first."""
        dates = [self.kb.chunks[p].meta.date for p in positions.tolist()]
        dated = sorted({d for d in dates if d})
        if len(dated) < 2:
            return np.zeros(len(dates))
        order = {d: i / (len(dated) - 1) for i, d in enumerate(dated)}
        return np.array([order.get(d, 0.0) for d in dates])

    def _best(self, scores: dict[int, float], ranks: dict[int, dict[str, int]], k: int) -> list[Hit]:
        hits: list[Hit] = []
        seen: set[str] = set()
        for position in sorted(scores, key=lambda p: (-scores[p], p)):
            chunk = self.kb.chunks[position]
            key = text_key(chunk.text)
            if key in seen:
                continue
            seen.add(key)
            hits.append(Hit(chunk, float(scores[position]), ranks.get(position, {}), position))
            if len(hits) == k:
                break
        return hits


def best_passages(retriever: Retriever, question: str, k: int, documents: Sequence[str] | None = None) -> list[Hit]:
    """The ``k`` best documents for ``question``, each at its best passage (``search``, the JSON API)."""
    return one_per_document(retriever.search(question, k=4 * k, documents=documents))[:k]


def one_per_document(hits: list[Hit]) -> list[Hit]:
    """Each document once, at its best chunk, in rank order."""
    seen: set[str] = set()
    result = []
    for hit in hits:
        if hit.chunk.document not in seen:
            seen.add(hit.chunk.document)
            result.append(hit)
    return result
