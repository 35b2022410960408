"""The index library: the one service that opens, builds, updates and rolls back the index.

The command line, the app (its admin tab and the live index it answers from) and the benchmarks
call a ``Library``; none of them reads the corpus for an index, builds, saves or switches index
versions itself. The library keeps the versions in a ``VersionStore`` chosen by the setting
``index_backend`` (``open_store``): "memory", the default, keeps them as folders under
``index_dir`` (store.py) and searches them in this process (knowledge.py); "postgres" keeps them
in the PostgreSQL database at ``database_url`` and searches them there (postgres.py), so that
several app replicas serve one index.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import ContextManager

from .datatypes import Document
from .documents.loading import LoadResult, load_corpus
from .exceptions import IndexCorrupt, IndexMismatch, IndexMissing, IndexProblem, QualityCheckFailed, SettingsError
from .index.building import build_knowledge_base
from .index.embedding import Embedder, embedder_for
from .index.knowledge import KnowledgeBase, retrieval_text
from .index.manifest import IndexSettings
from .index.protocol import Index
from .index.store import IndexStore, VersionInfo, VersionStore
from .index.updating import QualityCheck, UpdateReport, plan_update
from .settings import Settings

log = logging.getLogger(__name__)


def open_store(settings: Settings) -> VersionStore:
    """The store the setting ``index_backend`` names (one of ``settings.BACKENDS``)."""
    if settings.index_backend == "memory":
        return IndexStore(settings.index_dir, settings.keep_versions)
    if settings.index_backend == "postgres":
        try:
            from .index.postgres import PostgresStore  # psycopg and pgvector only where the database is used
        except ImportError as error:
            raise SettingsError(f"index_backend 'postgres' braucht psycopg und pgvector ({error}); bitte mit "
                                "`pip install -e '.[postgres]'` installieren") from None
        return PostgresStore(settings)
    raise SettingsError(f"index_backend: {settings.index_backend!r} ist unbekannt")


@dataclass(frozen=True)
class BuildReport:
    index: KnowledgeBase  # the new version, saved and served
    seconds: float

    @property
    def version(self) -> str:
        return self.index.version


class Library:
    """The index of one corpus with one ``Settings``: its versions, and how they are made."""

    def __init__(self, settings: Settings, store: VersionStore | None = None):
        self.settings = settings
        self.store = store if store is not None else open_store(settings)

    def embedder(self, batch_job: bool = False) -> Embedder:
        """The shared embedder the settings name: for answering questions, or for a build, update
        or evaluation (``batch_job``: all of ``embedding.build_threads``)."""
        return embedder_for(self.settings, batch_job=batch_job)

    def corpus(self) -> LoadResult:
        """The documents of the corpus folder (or file), and the files that could not be read."""
        return load_corpus(self.settings.corpus_dir, self.settings.max_file_mb, self.settings.ocr)

    def current_name(self) -> str | None:
        """The name of the version being served (cheap: checked before every question)."""
        return self.store.current_name()

    def load(self) -> Index:
        """The version being served, made with these settings; if it is damaged, the newest intact
        older one (see ``IndexStore.load``). Raises IndexMissing, IndexMismatch or IndexCorrupt."""
        return self.store.load(IndexSettings.of(self.settings))

    def open(self, embedder: Embedder, documents: Callable[[], Sequence[Document]] | None = None,
             progress: bool = False) -> Index:
        """The version being served, or a new one built from ``documents()`` (default: the corpus)
        when there is none, it was made with other settings, or no version is intact."""
        try:
            return self.load()
        except IndexMissing:
            log.info("noch kein Index in %s: er wird gebaut", self.store.where())
        except (IndexMismatch, IndexCorrupt) as error:
            log.warning("%s – er wird neu gebaut", error)
        found = documents() if documents is not None else self.corpus().documents
        built = self.build(embedder, found, progress).index
        # An index kept in a database is searched there, as every other replica searches it.
        return built if self.settings.index_backend == "memory" else self.load()

    def build(self, embedder: Embedder, documents: Sequence[Document], progress: bool = False) -> BuildReport:
        """A new version of ``documents``, saved and served; one build or update at a time."""
        started = time.perf_counter()
        with self.store.exclusive():
            kb = build_knowledge_base(documents, embedder, self.settings, progress=progress)
            kb = replace(kb, version=self.store.save(kb))
        return BuildReport(kb, time.perf_counter() - started)

    def update(self, embedder: Embedder, documents: Sequence[Document], check: QualityCheck | None = None,
               force: bool = False, dry_run: bool = False, progress: bool = False) -> UpdateReport:
        """Plan, build and (unless ``dry_run``, or a ``check`` that finds the new version worse,
        without ``force``) switch to a version of ``documents`` that embeds only what changed;
        one build or update at a time."""
        if dry_run:
            return self._update(embedder, documents, check, force, dry_run, progress)
        with self.store.exclusive():
            return self._update(embedder, documents, check, force, dry_run, progress)

    def _update(self, embedder: Embedder, documents: Sequence[Document], check: QualityCheck | None,
                force: bool, dry_run: bool, progress: bool) -> UpdateReport:
        started = time.perf_counter()
        try:
            current: Index | None = self.load()
        except IndexMissing:
            current = None
        except (IndexMismatch, IndexCorrupt) as error:
            raise IndexProblem(f"{error}. `python -m assistant build` baut den Index aus dem Korpus neu.") from None
        plan = plan_update(documents, current.manifest if current else None)
        # Nothing changed: done, unless the version being served is damaged (then a fresh one replaces it).
        if dry_run or (plan.empty and current is not None and not current.damaged_current):
            return UpdateReport(plan, 0, 0, len(current.chunks) if current else 0, time.perf_counter() - started,
                                current.version if current else "")
        new = build_knowledge_base(documents, embedder, self.settings, progress=progress, previous=current)
        known = set(current.vectors_by_text()) if current else set()
        chunks_embedded = sum(retrieval_text(c) not in known for c in new.chunks)
        verdict = check(current, new) if check is not None and current is not None else None
        if verdict is not None and verdict.worse and not force:
            raise QualityCheckFailed(f"nicht umgeschaltet: {verdict.text} (mit --force trotzdem umschalten)")
        name = self.store.save(new)
        return UpdateReport(plan, chunks_embedded, new.manifest.counts.embedded_texts, len(new.chunks),
                            time.perf_counter() - started, name, True, verdict.text if verdict else "")

    def rollback(self, version: str | None = None) -> str:
        """Serve ``version`` (default: the one before the version being served) again; its name."""
        name = version or self.store.previous_name()
        self.store.switch(name)
        return name

    def versions(self) -> list[VersionInfo]:
        """The kept versions, oldest first."""
        return self.store.versions()

    def where(self, version: str = "") -> str:
        """Where the versions (and ``version``) are kept, for messages: never a password."""
        return self.store.where(version)

    def export(self, target: Library) -> str:
        """Copy the version being served into ``target``'s store, under its name and serving it
        there, without embedding anything again (``index export --to postgres``); its name."""
        index = self.load()
        if not isinstance(index, KnowledgeBase):
            raise SettingsError(f"{self.where()}: exportiert wird nur ein Index vom Datenträger "
                                "(index_backend 'memory')")
        with target.store.exclusive():
            return target.store.save(index, name=index.version)

    def searchable(self, kb: KnowledgeBase) -> ContextManager[Index]:
        """``kb`` (built in memory for an evaluation) searched as this library's backend searches:
        itself, or a copy in the database that no one else reads, dropped afterwards."""
        return self.store.scratch(kb)

    def close(self) -> None:
        """Let go of what the store holds open (a database's connections)."""
        self.store.close()

    def index_in_memory(self, documents: Sequence[Document], embedder: Embedder, previous: Index | None = None,
                        progress: bool = False) -> KnowledgeBase:
        """An index of ``documents`` that is never saved (evaluations, throwaway corpora); texts
        that ``previous`` embedded keep their vectors."""
        return build_knowledge_base(documents, embedder, self.settings, progress=progress, previous=previous)
