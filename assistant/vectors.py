"""The FAISS vector index: exact inner-product search for small corpora, HNSW above a size.

Vectors are L2-normalised, so inner product is cosine similarity. The switch point and the
HNSW parameters are settings; ``benchmarks/scale.py`` measures the trade-off behind them.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, index: faiss.Index):
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray, exact_search_max: int = 200_000, hnsw_m: int = 32,
              ef_search: int = 128) -> VectorIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(vectors) <= exact_search_max:
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = max(40, 2 * hnsw_m)
            index.hnsw.efSearch = ef_search
        index.add(vectors)
        return cls(index)

    @property
    def kind(self) -> str:
        return "hnsw" if isinstance(self.index, faiss.IndexHNSW) else "flat"

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int, allowed: Collection[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest chunks to one query vector as (position, similarity), best first;
        ``allowed`` restricts the search to those chunk positions."""
        k = min(k, self.size)
        if k <= 0:
            return []
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(sorted(allowed), dtype=np.int64))
            params = (faiss.SearchParametersHNSW(sel=selector, efSearch=self.index.hnsw.efSearch)
                      if self.kind == "hnsw" else faiss.SearchParameters(sel=selector))
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        return cls(faiss.read_index(str(path)))
