"""The index in PostgreSQL with pgvector: one database that every app replica reads.

Layout. ``assistant.versions`` lists the index versions (name, schema, table layout, manifest) and
``assistant.serving`` (one row) names the version that answers questions. Each version is a
schema of its own, written whole in one transaction and never changed afterwards:

    <schema>.chunks    position, id, document, text, offsets, page, units
    <schema>.postings  the inverted index: for each term, the chunks holding it and the term's
                       BM25 weight there (term frequency and chunk length, as bm25s precomputes
                       them), with a B-tree on the term that covers the other two columns
    <schema>.terms     each term's document frequency, and whether it is a compound part
    <schema>.vectors   one row per chunk and per unit, numbered as ``KnowledgeBase.vectors``,
                       with a pgvector HNSW index (inner product: the vectors are normalised)

``PostgresStore`` is a ``VersionStore`` (store.py) and ``PostgresIndex`` an ``Index`` (protocol.py),
so the ``Library`` builds, updates and rolls back as with folders: a build or update embeds in
this process as before (``building.py``, reusing the vectors of the serving version);
``PostgresStore.save`` then writes the version and switches ``serving`` in the same
transaction, so a replica sees the old version or the new one, whole. The manifest is kept as
JSON (``Manifest.to_dict``) in ``assistant.versions``, with the layout of the version's tables.
Replicas read ``serving`` before each question (one row); a question already running keeps the
``PostgresIndex`` of its version, whose schema stays until it is pruned (``keep_versions``).

Lexical search runs in the database, in one query: the postings of the question's terms (an
index-only scan of the B-tree) are summed per chunk with the terms' idf, which gives every chunk
holding a term its BM25 score; the best ``n`` come back, with the scores asked for besides. The
terms are made on our side by the analyzer of the in-memory index (``analysis.py``): PostgreSQL's
``german`` text search configuration stems with Snowball and folds ä/ae alike as ours does, but
it does not split compounds ("Förderung" would not find "Potenzialförderung"), and its tokenizer
and stop words would give other statistics; so both backends score alike
(``tests/index/test_postgres.py``). The postings table, not a tsvector column with a GIN index: a GIN
search finds the chunks but not how often a term occurs in them, so BM25 had to unpack every
matching chunk's tsvector: about 10 times slower at 20,000 passages, 32.7 against 3.4 ms a
question (``benchmarks/postgres_query.py``, 2026-11-22). The analyzer's compound parts and the
terms' document frequencies are read once per version into memory: ``features.py`` asks for idf
weights many times per question.

Vector search is pgvector's HNSW index over the chunk and unit vectors; ``hnsw.ef_search`` is
set to four times the candidates, since a search returns at most that many rows.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from ..datatypes import Chunk, DocumentMeta, Unit
from ..exceptions import (DatabaseError, IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing, IndexProblem,
                         SettingsError)
from ..language.analysis import Analyzer
from ..settings import Settings
from .knowledge import KnowledgeBase, embedded_texts, join_chunks, retrieval_text
from .lexical import LexicalHits, idf
from .manifest import IndexSettings, Manifest
from .store import VersionInfo, new_version_name

LAYOUT = 1  # the tables of a version as written here; a version of another layout is not read
HNSW = {"m": 16, "ef_construction": 64}  # pgvector's defaults
VECTOR_INDEX = f"pgvector hnsw m={HNSW['m']} ef_construction={HNSW['ef_construction']}"  # the manifest's record
UPDATE_LOCK = 0x41535354  # the advisory lock one build or update holds ("ASST")
CACHED_CHUNKS = 50_000  # chunks of a version kept in memory once read
CACHED_QUESTIONS = 64  # recent question vectors whose unit similarities are kept

SETUP = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS assistant;
CREATE TABLE IF NOT EXISTS assistant.versions (
    name text PRIMARY KEY,
    schema text UNIQUE NOT NULL,
    written timestamptz NOT NULL DEFAULT now(),
    layout integer NOT NULL,
    manifest jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS assistant.serving (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version text NOT NULL REFERENCES assistant.versions (name)
);
"""

CHUNK_FIELDS = ("id", "document", "text", "start_offset", "end_offset", "page", "units")  # what makes a Chunk


