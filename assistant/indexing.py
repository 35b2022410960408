"""Build the knowledge base (chunks, vectors, BM25) and keep it on disk as atomic versions.

Layout of the index folder::

    index/
      CURRENT               name of the version being served (replaced atomically)
      versions/<name>/      manifest.json, chunks.jsonl, vectors.npy, vectors.faiss, bm25/

A build writes a new version into a temporary folder, verifies that it loads and that its
counts match the manifest, renames it into place and only then switches ``CURRENT``. A crash at
any point leaves the previous version whole and serving.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import chunk_document
from .datatypes import Chunk, Document, DocumentMeta, Unit
from .embedding import Embedder, model_id_for
from .lexical import LexicalIndex
from .settings import Settings
from .vectors import VectorIndex

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: units with kinds and context (captions split, page furniture not a unit)
CURRENT_FILE = "CURRENT"
VERSIONS_DIR = "versions"
MANIFEST_FILE = "manifest.json"


class IndexProblem(RuntimeError):
    """Base for index problems; the message is meant for the person running the command."""


class IndexMissing(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    """The index on disk was made with other settings or another model."""


class IndexCorrupt(IndexProblem):
    pass


class IndexBusy(IndexProblem):
    """Another build or update of the same index is running."""


@contextlib.contextmanager
def exclusive(index_dir: Path) -> Iterator[None]:
    """Hold the index's update lock. It is an OS file lock (flock): the system releases it when
    the holder exits or is killed, so a crashed update never leaves it stuck."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".update.lock").open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise IndexBusy(f"{index_dir}: another build or update is running (process {holder}); "
                            "try again when it has finished") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


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
    manifest: dict[str, Any]
    path: Path | None = None
    # Set when CURRENT names a damaged version and this older, intact one serves instead.
    damaged_current: str = ""  # the damaged version's name
    warning: str = ""  # what was found and what to do, for logs and the admin tab

    def __post_init__(self) -> None:
        n = len(self.chunks)
        with_units = len(self.vectors) > n
        counts = np.array([len(c.units) if with_units else 0 for c in self.chunks], dtype=np.int64)
        self.unit_start = n + np.concatenate([[0], np.cumsum(counts)])
        self.row_chunk = np.concatenate([np.arange(n), np.repeat(np.arange(n), counts)]).astype(np.int64)

    @property
    def version(self) -> str:
        return self.path.name if self.path else ""

    @property
    def serves_for(self) -> str:
        """The name in ``CURRENT`` this knowledge base answers for: its own, or the damaged one's."""
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

    def lexical_scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query``."""
        return self.lexical.scores(query)

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
        texts = [retrieval_text(c) for c in self.chunks]
        if len(self.vectors) > len(self.chunks):
            texts += [text for chunk in self.chunks for text in unit_retrieval_texts(chunk)]
        return dict(zip(texts, self.vectors))

    def document_text(self, document: str) -> str:
        """The document's text, put together from its chunks (the gaps between chunks are blank)."""
        length = self.manifest["documents"][document].get("length", 0)
        characters = [" "] * length
        for chunk in self.chunks:
            if chunk.document == document:
                characters[chunk.start:chunk.end] = chunk.text
        return "".join(characters)

    def documents(self) -> dict[str, DocumentMeta]:
        return {doc_id: DocumentMeta.from_dict(record["meta"]) for doc_id, record in self.manifest["documents"].items()}


