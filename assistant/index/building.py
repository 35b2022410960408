"""Build a knowledge base in memory: documents -> chunks -> vectors and BM25 -> ``KnowledgeBase``.

Every text is embedded once: a chunk is embedded with its document's title (``retrieval_text``),
and with ``chunking.unit_vectors`` each of its units too. Texts the previous version (made with
the same settings) already embedded keep their vectors, so an update embeds only what is new or
changed. Saving the result is ``store.py``'s work, deciding when to build the ``Library``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np

from ..datatypes import Chunk, Document
from ..documents.chunking import chunk_document
from ..exceptions import IndexProblem
from ..settings import Settings
from .embedding import Embedder
from .knowledge import KnowledgeBase, embedded_texts, retrieval_text
from .lexical import LexicalIndex
from .manifest import Counts, DocumentRecord, IndexSettings, Manifest
from .protocol import Index
from .vectors import VectorIndex


def build_knowledge_base(documents: Sequence[Document], embedder: Embedder, settings: Settings,
                         progress: bool = False, previous: Index | None = None) -> KnowledgeBase:
    """Chunk, embed and index ``documents`` in memory. Texts that ``previous`` (an index made
    with the same settings) already embedded keep their vectors, so an update embeds only what
    is new or changed; documents keep the time they were first added."""
    if not documents:
        raise IndexProblem("keine Dokumente zu indexieren: der Korpus ist leer, oder keine Datei war lesbar")
    chunks = [chunk for document in documents for chunk in chunk_document(document, settings.chunking.size,
                                                                           settings.chunking.overlap)]
    texts = embedded_texts(chunks, settings.chunking.unit_vectors)
    known = previous.vectors_by_text() if previous is not None else {}
    vectors, embedded = embed_unique(embedder, texts, progress, known)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    earlier = previous.manifest.documents if previous is not None else {}
    first_added = {doc_id: record.added for doc_id, record in earlier.items()}
    by_hash = {record.sha256: record.added for record in earlier.values()}
    per_document: dict[str, int] = {}
    for chunk in chunks:
        per_document[chunk.document] = per_document.get(chunk.document, 0) + 1
    manifest = Manifest(
        IndexSettings.of(settings), int(embedder.dim), getattr(embedder, "engine", ""), now,
        Counts(len(documents), len(chunks), embedded),
        {d.id: DocumentRecord(d.sha256, per_document.get(d.id, 0),
                              first_added.get(d.id) or by_hash.get(d.sha256) or now, d.meta, d.pages, len(d.text))
         for d in documents})
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


def assemble(chunks: list[Chunk], vectors: np.ndarray, manifest: Manifest, settings: Settings) -> KnowledgeBase:
    """Build the lexical and vector indexes over chunks whose vectors are already known."""
    retrieval = settings.retrieval
    lexical = LexicalIndex.build([retrieval_text(c) for c in chunks], retrieval.bm25_k1, retrieval.bm25_b)
    vector_index = VectorIndex.build(vectors, retrieval.exact_search_max, retrieval.ivf_nprobe)
    manifest = replace(manifest, vector_index=vector_index.describe())
    return KnowledgeBase(chunks, vectors, lexical, vector_index, manifest)