def describe(url: str) -> str:
    """The database ``url`` names, without its password: for messages and logs."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "die Datenbank in database_url (keine gültige PostgreSQL-URL)"
    where = parts.get("host") or "localhost"
    return f"postgresql://{parts.get('user', '')}@{where}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def connect(url: str, vectors: bool = True) -> psycopg.Connection:
    """A connection in autocommit mode (each statement its own transaction unless a block says so),
    which reads and writes numpy vectors as pgvector's type (``vectors``; the extension must exist)."""
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="ruhr-assistant")
    except psycopg.OperationalError as error:
        raise DatabaseError(f"{describe(url)}: keine Verbindung ({first_line(error)})") from None
    if vectors:
        register_vector(connection)
    return connection


def first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class Connections:
    """Open connections to one database, reused: a question's queries run on one, one after the
    other. Unlike psycopg_pool it starts no threads, so that a build run from the command line may
    still fork its embedding processes (e5model.py forks only from a process without threads)."""

    def __init__(self, url: str, ef_search: int, keep: int):
        self.url, self.ef_search, self.keep = url, ef_search, keep
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = connect(self.url)
            connection.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(self.ef_search),))
        try:
            yield connection
        except psycopg.Error as error:
            if isinstance(error, psycopg.OperationalError):
                connection.close()
            raise DatabaseError(f"{describe(self.url)}: {first_line(error)}") from None
        finally:
            idle = not connection.closed and connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            with self._lock:
                if idle and len(self._idle) < self.keep:
                    self._idle.append(connection)
                    connection = None
            if connection is not None:
                connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class PostgresStore:
    """The index versions in one PostgreSQL database (a ``VersionStore``): the one being served,
    writing, switching, pruning; the newest ``keep_versions`` are kept."""

    def __init__(self, settings: Settings):
        if not settings.database_url:
            raise SettingsError("index_backend ist 'postgres', aber database_url ist leer; bitte in assistant.toml "
                                "oder als ASSISTANT_DATABASE_URL=postgresql://BENUTZER:PASSWORT@HOST:5432/DATENBANK "
                                "setzen")
        self.url = settings.database_url
        self.keep = settings.keep_versions
        # a search returns at most ef_search rows, and nearest_chunks asks for four per candidate
        self.connections = Connections(self.url, min(1000, max(40, 4 * settings.retrieval.candidates)),
                                       settings.app.workers + 2)
        self._prepare()

    def _prepare(self) -> None:
        """Create the extension and the tables of versions once (a read-only replica finds them there)."""
        with connect(self.url, vectors=False) as connection:
            if connection.execute("SELECT to_regclass('assistant.serving')").fetchone()[0] is not None:
                return
            try:
                with connection.transaction():
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (UPDATE_LOCK + 1,))
                    connection.execute(SETUP)
            except psycopg.Error as error:
                raise DatabaseError(f"{describe(self.url)}: die Tabellen des Index lassen sich nicht anlegen "
                                    f"({first_line(error)}); der Datenbankbenutzer braucht das Recht CREATE und die "
                                    "Erweiterung vector (CREATE EXTENSION vector, als Superuser)") from None

    def where(self, name: str = "") -> str:
        """The database (and version ``name``), for messages: never its password."""
        return f"{describe(self.url)} (Version {name})" if name else describe(self.url)

    def current_name(self) -> str | None:
        """The name of the version ``serving`` points to (one indexed row: read before every question)."""
        with self.connections.connection() as connection:
            row = connection.execute("SELECT version FROM assistant.serving").fetchone()
        return row[0] if row else None

    def load(self, wanted: IndexSettings) -> PostgresIndex:
        """The version being served, made with ``wanted`` settings (IndexMissing, IndexMismatch).
        There is no damaged version to fall back from: a version is written in one transaction."""
        with self.connections.connection() as connection:
            row = connection.execute("SELECT v.name, v.schema, v.layout, v.manifest FROM assistant.serving s "
                                     "JOIN assistant.versions v ON v.name = s.version").fetchone()
        if row is None:
            raise IndexMissing(f"{self.where()}: noch kein Index; bitte `python -m assistant build` ausführen, "
                               "oder `python -m assistant index export --to postgres` bringt den Index vom "
                               "Datenträger dorthin")
        name, schema, layout, data = row
        try:
            manifest = Manifest.from_dict(data)
        except (KeyError, TypeError, ValueError) as error:
            raise IndexCorrupt(f"{self.where(name)}: Manifest unvollständig "
                               f"({type(error).__name__}: {error})") from None
        differences = manifest.settings.differences(wanted)
        if layout != LAYOUT:
            differences.append(f"Tabellen im Aufbau {layout!r}, dieses Programm liest {LAYOUT}")
        if differences:
            raise IndexMismatch(f"{self.where(name)}: der Index wurde mit anderen Einstellungen gebaut "
                                f"({'; '.join(differences)}); bitte mit `python -m assistant build` neu bauen")
        return self._index(name, schema, manifest)

    def _index(self, name: str, schema: str, manifest: Manifest) -> PostgresIndex:
        with self.connections.connection() as connection:
            terms = connection.execute(sql.SQL("SELECT term, df, part FROM {}.terms").format(
                sql.Identifier(schema))).fetchall()
        return PostgresIndex(self, name, schema, manifest, {term: df for term, df, _ in terms},
                             [term for term, _, part in terms if part])

    def save(self, kb: KnowledgeBase, name: str = "") -> str:
        """Write ``kb`` as a new version and serve it, in one transaction; prune old versions.
        ``name`` keeps a version's name (an export from disk); by default it is the time now."""
        name = name or new_version_name()
        manifest = replace(kb.manifest, files={}, vector_index=VECTOR_INDEX)
        with connect(self.url) as connection:
            try:
                with connection.transaction():
                    if connection.execute("SELECT 1 FROM assistant.versions WHERE name = %s", (name,)).fetchone():
                        raise IndexProblem(f"{self.where(name)}: diese Version ist schon in der Datenbank")
                    schema = schema_name(name)
                    write_version(connection, schema, kb)
                    connection.execute("INSERT INTO assistant.versions (name, schema, layout, manifest) "
                                       "VALUES (%s, %s, %s, %s)", (name, schema, LAYOUT, Jsonb(manifest.to_dict())))
                    connection.execute("INSERT INTO assistant.serving (one, version) VALUES (true, %s) "
                                       "ON CONFLICT (one) DO UPDATE SET version = excluded.version", (name,))
            except psycopg.Error as error:
                raise DatabaseError(f"{self.where(name)}: nicht geschrieben ({first_line(error)}); die bisher "
                                    "aktive Version bleibt unverändert") from None
            vacuum(connection, schema)
        self.prune()
        return name

    @contextlib.contextmanager
    def scratch(self, kb: KnowledgeBase) -> Iterator[PostgresIndex]:
        """``kb`` written to a schema of its own that nothing serves, for measuring it (eval); dropped after."""
        schema = f"assistant_scratch_{os.getpid()}_{secrets.token_hex(4)}"
        with connect(self.url) as connection:
            with connection.transaction():
                write_version(connection, schema, kb)
            vacuum(connection, schema)
        try:
            yield self._index("", schema, replace(kb.manifest, files={}, vector_index=VECTOR_INDEX))
        finally:
            with connect(self.url) as connection:
                connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the update lock: one build or update per database at a time. It is a session
        advisory lock, so the database releases it when the holder's connection ends, also in a crash."""
        with connect(self.url) as connection:
            if not connection.execute("SELECT pg_try_advisory_lock(%s)", (UPDATE_LOCK,)).fetchone()[0]:
                holder = connection.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 "
                                            "AND objid = %s AND granted", (UPDATE_LOCK,)).fetchone()
                raise IndexBusy(f"{self.where()}: ein anderer Aufbau oder eine andere Aktualisierung läuft "
                                f"(Datenbanksitzung {holder[0] if holder else '?'}); bitte danach erneut versuchen")
            try:
                yield
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (UPDATE_LOCK,))

    def versions(self) -> list[VersionInfo]:
        """The kept versions, oldest first."""
        with self.connections.connection() as connection:
            rows = connection.execute(
                "SELECT name, manifest->>'created', (manifest->'counts'->>'documents')::int, "
                "(manifest->'counts'->>'chunks')::int, name = (SELECT version FROM assistant.serving) "
                "FROM assistant.versions ORDER BY name").fetchall()
        return [VersionInfo(name, created, documents, chunks, bool(serving))
                for name, created, documents, chunks, serving in rows]

    def switch(self, name: str) -> None:
        """Serve version ``name`` (rollback); every replica answers its next question from it."""
        with self.connections.connection() as connection:
            with connection.transaction():
                if not connection.execute("SELECT 1 FROM assistant.versions WHERE name = %s", (name,)).fetchone():
                    raise IndexMissing(f"{self.where()}: keine Index-Version {name!r}")
                connection.execute("INSERT INTO assistant.serving (one, version) VALUES (true, %s) "
                                   "ON CONFLICT (one) DO UPDATE SET version = excluded.version", (name,))

    def previous_name(self) -> str:
        """The version before the one being served, for rollback."""
        names = [version.name for version in self.versions()]
        current = self.current_name()
        if current is None or current not in names or names.index(current) == 0:
            raise IndexMissing(f"{self.where()}: keine frühere Version, auf die zurückgeschaltet werden kann")
        return names[names.index(current) - 1]

    def prune(self) -> None:
        """Drop all but the newest ``keep`` versions, never the one being served. A question still
        running on a dropped version finishes first (DROP waits for its locks)."""
        keep = self.keep
        if keep <= 0:
            return
        with self.connections.connection() as connection:
            current = self.current_name()
            for (name, schema) in connection.execute("SELECT name, schema FROM assistant.versions ORDER BY name"
                                                     ).fetchall()[:-keep]:
                if name == current:
                    continue
                with connection.transaction():
                    connection.execute("DELETE FROM assistant.versions WHERE name = %s", (name,))
                    connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    def close(self) -> None:
        """Close the connections kept open for questions."""
        self.connections.close()