def retrieval_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: its document title, then the chunk itself."""
    return f"{chunk.meta.title}\n{chunk.text}" if chunk.meta.title else chunk.text


def unit_retrieval_texts(chunk: Chunk) -> list[str]:
    """What is embedded for each unit of a chunk: its context (a caption's lead), then the unit."""
    return [f"{unit.context} {chunk.unit_text(unit)}" if unit.context else chunk.unit_text(unit)
            for unit in chunk.units]


def settings_record(settings: Settings) -> dict[str, Any]:
    """The parts of the settings an index depends on; a mismatch means the index must be rebuilt."""
    return {
        "format_version": FORMAT_VERSION,
        "embedding_model": model_id_for(settings.embedding_model),
        "chunking": {"size": settings.chunk_size, "overlap": settings.chunk_overlap},
        "unit_vectors": settings.unit_vectors,
        "bm25": {"k1": settings.bm25_k1, "b": settings.bm25_b},
    }


def build_knowledge_base(documents: Sequence[Document], embedder: Embedder, settings: Settings,
                         progress: bool = False, previous: KnowledgeBase | None = None) -> KnowledgeBase:
    """Chunk, embed and index ``documents`` in memory. Texts that ``previous`` (an index made
    with the same settings) already embedded keep their vectors, so an update embeds only what
    is new or changed; documents keep the time they were first added."""
    if not documents:
        raise IndexProblem("no documents to index: the corpus is empty or no file could be read")
    chunks = [chunk for document in documents
              for chunk in chunk_document(document, settings.chunk_size, settings.chunk_overlap)]
    texts = [retrieval_text(chunk) for chunk in chunks]
    if settings.unit_vectors:
        texts += [text for chunk in chunks for text in unit_retrieval_texts(chunk)]
    known = previous.vectors_by_text() if previous is not None else {}
    vectors, embedded = embed_unique(embedder, texts, progress, known)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    first_added = {doc_id: record.get("added", now) for doc_id, record in
                   (previous.manifest["documents"].items() if previous is not None else ())}
    by_hash = {record["sha256"]: record.get("added", now) for record in
               (previous.manifest["documents"].values() if previous is not None else ())}
    per_document: dict[str, int] = {}
    for chunk in chunks:
        per_document[chunk.document] = per_document.get(chunk.document, 0) + 1
    manifest = {
        **settings_record(settings),
        "embedding_dimension": int(embedder.dim),
        "embedding_engine": getattr(embedder, "engine", ""),  # for the record: engines of one model agree
        "created": now,
        "counts": {"documents": len(documents), "chunks": len(chunks), "embedded_texts": embedded},
        "documents": {d.id: {"sha256": d.sha256, "chunks": per_document.get(d.id, 0),
                             "added": first_added.get(d.id) or by_hash.get(d.sha256) or now,
                             "meta": d.meta.to_dict(), "pages": list(d.pages), "length": len(d.text)}
                      for d in documents},
    }
    return assemble(chunks, vectors, manifest, settings)


def embed_unique(embedder: Embedder, texts: list[str], progress: bool,
                 known: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, int]:
    """Passage vectors for ``texts``, embedding each distinct text once and texts in ``known``
    not at all; also the number of texts embedded."""
    known = dict(known or {})
    missing = [text for text in dict.fromkeys(texts) if text not in known]
    if missing:
        known.update(zip(missing, embedder.embed_passages(missing, progress=progress)))
    if not texts:
        return np.empty((0, embedder.dim), np.float32), 0
    return np.stack([known[text] for text in texts]).astype(np.float32), len(missing)


def assemble(chunks: list[Chunk], vectors: np.ndarray, manifest: dict[str, Any], settings: Settings,
             path: Path | None = None) -> KnowledgeBase:
    """Build the lexical and vector indexes over chunks whose vectors are already known."""
    lexical = LexicalIndex.build([retrieval_text(c) for c in chunks], settings.bm25_k1, settings.bm25_b)
    vector_index = VectorIndex.build(vectors, settings.exact_search_max, settings.ivf_nprobe)
    manifest["vector_index"] = vector_index.describe()
    return KnowledgeBase(chunks, vectors, lexical, vector_index, manifest, path)


# -- on disk -------------------------------------------------------------------------------------

def current_version(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT_FILE
    if not pointer.is_file():
        return None
    name = pointer.read_text("utf-8").strip()
    path = index_dir / VERSIONS_DIR / name
    return path if name and path.is_dir() else None


def list_versions(index_dir: Path) -> list[Path]:
    """Complete versions, oldest first (names sort by creation time)."""
    folder = index_dir / VERSIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / MANIFEST_FILE).is_file())


