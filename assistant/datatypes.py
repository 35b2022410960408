"""The records that flow through the assistant: files -> Document -> Chunk -> Hit -> Answer.

All are plain dataclasses so they can be built in tests, compared, and written to JSON
without a framework.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any


def german_date(date: str) -> str:
    """2023-04-21 -> 21.04.2023, as a German reader expects it (partial dates stay as they are)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", date or "")
    return f"{match[3]}.{match[2]}.{match[1]}" if match else (date or "")


@dataclass(frozen=True)
class DocumentMeta:
    """What a citation shows about a source: title, who published it, when, and what it is."""

    title: str = ""
    publisher: str = ""
    date: str = ""  # ISO date (YYYY-MM-DD or YYYY-MM or YYYY) where the text gives one
    kind: str = ""  # e.g. "Pressemitteilung", "Webseite"
    origin: str = ""  # where the document came from (file name, URL, export)
    # Pages read by text recognition (OCR) from a scan, e.g. "2 3": their text may hold misread words.
    ocr_pages: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentMeta:
        return cls(**{f.name: str(data.get(f.name) or "") for f in fields(cls)})

    def read_by_ocr(self, page: int | None) -> bool:
        """Whether ``page`` of the document was read by text recognition."""
        return page is not None and str(page) in self.ocr_pages.split()


@dataclass(frozen=True)
class Document:
    """One source text.

    ``id`` is the path relative to the corpus folder, or the ``_id`` of a JSON-lines record.
    ``pages`` holds the character offset at which each page starts (PDFs only), so any
    offset in ``text`` can be mapped back to a page number.
    """

    id: str
    text: str
    meta: DocumentMeta = field(default_factory=DocumentMeta)
    pages: tuple[int, ...] = ()
    sha256: str = ""

    def page_at(self, offset: int) -> int | None:
        """1-based page number that contains ``offset``, or None for documents without pages."""
        if not self.pages:
            return None
        page = 1
        for number, start in enumerate(self.pages, start=1):
            if start <= offset:
                page = number
            else:
                break
        return page


@dataclass(frozen=True)
class Unit:
    """An answer candidate inside a chunk, by offsets into the document: a sentence (with the
    headings above it), a contact block, or one person of a photo caption. ``context`` is what the
    unit needs to be understood on its own (a caption's "Auf dem Foto (v.l.n.r.):")."""

    start: int
    end: int
    context: str = ""


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``text == document.text[start:end]``, exactly as in the source."""

    id: str
    document: str
    text: str
    start: int
    end: int
    page: int | None
    meta: DocumentMeta = field(default_factory=DocumentMeta)
    # The answer candidates inside the chunk (sentences, contact blocks, caption entries).
    units: tuple[Unit, ...] = ()

    def unit_text(self, unit: Unit) -> str:
        """The unit's text exactly as in the source."""
        return self.text[unit.start - self.start:unit.end - self.start]

    def unit_texts(self) -> list[str]:
        return [self.unit_text(unit) for unit in self.units]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "document": self.document,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "page": self.page,
            "units": [[u.start, u.end, u.context] if u.context else [u.start, u.end] for u in self.units],
        }


@dataclass(frozen=True)
class Hit:
    """A chunk found for a question, with its fused score and the per-method ranks behind it."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    position: int = -1  # the chunk's row in the knowledge base, for its stored unit vectors


@dataclass(frozen=True)
class Citation:
    """A numbered source shown under an answer; ``text`` is the passage as in the source."""

    n: int
    chunk: Chunk
    highlights: tuple[tuple[int, int], ...] = ()  # spans of chunk.text that the answer quotes
    values: tuple[tuple[int, int], ...] = ()  # spans of chunk.text holding the asked date, number, contact

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "document": self.chunk.document,
            "title": self.chunk.meta.title,
            "date": self.chunk.meta.date,
            "page": self.chunk.page,
            "ocr": self.chunk.meta.read_by_ocr(self.chunk.page),
            "text": self.chunk.text,
            "highlights": [list(span) for span in self.highlights],  # what the answer quotes
            "values": [list(span) for span in self.values],  # the asked date, number or contact in it
        }


@dataclass(frozen=True)
class Answer:
    """What the assistant says: text with [n] markers, whether it answers, and the sources."""

    text: str
    answered: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Citation, ...] = ()  # "Vielleicht hilfreich" when nothing answers
    notice: str = ""  # e.g. that the language model failed and the extractive answer is shown
    marks: tuple[tuple[int, int], ...] = ()  # spans of text holding the asked date, number, contact
