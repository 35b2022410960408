"""Uploads by staff: checked by content, size and name; real PDFs, DOCX archives and files."""

from __future__ import annotations

import io
import zipfile

import pytest

from assistant.documents.loading import load_corpus, load_file
from assistant.exceptions import LoadError, UploadRejected
from assistant.web.admin import MAX_UPLOAD_BYTES, add_upload, clean_name, remove_document, sniff_suffix
from conftest import docx_bytes, pdf_bytes


def upload(tmp_path, data: bytes, name: str):
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    return corpus, path, name


def test_types_are_recognised_by_content_not_name():
    assert sniff_suffix(pdf_bytes(), "mitteilung.txt") == ".pdf"
    assert sniff_suffix(docx_bytes(["Hallo"]), "x.pdf") == ".docx"
    assert sniff_suffix(b"<!DOCTYPE html><html><body>Hi</body></html>", "x.txt") == ".html"
    assert sniff_suffix("Grüße aus Essen".encode("cp1252"), "notiz.md") == ".md"
    with pytest.raises(UploadRejected, match="kein Word"):
        sniff_suffix(b"PK\x03\x04" + b"\x00" * 100, "x.docx")
    with pytest.raises(UploadRejected):
        sniff_suffix(bytes(range(256)) * 20, "x.txt")


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd.txt"),
    ("..\\..\\windows\\system.ini", "system.txt"),
    ("Presse Mitteilung ü 2024.pdf", "Presse-Mitteilung-ü-2024.txt"),
    ("zeile\numbruch.txt", "zeile-umbruch.txt"),
    (".versteckt", "versteckt.txt"),
    ("", "dokument.txt"),
])
def test_file_names_are_cleaned(name, expected):
    assert clean_name(name, ".txt") == expected


def test_upload_is_stored_with_metadata_inside_the_corpus(tmp_path):
    corpus, path, name = upload(tmp_path, pdf_bytes(), "../Presse Mitteilung.pdf")
    document = add_upload(corpus, path, name, title="Neues Programm", publisher="RuhrFutur", date="2024-05-03")
    assert document == "Presse-Mitteilung.pdf" and (corpus / document).is_file()
    loaded = load_file(corpus / document, corpus)[0]
    assert (loaded.meta.title, loaded.meta.publisher, loaded.meta.date) == ("Neues Programm", "RuhrFutur", "2024-05-03")
    again = add_upload(corpus, path, name)
    assert again == "Presse-Mitteilung-2.pdf"  # never overwrites
    assert {p.parent for p in corpus.rglob("*")} == {corpus}


def test_encrypted_pdf_is_refused_with_the_reason(tmp_path):
    corpus, path, name = upload(tmp_path, pdf_bytes(password="geheim"), "geschuetzt.pdf")
    with pytest.raises(UploadRejected, match="verschlüsselt"):
        add_upload(corpus, path, name)
    assert list(corpus.iterdir()) == []


def test_pdf_without_text_layer_is_refused(tmp_path):
    corpus, path, name = upload(tmp_path, pdf_bytes([None]), "scan.pdf")
    with pytest.raises(UploadRejected, match="keine Textebene"):
        add_upload(corpus, path, name)


def test_size_limit_and_bad_date(tmp_path):
    corpus, path, name = upload(tmp_path, b"a" * (MAX_UPLOAD_BYTES + 1), "gross.txt")
    with pytest.raises(UploadRejected, match="MB"):
        add_upload(corpus, path, name)
    corpus, path, name = upload(tmp_path, b"Ein kurzer Text.", "kurz.txt")
    with pytest.raises(UploadRejected, match="JJJJ-MM-TT"):
        add_upload(corpus, path, name, date="3. Mai")


def test_remove_document_stays_inside_the_corpus(tmp_path):
    corpus, path, name = upload(tmp_path, b"Ein kurzer Text.", "kurz.txt")
    document = add_upload(corpus, path, name, title="Kurz")
    outside = tmp_path / "outside.txt"
    outside.write_text("bleibt")
    with pytest.raises(UploadRejected):
        remove_document(corpus, "../outside.txt")
    assert outside.exists()
    remove_document(corpus, document)
    assert list(corpus.iterdir()) == []


def test_docx_text_title_and_date_are_read(tmp_path):
    (tmp_path / "meldung.docx").write_bytes(docx_bytes(["Erster Absatz über Bildung.", "Zweiter Absatz."],
                                                       title="Meldung zur Bildung"))
    document = load_file(tmp_path / "meldung.docx", tmp_path)[0]
    assert document.text == "Erster Absatz über Bildung.\n\nZweiter Absatz."
    assert document.meta.title == "Meldung zur Bildung" and document.meta.date == "2024-05-03"


def test_docx_zip_bomb_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document>" + b" " * (60 * 1024 * 1024) + b"</w:document>")
    (tmp_path / "bombe.docx").write_bytes(buffer.getvalue())
    (tmp_path / "gut.txt").write_text("Ein guter Text.", encoding="utf-8")
    with pytest.raises(LoadError, match="Zip-Bombe"):
        load_file(tmp_path / "bombe.docx", tmp_path)
    result = load_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["gut.txt"] and "bombe.docx" in str(result.problems[0])
