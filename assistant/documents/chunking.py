"""Split documents into passages that keep German sentences, headings and contact blocks whole.

Three steps, all on character offsets into the original text so a passage can always be quoted
exactly and located in its source:

1. ``blocks``: paragraphs split into lines; lines that were wrapped mid-sentence are joined.
2. ``units``: blocks split into sentences (abbreviations such as "Dr.", "z. B.", "Tel.", ordinal
   dates such as "20. September 2011", e-mail addresses and URLs do not end a sentence), then
   headings and short lines are attached to what they introduce, and runs of contact lines
   (e-mail, phone, URL) are kept together with the name above them. A photo caption ("Auf dem
   Foto (v.l.n.r.): Name (Rolle), Name (Rolle) ...") becomes one unit per person, with the
   caption's lead as context. Each unit has a kind; page furniture ("© Copyright", "Bild
   vergrößern", "Weitere Informationen", download lists, image descriptions) and headings with
   nothing under them are kinds that never answer a question.
3. ``chunk_document``: units packed into passages of about ``size`` characters, each starting
   with the last units of the previous one (``overlap`` characters at most). A passage's
   ``units`` are its answer candidates: sentences, contact blocks and caption entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..datatypes import Chunk, Document, Unit
from ..language.text import EMAIL, GERMAN_MONTHS, MONTH_ABBREVIATIONS, PHONE_START

ABBREVIATIONS = frozenset("""
dr prof dipl ing med phil rer nat jur hr fr frau herr st str nr tel fax mobil abs art bzw ca evtl etc
ggf inkl vgl usw sog bzgl ehem gem jh jhd mio mrd tsd min max geb gest ev e.v mdl mdb od u.a z.b d.h
u.ä s.o s.u v.a o.ä i.d.r z.t u.u v.l.n.r v.r.n.l ggü dt engl lat orig zzgl abb kap bd hrsg mr mrs ms
jr sr vs no co inc ltd gmbh ag bzw. allg
""".split())

TERMINAL = ".!?…:;\"'»«“”)"
# An e-mail address, a web address, a phone label or number: a contact line.
CONTACT = re.compile(rf"{EMAIL}|https?://|www\.|\b(?:tel|telefon|fax|mobil|phone)\b\.?|{PHONE_START}", re.IGNORECASE)
MONTH_NAMES = "|".join([*GERMAN_MONTHS, *MONTH_ABBREVIATIONS])
# A list item: a dash or bullet, "3." or "3)" (but not the "20. September" of a date), or a dated entry.
BULLET = re.compile(rf"^\s*(?:[-–•*·▪]|\d{{1,2}}[.)]\s(?!(?:{MONTH_NAMES})\b)|\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}\b)")
# A candidate sentence end: terminal punctuation, optional closing quote, whitespace.
BOUNDARY = re.compile(r"[.!?…]+[\"'»«“”)]*\s+")
HEADING_MAX = 80
# Headings kept with what follows: a topic and organisation above a sentence; a name, role and
# organisation above contact lines. More heading lines (a letterhead) form a unit of their own.
HEADINGS_ATTACHED = {"sentence": 2, "contact": 3}
# Kinds of units that can answer a question; the others only belong to the passage text.
ANSWER_KINDS = frozenset({"sentence", "contact", "caption"})

# The lead of a photo caption that lists people: "Auf dem Foto (v.l.n.r.):", "Abgebildet v. l. n. r.:",
# "Von links nach rechts:", "Im Bild:".
CAPTION_LEAD = re.compile(r"(?:(?:Auf|Im|Zum) (?:dem )?(?:Foto|Bild)\b[^:\n]{0,30}|Abgebildet\b[^:\n]{0,30}"
                          r"|(?:Von )?links nach rechts|v\.\s?l\.\s?n\.\s?r\.)\s*:\s*", re.IGNORECASE)
# Page furniture: a line that starts like this (and is short) is never an answer.
FURNITURE = re.compile(
    r"(?:©|\(c\)\s|copyright\b|bild vergrößern\b|bildnachweis\b|fotos?:|bild:|weitere informationen\b"
    r"|mehr (?:erfahren|informationen|dazu)\b|weiterlesen\b|zur pressemitteilung\b|zum artikel\b|seite teilen\b"
    r"|teilen\b|drucken\b|nach oben\b|zurück\b|autor(?:in)?\b|downloads?\b|das könnte sie auch interessieren"
    r"|made with\b|impressum\b|datenschutz\b|cookie|alle rechte vorbehalten)", re.IGNORECASE)
FURNITURE_MAX = 90
# An image description written for screen readers: "ein Gruppenfoto, auf dem ...", "die Aufschrift ...".
IMAGE_DESCRIPTION = re.compile(r"(?:ein|eine|einen|die|der|das)\b.*\b(?:\w*foto|bild|logo|aufschrift|grafik|"
                               r"zu sehen)\b", re.IGNORECASE)
DOWNLOADS = re.compile(r"downloads?\s*:?", re.IGNORECASE)
COPYRIGHT = re.compile(r"©|\(c\)\s|copyright\b", re.IGNORECASE)
WORD = re.compile(r"[^\W\d_]{3}|\d{4}")  # without a word of three letters or a year ("-\n1") a unit says nothing


@dataclass(frozen=True)
class Span:
    """A piece of text by offsets; ``paragraph`` counts blank-line separated paragraphs; ``kind`` is
    "sentence", "contact", "caption" (one person of a photo caption), "lead" (the caption's "Auf dem
    Foto:"), "heading" (a heading with nothing under it) or "furniture";
    ``context`` is text a caption entry needs to be understood (the caption's lead)."""

    start: int
    end: int
    paragraph: int = 0
    kind: str = "sentence"
    context: str = ""


def blocks(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Lines of ``text[start:end]``, with lines that were wrapped mid-sentence joined."""
    end = len(text) if end is None else end
    result: list[Span] = []
    paragraph = 0
    for para in re.finditer(r"\S(?:.|\n(?![ \t]*\n))*", text[start:end]):
        lines = [(m.start() + para.start() + start, m.end() + para.start() + start)
                 for m in re.finditer(r"[^\n]*\S[^\n]*", para.group())]
        lines = [_strip(text, a, b) for a, b in lines]
        current = lines[0]
        for line in lines[1:]:
            if _continues(text[current[0]:current[1]], text[line[0]:line[1]]):
                current = (current[0], line[1])
            else:
                result.append(Span(*current, paragraph))
                current = line
        result.append(Span(*current, paragraph))
        paragraph += 1
    return result


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _continues(line: str, following: str) -> bool:
    """Whether ``following`` is the rest of a sentence that was wrapped after ``line``."""
    if (is_contact(line) or is_contact(following) or BULLET.match(following) or line.endswith(tuple(TERMINAL))
            or is_furniture(line) or is_furniture(following) or CAPTION_LEAD.match(following)):
        return False
    if line.endswith((",", "-", "–", "(", "/", "&")) or following[:1].islower():
        return True
    if BULLET.match(line):
        return False  # a list item is a line of its own; its wrapped rest would start in lower case
    last_word = line.rsplit(None, 1)[-1].lower()
    return len(line.split()) >= 4 and (len(line) >= 30 or last_word in _FUNCTION_WORDS)


_FUNCTION_WORDS = frozenset("am an auf aus bei das dem den der des die durch ein eine einem einen einer für im in "
                            "mit nach und oder sowie über um von vom vor zu zum zur zwischen als wie".split())


def is_contact(line: str) -> bool:
    """A line with an e-mail address, URL or phone number."""
    return bool(CONTACT.search(line))


def is_heading(line: str) -> bool:
    """A short line without sentence-final punctuation: a heading, label, name or role."""
    stripped = line.rstrip()
    return len(stripped) <= HEADING_MAX and not stripped.endswith((".", "!", "?", "…")) and not is_contact(line)


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``; German abbreviations and ordinals do not end one."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = start
    for match in BOUNDARY.finditer(text, start, end):
        cut = match.start()
        if _is_abbreviation(text, begin, cut) or not _starts_sentence(text, match.end(), end):
            continue
        spans.append(_strip(text, begin, match.end()))
        begin = match.end()
    if begin < end and text[begin:end].strip():
        spans.append(_strip(text, begin, end))
    return spans


def _is_abbreviation(text: str, begin: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word = re.search(r"[\w.]*$", text[begin:dot]).group().lower()
    token = word.rsplit(".", 1)[-1] if "." in word else word
    if word in ABBREVIATIONS or token in ABBREVIATIONS or word.rstrip(".") in ABBREVIATIONS:
        return True
    if len(token) == 1 and token.isalpha():  # initials ("Britta L. Schröder") and "z. B."
        return True
    return token.isdigit() and len(token) <= 2  # ordinals: "20. September", "3. Platz"


def _starts_sentence(text: str, position: int, end: int) -> bool:
    """A new sentence does not start with a lowercase letter ("z. B. die", "Nr. 3 der")."""
    return position >= end or not text[position].islower()


def is_furniture(line: str) -> bool:
    """Page furniture or an image description: never an answer, whatever words it shares with a question."""
    line = line.strip()
    if FURNITURE.match(line) and len(line) <= FURNITURE_MAX:
        return True
    return line[:1].islower() and bool(IMAGE_DESCRIPTION.match(line))


def units(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences, each carrying the headings above it; contact lines kept with their name; caption
    entries one by one; furniture and lone headings marked as such."""
    raw: list[Span] = []
    # Lines that go with furniture above them: the titles listed under "Downloads", the photographer's
    # name under "© ...". Set to the paragraph (or -1: any paragraph) where they may follow.
    furniture_follows: int | None = None
    for block in blocks(text, start, end):
        line = text[block.start:block.end]
        unpunctuated = not line.rstrip().endswith((".", "!", "?", "…"))
        follows = furniture_follows in (-1, block.paragraph) and unpunctuated and not is_contact(line)
        if is_furniture(line) or follows or not WORD.search(line):
            raw.append(Span(block.start, block.end, block.paragraph, "furniture"))
            if DOWNLOADS.fullmatch(line.strip()):
                furniture_follows = -1
            elif COPYRIGHT.match(line.strip()):
                furniture_follows = block.paragraph
            continue
        furniture_follows = None
        if is_contact(line):
            raw.append(Span(block.start, block.end, block.paragraph, "contact"))
        elif is_heading(line) and not BULLET.match(line):
            raw.append(Span(block.start, block.end, block.paragraph, "heading"))
        else:
            for a, b in sentences(text, block.start, block.end):
                kind = "sentence" if WORD.search(text, a, b) else "furniture"
                raw.extend(caption_entries(text, a, b, block.paragraph) or [Span(a, b, block.paragraph, kind)])

    result: list[Span] = []
    pending: list[Span] = []  # headings waiting for what they introduce
    previous_kind = ""
    for span in raw:
        if span.kind == "heading":
            pending.append(span)
            continue
        if span.kind in ("furniture", "lead", "caption"):
            result.extend(_lone(pending))
            result.append(span)
            pending, previous_kind = [], span.kind
            continue
        keep = HEADINGS_ATTACHED[span.kind]
        if len(pending) > keep:
            result.extend(_lone(pending[:-keep]))
            pending = pending[-keep:]
        if span.kind == "contact" and previous_kind == "contact" and not pending:
            result[-1] = Span(result[-1].start, span.end, result[-1].paragraph, "contact")
        else:
            first = pending[0] if pending else span
            result.append(Span(first.start, span.end, first.paragraph, span.kind))
        pending, previous_kind = [], span.kind
    result.extend(_lone(pending))
    return result


def _lone(headings: list[Span]) -> list[Span]:
    """Headings with nothing under them (a letterhead, "Kontakt" at the end): one unit, not an answer."""
    return [Span(headings[0].start, headings[-1].end, headings[0].paragraph, "heading")] if headings else []


def caption_entries(text: str, start: int, end: int, paragraph: int = 0) -> list[Span]:
    """The people a photo caption lists, one span each ("Reinhard Paß (damaliger OB Essen)"), with
    the caption's lead as context; [] if ``text[start:end]`` is not such a caption. Entries are
    separated by ";" or, where each names a role in brackets, by ", " and " und " after the bracket."""
    lead = CAPTION_LEAD.match(text, start, end)
    if lead is None:
        return []
    body = text[lead.end():end]
    if ";" in body:
        separators = list(re.finditer(r";\s*", body))
    else:
        separators = [m for m in re.finditer(r"\),\s+|\)\s+und\s+", body) if _depth(body, m.start()) == 1]
    if not separators:
        return []  # one person, or no list: the caption stays a sentence
    context = " ".join(text[start:lead.end()].split())
    entries = [Span(*_strip(text, start, lead.end()), paragraph, "lead")]
    position = lead.end()
    for separator in [*separators, None]:
        # An entry keeps its "," or ";" (every character of the text belongs to some span); a
        # separating "und" is a span of its own.
        cut = lead.end() + (separator.start() + (0 if body[separator.start()] == ";" else 1) + 1 if separator
                            else len(body))
        a, b = _strip(text, position, cut)
        if a < b:
            entries.append(Span(a, b, paragraph, "caption", context))
        if separator is not None:
            position = lead.end() + separator.end()
            joiner = _strip(text, cut, position)
            if joiner[0] < joiner[1]:
                entries.append(Span(*joiner, paragraph, "lead"))
    return entries


def _depth(text: str, position: int) -> int:
    """How many brackets are open at ``position`` (counting the one closed there)."""
    return text.count("(", 0, position + 1) - text.count(")", 0, position)


def chunk_document(document: Document, size: int, overlap: int) -> list[Chunk]:
    """Passages of ``document`` of about ``size`` characters, each repeating up to ``overlap``
    characters of the one before (setting ``chunking``); pages are never mixed in one passage."""
    chunks: list[Chunk] = []
    for section_start, section_end in _sections(document):
        spans = units(document.text, section_start, section_end)
        for members in _pack(document.text, spans, size, overlap):
            start, end = members[0].start, members[-1].end
            chunks.append(Chunk(id=f"{document.id}#{len(chunks)}", document=document.id,
                                text=document.text[start:end], start=start, end=end,
                                page=document.page_at(start), meta=document.meta,
                                units=tuple(Unit(m.start, m.end, m.context) for m in members
                                            if m.kind in ANSWER_KINDS and _says_something(document.text, m))))
    return chunks


def _says_something(text: str, span: Span) -> bool:
    """Not a piece of a long unit cut at the passage size that holds only furniture ("©") or no word."""
    piece = text[span.start:span.end]
    return bool(WORD.search(piece)) and not is_furniture(piece)


def _sections(document: Document) -> Iterator[tuple[int, int]]:
    bounds = list(document.pages) or [0]
    for index, begin in enumerate(bounds):
        yield begin, bounds[index + 1] if index + 1 < len(bounds) else len(document.text)


def _pack(text: str, spans: list[Span], size: int, overlap: int) -> Iterator[list[Span]]:
    """The units of each passage. A unit longer than ``size`` is cut at spaces."""
    pieces = [piece for span in spans for piece in _cut(text, span, size)]
    index = 0
    while index < len(pieces):
        last = index
        while last + 1 < len(pieces) and pieces[last + 1].end - pieces[index].start <= size:
            last += 1
        yield pieces[index:last + 1]
        if last + 1 >= len(pieces):
            return
        following = last + 1
        while following - 1 > index and pieces[last].end - pieces[following - 1].start <= overlap:
            following -= 1
        index = following


def _cut(text: str, span: Span, size: int) -> list[Span]:
    """``span`` itself, or, for a run of text with no sentence end in sight, pieces of at most
    ``size`` characters cut at the last space."""
    pieces = []
    start = span.start
    while span.end - start > size:
        cut = text.rfind(" ", start + size // 2, start + size)
        cut = cut if cut > start else start + size
        pieces.append(Span(*_strip(text, start, cut), span.paragraph, span.kind, span.context))
        start = _strip(text, cut, span.end)[0]
    pieces.append(Span(start, span.end, span.paragraph, span.kind, span.context))
    return pieces
