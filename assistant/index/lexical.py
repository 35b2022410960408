"""German BM25 over chunks, on the ``bm25s`` sparse-matrix engine with our own analyzer.

The analyzer (stemming, umlaut folding, compound parts) is kept with the BM25 matrices (the
store saves both), so questions are analysed exactly as the indexed texts were.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np

from ..language.analysis import Analyzer

logging.getLogger("bm25s").setLevel(logging.WARNING)


@dataclass(frozen=True)
class LexicalHits:
    """BM25's answer to a question: the ``best`` chunks (position, score; best first, scores above
    zero) and the score of each of those and of every other chunk asked about (zero where no term
    of the question occurs)."""

    best: list[tuple[int, float]]
    scores: dict[int, float]


class LexicalIndex:
    def __init__(self, bm25: bm25s.BM25, analyzer: Analyzer):
        self.bm25 = bm25
        self.analyzer = analyzer

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        analyzer = Analyzer.learn(texts)
        bm25 = bm25s.BM25(k1=k1, b=b)
        bm25.index([analyzer.terms(text) for text in texts], show_progress=False)
        return cls(bm25, analyzer)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zero where no term matches)."""
        terms = [t for t in self.analyzer.terms(query) if t in self.bm25.vocab_dict]
        if not terms:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(terms), dtype=np.float32)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The best ``k`` chunks as (position, score), best first; ``mask`` keeps chunks where it is True."""
        return top_k(self.scores(query), k, mask)

    def idf(self, terms: list[str]) -> np.ndarray:
        """Inverse document frequency of each term; a term no chunk contains gets the highest."""
        matrix = self.bm25.scores
        ids = [self.bm25.vocab_dict.get(t) for t in terms]
        return idf([0 if i is None else matrix["indptr"][i + 1] - matrix["indptr"][i] for i in ids], self.size)

    @property
    def size(self) -> int:
        return int(self.bm25.scores["num_docs"])


def idf(document_frequencies: Sequence[int], documents: int) -> np.ndarray:
    """BM25's (Lucene's) inverse document frequency, as bm25s computes it."""
    df = np.asarray(document_frequencies, dtype=np.float64)
    return np.log(1.0 + (documents - df + 0.5) / (df + 0.5))


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
    """Positions and values of the ``k`` largest positive ``scores`` (where ``mask`` allows), best first."""
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    k = min(k, len(scores))
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
