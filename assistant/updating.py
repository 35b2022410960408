"""Bring the index up to date with the corpus folder, embedding only what changed.

``plan_update`` compares the corpus with the current version's manifest by content hash: new
documents, changed ones, removed ones, unchanged ones, and renamed ones (same content, new
name; not re-embedded). ``update_index`` builds the next version reusing every vector the
current one already has (if it is damaged: the intact version serving instead, see
indexing.load), optionally checks answer quality against the current version first, and
switches to it only when it is complete and verified (see indexing.save).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import indexing
from .datatypes import Document
from .embedding import Embedder
from .evaluation import load_qa, score_qa
from .session import Assistant
from .settings import Settings


@dataclass(frozen=True)
class UpdatePlan:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old id, new id)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.renamed)

    def describe(self) -> str:
        lines = [f"{len(self.added)} neu, {len(self.changed)} geändert, {len(self.removed)} entfernt, "
                 f"{len(self.renamed)} umbenannt, {len(self.unchanged)} unverändert"]
        lines += [f"  + {d}" for d in self.added] + [f"  ~ {d}" for d in self.changed]
        lines += [f"  - {d}" for d in self.removed] + [f"  > {old} -> {new}" for old, new in self.renamed]
        return "\n".join(lines)


@dataclass(frozen=True)
class UpdateReport:
    plan: UpdatePlan
    chunks_embedded: int
    texts_embedded: int  # chunks and sentences
    chunks: int
    seconds: float
    version: str = ""
    switched: bool = False
    check: str = ""


class QualityCheckFailed(indexing.IndexProblem):
    """The new version answers the check questions worse than the current one."""


def plan_update(documents: Sequence[Document], manifest: dict | None) -> UpdatePlan:
    indexed = {doc_id: record["sha256"] for doc_id, record in (manifest or {}).get("documents", {}).items()}
    present = {d.id: d.sha256 for d in documents}
    gone = {doc_id: sha for doc_id, sha in indexed.items() if doc_id not in present}
    plan = UpdatePlan()
    for doc_id, sha in present.items():
        if doc_id not in indexed:
            old = next((o for o, s in gone.items() if s == sha), None)
            if old is not None:
                plan.renamed.append((old, doc_id))
                del gone[old]
            else:
                plan.added.append(doc_id)
        elif indexed[doc_id] != sha:
            plan.changed.append(doc_id)
        else:
            plan.unchanged.append(doc_id)
    plan.removed.extend(sorted(gone))
    return plan


def update_index(settings: Settings, documents: Sequence[Document], embedder: Embedder, progress: bool = False,
                 dry_run: bool = False, check: Path | None = None, force: bool = False) -> UpdateReport:
    """Plan, build and (unless ``dry_run``, or a failed ``check`` without ``force``) switch; one
    update at a time per index (``indexing.exclusive``)."""
    if dry_run:
        return _update(settings, documents, embedder, progress, dry_run, check, force)
    with indexing.exclusive(settings.index_dir):
        return _update(settings, documents, embedder, progress, dry_run, check, force)


def _update(settings: Settings, documents: Sequence[Document], embedder: Embedder, progress: bool,
            dry_run: bool, check: Path | None, force: bool) -> UpdateReport:
    started = time.perf_counter()
    try:
        current = indexing.load(settings.index_dir, settings)
    except indexing.IndexMissing:
        current = None
    except (indexing.IndexMismatch, indexing.IndexCorrupt) as error:
        raise indexing.IndexProblem(f"{error}. Run `python -m assistant build` to rebuild from the corpus.") from None
    plan = plan_update(documents, current.manifest if current else None)
    # Nothing changed: done, unless CURRENT names a damaged version (then a fresh one replaces it).
    if dry_run or (plan.empty and current is not None and not current.damaged_current):
        return UpdateReport(plan, 0, 0, len(current.chunks) if current else 0, time.perf_counter() - started,
                            current.version if current else "")
    new = indexing.build_knowledge_base(documents, embedder, settings, progress=progress, previous=current)
    known = set(current.vectors_by_text()) if current else set()
    chunks_embedded = sum(indexing.retrieval_text(c) not in known for c in new.chunks)
    verdict = ""
    if check is not None and current is not None:
        verdict = compare_quality(check, current, new, embedder, settings)
        if verdict.startswith("schlechter") and not force:
            raise QualityCheckFailed(f"not switched: {verdict} (use --force to switch anyway)")
    path = indexing.save(new, settings.index_dir, settings.keep_versions)
    return UpdateReport(plan, chunks_embedded, new.manifest["counts"]["embedded_texts"], len(new.chunks),
                        time.perf_counter() - started, path.name, True, verdict)


def compare_quality(questions: Path, current: indexing.KnowledgeBase, new: indexing.KnowledgeBase,
                    embedder: Embedder, settings: Settings) -> str:
    """"gleich"/"besser"/"schlechter" with the passed counts of the question file on both versions."""
    cases = load_qa(questions)
    before = score_qa(Assistant(settings, current, embedder), cases)[1]["passed"]
    after = score_qa(Assistant(settings, new, embedder), cases)[1]["passed"]
    word = "schlechter" if after < before else ("besser" if after > before else "gleich")
    return f"{word}: {after} von {len(cases)} Prüffragen bestanden (bisher {before})"
