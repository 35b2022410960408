"""What an index version records about itself: the ``Manifest``, the only way anything reads it.

A manifest says which settings the index depends on (``IndexSettings``: a mismatch means it must
be rebuilt), with which model and engine it was embedded, when it was made, how many documents,
chunks and embedded texts it holds, and for each document a ``DocumentRecord`` (content hash,
metadata, chunks, when it was first added). The file store (``store.py``) also records a checksum
of every file of the version. ``to_dict``/``from_dict`` give the JSON layout of the store's manifest file
(format version 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..datatypes import DocumentMeta
from ..settings import Settings
from .embedding import model_id_for

FORMAT_VERSION = 2  # 2: units with kinds and context (captions split, page furniture not a unit)


@dataclass(frozen=True)
class IndexSettings:
    """The parts of the settings an index depends on: with other values it must be rebuilt."""

    embedding_model: str
    chunk_size: int
    chunk_overlap: int
    unit_vectors: bool
    bm25_k1: float
    bm25_b: float
    format_version: int = FORMAT_VERSION

    @classmethod
    def of(cls, settings: Settings) -> IndexSettings:
        return cls(model_id_for(settings.embedding.model), settings.chunking.size, settings.chunking.overlap,
                   settings.chunking.unit_vectors, settings.retrieval.bm25_k1, settings.retrieval.bm25_b)

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": self.format_version, "embedding_model": self.embedding_model,
                "chunking": {"size": self.chunk_size, "overlap": self.chunk_overlap},
                "unit_vectors": self.unit_vectors, "bm25": {"k1": self.bm25_k1, "b": self.bm25_b}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexSettings:
        chunking, bm25 = data.get("chunking") or {}, data.get("bm25") or {}
        return cls(data.get("embedding_model"), chunking.get("size"), chunking.get("overlap"),
                   data.get("unit_vectors"), bm25.get("k1"), bm25.get("b"), data.get("format_version"))

    def differences(self, wanted: IndexSettings) -> list[str]:
        """Readable differences between these (an index's) and the ``wanted`` settings."""
        have, want = self.to_dict(), wanted.to_dict()
        return [f"{key}: Index {have[key]!r}, Einstellungen {value!r}"
                for key, value in want.items() if have[key] != value]


@dataclass(frozen=True)
class DocumentRecord:
    """One indexed document: its content hash (file and metadata sidecar), metadata, pages, length
    of its text, how many chunks it has and when it was first added to the index."""

    sha256: str
    chunks: int
    added: str
    meta: DocumentMeta = DocumentMeta()
    pages: tuple[int, ...] = ()
    length: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "chunks": self.chunks, "added": self.added, "meta": self.meta.to_dict(),
                "pages": list(self.pages), "length": self.length}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DocumentRecord:
        return cls(data["sha256"], data.get("chunks", 0), data.get("added", ""),
                   DocumentMeta.from_dict(data.get("meta") or {}), tuple(data.get("pages") or ()),
                   data.get("length", 0))


@dataclass(frozen=True)
class Counts:
    documents: int
    chunks: int
    embedded_texts: int  # distinct texts embedded for this version (chunks and units)


@dataclass(frozen=True)
class Manifest:
    settings: IndexSettings
    embedding_dimension: int
    embedding_engine: str  # for the record: engines of one model give the same vectors
    created: str
    counts: Counts
    documents: Mapping[str, DocumentRecord] = field(default_factory=dict)
    vector_index: str = ""  # how the vectors are searched, e.g. "flat" or "IVF2048,Flat nprobe=32"
    files: Mapping[str, str] = field(default_factory=dict)  # checksum of every file (file store)

    @property
    def format_version(self) -> int:
        return self.settings.format_version

    def to_dict(self) -> dict[str, Any]:
        result = {**self.settings.to_dict(), "embedding_dimension": self.embedding_dimension,
                  "embedding_engine": self.embedding_engine, "created": self.created,
                  "counts": {"documents": self.counts.documents, "chunks": self.counts.chunks,
                             "embedded_texts": self.counts.embedded_texts},
                  "documents": {doc_id: record.to_dict() for doc_id, record in self.documents.items()},
                  "vector_index": self.vector_index}
        return {**result, "files": dict(self.files)} if self.files else result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        counts = data["counts"]
        return cls(IndexSettings.from_dict(data), int(data["embedding_dimension"]), data.get("embedding_engine", ""),
                   data["created"], Counts(counts["documents"], counts["chunks"], counts.get("embedded_texts", 0)),
                   {doc_id: DocumentRecord.from_dict(record) for doc_id, record in data["documents"].items()},
                   data.get("vector_index", ""), dict(data.get("files") or {}))
