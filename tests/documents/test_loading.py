"""Loading real files from a corpus folder: encodings, HTML, PDF, JSON lines, metadata, bad input."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tracemalloc
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from random import Random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.documents.loading import SUPPORTED_SUFFIXES, decode_text, load_corpus, load_file, read_html
from assistant.exceptions import LoadError
from assistant.settings import Settings
from conftest import SEED_CORPUS, docx_bytes, pdf_bytes

GERMAN = "Förderung für Städte, Straße"


def _by_id(result):
    return {document.id: document for document in result.documents}


def _problems(result):
    return {problem.path: problem.reason for problem in result.problems}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


# --- text encodings -------------------------------------------------------------------------


def test_utf8_text_file(corpus: Path):
    (corpus / "a.txt").write_text("Die Bildungsinitiative für das Ruhrgebiet.\nZweite Zeile.", encoding="utf-8")
    [document] = load_file(corpus / "a.txt", corpus)
    assert document.text == "Die Bildungsinitiative für das Ruhrgebiet.\nZweite Zeile."
    assert document.id == "a.txt"
    assert document.pages == ()
    assert document.page_at(5) is None


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_legacy_text_keeps_umlauts_and_sharp_s(corpus: Path, encoding: str):
    data = GERMAN.encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the test really exercises the legacy fallback
    (corpus / "alt.txt").write_bytes(data)
    [document] = load_file(corpus / "alt.txt", corpus)
    assert document.text == GERMAN
    assert "\ufffd" not in document.text


def test_cp1252_typographic_quotes_and_dash(corpus: Path):
    text = "„Ein Zeichen für Vielfalt“ – sagte er."
    (corpus / "quotes.txt").write_bytes(text.encode("cp1252"))
    [document] = load_file(corpus / "quotes.txt", corpus)
    assert document.text == text


def test_utf8_with_bom(corpus: Path):
    (corpus / "bom.txt").write_bytes(b"\xef\xbb\xbf" + GERMAN.encode("utf-8"))
    [document] = load_file(corpus / "bom.txt", corpus)
    assert document.text == GERMAN  # no BOM character left at the start
    assert not document.text.startswith("\ufeff")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(corpus: Path, encoding: str):
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    (corpus / "wide.txt").write_bytes(bom + (GERMAN + "\r\nZweite Zeile").encode(encoding))
    [document] = load_file(corpus / "wide.txt", corpus)
    assert document.text == GERMAN + "\nZweite Zeile"


def test_windows_newlines_are_normalised(corpus: Path):
    (corpus / "crlf.txt").write_bytes("Erste Zeile.\r\nZweite Zeile.\rDritte.".encode())
    [document] = load_file(corpus / "crlf.txt", corpus)
    assert document.text == "Erste Zeile.\nZweite Zeile.\nDritte."


def test_markdown_file_loads(corpus: Path):
    text = "# RuhrFutur\n\nRuhrFutur ist eine **Bildungsinitiative** für das Ruhrgebiet.\n"
    (corpus / "notiz.md").write_text(text, encoding="utf-8")
    result = load_corpus(corpus)
    assert result.problems == []
    [document] = result.documents
    assert document.id == "notiz.md"
    assert "RuhrFutur ist eine **Bildungsinitiative** für das Ruhrgebiet." in document.text


# --- HTML -------------------------------------------------------------------------------------

HTML_PAGE = """<!DOCTYPE html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <title>RuhrFutur wächst – Neue Partner</title>
  <meta property="article:published_time" content="2023-04-21T10:00:00">
  <style>.menu { color: red; } /* STILREGEL */</style>
  <script>var tracking = "SKRIPTTEXT";</script>
