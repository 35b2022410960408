"""Index versions on disk: the only module that reads or writes the files of an index.

Layout of the index folder::

    index/
      CURRENT               name of the version being served (replaced atomically)
      .update.lock          held by the one build or update running (an OS file lock)
      versions/<name>/      manifest.json, chunks.jsonl, vectors.npy, vectors.faiss, bm25/

``IndexStore.save`` writes a new version into a temporary folder, verifies that it loads and
that its counts match the manifest, renames it into place and only then switches ``CURRENT``; a
crash at any point leaves the previous version whole and serving. Every file has a checksum in
the manifest: ``load`` checks them all, and when the version ``CURRENT`` names is damaged the
newest intact older version serves instead (with a warning; nothing is deleted or switched).

``VersionStore`` is what the ``Library`` needs from any place that keeps versions; the database
backend (postgres.py) implements the same methods.
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
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import ContextManager, Protocol

import bm25s
import faiss
import numpy as np

from ..datatypes import Chunk, Unit
from ..exceptions import IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing, IndexProblem
from ..language.analysis import Analyzer
from .knowledge import KnowledgeBase
from .lexical import LexicalIndex
from .manifest import FORMAT_VERSION, IndexSettings, Manifest
from .protocol import Index
from .vectors import VectorIndex

log = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
VERSIONS_DIR = "versions"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".update.lock"
PARTS_FILE = "compound_parts.json"  # the lexical analyzer's compound parts, beside the BM25 matrices
STALE_BUILD_SECONDS = 3600  # a temporary build folder this old is an interrupted build


@dataclass(frozen=True)
class VersionInfo:
    """A kept index version, as ``index list`` shows it."""

    name: str
    created: str
    documents: int
    chunks: int
    serving: bool


class VersionStore(Protocol):
    """Where index versions are kept: one is being served, a new one is written whole and switched
    to at once, older ones are kept for rollback."""

    def current_name(self) -> str | None:
        """The name of the version being served, or None (checked before every question)."""
        ...

    def load(self, wanted: IndexSettings) -> KnowledgeBase:
        """The version being served, built with ``wanted`` settings (else IndexMismatch); if it is
        damaged, the newest intact older one, with ``warning`` set (IndexMissing, IndexCorrupt)."""
        ...

    def save(self, kb: KnowledgeBase, name: str = "") -> str:
        """Write ``kb`` as a new version, switch to it, prune old versions; its name (by default
        the time now; ``name`` keeps a version's name when it moves from another store)."""
        ...

    def exclusive(self) -> ContextManager[None]:
        """The update lock: one build or update at a time (IndexBusy)."""
        ...

    def versions(self) -> list[VersionInfo]:
        """The kept versions, oldest first."""
        ...

    def switch(self, name: str) -> None:
        """Serve version ``name`` (IndexMissing if there is none of that name)."""
        ...

    def previous_name(self) -> str:
        """The version before the one being served, for rollback (IndexMissing)."""
        ...

    def scratch(self, kb: KnowledgeBase) -> ContextManager[Index]:
        """``kb`` searched as this store searches its versions, but no version (an evaluation's
        index); gone afterwards."""
        ...

    def where(self, name: str = "") -> str:
        """Where the versions are kept (and version ``name``), for messages: never a password."""
        ...

    def close(self) -> None:
        """Let go of what the store holds open (a database's connections)."""
        ...


class IndexStore:
    """Versions as folders under ``index_dir``; the newest ``keep`` are kept."""

    def __init__(self, index_dir: Path, keep: int = 3):
        self.index_dir = Path(index_dir)
        self.keep = keep

    @property
    def versions_dir(self) -> Path:
        return self.index_dir / VERSIONS_DIR

    def current_name(self) -> str | None:
        pointer = self.index_dir / CURRENT_FILE
        if not pointer.is_file():
            return None
        name = pointer.read_text("utf-8").strip()
        return name if name and (self.versions_dir / name).is_dir() else None

    def names(self) -> list[str]:
        """Complete versions, oldest first (names sort by creation time)."""
        if not self.versions_dir.is_dir():
            return []
        return sorted(p.name for p in self.versions_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                      and (p / MANIFEST_FILE).is_file())

    def versions(self) -> list[VersionInfo]:
        current = self.current_name()
        result = []
        for name in self.names():
            manifest = self.manifest(name)
            result.append(VersionInfo(name, manifest.created, manifest.counts.documents, manifest.counts.chunks,
                                      name == current))
        return result

    def manifest(self, name: str) -> Manifest:
        """The manifest of version ``name``, unchecked (IndexCorrupt if unreadable)."""
        path = self.versions_dir / name / MANIFEST_FILE
        try:
            return Manifest.from_dict(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise IndexCorrupt(f"{path.parent}: Manifest nicht lesbar ({error})") from None

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the index's update lock. It is an OS file lock (flock): the system releases it when
        the holder exits or is killed, so a crashed update never leaves it stuck."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with (self.index_dir / LOCK_FILE).open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                raise IndexBusy(f"{self.index_dir}: ein anderer Aufbau oder eine andere Aktualisierung läuft "
                                f"(Prozess {holder}); bitte danach erneut versuchen") from None
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield

    def save(self, kb: KnowledgeBase, name: str = "") -> str:
        """Write ``kb`` as a new version (named ``name``, by default the time now), verify it,
        switch ``CURRENT`` to it, prune old versions."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        name = name or new_version_name()
        if (self.versions_dir / name).exists():
            raise IndexProblem(f"{self.versions_dir / name}: diese Version gibt es schon")
        staging = self.versions_dir / f".building-{name}"
        try:
            staging.mkdir()
            with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
                for chunk in kb.chunks:
                    handle.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
            np.save(staging / "vectors.npy", kb.vectors)
            save_vector_index(kb.vector_index, staging / "vectors.faiss")
            save_lexical(kb.lexical, staging / "bm25")
            manifest = replace(kb.manifest, files=_checksums(staging))
            _write_atomic(staging / MANIFEST_FILE, json.dumps(manifest.to_dict(), ensure_ascii=False, indent=1))
            _fsync_tree(staging)
            read_version(staging)  # verify: it loads and its counts match the manifest
            os.replace(staging, self.versions_dir / name)
            self.switch(name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.prune()
        return name

    def switch(self, name: str) -> None:
        """Point ``CURRENT`` at version ``name``, atomically."""
        if not (self.versions_dir / name / MANIFEST_FILE).is_file():
            raise IndexMissing(f"{self.index_dir}: keine Index-Version {name!r}")
        _write_atomic(self.index_dir / CURRENT_FILE, name + "\n")

    def previous_name(self) -> str:
        current = self.current_name()
        names = self.names()
        if current is None or current not in names or names.index(current) == 0:
            raise IndexMissing(f"{self.index_dir}: keine frühere Version, auf die zurückgeschaltet werden kann")
        return names[names.index(current) - 1]

    def scratch(self, kb: KnowledgeBase) -> ContextManager[Index]:
        """``kb`` itself: versions on disk are searched in memory."""
        return contextlib.nullcontext(kb)

    def where(self, name: str = "") -> str:
        return str(self.versions_dir / name if name else self.index_dir)

    def close(self) -> None:
        """Nothing is held open between calls."""

    def prune(self) -> None:
        """Delete all but the newest ``keep`` versions (never the current one) and stale build folders."""
        current = self.current_name()
        for old in self.names()[:-self.keep] if self.keep > 0 else []:
            if old != current:
                shutil.rmtree(self.versions_dir / old, ignore_errors=True)
        for leftover in self.versions_dir.glob(".building-*"):
            if time.time() - leftover.stat().st_mtime > STALE_BUILD_SECONDS:  # a running build is younger
                shutil.rmtree(leftover, ignore_errors=True)

    def load(self, wanted: IndexSettings) -> KnowledgeBase:
        """The version ``CURRENT`` names, checked against ``wanted``. If its files are damaged
        (truncated, altered, missing), the newest intact older version serves instead, with a logged
        warning; nothing is deleted or switched, so the damaged version stays for inspection.
        Raises IndexMissing, IndexMismatch, or IndexCorrupt when no version is intact."""
        current = self.current_name()
        if current is None:
            raise IndexMissing(f"{self.index_dir}: noch kein Index; bitte `python -m assistant build` ausführen")
        try:
            return self._checked(self.load_version(current), wanted)
        except IndexCorrupt as error:
            damage = error
        for older in reversed([name for name in self.names() if name < current]):
            try:
                kb = self._checked(self.load_version(older), wanted)
            except (IndexCorrupt, IndexMismatch) as error:
                log.warning("auch eine frühere Index-Version ist nicht nutzbar: %s", error)
                continue
            warning = (f"{damage} – stattdessen antwortet die vorige intakte Version {older}. Die beschädigte "
                       "Version bleibt zur Prüfung erhalten; `python -m assistant update` schreibt eine frische "
                       f"Version, `python -m assistant index rollback` schaltet auf {older} zurück")
            log.warning("%s", warning)
            return replace(kb, damaged_current=current, warning=warning)
        raise IndexCorrupt(f"{damage}; keine intakte frühere Version")

    def load_version(self, name: str) -> KnowledgeBase:
        """Version ``name`` with every file checked against its checksum, whatever its settings."""
        return read_version(self.versions_dir / name)

    def _checked(self, kb: KnowledgeBase, wanted: IndexSettings) -> KnowledgeBase:
        """``kb`` if it was built with the ``wanted`` settings; else IndexMismatch."""
        differences = kb.manifest.settings.differences(wanted)
        if differences:
            raise IndexMismatch(f"{self.versions_dir / kb.version}: der Index wurde mit anderen Einstellungen gebaut "
                                f"({'; '.join(differences)}); bitte mit `python -m assistant build` neu bauen")
        return kb


def new_version_name() -> str:
    """A name for a version written now; names sort by the time they were written."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def read_version(path: Path) -> KnowledgeBase:
    """The version in folder ``path``, its files checked against their checksums and its counts
    against the manifest (IndexCorrupt, or IndexMismatch for another format)."""
    try:
        data = json.loads((path / MANIFEST_FILE).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise IndexCorrupt(f"{path}: Manifest nicht lesbar ({error})") from None
    if data.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(f"{path}: Index-Format {data.get('format_version')!r}, dieses Programm liest "
                            f"{FORMAT_VERSION}; bitte mit `python -m assistant build` neu bauen")
    try:
        manifest = Manifest.from_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        raise IndexCorrupt(f"{path}: Manifest unvollständig ({type(error).__name__}: {error})") from None
    found = _checksums(path, names=list(manifest.files))
    damaged = [f"{name} fehlt" if found[name] == "missing" else f"{name} passt nicht zu seiner Prüfsumme"
               for name, digest in manifest.files.items() if found[name] != digest]
    if damaged:
        raise IndexCorrupt(f"{path}: {', '.join(damaged)} (gekürzt oder verändert)")
    metas = {doc_id: record.meta for doc_id, record in manifest.documents.items()}
    try:
        chunks = []
        with (path / "chunks.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                record["units"] = tuple(Unit(*span) for span in record.get("units", ()))
                chunks.append(Chunk(meta=metas[record["document"]], **record))
        vectors = np.load(path / "vectors.npy")
        vector_index = load_vector_index(path / "vectors.faiss")
        lexical = load_lexical(path / "bm25")
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise IndexCorrupt(f"{path}: Index-Dateien nicht lesbar ({type(error).__name__}: {error})") from None
    expected = manifest.counts.chunks
    rows = expected + (sum(len(c.units) for c in chunks) if manifest.settings.unit_vectors else 0)
    if not (len(chunks) == lexical.size == expected and len(vectors) == vector_index.size == rows):
        raise IndexCorrupt(f"{path}: Anzahlen weichen ab (Manifest {expected}, Abschnitte {len(chunks)}, "
                           f"Vektoren {len(vectors)}, FAISS {vector_index.size}, BM25 {lexical.size})")
    return KnowledgeBase(chunks, vectors, lexical, vector_index, manifest, path.name)


def save_lexical(lexical: LexicalIndex, folder: Path) -> None:
    """bm25s's matrices, and the analyzer's compound parts beside them, so that questions are
    analysed exactly as the indexed texts were."""
    folder.mkdir(parents=True, exist_ok=True)
    lexical.bm25.save(str(folder), show_progress=False)
    (folder / PARTS_FILE).write_text(json.dumps(sorted(lexical.analyzer.parts), ensure_ascii=False), "utf-8")


def load_lexical(folder: Path) -> LexicalIndex:
    bm25 = bm25s.BM25.load(str(folder), mmap=False)
    parts = json.loads((folder / PARTS_FILE).read_text("utf-8"))
    return LexicalIndex(bm25, Analyzer(parts))


def save_vector_index(index: VectorIndex, path: Path) -> None:
    faiss.write_index(index.index, str(path))


def load_vector_index(path: Path) -> VectorIndex:
    return VectorIndex(faiss.read_index(str(path)))


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
