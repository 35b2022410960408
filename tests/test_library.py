"""The library: staff's workflow of updates with real files and the real model, through the
command line (in process; tests/test_cli.py runs each command once as a real subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from assistant.evaluation import quality_check
from assistant.exceptions import QualityCheckFailed, SettingsError
from assistant.library import Library
from assistant.session import Assistant, LiveAssistant
from assistant.settings import Settings
from conftest import BENCHMARKS, PROJECT_DIR, fill_with_copies, folders, kill_midway, pinned_settings, write_release

def asked(cli, settings: Settings, question: str) -> dict:
    """``ask --json QUESTION``'s answer."""
    run = cli("ask", "--json", question, *folders(settings))
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


def test_new_releases_are_embedded_alone_and_cited_with_their_page(workspace, cli):
    library = Library(workspace)
    before = library.load()
    write_release(workspace.corpus_dir / "bildungsbuero-bottrop.pdf")
    (workspace.corpus_dir / "fachtag-herne.html").write_text(
        "<html><head><title>Fachtag Herne</title></head><body><nav>Startseite | Presse</nav><main><h1>Fachtag"
        "</h1><p>Der Fachtag Frühe Bildung findet am 12. Juni 2024 in der Volkshochschule Herne statt.</p></main>"
        "<script>alert('x')</script></body></html>", encoding="utf-8")
    (workspace.corpus_dir / "elternbrief-gelsenkirchen.txt").write_bytes(
        "Elternbrief: Die Schulbücherei in Gelsenkirchen-Buer öffnet montags für Familien.".encode("cp1252"))
    result = cli("update", *folders(workspace))
    assert result.code == 0, result.stderr
    after = library.load()
    new_chunks = sum(after.manifest.documents[d].chunks for d in
                     ("bildungsbuero-bottrop.pdf", "fachtag-herne.html", "elternbrief-gelsenkirchen.txt"))
    assert "3 neu, 0 geändert, 0 entfernt" in result.stdout
    assert f"Eingebettet: {new_chunks} Abschnitte" in result.stdout  # only the new document's passages
    assert after.version != before.version and len(after.chunks) == len(before.chunks) + new_chunks
    answer = asked(cli, workspace, "Wann ist die Sprechstunde des Bildungsbüros Bottrop?")
    assert answer["answered"] and "Dienstag" in answer["answer"]
    cited = [c for c in answer["citations"] if c["document"] == "bildungsbuero-bottrop.pdf"]
    assert cited and cited[0]["page"] == 2 and "Sprechstunde" in cited[0]["text"]
    assert cited[0]["title"] == "Pressemitteilung Bildungsbüro Bottrop"  # taken from the PDF
    assert cited[0]["date"] == "2024-05-03"  # the dateline, not the PDF's export date
    html_answer = asked(cli, workspace, "Wo findet der Fachtag Frühe Bildung statt?")
    assert "Volkshochschule Herne" in html_answer["answer"] and "Startseite" not in html_answer["answer"]
    letter = asked(cli, workspace, "Wann öffnet die Schulbücherei in Gelsenkirchen-Buer?")
    assert "Schulbücherei" in letter["answer"] and "montags" in letter["answer"]  # umlauts kept from cp1252


def test_removed_document_disappears_from_every_search(workspace, cli):
    removed = "ruhrfutur-kreis-unna-tritt-bei.txt"
    (workspace.corpus_dir / removed).unlink()
    (workspace.corpus_dir / (removed + ".meta.json")).unlink()
    result = cli("update", *folders(workspace))
    assert "1 entfernt" in result.stdout
    kb = Library(workspace).load()
    assert removed not in kb.manifest.documents and all(c.document != removed for c in kb.chunks)
    questions = ["Kreis Unna", "Joela Dukat Programmkoordinatorin", "Dr. Katrin Linthorst", "Ukraine Peer Projekt"]
    found = cli("search", "--json", "--k", "10", *folders(workspace),
                input="\n".join(json.dumps({"id": q, "question": q}) for q in questions))
    assert len(found.stdout.splitlines()) == len(questions)
    for line in found.stdout.splitlines():
        assert all(hit["document"] != removed for hit in json.loads(line)["hits"])


def test_changed_document_is_replaced(workspace, cli):
    path = workspace.corpus_dir / "ruhrfutur-kreis-unna-tritt-bei.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nNeu: Der Kreis Unna richtet 2025 ein Bildungsforum aus.\n",
                    encoding="utf-8")
    result = cli("update", *folders(workspace))
    assert "0 neu, 1 geändert, 0 entfernt" in result.stdout
    assert any("Bildungsforum" in c.text for c in Library(workspace).load().chunks)


