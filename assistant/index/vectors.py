"""The FAISS vector index: exact search for small corpora, an inverted-file index above a size.

Vectors are L2-normalised, so inner product is cosine similarity. Up to ``exact_search_max``
vectors a flat index compares the question with every vector; above, an IVF-Flat index keeps
the vectors uncompressed in ``ivf_lists(n)`` clusters and compares the question with the
``nprobe`` nearest clusters only. ``benchmarks/scale.py`` measured flat, HNSW, IVF-Flat and
IVF-PQ at 10 thousand to 1 million vectors; the switch point and ``nprobe`` come from there
(see benchmarks/README.md).
"""

from __future__ import annotations

import math

import faiss
import numpy as np

TRAINING_PER_LIST = 64  # k-means training sample: this many vectors per cluster (faiss wants >= 39)


class VectorIndex:
    def __init__(self, index: faiss.Index):
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray, exact_search_max: int = 100_000, nprobe: int = 32) -> VectorIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(vectors) <= exact_search_max:
            index = faiss.IndexFlatIP(dim)
        else:
            lists = cls.ivf_lists(len(vectors))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(0).choice(len(vectors), min(len(vectors), TRAINING_PER_LIST * lists),
                                                     replace=False)
            index.train(vectors[np.sort(sample)])
            index.nprobe = nprobe
        index.add(vectors)
        return cls(index)

    @staticmethod
    def ivf_lists(n: int) -> int:
        """Clusters for ``n`` vectors: about 2·sqrt(n), a power of two (2048 for a million)."""
        return 2 ** max(4, round(math.log2(2 * math.sqrt(max(n, 1)))))

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "flat"

    def describe(self) -> str:
        if isinstance(self.index, faiss.IndexIVF):
            return f"IVF{self.index.nlist},Flat nprobe={self.index.nprobe}"
        return "flat"

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest rows to one query vector as (row, similarity), best first."""
        k = min(k, self.size)
        if k <= 0:
            return []
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
