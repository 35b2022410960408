"""What an update changes: the corpus compared with the index version being served.

``plan_update`` compares the corpus with the current version's manifest by content hash: new
documents, changed ones, removed ones, unchanged ones, and renamed ones (same content, new name;
not re-embedded). The ``Library`` builds the next version from the plan, reusing every vector
the current one already has, asks the caller's quality check (a ``QualityCheck``: answers on
both versions, compared) and switches only to a complete, verified version. ``UpdateReport``
says what was done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..datatypes import Document
from .manifest import Manifest
from .protocol import Index


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
class Verdict:
    """A quality check's result: whether the new version answers worse, and what was found (German)."""

    worse: bool
    text: str  # e.g. "gleich: 14 von 15 Prüffragen bestanden (bisher 14)"


# Answers on the version being served and on the new one, compared (``evaluation.quality_check``).
QualityCheck = Callable[[Index, Index], Verdict]


@dataclass(frozen=True)
class UpdateReport:
    plan: UpdatePlan
    chunks_embedded: int
    texts_embedded: int  # chunks and sentences
    chunks: int
    seconds: float
    version: str = ""
    switched: bool = False
    check: str = ""  # the quality check's verdict, if one was asked for


def plan_update(documents: Sequence[Document], manifest: Manifest | None) -> UpdatePlan:
    indexed = {doc_id: record.sha256 for doc_id, record in (manifest.documents if manifest else {}).items()}
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