def schema_name(version: str) -> str:
    """The schema of a version: its name in lower-case letters and digits."""
    return "assistant_" + re.sub(r"[^a-z0-9]", "", version.lower())[:50]


def write_version(connection: psycopg.Connection, schema: str, kb: KnowledgeBase) -> None:
    """Create ``schema`` with the tables of ``kb`` and their indexes (inside the caller's transaction)."""
    name = sql.Identifier(schema)
    connection.execute(sql.SQL("CREATE SCHEMA {}").format(name))
    connection.execute(sql.SQL(
        "CREATE TABLE {}.chunks (position integer PRIMARY KEY, id text NOT NULL, document text NOT NULL, "
        "text text NOT NULL, start_offset integer NOT NULL, end_offset integer NOT NULL, page integer, "
        "units jsonb NOT NULL)").format(name))
    connection.execute(sql.SQL(
        "CREATE TABLE {}.postings (term text NOT NULL, position integer NOT NULL, weight real NOT NULL)").format(name))
    connection.execute(sql.SQL(
        "CREATE TABLE {}.vectors (vector_row integer PRIMARY KEY, position integer NOT NULL, unit integer NOT NULL, "
        "embedding vector({}) NOT NULL)").format(name, sql.Literal(int(kb.vectors.shape[1]))))
    connection.execute(sql.SQL(
        "CREATE TABLE {}.terms (term text PRIMARY KEY, df integer NOT NULL, part boolean NOT NULL)").format(name))
    analyzer = kb.lexical.analyzer
    counts = [Counter(analyzer.terms(retrieval_text(chunk))) for chunk in kb.chunks]
    frequencies: Counter[str] = Counter(term for chunk_counts in counts for term in chunk_counts)
    cursor = connection.cursor()
    with cursor.copy(sql.SQL("COPY {}.chunks FROM STDIN").format(name)) as copy:
        for position, chunk in enumerate(kb.chunks):
            copy.write_row((position, chunk.id, chunk.document, chunk.text, chunk.start, chunk.end, chunk.page,
                            Jsonb(chunk.to_dict()["units"])))
    k1, b = float(kb.manifest.settings.bm25_k1), float(kb.manifest.settings.bm25_b)
    lengths = np.array([sum(chunk_counts.values()) for chunk_counts in counts], dtype=np.float64)
    average = float(lengths.mean()) if len(lengths) else 1.0
    with cursor.copy(sql.SQL("COPY {}.postings FROM STDIN (FORMAT BINARY)").format(name)) as copy:
        copy.set_types(["text", "int4", "float4"])
        for position, chunk_counts in enumerate(counts):
            norm = k1 * (1 - b + b * lengths[position] / average)
            for term, count in chunk_counts.items():  # BM25's term-frequency part (bm25s: "lucene")
                copy.write_row((term, position, count / (count + norm)))
    with cursor.copy(sql.SQL("COPY {}.vectors FROM STDIN (FORMAT BINARY)").format(name)) as copy:
        copy.set_types(["int4", "int4", "int4", "vector"])
        n = len(kb.chunks)
        for row, vector in enumerate(kb.vectors):
            position = int(kb.row_chunk[row])
            copy.write_row((row, position, -1 if row < n else row - int(kb.unit_start[position]), vector))
    with cursor.copy(sql.SQL("COPY {}.terms FROM STDIN").format(name)) as copy:
        for term in frequencies.keys() | analyzer.parts:
            copy.write_row((term, frequencies.get(term, 0), term in analyzer.parts))
    connection.execute(sql.SQL("CREATE INDEX ON {}.postings (term) INCLUDE (position, weight)").format(name))
    connection.execute(sql.SQL("CREATE INDEX ON {}.chunks (document)").format(name))
    connection.execute(sql.SQL("CREATE INDEX ON {}.vectors (position)").format(name))
    connection.execute("SET LOCAL maintenance_work_mem = '1GB'")  # the HNSW graph is built in memory
    connection.execute(sql.SQL("CREATE INDEX ON {}.vectors USING hnsw (embedding vector_ip_ops) "
                               "WITH (m = {}, ef_construction = {})").format(
        name, sql.Literal(HNSW["m"]), sql.Literal(HNSW["ef_construction"])))
    for table in ("chunks", "postings", "terms", "vectors"):
        connection.execute(sql.SQL("ANALYZE {}.{}").format(name, sql.Identifier(table)))
    counts = connection.execute(sql.SQL("SELECT (SELECT count(*) FROM {0}.chunks), (SELECT count(*) FROM {0}.vectors)"
                                        ).format(name)).fetchone()
    if counts != (len(kb.chunks), len(kb.vectors)):
        raise IndexCorrupt(f"{schema}: Anzahlen weichen nach dem Schreiben ab (Abschnitte {counts[0]} von "
                           f"{len(kb.chunks)}, Vektoren {counts[1]} von {len(kb.vectors)})")


