"""HTML and Markdown for the chat and the admin tab: answers, sources, document and feedback lists,
and the trace of an answer ("Warum?").

Everything shown that comes from a document or a user is escaped twice over: HTML-escaped and
Markdown-escaped, so "<img onerror=...>" or "![x](http://host/x.png)" appears as text and never
runs or loads anything. Free of Gradio: these functions make strings, the pages show them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..datatypes import Answer, Citation, german_date
from ..documents.ocr import page_label
from ..index.protocol import Index

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:$])")
ATTRIBUTE_SPECIAL = set("&<>\"'\\`*_{}[]()#+-.!|~:$=/")


def escape_markdown(text: str) -> str:
    """Text that Markdown and HTML both show literally."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def answer_markdown(answer: Answer) -> str:
    """The answer as safe Markdown: escaped text, citation numbers as links to the sources panel,
    named for screen readers by their source ("Quelle 1: <Titel>")."""
    parts = [f"*{escape_markdown(answer.notice)}*\n\n"] if answer.notice else []
    titles = {c.n: c.chunk.meta.title or c.chunk.document for c in answer.citations}
    offset = 0
    for line in answer.text.split("\n"):
        rendered, position = [], offset
        for piece in re.split(r"(\[\d+\])", line):
            if re.fullmatch(r"\[\d+\]", piece):
                rendered.append(citation_link(int(piece[1:-1]), titles.get(int(piece[1:-1]), "")))
            else:  # the asked value (a date, a number, an address) in bold
                rendered += [f"**{escape_markdown(text)}**" if marked else escape_markdown(text)
                             for text, marked in marked_pieces(piece, position, answer.marks)]
            position += len(piece)
        parts.append("".join(rendered) + "  \n")
        offset += len(line) + 1
    if not answer.answered and answer.related:
        parts.append("\n*Vielleicht hilfreich: die Passagen rechts kommen der Frage am nächsten, "
                     "beantworten sie aber nicht sicher.*")
    return "".join(parts).strip()


