"""Large corpora on one machine: FAISS index types against exact search, and the whole search.

A synthetic corpus of 10 thousand, 100 thousand and 1 million passages. Each passage recombines
2-4 consecutive German sentences of one real passage (the seed corpus's chunks and the XQuAD
paragraphs), sometimes with a sentence from elsewhere; its vector is the weighted sum of the
sentences' real vectors (the bundled model embeds each sentence once) plus a little noise, so
passages cluster by topic like a real archive does without embedding a million texts here.
Questions are the real XQuAD and initiatives dev questions, embedded by the model.

For each size:

* every index type (flat, HNSW, IVF-Flat, IVF-PQ) with a sweep of its search parameter: build
  seconds, index memory, single-question search median/p95, recall@10 against exact search;
* the index the code chooses (``VectorIndex.build`` with the default settings) inside a whole
  ``KnowledgeBase`` (BM25 too): build seconds, process memory, and ``Retriever.search``
  median/p95 with the question vector given (the question embedding is in query_path.py).

    python benchmarks/scale.py [--sizes 10000 100000 1000000]   # results/scale.{json,md,png}

Real embedding throughput (``--real-build N``, instead of the sweeps): ``python -m assistant
build`` over N real-text passages (recombined as above, 8 to a document, chunked and embedded
for real with the sentence vectors), timed as a whole process like ``build.py``. Recombined
passages share sentences, which a build embeds once, so the work is counted in tokens actually
embedded, and the time for 100 000 passages is extrapolated from the tokens per passage of the
XQuAD dev build (a real corpus: its passages and their distinct sentences).

    python benchmarks/scale.py --real-build 3000   # results/scale_build.{json,md}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from common import CACHE, PROJECT, SHARED, questions, rows_table, rss_mb, summary, table, write_result

from assistant.answers.retrieval import Retriever
from assistant.datatypes import Chunk
from assistant.documents.chunking import chunk_document, sentences
from assistant.documents.loading import load_corpus, read_jsonl
from assistant.index.building import assemble
from assistant.index.embedding import load_embedder
from assistant.index.manifest import Counts, IndexSettings, Manifest
from assistant.index.vectors import VectorIndex
from assistant.library import Library
from assistant.settings import Settings

QUERIES = 200
NOISE = 0.15  # length of the noise vector added to a passage's unit-length vector


def sentence_pool() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Sentences of real passages, their vectors, and the passage (topic) each belongs to."""
    documents = load_corpus(PROJECT / "corpus").documents
    passages = [chunk.text for d in documents for chunk in chunk_document(d, 700, 200)]  # as measured
    xquad = SHARED / "xquad-de-dev" / "corpus.jsonl"
    passages += [d.text for d in read_jsonl(xquad.read_bytes(), xquad.name)]
    texts, topics = [], []
    for topic, passage in enumerate(passages):
        for start, end in sentences(passage):
            if end - start >= 30:
                texts.append(passage[start:end])
                topics.append(topic)
    return texts, cached_vectors("sentences", texts, query=False), np.array(topics)


def cached_vectors(name: str, texts: list[str], query: bool) -> np.ndarray:
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"scale-{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    embedder = load_embedder()
    vectors = embedder.embed_queries(texts) if query else embedder.embed_passages(texts, progress=True)
    CACHE.mkdir(exist_ok=True)
    np.save(path, vectors)
    return vectors