def vacuum(connection: psycopg.Connection, schema: str) -> None:
    """Mark the new postings all-visible, so lexical search reads the B-tree alone (an index-only
    scan); done after the commit, since VACUUM cannot run inside a transaction."""
    connection.execute(sql.SQL("VACUUM {}.postings").format(sql.Identifier(schema)))


class ChunkRows(Sequence[Chunk]):
    """The chunks of a version by position, read from the database when first needed and then
    kept (the most recently used ``CACHED_CHUNKS``)."""

    def __init__(self, index: PostgresIndex, size: int):
        self._index, self._size = index, size
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(self._size))]
        position = int(position) + (self._size if position < 0 else 0)
        if not 0 <= position < self._size:
            raise IndexError(position)
        with self._lock:
            chunk = self._cache.get(position)
            if chunk is not None:
                self._cache.move_to_end(position)
                return chunk
        self.fetch([position])
        with self._lock:
            return self._cache[position]

    def __iter__(self) -> Iterator[Chunk]:
        """All chunks in order, in one query."""
        for _, chunk in self._index.read_chunks("TRUE", {}):
            yield chunk

    def missing(self, positions: Collection[int]) -> list[int]:
        with self._lock:
            return [p for p in positions if p not in self._cache]

    def fetch(self, positions: Collection[int]) -> None:
        missing = self.missing(positions)
        if missing:
            self.remember(self._index.read_chunks("position = ANY(%(positions)s::int[])", {"positions": missing}))

    def remember(self, chunks) -> None:
        with self._lock:
            for position, chunk in chunks:
                self._cache[position] = chunk
                self._cache.move_to_end(position)
            while len(self._cache) > CACHED_CHUNKS:
                self._cache.popitem(last=False)