def test_renamed_unchanged_file_is_not_reembedded(workspace, cli):
    for suffix in ("", ".meta.json"):
        (workspace.corpus_dir / f"ruhrfutur-kreis-unna-tritt-bei.txt{suffix}").rename(
            workspace.corpus_dir / f"kreis-unna{'.txt' if not suffix else '.txt.meta.json'}")
    result = cli("update", *folders(workspace))
    assert "1 umbenannt" in result.stdout and "Eingebettet: 0 Abschnitte" in result.stdout


def test_update_killed_midway_leaves_previous_version_answering(workspace, cli):
    library = Library(workspace)
    before = library.current_name()
    fill_with_copies(workspace.corpus_dir, 30)
    kill_midway("update", *folders(workspace), index=workspace.index_dir)
    assert library.current_name() == before
    answer = asked(cli, workspace, "Wer ist Geschäftsführer der RuhrFutur?")
    assert answer["answered"] and "Döhrmann" in answer["answer"]
    for leftover in workspace.corpus_dir.glob("zusatz-*.txt"):
        leftover.unlink()
    (workspace.corpus_dir / "weiteres.txt").write_text("Das Bildungsbüro Herne lädt zum Elternabend ein.",
                                                       encoding="utf-8")
    finished = cli("update", *folders(workspace))
    assert finished.code == 0 and "1 neu" in finished.stdout


def test_quality_check_refuses_a_worse_version_unless_forced(seed_kb, seed_settings, embedder, tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_settings.corpus_dir, corpus)
    shutil.copytree(seed_settings.index_dir, index)  # the seed corpus, indexed
    settings = pinned_settings(corpus_dir=corpus, index_dir=index)
    library = Library(settings)
    current = library.current_name()
    for name in ("zukunftsbildung-ruhr-initiative-und-kontakte.txt",
                 "zukunftsbildung-ruhr-initiative-und-kontakte.txt.meta.json"):
        (corpus / name).unlink()
    check = quality_check(BENCHMARKS / "initiatives-qa-dev.jsonl", settings, embedder)
    with pytest.raises(QualityCheckFailed, match="schlechter"):
        library.update(embedder, library.corpus().documents, check)
    assert library.current_name() == current
    forced = library.update(embedder, library.corpus().documents, check, force=True)
    assert forced.switched and library.current_name() == forced.version and forced.check.startswith("schlechter")


def test_live_assistant_follows_a_switch_and_keeps_in_flight_answers(workspace, embedder):
    library = Library(workspace)
    live = LiveAssistant(Assistant(workspace, library.load(), embedder), library)
    old = live.get()
    write_release(workspace.corpus_dir / "bildungsbuero-bottrop.pdf")
    library.update(embedder, library.corpus().documents)
    new = live.get()
    assert new is not old and new.kb.version == library.current_name()
    assert "Dienstag" in new.ask("Wann ist die Sprechstunde des Bildungsbüros Bottrop?").text
    assert "Döhrmann" in old.ask("Wer ist Geschäftsführer der RuhrFutur?").text  # the old version still answers
    assert live.get() is new  # no reload without a switch


def test_concurrent_updates_are_refused_and_a_killed_holder_releases_the_lock(workspace, cli):
    (workspace.corpus_dir / "weiteres.txt").write_text("Das Bildungsbüro Herne lädt zum Elternabend ein.",
                                                       encoding="utf-8")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from assistant.index.store import IndexStore\n"
        f"with IndexStore(Path({str(workspace.index_dir)!r})).exclusive():\n    print('locked', flush=True); "
        "time.sleep(60)")], cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    refused = cli("update", *folders(workspace))
    assert refused.code == 1 and "ein anderer Aufbau oder eine andere Aktualisierung läuft" in refused.stderr
    os.kill(holder.pid, signal.SIGKILL)  # a crashed update must not leave the lock stuck
    holder.wait()
    done = cli("update", *folders(workspace))
    assert done.code == 0 and "1 neu" in done.stdout


def test_open_rebuilds_when_the_settings_changed(workspace, embedder):
    before = Library(workspace).current_name()
    other = workspace.replace(chunking={"size": 300, "overlap": 50})
    kb = Library(other).open(embedder)
    assert (kb.manifest.settings.chunk_size, kb.manifest.settings.chunk_overlap) == (300, 50)
    assert kb.version != before and Library(other).load().version == kb.version


def test_the_backend_is_chosen_by_a_setting(tmp_path):
    assert Library(pinned_settings(index_dir=tmp_path)).versions() == []
    with pytest.raises(SettingsError, match="index_backend"):
        Library(pinned_settings(index_backend="papier"))