def marked_pieces(text: str, offset: int, marks: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` (which starts at ``offset`` of the text ``marks`` refer to) cut into pieces, each
    with whether it lies inside one of ``marks``."""
    cuts = sorted({0, len(text), *(min(max(p - offset, 0), len(text)) for span in marks for p in span)})
    return [(text[a:b], any(m0 <= offset + a < m1 for m0, m1 in marks)) for a, b in zip(cuts, cuts[1:]) if a < b]


def citation_link(n: int, title: str) -> str:
    """``[n]`` as a link to source n, titled "Quelle n: <title>" (the page's script makes that its
    accessible name: Gradio's sanitiser keeps ``title`` but drops ``aria-label``). The title is
    written with character references for everything HTML or Markdown would act on, so it stays text."""
    name = "".join(f"&#{ord(ch)};" if ch in ATTRIBUTE_SPECIAL else ch
                   for ch in (f"Quelle {n}: {title}" if title else f"Quelle {n}"))
    return f'<a href="#quelle-{n}" title="{name}">[{n}]</a>'


def source_html(citation: Citation, full_text: str | None = None) -> str:
    """One source: number, title, publisher, date and page, the passage with the quoted sentences
    marked, and the whole document on request."""
    chunk = citation.chunk
    meta = chunk.meta
    details = " · ".join(html.escape(x) for x in (meta.publisher, german_date(meta.date), meta.kind,
                                                    page_label(chunk.page, meta, "Seite")) if x)
    passage, position = [], 0
    for start, end in citation.highlights:
        passage.append(html.escape(chunk.text[position:start]))
        inner = "".join(f"<strong>{html.escape(text)}</strong>" if marked else html.escape(text)
                        for text, marked in marked_pieces(chunk.text[start:end], start, citation.values))
        passage.append(f"<mark>{inner}</mark>")
        position = end
    passage.append(html.escape(chunk.text[position:]))
    document = ""
    if full_text is not None:
        # The document scrolls inside its box: focusable, so that it can be scrolled by keyboard.
        document = (f"<details><summary>Ganzes Dokument anzeigen ({html.escape(chunk.document)})</summary>"
                    f'<pre tabindex="0" role="region" aria-label="Ganzes Dokument zu Quelle {citation.n}">'
                    f"{html.escape(full_text.strip())}</pre></details>")
    return (f'<div class="quelle" id="quelle-{citation.n}" tabindex="-1" role="region" '
            f'aria-labelledby="quelle-{citation.n}-titel"><div class="kopf" id="quelle-{citation.n}-titel">'
            f'[{citation.n}] {html.escape(meta.title or chunk.document)}</div><div class="meta">{details}</div>'
            f'<blockquote>{"".join(passage)}</blockquote>{document}</div>')


def sources_html(answer: Answer | None, kb: Index) -> str:
    if answer is None:
        return '<p class="hinweis">Hier erscheinen die Quellen zur Antwort.</p>'
    citations = answer.citations or answer.related
    if not citations:
        return '<p class="hinweis">Keine Quellen.</p>'
    heading = "" if answer.answered else '<p class="hinweis">Vielleicht hilfreich (beantwortet die Frage nicht sicher):</p>'
    return heading + "".join(source_html(c, kb.document_text(c.chunk.document)) for c in citations)


def documents_html(kb: Index) -> str:
    """The documents of the index for citizens, newest first: title, publisher, date."""
    rows = [(record.meta.title or doc_id, record.meta.publisher, german_date(record.meta.date) or "–")
            for doc_id, record in sorted(kb.manifest.documents.items(), key=lambda item: item[1].meta.date,
                                         reverse=True)]
    return scrolling_table("Dokumente im Index", ("Dokument", "Herausgeber", "Datum"), rows)


def admin_documents_html(kb: Index) -> str:
    """The documents of the index for staff, by file: title, date, passages, when added; and the version."""
    rows = [(doc_id, record.meta.title, german_date(record.meta.date) or "–", str(record.chunks),
             record.added[:16].replace("T", " ")) for doc_id, record in sorted(kb.manifest.documents.items())]
    columns = ("Datei", "Titel", "Datum", "Abschnitte", "Hinzugefügt")
    return scrolling_table("Dokumente im Index", columns, rows) + f"<p>Version {html.escape(kb.version)}</p>"


def feedback_html(entries: Sequence[Mapping[str, Any]]) -> str:
    """Feedback entries (``FeedbackLog.recent``), newest first."""
    if not entries:
        return "<p>Noch keine Rückmeldungen.</p>"
    rows = [("👍 gut" if e.get("rating") == "up" else "👎 schlecht", e.get("question", ""), e.get("answer", ""),
             e.get("time", "")) for e in reversed(entries)]
    return scrolling_table("Rückmeldungen", ("Bewertung", "Frage", "Antwort", "Zeit"), rows)


def scrolling_table(name: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of escaped text that scrolls sideways inside its box on a narrow screen instead of
    widening the page (focusable, so that it can be scrolled by keyboard)."""
    header = "".join(f'<th scope="col">{html.escape(column)}</th>' for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return (f'<div class="tabelle" tabindex="0" role="region" aria-label="{html.escape(name)}">'
            f'<table class="dokumente"><tr>{header}</tr>{body}</table></div>')


def explanation_html(record: Mapping[str, Any], rated: Mapping[str, Any] | None = None) -> str:
    """The trace of an answer for staff (the JSON of ``Explanation.to_dict``): the decision first,
    then a collapsible section per stage, the first one that failed opened (else the answer
    decision). ``rated``: the feedback entry (👎) it explains, whose answer is shown beside today's."""
    sections = list(record.get("sections") or ())
    failed = next((i for i, s in enumerate(sections) if str(s.get("verdict", "")).startswith("NICHT")), None)
    opened = failed if failed is not None else next(
        (i for i, s in enumerate(sections) if s.get("title") == "Antwortentscheidung"), 0)
    parts = [f'<p class="entscheidung"><strong>{html.escape(str(record.get("summary", "")))}</strong></p>']
    if rated is not None:
        when = str(rated.get("time", ""))[:16].replace("T", " ")
        asked, given = (html.escape(str(rated.get(key, ""))) for key in ("question", "answer"))
        parts.append(f"<p>Rückmeldung 👎 vom {html.escape(when)} zur Frage „{asked}“; damals geantwortet: „{given}“</p>")
        parts.append("<p>Die Erklärung gilt für den Stand des Index von heute:</p>")
    parts.append(f"<p>Antwort: „{html.escape(str(record.get('answer', '')))}“</p>")
    for number, section in enumerate(sections):
        items: list[list[str]] = []
        for line in section.get("lines") or ():
            if line.startswith("   ") and items:  # a continuation: the passage's words, a unit's features
                items[-1].append(line.strip())
            else:
                items.append([line])
        body = "".join("<li>" + "<br>".join(html.escape(text) for text in item) + "</li>" for item in items)
        verdict = str(section.get("verdict", ""))
        parts.append(f"<details{' open' if number == opened else ''}><summary>{html.escape(str(section.get('title')))}"
                     f" – {html.escape(verdict.split(' – ')[0])}</summary><ul>{body}</ul>"
                     f"<p>Urteil: {html.escape(verdict)}</p></details>")
    return f'<div class="warum" role="region" aria-label="Warum? Erklärung der Antwort">{"".join(parts)}</div>'


def message_html(text: str) -> str:
    """A short message as escaped HTML."""
    return f"<p>{html.escape(text)}</p>"
