"""Staff workflow: incremental updates with real files, real subprocesses and the real model."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
from fpdf import FPDF

from assistant import indexing
from assistant.loading import load_corpus
from assistant.session import Assistant, LiveAssistant
from assistant.settings import PROJECT_DIR, Settings
from assistant.updating import QualityCheckFailed, plan_update, update_index
from conftest import BENCHMARKS, SEED_CORPUS, fill_with_copies, kill_midway, run_cli

PAGE_TWO = ("Die Sprechstunde des Bildungsbüros Bottrop findet jeden Dienstag von 9 bis 12 Uhr im Rathaus statt. "
            "Ansprechpartnerin ist Frau Annette Wielgosch.")


def write_release(path, title="Pressemitteilung Bildungsbüro Bottrop"):
    """A real two-page PDF written with fpdf2."""
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Bottrop, 3. Mai 2024 - Das Bildungsbüro Bottrop erweitert sein Beratungsangebot "
                         "für Familien und Schulen im Stadtgebiet.")
    pdf.add_page()
    pdf.multi_cell(0, 8, PAGE_TWO)
    pdf.output(str(path))


@pytest.fixture
def workspace(small_corpus, tmp_path):
    settings = Settings().replace(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    result = run_cli("update", "--corpus", str(small_corpus), "--index", str(settings.index_dir))
    assert result.returncode == 0, result.stderr
    return settings


def cli(settings, *args, **kwargs):
    return run_cli(*args, "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir), **kwargs)


def test_new_releases_are_embedded_alone_and_cited_with_their_page(workspace):
    before = indexing.load(workspace.index_dir, workspace)
    write_release(workspace.corpus_dir / "bildungsbuero-bottrop.pdf")
    (workspace.corpus_dir / "fachtag-herne.html").write_text(
        "<html><head><title>Fachtag Herne</title></head><body><nav>Startseite | Presse</nav><main><h1>Fachtag"
        "</h1><p>Der Fachtag Frühe Bildung findet am 12. Juni 2024 in der Volkshochschule Herne statt.</p></main>"
        "<script>alert('x')</script></body></html>", encoding="utf-8")
    (workspace.corpus_dir / "elternbrief-gelsenkirchen.txt").write_bytes(
        "Elternbrief: Die Schulbücherei in Gelsenkirchen-Buer öffnet montags für Familien.".encode("cp1252"))
    result = cli(workspace, "update")
    assert result.returncode == 0, result.stderr
    after = indexing.load(workspace.index_dir, workspace)
    new_chunks = sum(after.manifest["documents"][d]["chunks"] for d in
                     ("bildungsbuero-bottrop.pdf", "fachtag-herne.html", "elternbrief-gelsenkirchen.txt"))
    assert "3 neu, 0 geändert, 0 entfernt" in result.stdout
    assert f"Eingebettet: {new_chunks} Abschnitte" in result.stdout  # only the new document's passages
    assert after.version != before.version and len(after.chunks) == len(before.chunks) + new_chunks
    asked = cli(workspace, "ask", "--json", input=json.dumps({"id": "1", "question":
                "Wann ist die Sprechstunde des Bildungsbüros Bottrop?"}))
    answer = json.loads(asked.stdout)
    assert answer["answered"] and "Dienstag" in answer["answer"]
    cited = [c for c in answer["citations"] if c["document"] == "bildungsbuero-bottrop.pdf"]
    assert cited and cited[0]["page"] == 2 and "Sprechstunde" in cited[0]["text"]
    assert cited[0]["title"] == "Pressemitteilung Bildungsbüro Bottrop"  # taken from the PDF
    assert cited[0]["date"] == "2024-05-03"  # the dateline, not the PDF's export date
    html_answer = json.loads(cli(workspace, "ask", "--json", "Wo findet der Fachtag Frühe Bildung statt?").stdout)
    assert "Volkshochschule Herne" in html_answer["answer"] and "Startseite" not in html_answer["answer"]
    letter = json.loads(cli(workspace, "ask", "--json", "Wann öffnet die Schulbücherei in Gelsenkirchen-Buer?").stdout)
    assert "Schulbücherei" in letter["answer"] and "montags" in letter["answer"]  # umlauts kept from cp1252


def test_removed_document_disappears_from_every_search(workspace):
    removed = "ruhrfutur-kreis-unna-tritt-bei.txt"
    (workspace.corpus_dir / removed).unlink()
    (workspace.corpus_dir / (removed + ".meta.json")).unlink()
    result = cli(workspace, "update")
    assert "1 entfernt" in result.stdout
    kb = indexing.load(workspace.index_dir, workspace)
    assert removed not in kb.manifest["documents"] and all(c.document != removed for c in kb.chunks)
    questions = ["Kreis Unna", "Joela Dukat Programmkoordinatorin", "Dr. Katrin Linthorst", "Ukraine Peer Projekt"]
    found = cli(workspace, "search", "--json", "--k", "10",
                input="\n".join(json.dumps({"id": q, "question": q}) for q in questions))
    for line in found.stdout.splitlines():
        assert all(hit["document"] != removed for hit in json.loads(line)["hits"])


def test_changed_document_is_replaced(workspace):
    path = workspace.corpus_dir / "ruhrfutur-kreis-unna-tritt-bei.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nNeu: Der Kreis Unna richtet 2025 ein Bildungsforum aus.\n",
                    encoding="utf-8")
    result = cli(workspace, "update")
    assert "0 neu, 1 geändert, 0 entfernt" in result.stdout
    kb = indexing.load(workspace.index_dir, workspace)
    assert any("Bildungsforum" in c.text for c in kb.chunks)


def test_same_update_twice_changes_nothing(workspace):
    first = indexing.current_version(workspace.index_dir)
    result = cli(workspace, "update")
    assert "Index ist aktuell" in result.stdout and indexing.current_version(workspace.index_dir) == first
    dry = cli(workspace, "update", "--dry-run")
    assert "--dry-run" in dry.stdout and indexing.current_version(workspace.index_dir) == first


def test_renamed_unchanged_file_is_not_reembedded(workspace):
    for suffix in ("", ".meta.json"):
        (workspace.corpus_dir / f"ruhrfutur-kreis-unna-tritt-bei.txt{suffix}").rename(
            workspace.corpus_dir / f"kreis-unna{'.txt' if not suffix else '.txt.meta.json'}")
    result = cli(workspace, "update")
    assert "1 umbenannt" in result.stdout and "Eingebettet: 0 Abschnitte" in result.stdout


def test_update_killed_midway_leaves_previous_version_answering(workspace):
    before = indexing.current_version(workspace.index_dir)
    fill_with_copies(workspace.corpus_dir, 30)
    kill_midway("update", "--corpus", str(workspace.corpus_dir), "--index", str(workspace.index_dir))
    assert indexing.current_version(workspace.index_dir) == before
    answer = json.loads(cli(workspace, "ask", "--json", "Wer ist Geschäftsführer der RuhrFutur?").stdout)
    assert answer["answered"] and "Döhrmann" in answer["answer"]
    for leftover in (workspace.corpus_dir).glob("zusatz-*.txt"):
        leftover.unlink()
    (workspace.corpus_dir / "weiteres.txt").write_text("Das Bildungsbüro Herne lädt zum Elternabend ein.",
                                                       encoding="utf-8")
    finished = cli(workspace, "update")
    assert finished.returncode == 0 and "1 neu" in finished.stdout


def test_index_list_and_rollback(workspace):
    first = indexing.current_version(workspace.index_dir).name
    (workspace.corpus_dir / "weiteres.txt").write_text("Das Bildungsbüro Herne lädt zum Elternabend ein.",
                                                       encoding="utf-8")
    cli(workspace, "update")
    second = indexing.current_version(workspace.index_dir).name
    listing = cli(workspace, "index", "list").stdout
    assert first in listing and f"* {second}" in listing
    rolled = cli(workspace, "index", "rollback")
    assert rolled.returncode == 0 and indexing.current_version(workspace.index_dir).name == first


def test_quality_check_refuses_a_worse_version_unless_forced(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    settings = Settings().replace(corpus_dir=corpus, index_dir=tmp_path / "index")
    update_index(settings, load_corpus(corpus).documents, embedder)
    current = indexing.current_version(settings.index_dir)
    for name in ("zukunftsbildung-ruhr-initiative-und-kontakte.txt",
                 "zukunftsbildung-ruhr-initiative-und-kontakte.txt.meta.json"):
        (corpus / name).unlink()
    questions = BENCHMARKS / "initiatives-qa-dev.jsonl"
    with pytest.raises(QualityCheckFailed, match="schlechter"):
        update_index(settings, load_corpus(corpus).documents, embedder, check=questions)
    assert indexing.current_version(settings.index_dir) == current
    forced = update_index(settings, load_corpus(corpus).documents, embedder, check=questions, force=True)
    assert forced.switched and indexing.current_version(settings.index_dir).name == forced.version


def test_plan_update_by_content_hash():
    from assistant.datatypes import Document

    manifest = {"documents": {"a.txt": {"sha256": "1"}, "b.txt": {"sha256": "2"}, "c.txt": {"sha256": "3"}}}
    plan = plan_update([Document("a.txt", "x", sha256="1"), Document("b.txt", "x", sha256="9"),
                        Document("d.txt", "x", sha256="3"), Document("e.txt", "x", sha256="5")], manifest)
    assert (plan.unchanged, plan.changed, plan.renamed, plan.added, plan.removed) == \
        (["a.txt"], ["b.txt"], [("c.txt", "d.txt")], ["e.txt"], [])


def test_live_assistant_follows_a_switch_and_keeps_in_flight_answers(workspace, embedder):
    live = LiveAssistant(Assistant(workspace, indexing.load(workspace.index_dir, workspace), embedder))
    old = live.get()
    write_release(workspace.corpus_dir / "bildungsbuero-bottrop.pdf")
    update_index(workspace, load_corpus(workspace.corpus_dir).documents, embedder)
    new = live.get()
    assert new is not old and new.kb.version == indexing.current_version(workspace.index_dir).name
    assert "Dienstag" in new.ask("Wann ist die Sprechstunde des Bildungsbüros Bottrop?").text
    assert "Döhrmann" in old.ask("Wer ist Geschäftsführer der RuhrFutur?").text  # the old version still answers
    assert live.get() is new  # no reload without a switch


def test_concurrent_updates_are_refused_and_a_killed_holder_releases_the_lock(workspace):
    (workspace.corpus_dir / "weiteres.txt").write_text("Das Bildungsbüro Herne lädt zum Elternabend ein.",
                                                       encoding="utf-8")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from assistant.indexing import exclusive\n"
        f"with exclusive(Path({str(workspace.index_dir)!r})):\n    print('locked', flush=True); time.sleep(60)")],
        cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    refused = cli(workspace, "update")
    assert refused.returncode == 1 and "another build or update is running" in refused.stderr
    os.kill(holder.pid, signal.SIGKILL)  # a crashed update must not leave the lock stuck
    holder.wait()
    done = cli(workspace, "update")
    assert done.returncode == 0 and "1 neu" in done.stdout
