"""What an update changes: documents compared by content hash."""

from assistant.datatypes import Document
from assistant.index.manifest import Counts, DocumentRecord, IndexSettings, Manifest
from assistant.index.updating import plan_update
from conftest import pinned_settings


def test_plan_update_by_content_hash():
    manifest = Manifest(IndexSettings.of(pinned_settings()), 384, "torch", "2026-11-21", Counts(3, 3, 3),
                        {name: DocumentRecord(sha, 1, "2026-11-21") for name, sha in
                         (("a.txt", "1"), ("b.txt", "2"), ("c.txt", "3"))})
    plan = plan_update([Document("a.txt", "x", sha256="1"), Document("b.txt", "x", sha256="9"),
                        Document("d.txt", "x", sha256="3"), Document("e.txt", "x", sha256="5")], manifest)
    assert (plan.unchanged, plan.changed, plan.renamed, plan.added, plan.removed) == \
        (["a.txt"], ["b.txt"], [("c.txt", "d.txt")], ["e.txt"], [])
    assert plan_update([Document("a.txt", "x", sha256="1")], None).added == ["a.txt"]
    assert plan.describe().startswith("1 neu, 1 geändert, 0 entfernt, 1 umbenannt, 1 unverändert")
