"""Scanned PDFs read by text recognition: real Tesseract (German model) on a scan made here (German
text drawn into pictures, wrapped as a PDF without a text layer), through loading, the index, the
answer and its citation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.cli import format_answer
from assistant.documents import ocr
from assistant.documents.loading import LoadResult, load_corpus
from assistant.index.building import build_knowledge_base
from assistant.session import Assistant
from assistant.web.render import source_html
from conftest import SEED_CORPUS, pdf_bytes, pinned_settings, scanned_pdf_bytes

SCAN_PAGES = [
    "Stadt Gelsenkirchen – Bildungsbüro\nGelsenkirchen, 12. März 2024\n\n"
    "Elternberatung zur Schulwahl: Anmeldung für die\nweiterführenden Schulen",
    "Die Sprechstunde der Bildungsberatung findet jeden\nDonnerstag von 14 bis 17 Uhr im Hans-Sachs-Haus,\n"
    "Raum 214, statt. Ansprechpartnerin ist Frau Özlem\nGrünewald.",
    None,  # a blank sheet scanned with the rest
]
QUESTION = "Wann ist die Sprechstunde der Bildungsberatung in Gelsenkirchen?"


@pytest.fixture(scope="module")
def scan() -> bytes:
    assert ocr.available(), "Tesseract with its German model is missing; run scripts/setup.sh"
    return scanned_pdf_bytes(SCAN_PAGES)


@pytest.fixture(scope="module")
def corpus_with_scan(tmp_path_factory, scan) -> Path:
    """Two seed documents and the scan; not changed by the tests (``test_a_scan_added...`` copies it)."""
    folder = tmp_path_factory.mktemp("corpus")
    for name in ("ruhrfutur-kreis-unna-tritt-bei.txt", "talentmetropole-ruhr-team-und-ansprechpartner.txt"):
        shutil.copy(SEED_CORPUS / name, folder / name)
    (folder / "bildungsbuero-scan.pdf").write_bytes(scan)
    return folder


@pytest.fixture(scope="module")
def loaded(corpus_with_scan) -> LoadResult:
    """The corpus with the scan, loaded once (text recognition takes a few seconds)."""
    return load_corpus(corpus_with_scan)


def test_a_scan_is_read_with_its_pages_kept_and_the_blank_page_reported(loaded):
    result = loaded
    document = next(d for d in result.documents if d.id == "bildungsbuero-scan.pdf")
    assert "Sprechstunde der Bildungsberatung" in document.text and "Bildungsbüro" in document.text
    assert "Grünewald" in document.text
    assert document.page_at(document.text.index("Donnerstag")) == 2
    assert document.page_at(document.text.index("Elternberatung")) == 1
    assert document.meta.ocr_pages == "1 2"
    assert document.meta.date == "2024-03-12"  # the dateline, read from the picture
    assert [str(p) for p in result.problems] == [
        "bildungsbuero-scan.pdf: Seite 3: kein Text (keine Textebene, und auch die Texterkennung (OCR) fand keinen); "
        "Seite ausgelassen"]


def test_with_ocr_off_a_scan_is_refused_with_the_reason(corpus_with_scan):
    result = load_corpus(corpus_with_scan, ocr=False)
    assert "bildungsbuero-scan.pdf" not in {d.id for d in result.documents}
    assert [str(p) for p in result.problems] == [
        "bildungsbuero-scan.pdf: PDF hat keine Textebene (ein Scan?), und die Texterkennung (OCR) ist ausgeschaltet "
        "(Einstellung ocr); bitte eine Fassung mit Text ablegen"]


def test_pages_with_text_are_not_recognised_again(tmp_path):
    (tmp_path / "text.pdf").write_bytes(pdf_bytes(["Pressemitteilung: Neues Programm für Schulen.", None]))
    result = load_corpus(tmp_path)
    assert result.documents[0].meta.ocr_pages == ""
    assert [p.reason for p in result.problems] == [
        "Seite 2: kein Text (keine Textebene, und auch die Texterkennung (OCR) fand keinen); Seite ausgelassen"]


def test_a_question_only_the_scan_answers_cites_its_page_as_read_by_text_recognition(loaded, embedder):
    settings = pinned_settings()
    kb = build_knowledge_base(loaded.documents, embedder, settings)
    answer = Assistant(settings, kb, embedder).ask(QUESTION)
    assert answer.answered and "Donnerstag von 14 bis 17 Uhr" in answer.text
    first = answer.citations[0]
    assert first.chunk.document == "bildungsbuero-scan.pdf" and first.chunk.page == 2
    assert first.to_dict()["ocr"] is True and first.to_dict()["page"] == 2
    assert "Seite 2 (Texterkennung)" in source_html(first)
    assert "S. 2 (Texterkennung)" in format_answer(answer)


def test_a_scan_added_to_the_corpus_is_answered_after_update(corpus_with_scan, tmp_path, cli):
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_with_scan, corpus)
    scan = corpus / "bildungsbuero-scan.pdf"
    held_back = scan.read_bytes()
    scan.unlink()
    folders = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    assert cli("build", *folders).code == 0
    scan.write_bytes(held_back)
    updated = cli("update", *folders)
    assert updated.code == 0, updated.stderr
    assert "bildungsbuero-scan.pdf: Seite 3: kein Text" in updated.stderr  # reported, the rest indexed
    asked = cli("ask", *folders, QUESTION)
    assert asked.code == 0, asked.stderr
    assert "Donnerstag von 14 bis 17 Uhr" in asked.stdout
    assert "S. 2 (Texterkennung)" in asked.stdout


def test_words_hyphenated_at_a_line_end_are_joined_and_names_are_kept():
    assert ocr.clean("Die Potenzial-\nförderung beginnt.\f") == "Die Potenzialförderung\nbeginnt."
    assert ocr.clean("Frau Yildiz-\nGrünewald") == "Frau Yildiz-\nGrünewald"