def save(kb: KnowledgeBase, index_dir: Path, keep: int = 3) -> Path:
    """Write ``kb`` as a new version, verify it, switch ``CURRENT`` to it, prune old versions."""
    versions = index_dir / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    name = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    staging = versions / f".building-{name}"
    try:
        staging.mkdir()
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
            for chunk in kb.chunks:
                handle.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
        np.save(staging / "vectors.npy", kb.vectors)
        kb.vector_index.save(staging / "vectors.faiss")
        kb.lexical.save(staging / "bm25")
        manifest = dict(kb.manifest, files=_checksums(staging))
        _write_atomic(staging / MANIFEST_FILE, json.dumps(manifest, ensure_ascii=False, indent=1))
        _fsync_tree(staging)
        load_version(staging)  # verify: it loads and its counts match the manifest
        final = versions / name
        os.replace(staging, final)
        switch(index_dir, final.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    kb.path, kb.manifest = final, manifest
    prune(index_dir, keep)
    return final


def switch(index_dir: Path, name: str) -> None:
    """Point ``CURRENT`` at version ``name``, atomically."""
    if not (index_dir / VERSIONS_DIR / name / MANIFEST_FILE).is_file():
        raise IndexMissing(f"{index_dir}: no index version {name!r}")
    _write_atomic(index_dir / CURRENT_FILE, name + "\n")


def previous_version_name(index_dir: Path) -> str:
    """The version before the current one, for rollback."""
    current = current_version(index_dir)
    names = [p.name for p in list_versions(index_dir)]
    if current is None or current.name not in names or names.index(current.name) == 0:
        raise IndexMissing(f"{index_dir}: no earlier version to roll back to")
    return names[names.index(current.name) - 1]


def prune(index_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` versions (never the current one) and stale build folders."""
    current = current_version(index_dir)
    for old in list_versions(index_dir)[:-keep] if keep > 0 else []:
        if current is None or old.resolve() != current.resolve():
            shutil.rmtree(old, ignore_errors=True)
    for leftover in (index_dir / VERSIONS_DIR).glob(".building-*"):
        if time.time() - leftover.stat().st_mtime > 3600:  # an interrupted build; a running one is younger
            shutil.rmtree(leftover, ignore_errors=True)


def load(index_dir: Path, settings: Settings) -> KnowledgeBase:
    """The version ``CURRENT`` names, checked against ``settings``. If its files are damaged
    (truncated, altered, missing), the newest intact older version serves instead, with a logged
    warning; nothing is deleted or switched, so the damaged version stays for inspection.
    Raises IndexMissing, IndexMismatch, or IndexCorrupt when no version is intact."""
    path = current_version(index_dir)
    if path is None:
        raise IndexMissing(f"{index_dir}: no index yet; run `python -m assistant build`")
    try:
        return _checked(load_version(path), settings)
    except IndexCorrupt as error:
        damage = error
    for older in reversed([p for p in list_versions(index_dir) if p.name < path.name]):
        try:
            kb = _checked(load_version(older), settings)
        except (IndexCorrupt, IndexMismatch) as error:
            log.warning("earlier index version not usable either: %s", error)
            continue
        kb.damaged_current = path.name
        kb.warning = (f"{damage} -- serving the previous intact version {older.name} instead. The damaged "
                      "version is kept for inspection; `python -m assistant update` writes a fresh version, "
                      f"`python -m assistant index rollback` points CURRENT back to {older.name}")
        log.warning("%s", kb.warning)
        return kb
    raise IndexCorrupt(f"{damage}; no intact earlier version to fall back to")


def _checked(kb: KnowledgeBase, settings: Settings) -> KnowledgeBase:
    """``kb`` if it was built with ``settings``; else IndexMismatch."""
    differences = mismatches(kb.manifest, settings)
    if differences:
        raise IndexMismatch(f"{kb.path}: index was built with other settings ({'; '.join(differences)}); "
                            "rebuild it with `python -m assistant build`")
    return kb


def mismatches(manifest: dict[str, Any], settings: Settings) -> list[str]:
    """Human-readable differences between an index manifest and the current settings."""
    expected = settings_record(settings)
    return [f"{key}: index has {manifest.get(key)!r}, settings say {value!r}"
            for key, value in expected.items() if manifest.get(key) != value]


def load_version(path: Path) -> KnowledgeBase:
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise IndexCorrupt(f"{path}: manifest unreadable ({error})") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(f"{path}: index format {manifest.get('format_version')!r}, this program reads "
                            f"{FORMAT_VERSION}; rebuild it with `python -m assistant build`")
    files = manifest.get("files") or {}
    found = _checksums(path, names=list(files))
    damaged = [f"{name} is missing" if found[name] == "missing" else f"{name} does not match its checksum"
               for name in files if found[name] != files[name]]
    if damaged:
        raise IndexCorrupt(f"{path}: {', '.join(damaged)} (truncated or altered)")
    metas = {doc_id: DocumentMeta.from_dict(record["meta"]) for doc_id, record in manifest["documents"].items()}
    try:
        chunks = []
        with (path / "chunks.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                record["units"] = tuple(Unit(*span) for span in record.get("units", ()))
                chunks.append(Chunk(meta=metas[record["document"]], **record))
        vectors = np.load(path / "vectors.npy")
        vector_index = VectorIndex.load(path / "vectors.faiss")
        lexical = LexicalIndex.load(path / "bm25")
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise IndexCorrupt(f"{path}: index files unreadable ({type(error).__name__}: {error})") from None
    expected = manifest["counts"]["chunks"]
    rows = expected + (sum(len(c.units) for c in chunks) if manifest.get("unit_vectors") else 0)
    if not (len(chunks) == lexical.size == expected and len(vectors) == vector_index.size == rows):
        raise IndexCorrupt(f"{path}: counts differ (manifest {expected}, chunks {len(chunks)}, "
                           f"vectors {len(vectors)}, faiss {vector_index.size}, bm25 {lexical.size})")
    return KnowledgeBase(chunks, vectors, lexical, vector_index, manifest, path)


def open_index(settings: Settings, documents: Callable[[], Sequence[Document]], embedder: Embedder,
               progress: bool = False) -> KnowledgeBase:
    """Load the current index (or, if it is damaged, the newest intact older version; see ``load``),
    or build it when there is none, it was made with other settings, or no version is intact."""
    try:
        return load(settings.index_dir, settings)
    except IndexMissing:
        log.info("no index in %s yet: building it", settings.index_dir)
    except (IndexMismatch, IndexCorrupt) as error:
        log.warning("%s -- rebuilding", error)
    with exclusive(settings.index_dir):
        kb = build_knowledge_base(documents(), embedder, settings, progress=progress)
        save(kb, settings.index_dir, settings.keep_versions)
    return kb


def _checksums(folder: Path, names: list[str] | None = None) -> dict[str, str]:
    if names is None:
        names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                       if p.is_file() and p.name != MANIFEST_FILE)
    result = {}
    for name in names:
        digest = hashlib.sha256()
        try:
            with (folder / name).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            result[name] = "missing"
            continue
        result[name] = digest.hexdigest()
    return result


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