</head>
<body>
  <header><div>KOPFZEILE mit Logo</div></header>
  <nav><ul><li><a href="/">NAVLINK Startseite</a></li><li><a href="/presse">NAVLINK Presse</a></li></ul></nav>
  <main>
    <h1>Fünf weitere Städte treten bei</h1>
    <p>Die Städte Bottrop, Duisburg und Hagen sind <b>neue Partner</b> der Initiative.</p>
    <p>RuhrFutur
       wächst weiter.</p>
    <script>document.write("SKRIPT2")</script>
    <!-- KOMMENTAR -->
    <p onclick="KLICKSKRIPT()" onmouseover="MAUSSKRIPT()">Mehr zur <a href="javascript:LINKSKRIPT()">Initiative</a>.</p>
    <iframe src="https://tracker.example/" srcdoc="<script>RAHMENSKRIPT</script>">RAHMENTEXT</iframe>
    <img src="x" onerror="FEHLERSKRIPT()" alt="Bild"><svg onload="SVGSKRIPT()"><script>SVGSKRIPT2</script></svg>
    <noscript>NOSKRIPT</noscript>
    <p>Julia Heer<br>Leitung Kommunikation<br>julia.heer@ruhrfutur.de</p>
  </main>
  <footer><p>FUSSZEILE Impressum</p></footer>
