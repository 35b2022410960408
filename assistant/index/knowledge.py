"""The knowledge base: everything a question is answered from, searched in memory.

Chunks, their vectors (one row per chunk, then one per unit of each chunk), the BM25 index
(bm25s, with the German analyzer) and the FAISS index over the vectors. ``KnowledgeBase``
implements the ``Index`` protocol (protocol.py) that retrieval, answering and the app use. It is
made by ``building.py`` and kept on disk by ``store.py``; it neither reads nor writes files.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..datatypes import Chunk, DocumentMeta
from .lexical import LexicalHits, LexicalIndex, top_k
from .manifest import Manifest
from .vectors import VectorIndex


@dataclass
class KnowledgeBase:
    """Everything a question is answered from, in memory.

    ``vectors`` has one row per chunk, followed (when ``unit_vectors`` is on) by one row per unit
    of each chunk, chunk by chunk; ``vector_index`` searches all rows, and ``row_chunk`` maps a
    row back to its chunk.
    """

    chunks: list[Chunk]
    vectors: np.ndarray
    lexical: LexicalIndex
    vector_index: VectorIndex
    manifest: Manifest
    version: str = ""  # the version's name once saved ("" for an index only in memory)
    # Set when the version being served is damaged and this older, intact one serves instead.
    damaged_current: str = ""  # the damaged version's name
    warning: str = ""  # what was found and what to do, for logs and the admin tab

    def __post_init__(self) -> None:
        n = len(self.chunks)
        with_units = len(self.vectors) > n
        counts = np.array([len(c.units) if with_units else 0 for c in self.chunks], dtype=np.int64)
        self.unit_start = n + np.concatenate([[0], np.cumsum(counts)])
        self.row_chunk = np.concatenate([np.arange(n), np.repeat(np.arange(n), counts)]).astype(np.int64)

    @property
    def serves_for(self) -> str:
        """The version name being served that this knowledge base answers for: its own, or the damaged one's."""
        return self.damaged_current or self.version

    def unit_similarities(self, position: int, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the question to each unit of a chunk (empty without unit vectors)."""
        rows = self.vectors[self.unit_start[position]:self.unit_start[position + 1]]
        return rows @ query_vector

    def chunk_similarities(self, positions: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """Vector score of chunks: the better of the chunk's own similarity and its best unit's."""
        positions = np.asarray(positions, dtype=np.int64)
        best = self.vectors[positions] @ query_vector
        if len(self.vectors) == len(self.chunks) or not len(positions):
            return best
        starts = self.unit_start[positions]
        counts = self.unit_start[positions + 1] - starts
        # The unit rows of all chunks at once: each chunk's start repeated over its count, plus 0, 1, ...
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = np.repeat(starts, counts) + offsets
        np.maximum.at(best, np.repeat(np.arange(len(positions)), counts), self.vectors[rows] @ query_vector)
        return best

    def terms(self, text: str) -> list[str]:
        """``text`` analysed as the index analysed its texts (stems and compound parts)."""
        return self.lexical.analyzer.terms(text)

    def term_weights(self, terms: Sequence[str]) -> np.ndarray:
        """The idf weight of each term in this index (a term no passage contains gets the highest)."""
        return self.lexical.idf(list(terms)) if len(terms) else np.zeros(0)

    def lexical_search(self, query: str, n: int, allowed: np.ndarray | None = None,
                       also: Sequence[int] = ()) -> LexicalHits:
        """The ``n`` best chunks for ``query`` by BM25 (of the ``allowed`` ones), and the scores of
        the chunks ``also`` names besides."""
        scores = self.lexical.scores(query)
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.chunks), dtype=bool)
            mask[allowed] = True
        best = top_k(scores, n, mask)
        return LexicalHits(best, {int(p): float(scores[p]) for p in [*(p for p, _ in best), *also]})

    def nearest_chunks(self, query_vector: np.ndarray, n: int,
                       allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` chunks whose own vector or one of whose units' vectors is nearest, best first.
        Restricted to ``allowed`` chunks, the similarities of their rows are computed exactly
        (an approximate index looks only near the question, maybe not where those chunks are)."""
        if allowed is None:
            rows = self.vector_index.search(query_vector, 4 * n)
        else:
            candidates = np.nonzero(np.isin(self.row_chunk, allowed))[0]
            similarities = self.vectors[candidates] @ query_vector
            order = np.argsort(-similarities, kind="stable")
            rows = list(zip(candidates[order].tolist(), similarities[order].tolist()))
        found: dict[int, float] = {}
        for row, similarity in rows:
            found.setdefault(int(self.row_chunk[row]), similarity)
            if len(found) == n:
                break
        return list(found.items())

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        """Every embedded text (chunks with their title, then units) and its vector."""
        return dict(zip(embedded_texts(self.chunks, len(self.vectors) > len(self.chunks)), self.vectors))

    def document_text(self, document: str) -> str:
        """The document's text, put together from its chunks (the gaps between chunks are blank)."""
        return join_chunks(self.manifest.documents[document].length,
                           [chunk for chunk in self.chunks if chunk.document == document])

    def document_positions(self, documents: Collection[str]) -> np.ndarray:
        """The positions of the chunks of the given documents."""
        wanted = set(documents)
        return np.array([i for i, chunk in enumerate(self.chunks) if chunk.document in wanted], dtype=np.int64)

    def documents(self) -> dict[str, DocumentMeta]:
        """Every indexed document's metadata, by document id."""
        return {doc_id: record.meta for doc_id, record in self.manifest.documents.items()}


def join_chunks(length: int, chunks: Iterable[Chunk]) -> str:
    """A document's text of ``length`` characters from its chunks (the gaps between chunks blank)."""
    characters = [" "] * length
    for chunk in chunks:
        characters[chunk.start:chunk.end] = chunk.text
    return "".join(characters)


def retrieval_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: its document title, then the chunk itself."""
    return f"{chunk.meta.title}\n{chunk.text}" if chunk.meta.title else chunk.text


def unit_retrieval_texts(chunk: Chunk) -> list[str]:
    """What is embedded for each unit of a chunk: its context (a caption's lead), then the unit."""
    return [f"{unit.context} {chunk.unit_text(unit)}" if unit.context else chunk.unit_text(unit)
            for unit in chunk.units]


def embedded_texts(chunks: Sequence[Chunk], units: bool) -> list[str]:
    """The texts embedded for ``chunks``, in the order of their vectors: each chunk (with its
    title), then, with ``units``, each unit of each chunk."""
    texts = [retrieval_text(chunk) for chunk in chunks]
    if units:
        texts += [text for chunk in chunks for text in unit_retrieval_texts(chunk)]
    return texts
