"""Sentences, blocks, units and passages of German text, always by exact offsets into the source."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.datatypes import Chunk, Document, DocumentMeta
from assistant.documents.chunking import blocks, caption_entries, chunk_document, is_furniture, sentences, units
from assistant.documents.loading import load_corpus, load_file
from conftest import SEED_CORPUS as CORPUS

KONTAKTE = "zukunftsbildung-ruhr-initiative-und-kontakte.txt"
BLOCK = "Potenzialförderung\nTalentMetropole Ruhr\nBernd Kreuzinger: kreuzinger@talentmetropoleruhr.de"

CONTACT_LIST = f"""Kontakt
Rückfragen?
Haben Sie Rückfragen zu einem der Themenschwerpunkte?
Digitalisierung
TalentMetropole Ruhr
Dr. Britta L. Schröder: schroeder@talentmetropoleruhr.de
{BLOCK}
Quartiersentwicklung
Regionalverband Ruhr
Claudia Horch: horch@rvr.ruhr
Nina Fries: fries@rvr.ruhr
Vielfalt
RuhrFutur
Doreen Barzel: doreen.barzel@ruhrfutur.de
Innovationslabore
Regionalverband Ruhr
Kristin Dittrich: dittrich@rvr.ruhr
Dr. Farina Nagel: nagel@rvr.ruhr"""

INTRO = ("Seit Ende 2017 engagieren sich hunderte von Bildungsakteuren in der Initiative ZukunftsBildung Ruhr. "
         "Die Initiative will ein besseres und chancengerechteres Bildungssystem im Ruhrgebiet. "
         "Dazu dienen verschiedene Formate wie z. B. der Wissensgipfel Ruhr, der Zukunftsthemen aufgreift. "
         "Am 20. September 2011 fand im Rathaus Essen eine Tagung statt. ")


def _texts(text: str, spans) -> list[str]:
    return [text[span[0]:span[1]] if isinstance(span, tuple) else text[span.start:span.end] for span in spans]


@pytest.fixture(scope="module")
def corpus_documents() -> list[Document]:
    result = load_corpus(CORPUS)
    assert result.problems == []
    assert len(result.documents) == 5
    return result.documents


def check_chunks(document: Document, chunks: list[Chunk], size: int, overlap: int) -> None:
    """The invariants every passage list must keep."""
    text = document.text
    assert chunks or not text.strip()
    assert len({chunk.id for chunk in chunks}) == len(chunks)
    for chunk in chunks:
        assert chunk.document == document.id
        assert chunk.text == text[chunk.start:chunk.end]
        assert chunk.text.strip(), chunk
        assert chunk.text == chunk.text.strip()
        assert chunk.unit_texts() == [text[u.start:u.end] for u in chunk.units]  # what an answer quotes is the source
        for unit in chunk.units:
            assert chunk.start <= unit.start < unit.end <= chunk.end
            assert text[unit.start:unit.end].strip()
            assert not is_furniture(text[unit.start:unit.end])
        assert [u.start for u in chunk.units] == sorted(u.start for u in chunk.units)
        assert len(chunk.text) <= size or len(chunk.units) <= 1, (len(chunk.text), chunk.units)
        assert chunk.page == document.page_at(chunk.start)
        assert chunk.meta == document.meta
    for previous, following in zip(chunks, chunks[1:]):
        assert following.start > previous.start  # progress
        # overlapping, or touching: nothing but whitespace between them (a unit longer than the
        # overlap cannot be repeated, and whitespace between units belongs to no unit)
        assert following.start <= previous.end or not text[previous.end:following.start].strip(), \
            (previous, following)
        assert previous.end - following.start <= overlap
    # every word of the document is in some passage, and every unit in one passage as a whole
    covered = [False] * len(text)
    for chunk in chunks:
        covered[chunk.start:chunk.end] = [True] * (chunk.end - chunk.start)
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))
    for section_start, section_end in _page_sections(document):
        for unit in units(text, section_start, section_end):
            if unit.end - unit.start <= size:
                assert any(c.start <= unit.start and unit.end <= c.end for c in chunks), text[unit.start:unit.end]


def _page_sections(document: Document):
    bounds = list(document.pages) or [0]
    return [(b, bounds[i + 1] if i + 1 < len(bounds) else len(document.text)) for i, b in enumerate(bounds)]


# --- sentences --------------------------------------------------------------------------------


def test_sentence_boundaries_survive_abbreviations_dates_contacts():
    text = ("Das sagte Dr. Oliver Döhrmann am 20. September 2011 im Rathaus. "
            "Der Fachtag zeigte z. B. die Vielfalt der Region. "
            "Wer ist zuständig? Die Stadt Essen! "
            "Rufen Sie an unter Tel. 0201-177 878-12 oder schreiben Sie an julia.heer@ruhrfutur.de. "
            "Mehr unter www.ruhrfutur.de/presse und im Netz. "
            "Ende gut.")
    assert _texts(text, sentences(text)) == [
        "Das sagte Dr. Oliver Döhrmann am 20. September 2011 im Rathaus.",
        "Der Fachtag zeigte z. B. die Vielfalt der Region.",
        "Wer ist zuständig?",
        "Die Stadt Essen!",
        "Rufen Sie an unter Tel. 0201-177 878-12 oder schreiben Sie an julia.heer@ruhrfutur.de.",
        "Mehr unter www.ruhrfutur.de/presse und im Netz.",
        "Ende gut.",
    ]


@pytest.mark.parametrize("inside", [
    "Dr. Oliver Döhrmann", "z. B. die", "am 20. September 2011 im", "Tel. 0201-177 878-12",
    "julia.heer@ruhrfutur.de", "www.ruhrfutur.de/presse", "Prof. Dr. Britta L. Schröder", "u. a. mit",
    "Nr. 3 der", "bzw. der",
])
def test_no_boundary_inside(inside: str):
    text = f"Im Text steht {inside} mitten im Satz. Danach kommt ein zweiter Satz."
    found = _texts(text, sentences(text))
    assert found == [f"Im Text steht {inside} mitten im Satz.", "Danach kommt ein zweiter Satz."]


def test_real_boundaries_are_found():
    text = "Die Stadt tritt bei. Der Kreis folgt. Wann? Die Antwort kommt 2024. 2025 folgt mehr."
    assert _texts(text, sentences(text)) == ["Die Stadt tritt bei.", "Der Kreis folgt.", "Wann?",
                                             "Die Antwort kommt 2024.", "2025 folgt mehr."]


def test_sentences_with_quotes_and_offsets():
    text = "Vorspann. „Wir wachsen.“ Sagte sie. Ende"
    spans = sentences(text, 10)  # only from offset 10 on
    assert _texts(text, spans) == ["„Wir wachsen.“", "Sagte sie.", "Ende"]
    assert all(a >= 10 for a, _ in spans)


def test_sentences_of_blank_text():
    assert sentences("") == []
    assert sentences("   \n ") == []


# --- blocks -------------------------------------------------------------------------------------


def test_hard_wrapped_paragraph_is_joined():
    text = ("100 Verantwortliche aus Bildung, Wissenschaft,\n"
            "Verwaltung, Wirtschaft und Zivilgesellschaft,\n"
            "entlang der gesamten Bildungskette, tauschen\n"
            "sich zum ersten Mal gemeinsam zu den\n"
            "Themenfeldern aus.\n"
            "Rund 600 Teilnehmende entwickeln an zwei\n"
            "Tagen in sechs Themenforen die relevanten\n"
            "Fragestellungen weiter und einigen sich auf\n"
            "die Umsetzung konkreter Projektideen.")
    found = _texts(text, blocks(text))
    assert found == [text[:text.index("Rund")].rstrip(), text[text.index("Rund"):]]
    # the joined block still is exactly the source text, line breaks included
    assert "\n" in found[0]


def test_separate_lines_are_not_joined():
    text = ("Kontakt\nRückfragen?\n"
            "- Idee und Konzept durch RuhrFutur\n- Formulierung eines Eckpunktepapiers\n"
            "Dr. Britta L. Schröder: schroeder@talentmetropoleruhr.de\n"
            "Potenzialförderung\n\nNeuer Absatz.")
    found = blocks(text)
    assert _texts(text, found) == ["Kontakt", "Rückfragen?", "- Idee und Konzept durch RuhrFutur",
                                   "- Formulierung eines Eckpunktepapiers",
                                   "Dr. Britta L. Schröder: schroeder@talentmetropoleruhr.de",
                                   "Potenzialförderung", "Neuer Absatz."]
    assert found[-1].paragraph == found[-2].paragraph + 1
    assert len({span.paragraph for span in found[:-1]}) == 1


def test_blocks_strip_indentation_and_respect_bounds():
    text = "xx\n   Eingerückte Zeile.   \n\n\t Zweiter Absatz.\nyy"
    start, end = 3, text.index("yy") - 1
    assert _texts(text, blocks(text, start, end)) == ["Eingerückte Zeile.", "Zweiter Absatz."]


# --- units --------------------------------------------------------------------------------------


def test_contact_block_is_one_unit_among_several():
    text = INTRO + "\n" + CONTACT_LIST
    found = _texts(text, units(text))
    assert BLOCK in found
    assert "Digitalisierung\nTalentMetropole Ruhr\nDr. Britta L. Schröder: schroeder@talentmetropoleruhr.de" in found
    # two contact lines in a row stay together under their heading
    assert "Quartiersentwicklung\nRegionalverband Ruhr\nClaudia Horch: horch@rvr.ruhr\nNina Fries: fries@rvr.ruhr" \
        in found
    assert "Innovationslabore\nRegionalverband Ruhr\nKristin Dittrich: dittrich@rvr.ruhr\n" \
           "Dr. Farina Nagel: nagel@rvr.ruhr" in found
    # no unit holds two people of different topics
    assert not any("Kreuzinger" in unit and ("Schröder" in unit or "Horch" in unit) for unit in found)


def test_contact_block_is_in_one_chunk_in_full():
    text = INTRO + "\n" + CONTACT_LIST
    document = Document("kontakte.txt", text)
    for size, overlap in ((700, 200), (300, 100), (150, 0), (120, 60)):
        chunks = chunk_document(document, size=size, overlap=overlap)
        check_chunks(document, chunks, size, overlap)
        holding = [chunk for chunk in chunks if BLOCK in chunk.text]
        assert holding, (size, overlap)
        assert all(BLOCK in chunk.unit_texts() for chunk in holding)
        # wherever the person appears, the topic and organisation are there too
        for chunk in chunks:
            if "Kreuzinger" in chunk.text:
                assert BLOCK in chunk.text, (size, chunk.text)


def test_real_corpus_contact_block_in_one_chunk():
    document = load_file(CORPUS / KONTAKTE, CORPUS)[0]
    assert BLOCK in document.text
    assert BLOCK in _texts(document.text, units(document.text))
    chunks = chunk_document(document, 700, 200)
    assert any(BLOCK in chunk.text for chunk in chunks)
    assert any(BLOCK in chunk.unit_texts() for chunk in chunks)
    for chunk in chunks:
        if "kreuzinger@" in chunk.text:
            assert BLOCK in chunk.text


def test_heading_is_kept_with_the_following_sentence():
    text = ("Über RuhrFutur\n"
            "RuhrFutur ist eine gemeinsame Bildungsinitiative für das Ruhrgebiet. Ihr Ziel ist ein "
            "leistungsfähiges Bildungssystem.\n\n"
            "Der bisherige Prozess\n"
            "Hier finden Sie alle Meilensteine.")
    found = _texts(text, units(text))
    assert found == [
        "Über RuhrFutur\nRuhrFutur ist eine gemeinsame Bildungsinitiative für das Ruhrgebiet.",
        "Ihr Ziel ist ein leistungsfähiges Bildungssystem.",
        "Der bisherige Prozess\nHier finden Sie alle Meilensteine.",
    ]


def test_trailing_heading_is_its_own_unit_but_not_an_answer():
    text = "Ein ganzer Satz steht hier.\nKontakt"
    found = units(text)
    assert _texts(text, found) == ["Ein ganzer Satz steht hier.", "Kontakt"]
    assert [u.kind for u in found] == ["sentence", "heading"]
    assert [text[u.start:u.end] for u in chunk_document(Document("x.txt", text), 700, 200)[0].units] == \
        ["Ein ganzer Satz steht hier."]


CAPTION = ("Auf dem Foto (v.l.n.r.): Reinhard Paß (damaliger OB Essen), Frank Baranowski (damaliger OB "
           "Gelsenkirchen), Dagmar Mühlenfeld (damalige OB Mülheim) und Udo Mager (damals Wirtschaftsförderung "
           "der Stadt Dortmund).")


def test_photo_caption_becomes_one_unit_per_person_with_its_lead():
    text = "Die Stadtspitzen trafen sich in Gelsenkirchen.\n\n" + CAPTION
    found = [u for u in units(text) if u.kind == "caption"]
    assert [t.rstrip(",;") for t in _texts(text, found)] == ["Reinhard Paß (damaliger OB Essen)", "Frank Baranowski (damaliger OB Gelsenkirchen)",
                                   "Dagmar Mühlenfeld (damalige OB Mülheim)",
                                   "Udo Mager (damals Wirtschaftsförderung der Stadt Dortmund)."]
    assert {u.context for u in found} == {"Auf dem Foto (v.l.n.r.):"}
    chunk = chunk_document(Document("foto.txt", text), 700, 200)[0]
    assert chunk.text == text  # the lead and the separators stay in the passage
    assert "Reinhard Paß (damaliger OB Essen)," in chunk.unit_texts()


@pytest.mark.parametrize("caption, people", [
    ("Abgebildet v. l. n. r.: Linnéa Oldenburg, Sachgebietsleiterin Bildung Kreis Unna; Joela Dukat, "
     "Programmkoordination RuhrFutur gGmbH; Manfred Walhorn.",
     ["Linnéa Oldenburg, Sachgebietsleiterin Bildung Kreis Unna", "Joela Dukat, Programmkoordination RuhrFutur gGmbH",
      "Manfred Walhorn."]),
    ("Von links nach rechts: Benjamin Fricke (Initiativkreis Ruhr GmbH), Julia Kalinowski (RAG Stiftung),\n"
     "Dr. Phillip Zimmermann (Evonik Industries AG)",
     ["Benjamin Fricke (Initiativkreis Ruhr GmbH)", "Julia Kalinowski (RAG Stiftung)",
      "Dr. Phillip Zimmermann (Evonik Industries AG)"]),
])
def test_caption_styles(caption: str, people: list[str]):
    entries = [u for u in caption_entries(caption, 0, len(caption)) if u.kind == "caption"]
    assert [caption[u.start:u.end].rstrip(",;") for u in entries] == people


def test_a_sentence_is_not_a_caption():
    text = "Auf dem Foto ist der Rhein zu sehen, im Hintergrund (rechts) die Brücke."
    assert caption_entries(text, 0, len(text)) == []
    assert [u.kind for u in units(text)] == ["sentence"]


@pytest.mark.parametrize("line", [
    "© Copyright", "© Iris Hofmann-Stadt Mülheim | Stadt Mülheim an der Ruhr", "Bild vergrößern: Foto Sara Halilovic",
    "Weitere Informationen", "Weitere Informationen & ausführliche Dokumentation der Veranstaltung", "Downloads",
    "Seite teilen", "Zur Pressemitteilung", "Das könnte Sie auch interessieren",
    "ein Gruppenfoto, auf dem vier Männer und drei Frauen zu sehen sind.",
])
def test_page_furniture_is_recognised(line: str):
    assert is_furniture(line)


@pytest.mark.parametrize("line", [
    "Weitere Informationen gibt es in einem Interview mit dem Geschäftsführer der Stiftung, Bernd Kreuzinger.",
    "Die Stadt lädt ein.", "Ein Foto der Veranstaltung zeigt die Gäste.",
])
def test_sentences_are_not_furniture(line: str):
    assert not is_furniture(line)


def test_furniture_stays_in_the_passage_but_is_never_an_answer_unit():
    text = ("Die Stadt Essen tritt der Initiative bei.\n"
            "Bild vergrößern: Kooperationsvereinbarung (2) Foto Sara Halilovic - Kreis Unna\n"
            "© © Copyright\nSara Halilovic Kreis Unna\n\n"
            "Der Kreis Unna folgt im Mai.\n\nDownloads\n\nEinladungsschreiben\nProgramm der Tagung\n\nSeite teilen")
    chunks = chunk_document(Document("x.txt", text), 2000, 200)
    assert len(chunks) == 1 and "Bild vergrößern" in chunks[0].text
    assert chunks[0].unit_texts() == ["Die Stadt Essen tritt der Initiative bei.", "Der Kreis Unna folgt im Mai."]


def test_contact_lines_keep_their_name():
    text = ("Bei Fragen sprechen Sie uns gerne an:\n\n"
            "Julia Heer\nLeitung Kommunikation\nRuhrFutur GmbH\nTel. 0201-177 878-12\njulia.heer@ruhrfutur.de")
    found = _texts(text, units(text))
    # name, role and organisation above the phone and e-mail form one unit with them
    assert found[-1] == ("Julia Heer\nLeitung Kommunikation\nRuhrFutur GmbH\nTel. 0201-177 878-12\n"
                         "julia.heer@ruhrfutur.de")
    assert found[:-1] == ["Bei Fragen sprechen Sie uns gerne an:"]


# --- passages -----------------------------------------------------------------------------------


def test_every_corpus_document_chunks_correctly(corpus_documents: list[Document]):
    for document in corpus_documents:
        for size, overlap in ((700, 200), (400, 100), (200, 50)):
            chunks = chunk_document(document, size=size, overlap=overlap)
            assert len(chunks) >= 2, document.id  # every seed document is longer than 700 characters
            check_chunks(document, chunks, size, overlap)
            assert all(chunk.id.startswith(document.id + "#") for chunk in chunks)


def test_corpus_chunks_overlap_when_units_are_short(corpus_documents: list[Document]):
    document = next(d for d in corpus_documents if d.id == KONTAKTE)
    chunks = chunk_document(document, size=700, overlap=200)
    overlapping = [(p, f) for p, f in zip(chunks, chunks[1:]) if f.start < p.end]
    assert overlapping  # the short contact units are repeated at the start of the next passage
    for previous, following in overlapping:
        # the overlap is made of whole units of the previous passage
        assert following.units[0] in previous.units or following.units[0].start >= previous.end


def test_long_text_without_punctuation_is_cut_at_spaces():
    words = ["Bildung", "Ruhrgebiet", "Förderung", "Talente", "Städte", "Region", "Zukunft", "und"]
    text = " ".join(words[i % len(words)] + str(i % 7) for i in range(400))
    assert len(text) > 3000 and "." not in text
    document = Document("lang.txt", text)
    size = 500
    chunks = chunk_document(document, size=size, overlap=100)
    assert len(chunks) >= len(text) // size
    check_chunks(document, chunks, size, overlap=100)
    for chunk in chunks:
        assert len(chunk.text) <= size
        # cut between words: never inside one
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] == " "


def test_single_word_longer_than_size_is_cut_hard():
    text = "x" * 1000
    document = Document("wurst.txt", text)
    chunks = chunk_document(document, size=300, overlap=0)
    check_chunks(document, chunks, 300, 0)
    assert "".join(chunk.text for chunk in chunks) == text


def test_pages_are_never_mixed():
    page_one = ("Erste Seite. Die Bildungsinitiative wurde gegründet. Sie arbeitet im Ruhrgebiet. "
                "Über RuhrFutur\nRuhrFutur ist eine Initiative")  # page ends mid-sentence
    page_two = "für das Ruhrgebiet. Zweite Seite. Kontakt\nJulia Heer: julia.heer@ruhrfutur.de"
    text = page_one + "\n\n" + page_two
    n = len(page_one) + 2
    document = Document("bericht.pdf", text, DocumentMeta(title="Bericht"), pages=(0, n))
    for size in (1000, 60):
        chunks = chunk_document(document, size=size, overlap=30)
        check_chunks(document, chunks, size, 30)
        assert {chunk.page for chunk in chunks} == {1, 2}
        for chunk in chunks:
            assert chunk.end <= n or chunk.start >= n, chunk
            assert chunk.page == (1 if chunk.end <= n else 2)
            assert all((u.end <= n) == (chunk.page == 1) for u in chunk.units)
        # with room for everything, one passage per page
        if size == 1000:
            assert [chunk.text for chunk in chunks] == [page_one, page_two]


def test_pdf_page_boundary_inside_a_line():
    text = "Ein Satz auf Seite eins geht weiter auf Seite zwei und endet dort."
    n = text.index("auf Seite zwei")
    document = Document("x.pdf", text, pages=(0, n))
    chunks = chunk_document(document, 700, 200)
    assert [(c.text, c.page) for c in chunks] == [(text[:n].rstrip(), 1), (text[n:], 2)]


def test_empty_document_has_no_chunks():
    assert chunk_document(Document("leer.txt", ""), 700, 200) == []
    assert chunk_document(Document("leer.txt", " \n\n \t"), 700, 200) == []


# --- property -----------------------------------------------------------------------------------

PIECES = ["Die", "Stadt", "Essen", "Förderung", "Potenzialförderung", "Straße", "und", "der", "im", "z.", "B.",
          "Dr.", "Tel.", "0201-177", "878-12", "julia.heer@ruhrfutur.de", "www.ruhrfutur.de", "20.", "September",
          "2011", "»Vielfalt«", "„Zukunft“", "RuhrFutur:", "–", "-", ".", "?", "!", "…", ",", ":", ";",
          " ", " ", " ", " ", "  ", "\n", "\n", "\n\n", "\n \n", "\t", "Kontakt", "- Punkt", "1.", "17.01.2020"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=120),  # German text, any text
       size=st.integers(min_value=20, max_value=400),
       overlap=st.integers(min_value=0, max_value=200),
       page_at=st.floats(min_value=0.0, max_value=1.0))
def test_chunks_are_exact_slices_of_random_text(pieces, size, overlap, page_at):
    text = "".join(pieces)
    split = int(len(text) * page_at)
    pages = (0, split) if 0 < split < len(text) else ()
    document = Document("zufall.txt", text, pages=pages)
    chunks = chunk_document(document, size=size, overlap=min(overlap, size))
    check_chunks(document, chunks, size, min(overlap, size))
    if pages:
        for chunk in chunks:
            assert chunk.end <= split or chunk.start >= split


def test_a_list_item_is_not_joined_with_the_heading_after_it():
    text = ("- Gewinnung von Kooperationspartnern und Förderern\nDezember 2017: Kick-Off-Veranstaltung\n"
            "100 Verantwortliche aus Bildung und Wissenschaft tauschen sich aus.")
    assert _texts(text, units(text)) == [
        "- Gewinnung von Kooperationspartnern und Förderern",
        "Dezember 2017: Kick-Off-Veranstaltung\n100 Verantwortliche aus Bildung und Wissenschaft tauschen sich aus."]