</body>
</html>
"""


def test_html_main_text_without_navigation_scripts_styles_iframes_or_handlers(corpus: Path):
    (corpus / "seite.html").write_text(HTML_PAGE, encoding="utf-8")
    [document] = load_file(corpus / "seite.html", corpus)
    text = document.text
    assert "Die Städte Bottrop, Duisburg und Hagen sind neue Partner der Initiative." in text
    assert "RuhrFutur wächst weiter." in text  # a source line break inside <p> is a space
    assert "Mehr zur Initiative." in text  # the text of an element with event handlers stays, the handlers go
    for unwanted in ("NAVLINK", "SKRIPTTEXT", "SKRIPT2", "STILREGEL", "color", "KOPFZEILE", "FUSSZEILE",
                     "KOMMENTAR", "KLICK", "MAUS", "LINKSKRIPT", "javascript", "RAHMEN", "tracker", "FEHLER",
                     "SVGSKRIPT", "NOSKRIPT", "onclick", "onerror", "onload", "<", ">"):
        assert unwanted not in text, unwanted


def test_deeply_nested_html_is_read_without_overflowing_the_stack(corpus: Path):
    html = "<main>" + "<div><span>" * 2_000 + "Tief verschachtelter Text." + "</span></div>" * 2_000 + "</main>"
    (corpus / "tief.html").write_text(html, encoding="utf-8")
    [document] = load_file(corpus / "tief.html", corpus)
    assert document.text == "Tief verschachtelter Text."


def test_html_title_and_published_date(corpus: Path):
    (corpus / "seite.html").write_text(HTML_PAGE, encoding="utf-8")
    [document] = load_file(corpus / "seite.html", corpus)
    assert document.meta.title == "RuhrFutur wächst – Neue Partner"
    assert document.meta.date == "2023-04-21"


def test_html_blocks_on_own_lines_inline_tags_do_not_split(corpus: Path):
    (corpus / "seite.html").write_text(HTML_PAGE, encoding="utf-8")
    [document] = load_file(corpus / "seite.html", corpus)
    lines = document.text.split("\n")
    assert "Fünf weitere Städte treten bei" in lines  # <h1> alone on its line
    assert "Die Städte Bottrop, Duisburg und Hagen sind neue Partner der Initiative." in lines
    assert "RuhrFutur wächst weiter." in lines
    # <br> breaks the line but keeps the address together as one paragraph
    assert "Julia Heer\nLeitung Kommunikation\njulia.heer@ruhrfutur.de" in document.text
    assert lines == [" ".join(line.split()) for line in lines]  # no stray whitespace


def test_html_without_main_uses_body_and_drops_navigation(corpus: Path):
    html = ("<html><head><title>Team</title><style>p{}</style></head><body>"
            "<nav>MENÜ</nav><div><h2>Ansprechpartner</h2><p>Bernd Kreuzinger leitet die Potenzialförderung.</p>"
            "<ul><li>Erster Punkt</li><li>Zweiter Punkt</li></ul></div><footer>FUSS</footer></body></html>")
    (corpus / "team.htm").write_text(html, encoding="utf-8")
    [document] = load_file(corpus / "team.htm", corpus)
    lines = [line for line in document.text.split("\n") if line]
    assert lines == ["Ansprechpartner", "Bernd Kreuzinger leitet die Potenzialförderung.",
                     "Erster Punkt", "Zweiter Punkt"]
    assert document.meta.title == "Team"
    assert document.meta.date == ""


def test_html_title_falls_back_to_h1(corpus: Path):
    html = "<html><body><main><h1>Kreis Unna tritt bei</h1><p>Der Kreis Unna ist Partner.</p></main></body></html>"
    (corpus / "unna.html").write_text(html, encoding="utf-8")
    [document] = load_file(corpus / "unna.html", corpus)
    assert document.meta.title == "Kreis Unna tritt bei"


def test_html_in_cp1252(corpus: Path):
    html = f"<html><head><title>Straße</title></head><body><p>{GERMAN}</p></body></html>"
    (corpus / "alt.html").write_bytes(html.encode("cp1252"))
    [document] = load_file(corpus / "alt.html", corpus)
    assert document.text == GERMAN
    assert document.meta.title == "Straße"


# --- PDF --------------------------------------------------------------------------------------

PAGE_ONE = "Erste Seite: Die Bildungsinitiative RuhrFutur wurde 2013 gegründet. Sie fördert Städte im Ruhrgebiet."
PAGE_TWO = "Zweite Seite: Kontakt zur Geschäftsstelle in Essen. Fragen beantwortet die Straße der Bildung."


def test_pdf_two_pages_offsets_and_title(corpus: Path):
    created = datetime(2023, 4, 21, 10, 0, tzinfo=timezone.utc)
    (corpus / "bericht.pdf").write_bytes(pdf_bytes([PAGE_ONE, PAGE_TWO], title="Bildungsbericht Ruhr 2023",
                                                    created=created))
    result = load_corpus(corpus)
    assert result.problems == []
    [document] = result.documents
    assert document.id == "bericht.pdf"
    assert len(document.pages) == 2
    assert document.pages[0] == 0
    # words of both pages, umlauts and ß included (Helvetica is latin-1 in fpdf2)
    assert "gegründet" in document.text and "Geschäftsstelle" in document.text and "Straße" in document.text
    second = document.text.index("Zweite Seite")
    first = document.text.index("Erste Seite")
    assert document.pages[0] <= first < document.pages[1] <= second
    assert "Zweite Seite" not in document.text[:document.pages[1]]
    assert "Erste Seite" not in document.text[document.pages[1]:]
    assert document.page_at(first) == 1
    assert document.page_at(second) == 2
    assert document.page_at(document.text.index("Essen")) == 2
    assert document.page_at(document.text.index("gegründet")) == 1
    assert document.page_at(len(document.text) - 1) == 2
    assert document.meta.title == "Bildungsbericht Ruhr 2023"
    assert document.meta.date == "2023-04-21"


def test_pdf_without_title_uses_first_line(corpus: Path):
    (corpus / "ohne.pdf").write_bytes(pdf_bytes(["Kurzbericht Bildung", "Mehr Text auf Seite zwei."]))
    [document] = load_file(corpus / "ohne.pdf", corpus)
    assert document.meta.title == "Kurzbericht Bildung"
    assert len(document.pages) == 2


def test_pdf_sidecar_wins_over_pdf_title(corpus: Path):
    (corpus / "b.pdf").write_bytes(pdf_bytes([PAGE_ONE], title="Titel aus dem PDF"))
    (corpus / "b.pdf.meta.json").write_text(json.dumps({"title": "Titel der Redaktion"}), encoding="utf-8")
    [document] = load_file(corpus / "b.pdf", corpus)
    assert document.meta.title == "Titel der Redaktion"


# --- JSON lines -------------------------------------------------------------------------------


def test_jsonl_records_become_documents(corpus: Path):
    records = [{"_id": "doc-1", "title": "Erster Titel", "text": "Die Städte Bottrop und Hamm treten bei."},
               {"_id": "doc-2", "title": "Zweiter Titel", "text": "Der Kreis Unna\r\nist Partner."}]
    (corpus / "export.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n\n",
                                         encoding="utf-8")
    result = load_corpus(corpus)
    assert result.problems == []
    documents = _by_id(result)
    assert set(documents) == {"doc-1", "doc-2"}
    assert documents["doc-1"].meta.title == "Erster Titel"
    assert documents["doc-2"].meta.title == "Zweiter Titel"
    assert documents["doc-1"].text == "Die Städte Bottrop und Hamm treten bei."
    assert documents["doc-2"].text == "Der Kreis Unna\nist Partner."
    assert documents["doc-1"].meta.origin == "export.jsonl"
    assert documents["doc-1"].sha256 != documents["doc-2"].sha256


# --- metadata ---------------------------------------------------------------------------------


def test_sidecar_overrides_metadata_and_is_not_a_document(corpus: Path):
    (corpus / "pm.txt").write_text("Essen, 21. April 2023 – RuhrFutur wächst.\nMehr Text.", encoding="utf-8")
    sidecar = {"title": "RuhrFutur wächst", "publisher": "RuhrFutur GmbH", "date": "2023-05-02",
               "kind": "Pressemitteilung"}
    (corpus / "pm.txt.meta.json").write_text(json.dumps(sidecar, ensure_ascii=False), encoding="utf-8")
    result = load_corpus(corpus)
    assert result.problems == []
    assert [d.id for d in result.documents] == ["pm.txt"]  # the sidecar itself is no document
    meta = result.documents[0].meta
    assert meta.title == "RuhrFutur wächst"
    assert meta.publisher == "RuhrFutur GmbH"
    assert meta.date == "2023-05-02"  # the sidecar wins over the dateline in the text
    assert meta.kind == "Pressemitteilung"
    assert meta.origin == "pm.txt"


def test_sidecar_overrides_html_title_and_date(corpus: Path):
    (corpus / "seite.html").write_text(HTML_PAGE, encoding="utf-8")
    (corpus / "seite.html.meta.json").write_text(json.dumps({"title": "Eigener Titel", "date": "2023-04-20"}),
                                                 encoding="utf-8")
    [document] = load_file(corpus / "seite.html", corpus)
    assert document.meta.title == "Eigener Titel"
    assert document.meta.date == "2023-04-20"


@pytest.mark.parametrize("content, linked", [
    (b"{kein json", False),
    (b"[1, 2]", False),  # JSON, but not an object
    (b"[" * 100_000, False),  # nested deeper than Python's JSON parser recurses
    (b"\xff\xfe{}", False),  # not UTF-8
    (b'{"title": "GEHEIMNIS von draussen"}', True),  # a link to a file outside the corpus
], ids=["not-json", "not-an-object", "too-deep", "not-utf8", "link-outside"])
def test_bad_sidecar_is_ignored_and_the_document_loads(tmp_path: Path, corpus: Path, content: bytes, linked: bool):
    (corpus / "a.txt").write_text("Überschrift\nText.", encoding="utf-8")
    sidecar = corpus / "a.txt.meta.json"
    if linked:
        (tmp_path / "fremd.json").write_bytes(content)
        sidecar.symlink_to(tmp_path / "fremd.json")
    else:
        sidecar.write_bytes(content)
    result = load_corpus(corpus)
    assert result.problems == []
    [document] = result.documents
    assert document.meta.title == "Überschrift"  # the first line, not the sidecar's
    assert document.sha256 == hashlib.sha256("Überschrift\nText.".encode()).hexdigest()


def test_unpaired_surrogates_from_json_escapes_become_replacement_characters(corpus: Path):
    # \ud800 and \udc00 are valid JSON escapes but no characters: UTF-8 cannot encode them, and the index
    # (written as UTF-8) could not be saved.
    (corpus / "export.jsonl").write_text('{"_id": "x\\ud800", "title": "T\\udc00", "text": "Ein \\ud800 Zeichen."}',
                                         encoding="utf-8")
    (corpus / "pm.txt").write_text("Pressemitteilung.", encoding="utf-8")
    (corpus / "pm.txt.meta.json").write_text('{"title": "Titel \\ud800", "publisher": "\\udfff"}', encoding="utf-8")
    result = load_corpus(corpus)
    assert result.problems == []
    documents = _by_id(result)
    assert set(documents) == {"x\ufffd", "pm.txt"}
    assert documents["x\ufffd"].text == "Ein \ufffd Zeichen." and documents["x\ufffd"].meta.title == "T\ufffd"
    assert (documents["pm.txt"].meta.title, documents["pm.txt"].meta.publisher) == ("Titel \ufffd", "\ufffd")
    for document in documents.values():
        json.dumps([document.id, document.text, document.meta.to_dict()], ensure_ascii=False).encode("utf-8")


def test_dateline_without_sidecar(corpus: Path):
    text = ("RuhrFutur wächst\n\nEssen, 21. April 2023 – Ein starkes Bekenntnis zum Ruhrgebiet: "
            "fünf Städte treten bei.")
    (corpus / "pm.txt").write_text(text, encoding="utf-8")
    [document] = load_file(corpus / "pm.txt", corpus)
    assert document.meta.date == "2023-04-21"
    assert document.meta.title == "RuhrFutur wächst"  # first line
    assert document.meta.publisher == "" and document.meta.kind == ""


@pytest.mark.parametrize("line, date", [("Essen, 3. März 2020 – Text", "2020-03-03"),
                                        ("Dortmund, 17.01.2020: Fachtag", "2020-01-17"),
                                        ("Ohne Datum im Text.", "")])
def test_datelines(corpus: Path, line: str, date: str):
    (corpus / "d.txt").write_text(line, encoding="utf-8")
    [document] = load_file(corpus / "d.txt", corpus)
    assert document.meta.date == date


# --- bad input ------------------------------------------------------------------------------


def _write_hostile_files(corpus: Path, outside: Path) -> dict[str, str]:
    """Every kind of bad file, written into ``corpus`` by the real tools; name -> a word its reason must name."""
    real_pdf = pdf_bytes([PAGE_ONE, PAGE_TWO], title="Halb")
    assert b"/FlateDecode" in real_pdf
    bomb = b"<a>" + b" " * (2 * 1024 * 1024) + b"</a>"  # 2 MB of XML, a few kB packed
    future_docx = bytearray(docx_bytes(["Text"]))  # "version needed to extract: 9.9": NotImplementedError in zipfile
    future_docx[future_docx.index(b"PK\x01\x02") + 6] = 99
    files = {
        "leer.txt": (b"", "leer"),
        "nur-leerzeichen.md": (b" \n\t\n", "leer"),
        "leer\nzeile.txt": (b"", "leer"),  # a line break in the name
        "muell.pdf": (bytes((i * 37 + 11) % 256 for i in range(4000)), "PDF"),
        "halb.pdf": (real_pdf[: len(real_pdf) // 2], "PDF"),
        "defekt.pdf": (real_pdf.replace(b"/FlateDecode", b"/FlateDecodX"), "PDF"),
        "verschluesselt.pdf": (pdf_bytes([PAGE_ONE], password="geheim"), "verschlüsselt"),
        "scan.pdf": (pdf_bytes([None]), "keine Textebene"),
        "bombe.docx": (docx_bytes([], parts={"word/document.xml": bomb}), "Zip-Bombe"),
        "bombe-kern.docx": (docx_bytes(["Text"], parts={"docProps/core.xml": bomb}), "Zip-Bombe"),  # in the metadata
        "kaputt.docx": (bytes(future_docx), "DOCX"),
        "kaputt-utf16.txt": (b"\xff\xfeA\x00B", "UTF-16"),  # BOM, then an odd number of bytes
        "binaer.txt": (bytes(range(256)) * 8, "Binärdatei"),
        "kaputt.jsonl": (b'{"_id": "a", "text": "gut"}\n{"title": "ohne id"}\n', "Zeile 2"),
        "tief.jsonl": (b"[" * 100_000, "Zeile 1"),
        "daten.xyz": (b"irgendwas", ".xyz"),
        os.fsdecode(b"B\xfcro-alt.txt"): ("Bürotext.".encode(), "UTF-8"),  # a name in latin-1, not UTF-8
    }
    for name, (data, _) in files.items():
        (corpus / name).write_bytes(data)
    with (corpus / "gross.txt").open("wb") as handle:  # 200 MB, sparse: written in no time, never read
        handle.truncate(200 * 1024 * 1024)
    os.mkfifo(corpus / "rohr.txt")  # reading a pipe would wait for a writer forever
    outside.write_text("GEHEIMNIS außerhalb des Korpus", encoding="utf-8")
    (corpus / "link.txt").symlink_to(outside)
    (corpus / "verwaist.txt").symlink_to(corpus / "gibt-es-nicht.txt")
    (corpus / "schleife-a.txt").symlink_to(corpus / "schleife-b.txt")
    (corpus / "schleife-b.txt").symlink_to(corpus / "schleife-a.txt")
    return {**{name: word for name, (_, word) in files.items()}, "gross.txt": "200.0 MB",
            "rohr.txt": "gewöhnliche Datei",
            "link.txt": "aus dem Korpusordner", "verwaist.txt": "nicht lesbar", "schleife-a.txt": "Verknüpfung",
            "schleife-b.txt": "Verknüpfung"}


def test_every_bad_file_is_one_problem_naming_it_and_the_good_file_loads(tmp_path: Path, corpus: Path):
    good = "Die Bildungsinitiative RuhrFutur bündelt Kräfte."
    (corpus / "gut.txt").write_text(good, encoding="utf-8")
    expected = _write_hostile_files(corpus, tmp_path / "geheim.txt")

    tracemalloc.start()
    try:
        result = load_corpus(corpus)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert [(d.id, d.text) for d in result.documents] == [("gut.txt", good)]
    assert sorted(problem.path for problem in result.problems) == sorted(expected)  # exactly one each
    for problem in result.problems:
        assert expected[problem.path] in problem.reason, problem
        assert "\n" not in str(problem) and str(problem).encode("utf-8")  # one printable line
    problems = {problem.path: str(problem) for problem in result.problems}
    assert problems["gross.txt"] == ("gross.txt: die Datei hat 200.0 MB, mehr als die erlaubten 50 MB "
                                     "(Einstellung max_file_mb); nicht gelesen")
    assert problems["leer\nzeile.txt"].startswith("leer\\nzeile.txt: ")
    assert peak < 20 * 1024 * 1024  # the 200 MB file was never read into memory


def test_file_size_limit_is_a_setting(corpus: Path):
    (corpus / "a.txt").write_text("Ein Satz über Bildung. " * 100, encoding="utf-8")  # 2.3 kB
    assert Settings.load(environ={"ASSISTANT_MAX_FILE_MB": "0.002"}).max_file_mb == 0.002
    with pytest.raises(LoadError, match=r"0\.0 MB, mehr als die erlaubten 0\.002 MB"):
        load_file(corpus / "a.txt", corpus, max_file_mb=0.002)
    assert [d.id for d in load_corpus(corpus, max_file_mb=0.003).documents] == ["a.txt"]


@pytest.mark.parametrize("name", ["a..b.txt", "Pressemitteilung Mai 2024.txt", "Bürgerbüro.txt", "zeile\numbruch.txt",
                                  "Unter Ordner/Straße ..txt"])
def test_unusual_file_names_load_with_their_name_as_origin(tmp_path: Path, corpus: Path, name: str):
    (tmp_path / "geheim.txt").write_text("GEHEIMNIS", encoding="utf-8")  # next to the corpus, as ../geheim.txt
    (corpus / name).parent.mkdir(exist_ok=True)
    (corpus / name).write_text("Ein Text mit Inhalt.", encoding="utf-8")
    result = load_corpus(corpus)
    assert result.problems == []
    [document] = result.documents
    assert (document.id, document.meta.origin, document.text) == (name, name, "Ein Text mit Inhalt.")


def test_symlinked_folder_outside_the_corpus_is_not_read(tmp_path: Path, corpus: Path):
    outside = tmp_path / "draussen"
    outside.mkdir()
    (outside / "geheim.txt").write_text("GEHEIMNIS im fremden Ordner", encoding="utf-8")
    (corpus / "ordner").symlink_to(outside, target_is_directory=True)
    (corpus / "gut.txt").write_text("Text im Korpus.", encoding="utf-8")
    result = load_corpus(corpus)
    assert [d.id for d in result.documents] == ["gut.txt"]
    assert not any("GEHEIMNIS" in d.text for d in result.documents)


def test_symlink_outside_is_refused_by_load_file(tmp_path: Path, corpus: Path):
    outside = tmp_path / "geheim.txt"
    outside.write_text("GEHEIMNIS", encoding="utf-8")
    (corpus / "link.txt").symlink_to(outside)
    with pytest.raises(LoadError, match="aus dem Korpusordner heraus"):
        load_file(corpus / "link.txt", corpus)


def test_missing_corpus_folder(tmp_path: Path):
    with pytest.raises(LoadError):
        load_corpus(tmp_path / "gibt-es-nicht")


def test_hidden_files_and_readme_are_skipped(corpus: Path):
    (corpus / ".versteckt.txt").write_text("versteckt", encoding="utf-8")
    (corpus / "README.md").write_text("# Korpus", encoding="utf-8")
    (corpus / "a.txt").write_text("Inhalt.", encoding="utf-8")
    result = load_corpus(corpus)
    assert [d.id for d in result.documents] == ["a.txt"]
    assert result.problems == []


# --- ids and hashes ---------------------------------------------------------------------------


def test_id_is_relative_path_and_sha256_is_of_the_bytes(corpus: Path):
    (corpus / "sub").mkdir()
    data = GERMAN.encode("cp1252")
    (corpus / "sub" / "x.txt").write_bytes(data)
    (corpus / "x.txt").write_text("Gleicher Name, anderer Ordner.", encoding="utf-8")
    result = load_corpus(corpus)
    assert result.problems == []
    documents = _by_id(result)
    assert set(documents) == {"sub/x.txt", "x.txt"}
    assert documents["sub/x.txt"].sha256 == hashlib.sha256(data).hexdigest()
    assert documents["sub/x.txt"].meta.origin == "sub/x.txt"
    assert documents["x.txt"].sha256 == hashlib.sha256("Gleicher Name, anderer Ordner.".encode()).hexdigest()


def test_id_is_relative_path_for_a_relative_corpus_path(tmp_path: Path, corpus: Path, monkeypatch):
    (corpus / "sub").mkdir()
    (corpus / "sub" / "x.txt").write_text("Im Unterordner.", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = load_corpus(Path("corpus"))
    assert [d.id for d in result.documents] == ["sub/x.txt"]
    assert [d.id for d in load_file(Path("corpus/sub/x.txt"), Path("corpus"))] == ["sub/x.txt"]


def test_id_is_relative_path_through_a_linked_corpus_folder(tmp_path: Path, corpus: Path):
    (corpus / "sub").mkdir()
    (corpus / "sub" / "x.txt").write_text("Im Unterordner.", encoding="utf-8")
    link = tmp_path / "verknuepft"
    link.symlink_to(corpus, target_is_directory=True)
    result = load_corpus(link)
    assert result.problems == []
    assert [d.id for d in result.documents] == ["sub/x.txt"]


def test_duplicate_ids_are_reported(corpus: Path):
    (corpus / "a.txt").write_text("Datei.", encoding="utf-8")
    (corpus / "b.jsonl").write_text(json.dumps({"_id": "a.txt", "text": "Datensatz."}), encoding="utf-8")
    result = load_corpus(corpus)
    assert [d.id for d in result.documents] == ["a.txt"]
    assert result.documents[0].text == "Datei."
    assert "doppelt" in _problems(result)["b.jsonl"]


def test_real_corpus_loads_without_problems():
    result = load_corpus(SEED_CORPUS)
    assert result.problems == []
    documents = _by_id(result)
    assert len(documents) == 5
    assert "README.md" not in documents
    press = documents["ruhrfutur-pressemitteilung-fuenf-weitere-staedte-2023.txt"]
    assert press.meta.date == "2023-04-21"
    assert press.meta.kind == "Pressemitteilung"
    # the hash covers the file and its metadata sidecar, so edited metadata counts as a change
    sidecar = SEED_CORPUS / (press.id + ".meta.json")
    assert press.sha256 == hashlib.sha256((SEED_CORPUS / press.id).read_bytes() + sidecar.read_bytes()).hexdigest()
    assert "\r" not in press.text


# --- fuzzing ------------------------------------------------------------------------------------

FUZZ_SEEDS = {  # real files, damaged at random below
    ".pdf": pdf_bytes([PAGE_ONE, PAGE_TWO], title="Bericht", created=datetime(2023, 4, 21, tzinfo=timezone.utc)),
    ".html": HTML_PAGE.encode("utf-8"),
    ".docx": docx_bytes(["Erster Absatz über Bildung.", "Zweiter Absatz."], title="Meldung"),
    ".txt": (GERMAN + "\r\nZweite Zeile").encode("utf-16"),
    ".jsonl": json.dumps({"_id": "a", "title": "Titel", "text": GERMAN}, ensure_ascii=False).encode() + b"\n",
}
HTML_PIECES = ["<html>", "<head>", "<title>", "</title>", "<body>", "<main>", "</main>", "<article>", "<div>",
               "</div>", "<p>", "</p>", "<pre>", "</pre>", "<br>", "<ul><li>", "<table><tr><td>", "<script>",
               "</script>", "<style>", "<iframe>", "</iframe>", "<!--", "-->", "<h1>", "</h1>", "&amp;", "&#0;",
               "&#xD800;", "&nbsp;", "<meta name='date' content='2023-04-21'>", "<time datetime='x'>", "<svg>",
               "<template>", "<p onclick='alert(1)'>", "\n", " ", "\t", "\r\n"]


def _damage(data: bytes, random: Random) -> bytes:
    """``data`` with one to six bytes flipped, runs inserted or deleted, or the end cut off."""
    result = bytearray(data)
    for _ in range(random.randint(1, 6)):
        at = random.randrange(len(result) or 1)
        kind = random.choice(["flip", "flip", "insert", "delete", "cut"])
        if kind == "flip" and result:
            result[at] ^= random.randrange(1, 256)
        elif kind == "insert":
            result[at:at] = random.randbytes(random.randint(1, 8))
        elif kind == "delete":
            del result[at:at + random.randint(1, 64)]
        elif kind == "cut":
            del result[at:]
    return bytes(result)


DAMAGED_FILES = st.sampled_from(sorted(FUZZ_SEEDS)).flatmap(lambda suffix: st.tuples(
    st.just(suffix), st.randoms(use_true_random=False).map(partial(_damage, FUZZ_SEEDS[suffix]))))
ARBITRARY_FILES = st.tuples(st.sampled_from(sorted(SUPPORTED_SUFFIXES)), st.binary(max_size=2000))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=st.one_of(DAMAGED_FILES, ARBITRARY_FILES))
def test_damaged_or_arbitrary_files_load_or_raise_load_error(corpus: Path, file: tuple[str, bytes]):
    suffix, data = file
    path = corpus / f"datei{suffix}"
    path.write_bytes(data)
    try:
        documents = load_file(path, corpus)
    except LoadError as error:  # anything else escaping fails the test
        assert str(error).strip()
        return
    for document in documents:
        assert document.text.strip()
        assert list(document.pages) == sorted(document.pages) and all(p <= len(document.text) for p in document.pages)
        json.dumps([document.id, document.text, document.meta.to_dict()], ensure_ascii=False).encode("utf-8")


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=2000) | st.text(max_size=200).map(lambda t: t.encode("utf-16")),
       html=st.lists(st.sampled_from(HTML_PIECES) | st.text(max_size=12), max_size=60).map("".join))
def test_any_bytes_decode_or_raise_load_error_and_any_html_reads_to_clean_lines(data: bytes, html: str):
    with contextlib.suppress(LoadError):
        decode_text(data).encode("utf-8")  # text that can be saved, or a LoadError
    text, meta = read_html(html)
    assert text == text.strip() and "\n\n\n" not in text
    assert all(line == " ".join(line.split()) for line in text.split("\n"))
    assert meta.title == " ".join(meta.title.split())
    (text + meta.title + meta.date).encode("utf-8")
