"""What retrieval, answering and the app need from an index: the ``Index`` protocol.

This is the adapter boundary. ``KnowledgeBase`` (knowledge.py) implements it in process, with
bm25s and FAISS; an index kept elsewhere (a database, a search engine; docs/scaling.md)
implements the same methods, and the fusion, the answer composer and the UI stay unchanged.
Positions are a chunk's place in ``chunks``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

import numpy as np

from ..datatypes import Chunk, DocumentMeta
from .lexical import LexicalHits
from .manifest import Manifest


class Index(Protocol):
    chunks: Sequence[Chunk]
    manifest: Manifest
    version: str  # the version's name ("" for an index that was never saved)
    damaged_current: str  # set when the version being served is damaged and this older one stands in
    warning: str  # what was found then, and what to do, for logs and the admin tab

    @property
    def serves_for(self) -> str:
        """The version name being served that this index answers for: its own, or the damaged one's."""
        ...

    # -- retrieval ------------------------------------------------------------------------------

    def lexical_search(self, query: str, n: int, allowed: np.ndarray | None = None,
                       also: Sequence[int] = ()) -> LexicalHits:
        """The ``n`` best chunk positions by BM25 (of the ``allowed`` ones), best first, and the BM25
        scores of those and of the positions ``also`` names (zero where no term matches). Not a
        score for every chunk: an index in a database sends a question's candidates only."""
        ...

    def nearest_chunks(self, query_vector: np.ndarray, n: int,
                       allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` nearest chunk positions (of the ``allowed`` ones) with their similarity, best first."""
        ...

    def chunk_similarities(self, positions: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """The question's similarity to each of the given chunks."""
        ...

    def document_positions(self, documents: Collection[str]) -> np.ndarray:
        """The positions of the chunks of the given documents."""
        ...

    # -- answering ------------------------------------------------------------------------------

    def terms(self, text: str) -> list[str]:
        """``text`` analysed as the index analysed its texts (stems and compound parts)."""
        ...

    def term_weights(self, terms: Sequence[str]) -> np.ndarray:
        """The idf weight of each term (a term no passage contains gets the highest)."""
        ...

    def unit_similarities(self, position: int, query_vector: np.ndarray) -> np.ndarray:
        """The question's similarity to each unit of a chunk (empty without unit vectors)."""
        ...

    # -- the app --------------------------------------------------------------------------------

    def documents(self) -> dict[str, DocumentMeta]:
        """Every indexed document's metadata, by document id."""
        ...

    def document_text(self, document: str) -> str:
        """A document's text, put together from its chunks (the gaps between chunks are blank)."""
        ...

    # -- upkeep ---------------------------------------------------------------------------------

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        """Every embedded text and its vector, so that the next version embeds only what is new."""
        ...