class PostgresIndex:
    """One version of the index in PostgreSQL: the ``Index`` (protocol.py) that retrieval, answering
    and the app use, as ``KnowledgeBase`` is in memory."""

    damaged_current = ""  # the database's transactions leave no half-written version to fall back from
    warning = ""

    def __init__(self, store: PostgresStore, name: str, schema: str, manifest: Manifest,
                 frequencies: dict[str, int], parts: Collection[str]):
        self.store = store
        self.version = name
        self.schema = schema
        self.manifest = manifest
        self.analyzer = Analyzer(parts)
        self._frequencies = frequencies
        self._size = manifest.counts.chunks
        self._metas = {doc_id: record.meta for doc_id, record in manifest.documents.items()}
        self.chunks = ChunkRows(self, self._size)
        self._similarities: OrderedDict[bytes, dict[int, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        table = sql.Identifier(schema)
        self._sql = {
            "lexical": sql.SQL(LEXICAL).format(table, sql.SQL("TRUE")),
            "lexical_allowed": sql.SQL(LEXICAL).format(table, sql.SQL("p.position = ANY(%(allowed)s::int[])")),
            "nearest": sql.SQL("SELECT position, -(embedding <#> %(q)s) FROM {}.vectors "
                               "ORDER BY embedding <#> %(q)s LIMIT %(k)s").format(table),
            # exact: ordered by the similarity, not by the operator the HNSW index serves
            "nearest_allowed": sql.SQL("SELECT position, max(-(embedding <#> %(q)s)) AS s FROM {}.vectors "
                                       "WHERE position = ANY(%(allowed)s::int[]) GROUP BY position "
                                       "ORDER BY s DESC, position LIMIT %(k)s").format(table),
            "similarities": sql.SQL(SIMILARITIES).format(table, sql.SQL(", ").join(
                sql.Identifier("c", field) for field in CHUNK_FIELDS)),
        }

    @property
    def serves_for(self) -> str:
        return self.version

    def _query(self, query: sql.Composable, params: dict[str, Any], binary: bool = False) -> list[tuple]:
        with self.store.connections.connection() as connection:
            return connection.cursor(binary=binary).execute(query, params).fetchall()

    def read_chunks(self, where: str, params: dict[str, Any]) -> list[tuple[int, Chunk]]:
        """The chunks ``where`` selects (an SQL condition on the chunks table) with their positions, in order."""
        rows = self._query(sql.SQL("SELECT position, {} FROM {}.chunks WHERE " + where + " ORDER BY position").format(
            sql.SQL(", ").join(map(sql.Identifier, CHUNK_FIELDS)), sql.Identifier(self.schema)), params)
        return [(row[0], self._chunk(row[1:])) for row in rows]

    def _chunk(self, row: Sequence[Any]) -> Chunk:
        chunk_id, document, text, start, end, page, units = row
        return Chunk(chunk_id, document, text, start, end, page, self._metas[document],
                     tuple(Unit(*span) for span in units))

    # -- lexical ----------------------------------------------------------------------------------

    def terms(self, text: str) -> list[str]:
        """``text`` analysed as the index analysed its texts (stems and compound parts)."""
        return self.analyzer.terms(text)

    def term_weights(self, terms: Sequence[str]) -> np.ndarray:
        """The idf weight of each term in this version (a term no passage contains gets the highest)."""
        return idf([self._frequencies.get(t, 0) for t in terms], self._size) if len(terms) else np.zeros(0)

    def lexical_search(self, query: str, n: int, allowed: np.ndarray | None = None,
                       also: Sequence[int] = ()) -> LexicalHits:
        """The ``n`` best chunks by BM25 (of the ``allowed`` ones), and the scores of ``also``: one query."""
        also = [int(p) for p in also]
        counts = Counter(t for t in self.analyzer.terms(query) if self._frequencies.get(t, 0) > 0)
        if not counts:
            return LexicalHits([], {p: 0.0 for p in also})
        terms = list(counts)
        weights = idf([self._frequencies[t] for t in terms], self._size) * np.array([counts[t] for t in terms])
        params = {"terms": terms, "weights": weights.tolist(), "n": n, "also": also,
                  "allowed": None if allowed is None else [int(p) for p in allowed]}
        rows = self._query(self._sql["lexical" if allowed is None else "lexical_allowed"], params)
        best = [(int(p), float(score)) for p, score, top in sorted(rows, key=lambda r: (-r[1], r[0])) if top]
        scores = {p: 0.0 for p in also}
        scores.update((int(p), float(score)) for p, score, _ in rows)
        return LexicalHits(best, scores)

    # -- vectors ----------------------------------------------------------------------------------

    def nearest_chunks(self, query_vector: np.ndarray, n: int,
                       allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` chunks whose own vector or one of whose units' vectors is nearest, best first
        (by the HNSW index; restricted to ``allowed`` chunks, exactly)."""
        vector = np.asarray(query_vector, dtype=np.float32)
        if allowed is None:
            rows = self._query(self._sql["nearest"], {"q": vector, "k": 4 * n}, binary=True)
        else:
            rows = self._query(self._sql["nearest_allowed"], {"q": vector, "k": n, "allowed": [int(p) for p in allowed]},
                               binary=True)
        found: dict[int, float] = {}
        for position, similarity in rows:
            found.setdefault(int(position), float(similarity))
            if len(found) == n:
                break
        return list(found.items())

    def chunk_similarities(self, positions: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """Vector score of chunks: the better of the chunk's own similarity and its best unit's. The
        same query reads the chunks not read yet and keeps the units' similarities for
        ``unit_similarities``: whoever scores a candidate reads its text and units next."""
        positions = [int(p) for p in positions]
        if not positions:
            return np.zeros(0, dtype=np.float32)
        vector = np.asarray(query_vector, dtype=np.float32)
        rows = self._query(self._sql["similarities"], {"q": vector, "positions": positions,
                                                       "missing": self.chunks.missing(positions)}, binary=True)
        found = {int(row[0]): np.asarray(row[1], dtype=np.float32) for row in rows}
        self.chunks.remember((int(row[0]), self._chunk(row[2:])) for row in rows if row[2] is not None)
        with self._lock:
            kept = self._similarities.setdefault(vector.tobytes(), {})
            kept.update((position, similarities[1:]) for position, similarities in found.items())
            self._similarities.move_to_end(vector.tobytes())
            while len(self._similarities) > CACHED_QUESTIONS:
                self._similarities.popitem(last=False)
        return np.array([found[p].max() for p in positions], dtype=np.float32)

    def unit_similarities(self, position: int, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the question to each unit of a chunk (empty without unit vectors)."""
        key = np.asarray(query_vector, dtype=np.float32).tobytes()
        with self._lock:
            found = self._similarities.get(key, {}).get(int(position))
        if found is None:
            self.chunk_similarities(np.array([position]), query_vector)
            with self._lock:
                found = self._similarities[key][int(position)]
        return found

    # -- documents --------------------------------------------------------------------------------

    def document_positions(self, documents: Collection[str]) -> np.ndarray:
        rows = self._query(sql.SQL("SELECT position FROM {}.chunks WHERE document = ANY(%(documents)s::text[]) "
                                   "ORDER BY position").format(sql.Identifier(self.schema)),
                           {"documents": list(documents)})
        return np.array([row[0] for row in rows], dtype=np.int64)

    def document_text(self, document: str) -> str:
        """The document's text, put together from its chunks (the gaps between chunks are blank)."""
        return join_chunks(self.manifest.documents[document].length,
                                    [chunk for _, chunk in self.read_chunks("document = %(document)s",
                                                                            {"document": document})])

    def documents(self) -> dict[str, DocumentMeta]:
        return dict(self._metas)

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        """Every embedded text (chunks with their title, then units) and its vector: what an update reuses."""
        rows = self._query(sql.SQL("SELECT embedding FROM {}.vectors ORDER BY vector_row").format(
            sql.Identifier(self.schema)), {}, binary=True)
        texts = embedded_texts(list(self.chunks), len(rows) > self._size)
        return {text: row[0].to_numpy().astype(np.float32) for text, row in zip(texts, rows)}


# BM25 (bm25s's "lucene" variant) of every chunk that holds a term of the question, in one
# statement: %(weights)s are the terms' idf times their count in the question.
LEXICAL = """
WITH query (term, weight) AS (SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[])),
scored AS (
    SELECT p.position, sum(q.weight * p.weight) AS score
    FROM query q JOIN {0}.postings p ON p.term = q.term
    WHERE {1}
    GROUP BY p.position
),
ranked AS (SELECT position, score, row_number() OVER (ORDER BY score DESC, position) AS rank FROM scored)
SELECT position, score, rank <= %(n)s FROM ranked WHERE rank <= %(n)s OR position = ANY(%(also)s::int[])
"""

# Each chunk's similarities (its own vector first, then its units in order), and the rows of the
# chunks not read yet.
SIMILARITIES = """
SELECT s.position, s.similarities, {1}
FROM (SELECT position, array_agg(-(embedding <#> %(q)s) ORDER BY unit) AS similarities
      FROM {0}.vectors WHERE position = ANY(%(positions)s::int[]) GROUP BY position) s
LEFT JOIN {0}.chunks c ON c.position = s.position AND c.position = ANY(%(missing)s::int[])
"""