def synthetic(n: int, texts: list[str], vectors: np.ndarray, topics: np.ndarray,
              seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` recombined passages and their vectors (see the module docstring)."""
    rng = np.random.default_rng(seed)
    first = np.searchsorted(topics, np.arange(topics.max() + 1))
    count = np.bincount(topics)
    out_texts: list[str] = []
    out_vectors = np.empty((n, vectors.shape[1]), dtype=np.float32)
    for begin in range(0, n, 100_000):
        size = min(100_000, n - begin)
        topic = rng.integers(0, len(first), size)
        length = rng.integers(2, 5, size)
        offset = rng.integers(0, 1 << 30, size)
        picks = np.full((size, 4), -1)
        for slot in range(4):
            inside = first[topic] + (offset + slot) % count[topic]
            picks[:, slot] = np.where(slot < length, inside, -1)
        stranger = rng.random(size) < 0.3
        picks[stranger, 0] = rng.integers(0, len(texts), int(stranger.sum()))
        weights = rng.uniform(0.5, 1.5, (size, 4)) * (picks >= 0)
        mixed = np.einsum("nk,nkd->nd", weights, vectors[np.maximum(picks, 0)])
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        mixed += rng.normal(0, NOISE / math.sqrt(vectors.shape[1]), mixed.shape)
        out_vectors[begin:begin + size] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
        out_texts += [" ".join(texts[i] for i in row if i >= 0) for row in picks.tolist()]
    return out_texts, out_vectors


def candidates(n: int, dim: int, hnsw_max: int) -> list[tuple[str, str, faiss.Index, str, list[int]]]:
    """(family, name, untrained index, search parameter, values to sweep) for every type considered."""
    nlist = VectorIndex.ivf_lists(n)
    return [
        ("flat", "flat", faiss.IndexFlatIP(dim), "", [0]),
        *([("hnsw", "HNSW32", hnsw(dim), "efSearch", [16, 32, 64, 128])] if n <= hnsw_max else []),
        ("ivf-flat", f"IVF{nlist},Flat", faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist,
                                                           faiss.METRIC_INNER_PRODUCT), "nprobe", [4, 8, 16, 32, 64]),
        ("ivf-pq", f"IVF{nlist},PQ48", faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, 48, 8,
                                                       faiss.METRIC_INNER_PRODUCT), "nprobe", [8, 32]),
    ]


def hnsw(dim: int) -> faiss.Index:
    index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    return index


def search_times(search, queries: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    timings, found = [], []
    for query in queries:
        started = time.perf_counter()
        found.append(search(query))
        timings.append(1000 * (time.perf_counter() - started))
    return timings, found


def recall_at_10(found: list[np.ndarray], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10].tolist()) & set(e.tolist())) / 10 for f, e in zip(found, exact)]))


def index_types(vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, hnsw_max: int) -> list[dict]:
    rows = []
    for family, name, index, parameter, values in candidates(len(vectors), vectors.shape[1], hnsw_max):
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building uses every core, as an update would
        started = time.perf_counter()
        if not index.is_trained:
            sample = np.random.default_rng(1).choice(len(vectors), min(len(vectors), 64 * index.nlist), replace=False)
            index.train(vectors[np.sort(sample)])
        index.add(vectors)
        build = time.perf_counter() - started
        memory = faiss.serialize_index(index).nbytes / 2**20
        faiss.omp_set_num_threads(1)  # one question = one core, as in the app; the other serves another
        for value in values:
            if parameter:
                faiss.ParameterSpace().set_index_parameter(index, parameter, value)
            timings, found = search_times(lambda q: index.search(q.reshape(1, -1), 10)[1][0], queries)
            rows.append({"size": len(vectors), "family": family, "index": name, "parameter": f"{parameter}={value}" if parameter else "",
                         "build_s": round(build, 1), "memory_mb": round(memory), **summary(timings),
                         "recall@10": round(recall_at_10(found, exact), 3)})
            print(rows[-1], flush=True)
    return rows


def whole_search(texts: list[str], vectors: np.ndarray, query_texts: list[str], queries: np.ndarray,
                 exact: np.ndarray) -> dict:
    """The code's own choice inside a KnowledgeBase: build, memory, and Retriever.search."""
    settings = Settings()
    chunks = [Chunk(f"s{i}", f"synthetic-{i // 20}", text, 0, len(text), None) for i, text in enumerate(texts)]
    before = rss_mb(os.getpid())
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    manifest = Manifest(IndexSettings.of(settings), vectors.shape[1], "", "", Counts(0, len(chunks), 0))
    kb = assemble(chunks, vectors, manifest, settings)
    build = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    memory = rss_mb(os.getpid()) - before
    _, found = search_times(lambda q: np.array([p for p, _ in kb.vector_index.search(q, 10)]), queries)
    retriever = Retriever(kb, load_embedder(), settings)
    timings = []
    for text, query in zip(query_texts, queries):
        started = time.perf_counter()
        retriever.search(text, k=5, query_vector=query)
        timings.append(1000 * (time.perf_counter() - started))
    return {"size": len(vectors), "vector_index": kb.vector_index.describe(), "build_s": round(build, 1),
            "memory_mb": round(memory), "recall@10": round(recall_at_10(found, exact), 3), **summary(timings)}


PLOTTED = ("flat", "hnsw efSearch=128", "ivf-flat nprobe=8", "ivf-flat nprobe=32", "ivf-pq nprobe=32")


def plot(types: list[dict], whole: list[dict], path) -> None:
    """p95 search time and recall@10 against corpus size, one line per index setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, recall) = plt.subplots(1, 2, figsize=(11, 4.2))
    lines: dict[str, list[dict]] = {}
    for row in types:
        label = f"{row['family']} {row['parameter']}".strip()
        if label in PLOTTED:
            lines.setdefault(label, []).append(row)
    lines["whole search, code's choice"] = whole
    for label, rows in lines.items():
        sizes = [row["size"] for row in rows]
        style = {"linewidth": 3, "color": "black"} if label.startswith("whole") else {}
        latency.plot(sizes, [row["p95_ms"] for row in rows], marker="o", label=label, **style)
        recall.plot(sizes, [row["recall@10"] for row in rows], marker="o", label=label, **style)
    latency.set(xscale="log", yscale="log", xlabel="passages", ylabel="p95 ms, one question",
                title="Search time")
    recall.set(xscale="log", xlabel="passages", ylabel="recall@10 against exact search", title="Recall")
    for axes in (latency, recall):
        axes.grid(True, alpha=0.3)
    recall.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def embedded_tokens(kb) -> tuple[int, int]:
    """Distinct texts a built index embedded and their tokens (as the model counts them, with <s> and </s>)."""
    from assistant.index.e5model import E5Torch

    texts = list(kb.vectors_by_text())
    return len(texts), sum(len(ids) + 2 for ids in E5Torch().tokens(texts, "passage: "))


def real_build(n: int) -> None:
    """Time ``python -m assistant build`` over ``n`` real-text passages, and over XQuAD dev; extrapolate."""
    texts, vectors, topics = sentence_pool()
    passages = synthetic(n, texts, vectors, topics, seed=3)[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "synthetic").mkdir()
        with (work / "synthetic" / "passages.jsonl").open("w", encoding="utf-8") as handle:
            for start in range(0, n, 8):
                handle.write(json.dumps({"_id": f"doc-{start // 8}", "title": f"Dokument {start // 8}",
                                         "text": "\n\n".join(passages[start:start + 8])}, ensure_ascii=False) + "\n")
        (work / "xquad").mkdir()
        shutil.copy(SHARED / "xquad-de-dev" / "corpus.jsonl", work / "xquad" / "corpus.jsonl")
        for name in ("xquad", "synthetic"):
            index = work / f"{name}-index"
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "assistant", "build", "--corpus", str(work / name), "--index",
                            str(index)], cwd=PROJECT, check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - started
            kb = Library(Settings.load().replace(index_dir=index)).load()
            chunks = kb.manifest.counts.chunks
            distinct, tokens = embedded_tokens(kb)
            rows.append({"corpus": name, "chunks": chunks, "embedded_texts": distinct, "tokens": tokens,
                         "seconds": round(seconds, 1), "chunks_per_s": round(chunks / seconds, 1),
                         "tokens_per_s": round(tokens / seconds), "tokens_per_chunk": round(tokens / chunks)})
            print(rows[-1], flush=True)
    xquad, large = rows
    hours = 100_000 * xquad["tokens_per_chunk"] / large["tokens_per_s"] / 3600
    engine = Settings.load().embedding.engine
    text = (f"Real builds (`python -m assistant build`, whole process, embedding engine {engine})\n\n"
            + rows_table(rows)
            + f"\n\n100 000 passages like XQuAD's ({xquad['tokens_per_chunk']} tokens embedded per passage, "
              f"with its sentences) at the {large['chunks']}-passage build's {large['tokens_per_s']} tokens/s: "
              f"about {hours:.1f} hours (extrapolated)")
    write_result("scale_build", {"rows": rows, "hours_per_100k": round(hours, 2), "engine": engine}, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--hnsw-max", type=int, default=100_000,
                        help="largest size to try HNSW at (at 100k it was slower to build and less "
                             "accurate than IVF; building it for 1M takes long on 2 cores)")
    parser.add_argument("--real-build", type=int, metavar="N",
                        help="instead of the sweeps: time a real build of N passages and extrapolate to 100 000")
    args = parser.parse_args()
    if args.real_build:
        real_build(args.real_build)
        return
    texts, sentence_vectors, topics = sentence_pool()
    query_texts = questions()[-QUERIES:]  # the XQuAD questions: their topics are in the pool
    queries = cached_vectors("queries", query_texts, query=True)
    print(f"{len(texts)} sentences from {topics.max() + 1} passages; {len(queries)} questions", flush=True)
    all_texts, all_vectors = synthetic(max(args.sizes), texts, sentence_vectors, topics)
    types, whole = [], []
    for size in sorted(args.sizes):
        vectors = all_vectors[:size]
        exact_index = faiss.IndexFlatIP(vectors.shape[1])
        exact_index.add(vectors)
        exact = exact_index.search(queries, 10)[1]
        del exact_index
        types += index_types(vectors, queries, exact, args.hnsw_max)
        whole.append(whole_search(all_texts[:size], vectors, query_texts, queries, exact))
        print(whole[-1], flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    columns = ["size", "index", "parameter", "build_s", "memory_mb", "median_ms", "p95_ms", "recall@10"]
    whole_columns = ["size", "vector_index", "build_s", "memory_mb", "median_ms", "p95_ms", "recall@10"]
    text = (f"FAISS index types, {len(queries)} questions, one thread per search; recall@10 against exact search\n\n"
            + table(columns, [[r[c] for c in columns] for r in types])
            + "\n\nThe code's choice in a whole KnowledgeBase (BM25 + vectors + fusion; Retriever.search, "
              "question vector given)\n\n"
            + table(whole_columns, [[r[c] for c in whole_columns] for r in whole])
            + f"\n\nPeak process memory: {peak:.0f} MB")
    write_result("scale", {"queries": len(queries), "index_types": types, "chosen": whole, "peak_mb": round(peak)},
                 text)
    plot(types, whole, PROJECT / "benchmarks" / "results" / "scale.png")


if __name__ == "__main__":
    main()
