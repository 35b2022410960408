"""Read the corpus folder into Documents: text, Markdown, HTML, PDF and JSON-lines exports.

Every file is read on its own; a file that cannot be read becomes a ``LoadProblem`` naming the
file and the reason, and the rest of the corpus is still loaded. Metadata comes from the file
itself (HTML title and date, PDF info) and from an optional sidecar ``<file>.meta.json`` that
staff write (title, publisher, date, kind, origin); the sidecar wins.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import stat
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ..datatypes import Document, DocumentMeta
from ..exceptions import LoadError
from ..language.text import GERMAN_MONTHS
from ..settings import Settings

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
JSONL_SUFFIXES = {".jsonl"}
DOCX_SUFFIXES = {".docx"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | JSONL_SUFFIXES | DOCX_SUFFIXES
DOCX_MAX_XML_BYTES = 50 * 1024 * 1024  # unpacked document.xml; more is a zip bomb, not a press release
META_SUFFIX = ".meta.json"
IGNORED_NAMES = {"README.md", "LICENSE"}
MB = 1024 * 1024
# Python keeps undecodable bytes of file names, and \ud800 escapes in JSON, as unpaired surrogates;
# they cannot be written as UTF-8, so one of them would stop the index from being saved.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class LoadProblem:
    path: str
    reason: str

    def __str__(self) -> str:
        return printable(f"{self.path}: {self.reason}")


def printable(text: str) -> str:
    """``text`` with control characters and undecodable bytes written as escapes (``\\n``,
    ``\\udcfc``), so a file name with a line break cannot forge a line of a log or report."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class LoadResult:
    documents: list[Document]
    problems: list[LoadProblem]


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Files under ``corpus_dir`` that may hold documents, sorted, skipping hidden files and sidecars;
    links and special files (a pipe, a socket) are listed too, so that loading reports them."""
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.name.endswith(META_SUFFIX) or path.name in IGNORED_NAMES:
            continue
        if path.is_symlink() or not path.is_dir():
            files.append(path)
    return files


def load_corpus(corpus_dir: Path, max_file_mb: float = Settings.max_file_mb, ocr: bool = Settings.ocr) -> LoadResult:
    """Load every document under ``corpus_dir`` (or of that one file); unreadable files (and files
    larger than ``max_file_mb``) are reported, not fatal, and so are pages of a PDF that yield no
    text. ``ocr``: read scanned PDF pages by text recognition where Tesseract is installed."""
    corpus_dir = Path(corpus_dir)
    if corpus_dir.is_file():  # one file, e.g. a JSON-lines export: the corpus is that file
        base, paths = corpus_dir.parent, [corpus_dir]
    elif corpus_dir.is_dir():
        base, paths = corpus_dir, corpus_files(corpus_dir)
    else:
        raise LoadError(f"{corpus_dir}: Korpusordner nicht gefunden")
    documents: list[Document] = []
    problems: list[LoadProblem] = []
    seen: set[str] = set()
    for path in paths:
        name = path.relative_to(base).as_posix()
        notes: list[str] = []
        try:
            loaded = load_file(path, base, max_file_mb, ocr=ocr, notes=notes)
        except LoadError as error:
            problems.append(LoadProblem(name, str(error)))
            log.warning("übersprungen: %s", problems[-1])
            continue
        for note in notes:  # the file loads, but part of it could not be read
            problems.append(LoadProblem(name, note))
            log.warning("übersprungen: %s", problems[-1])
        for document in loaded:
            if document.id in seen:
                problems.append(LoadProblem(name, f"Dokument-ID {document.id!r} kommt doppelt vor"))
                continue
            seen.add(document.id)
            documents.append(document)
    return LoadResult(documents, problems)


def load_file(path: Path, corpus_dir: Path, max_file_mb: float = Settings.max_file_mb, ocr: bool = Settings.ocr,
              notes: list[str] | None = None) -> list[Document]:
    """The documents in one file (several for JSON lines); raises LoadError with the reason. Parts
    of the file that are left out (a PDF page without any text) are added to ``notes``."""
    corpus_dir = corpus_dir.resolve()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(f"Dateityp {suffix or '(keiner)'} wird nicht gelesen; gelesen werden: "
                        + ", ".join(sorted(SUPPORTED_SUFFIXES)))
    # corpus_dir is resolved above, so compare it with the file's resolved folder (but not the resolved
    # file: a link keeps its own name), or a relative or linked corpus path gives ids without subfolders.
    location = path.absolute().parent.resolve() / path.name
    doc_id = location.relative_to(corpus_dir).as_posix() if location.is_relative_to(corpus_dir) else path.name
    if LONE_SURROGATE.search(doc_id):
        raise LoadError("der Dateiname ist kein gültiges UTF-8 (in einer alten Kodierung gespeichert?); "
                        "bitte die Datei umbenennen")
    data = read_inside(path, corpus_dir, max_file_mb)
    if not data.strip():
        raise LoadError("die Datei ist leer")
    if suffix in JSONL_SUFFIXES:
        return read_jsonl(data, origin=doc_id)

    if suffix in PDF_SUFFIXES:
        text, pages, found = read_pdf(data, ocr, notes if notes is not None else [])
        # A PDF's creation date is when the file was exported; a dateline in the text
        # ("Bottrop, 3. Mai 2024 – ...") says when the release was published.
        found = DocumentMeta(title=found.title, date=date_in_text(text) or found.date, ocr_pages=found.ocr_pages)
    elif suffix in DOCX_SUFFIXES:
        text, found = read_docx(data)
        pages = ()
    elif suffix in HTML_SUFFIXES:
        text, found = read_html(decode_text(data))
        pages = ()
    else:
        text, found = normalise_newlines(decode_text(data)), DocumentMeta()
        pages = ()
    if not text.strip():
        raise LoadError("kein Text in der Datei gefunden")
    values, sidecar = read_sidecar(path, corpus_dir, max_file_mb)
    meta = merge_meta(found, values, origin=doc_id, text=text)
    digest = hashlib.sha256(data)
    digest.update(sidecar)  # edited metadata is a change of the document too
    if meta.ocr_pages:  # a scan first read without Tesseract is read again once it is installed
        digest.update(f"ocr:{meta.ocr_pages}".encode())
    return [valid_unicode(Document(doc_id, text, meta, pages, digest.hexdigest()))]


def read_inside(path: Path, corpus_dir: Path, max_file_mb: float) -> bytes:
    """The bytes of ``path``. Refused with a LoadError: a link to somewhere outside the (resolved)
    ``corpus_dir``, anything but a regular file (a pipe or device would block or never end), and a
    file larger than ``max_file_mb``, judged by its size before anything is read."""
    try:
        resolved = path.resolve()
    except RuntimeError:  # a link loop (Python 3.12 and older; newer ones fail in stat below)
        raise LoadError("Verknüpfung, der nicht gefolgt werden kann (eine Schleife); nicht gelesen") from None
    if not resolved.is_relative_to(corpus_dir):
        raise LoadError("zeigt aus dem Korpusordner heraus; nicht gelesen")
    try:
        info = resolved.stat()
        if not stat.S_ISREG(info.st_mode):
            raise LoadError("keine gewöhnliche Datei (ein Ordner, eine Pipe oder ein Gerät); nicht gelesen")
        if info.st_size > max_file_mb * MB:
            raise LoadError(f"die Datei hat {info.st_size / MB:.1f} MB, mehr als die erlaubten {max_file_mb:g} MB "
                            "(Einstellung max_file_mb); nicht gelesen")
        return resolved.read_bytes()
    except OSError as error:  # a broken link, a file without read permission
        raise LoadError(f"Datei nicht lesbar ({error.strerror or error})") from None


def valid_unicode(document: Document) -> Document:
    """``document`` with unpaired surrogates (from ``\\ud800`` escapes in JSON or a damaged PDF font
    map) replaced by U+FFFD, one character for one, so offsets and page starts stay right."""
    fix = partial(LONE_SURROGATE.sub, "\ufffd")
    meta = DocumentMeta(**{key: fix(value) for key, value in document.meta.to_dict().items()})
    return dataclasses.replace(document, id=fix(document.id), text=fix(document.text), meta=meta)


def decode_text(data: bytes) -> str:
    """Decode bytes, honouring BOMs, preferring UTF-8, and guessing legacy encodings (cp1252)."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                raise LoadError(f"kein gültiger {encoding.upper()}-Text ({error.reason})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best)
        raise LoadError("Binärdatei, kein Text")
    # Legacy German files are almost always Windows-1252 (a superset of latin-1 for text).
    return data.decode("cp1252", errors="replace")


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_jsonl(data: bytes, origin: str) -> list[Document]:
    """One document per line: ``{"_id", "title"?, "text"}``."""
    documents = []
    for number, line in enumerate(decode_text(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            doc_id, text = str(record["_id"]), str(record["text"])
        except (json.JSONDecodeError, KeyError, TypeError, RecursionError) as error:  # [[[[... nested too deep
            raise LoadError(f"Zeile {number}: kein Datensatz mit _id und text ({error})") from None
        title = str(record.get("title") or "")
        meta = DocumentMeta(title=title, publisher=str(record.get("publisher") or ""),
                            date=str(record.get("date") or ""), kind=str(record.get("kind") or ""),
                            origin=origin)
        key = json.dumps([doc_id, title, text], ensure_ascii=False).encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(key)
        documents.append(valid_unicode(Document(doc_id, normalise_newlines(text), meta, (), digest.hexdigest())))
    if not documents:
        raise LoadError("keine Datensätze gefunden")
    return documents


def read_pdf(data: bytes, ocr: bool = Settings.ocr, notes: list[str] | None = None,
             ) -> tuple[str, tuple[int, ...], DocumentMeta]:
    """Text of every page joined by blank lines, the offset where each page starts, and PDF info.
    Pages without a text layer are read by text recognition (``ocr``, where Tesseract is
    installed; their numbers go to ``DocumentMeta.ocr_pages``); pages that still yield no text
    are named in ``notes``."""
    import io

    from pypdf import PdfReader

    from . import ocr as recognition

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    notes = notes if notes is not None else []
    recognise = ocr and recognition.available()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("PDF ist verschlüsselt; bitte den Passwortschutz entfernen und die Datei erneut ablegen")
        parts, starts, offset, recognised, empty = [], [], 0, [], []
        for number, page in enumerate(reader.pages, start=1):
            page_text = normalise_newlines(page.extract_text() or "").strip()
            if not page_text and recognise:
                try:
                    page_text = recognition.recognise_page(page)
                except recognition.RecognitionError as error:
                    notes.append(f"Seite {number}: Texterkennung (OCR) fehlgeschlagen ({error}); Seite ausgelassen")
                else:
                    recognised += [number] if page_text else []
            if not page_text:
                empty.append(number)
            starts.append(offset)
            parts.append(page_text)
            offset += len(page_text) + 2
        info = reader.metadata or {}
    except LoadError:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged PDF can fail anywhere inside pypdf (PdfReadError,
        # but also NotImplementedError for a garbled filter name, LimitReachedError for reference loops, ...)
        raise LoadError(f"kein lesbares PDF ({type(error).__name__}: {error})") from None
    text = "\n\n".join(parts)
    how = ("auch die Texterkennung (OCR) fand keinen" if recognise
           else "die Texterkennung (OCR) ist ausgeschaltet (Einstellung ocr)" if not ocr
           else f"für die Texterkennung (OCR): {recognition.INSTALL_HINT}")
    if not text.strip():
        raise LoadError(f"PDF hat keine Textebene (ein Scan?), und {how}; bitte eine Fassung mit Text ablegen")
    for number in empty:
        if not any(note.startswith(f"Seite {number}:") for note in notes):
            notes.append(f"Seite {number}: kein Text (keine Textebene, und {how}); Seite ausgelassen")
    title = str(info.get("/Title") or "").strip()
    date = pdf_date(str(info.get("/CreationDate") or ""))
    return text, tuple(starts), DocumentMeta(title=title, date=date, ocr_pages=" ".join(map(str, recognised)))


def read_docx(data: bytes) -> tuple[str, DocumentMeta]:
    """Paragraph text of a Word document and its core title and creation date (standard library
    only; the unpacked size of each part is checked before it is read, so a zip bomb is refused)."""
    import io
    import zipfile
    from xml.etree import ElementTree

    word = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    def unpack(archive: zipfile.ZipFile, name: str) -> bytes:
        info = archive.getinfo(name)  # zipfile never unpacks more than the size declared here
        if info.file_size > DOCX_MAX_XML_BYTES or info.file_size > 200 * max(info.compress_size, 1):
            raise LoadError(f"DOCX entpackt sich zu {info.file_size // 1_000_000} MB Text: als Zip-Bombe abgelehnt")
        return archive.read(info)

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            root = ElementTree.fromstring(unpack(archive, "word/document.xml"))
            core = unpack(archive, "docProps/core.xml") if "docProps/core.xml" in archive.namelist() else b""
    except LoadError:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged archive can fail anywhere in zipfile and zlib
        # (zlib.error, EOFError, NotImplementedError for an unknown method, RuntimeError for an encrypted part)
        raise LoadError(f"kein lesbares DOCX ({type(error).__name__}: {error})") from None
    paragraphs = ["".join(node.text or "" for node in p.iter(f"{word}t")) for p in root.iter(f"{word}p")]
    text = "\n\n".join(p.strip() for p in paragraphs if p.strip())
    title = date = ""
    if core:
        with contextlib.suppress(ElementTree.ParseError):
            meta = ElementTree.fromstring(core)
            title = (meta.findtext("{http://purl.org/dc/elements/1.1/}title") or "").strip()
            date = iso_date(meta.findtext("{http://purl.org/dc/terms/}created") or "")
    return text, DocumentMeta(title=title, date=date)


def pdf_date(value: str) -> str:
    """``D:20230421...`` -> ``2023-04-21``."""
    match = re.match(r"D?:?(\d{4})(\d{2})?(\d{2})?", value)
    if not match:
        return ""
    return "-".join(part for part in match.groups() if part)


BLOCK_TAGS = {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
              "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
              "ol", "p", "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul"}
DROPPED_TAGS = ["script", "style", "noscript", "iframe", "nav", "header", "footer", "aside", "form",
                "svg", "template", "object", "embed", "button", "select", "canvas", "dialog"]


def read_html(html: str) -> tuple[str, DocumentMeta]:
    """Main text of an HTML page and its title and date. The main text is trafilatura's: on pages
    like the initiatives' it leaves out navigation, cookie banners, teaser lists, comments and
    footers that the page's tags do not mark as such, which the page's own <main>/<article> with
    navigation tags dropped (``own_main_text``, used where trafilatura finds no main text) keeps
    (benchmarks/html_extraction.py)."""
    # The lexbor backend: selectolax 1.0 removed the old Modest parser (selectolax.parser).
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title = ""
    if tree.css_first("title") is not None:
        title = " ".join(tree.css_first("title").text().split())
    date = ""
    for selector, attribute in (("meta[property='article:published_time']", "content"),
                                ("meta[name='date']", "content"), ("meta[name='DC.date']", "content"),
                                ("time[datetime]", "datetime")):
        node = tree.css_first(selector)
        if node is not None and node.attributes.get(attribute):
            date = iso_date(node.attributes[attribute] or "")
            if date:
                break
    heading = tree.css_first("h1")
    heading = " ".join(heading.text().split()) if heading is not None else ""
    # What the tags mark as navigation, header, footer, forms, scripts, ... goes first, always;
    # trafilatura then finds the boilerplate that the tags do not mark.
    for node in tree.css(",".join(DROPPED_TAGS)):
        node.decompose()
    text = trafilatura_text(tree.html or "", heading) or own_main_text(tree)
    return text, DocumentMeta(title=title or heading, date=date)


def trafilatura_text(html: str, heading: str = "") -> str:
    """The page's main text by trafilatura, its first heading kept (trafilatura takes it for the
    title and leaves it out); '' where it finds none (very short pages) or fails."""
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    try:
        text = trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False) or ""
    except Exception:  # noqa: BLE001 - lxml refuses some markup (nesting too deep, ...); the own extraction reads it
        return ""
    text = re.sub(r"(?m)^- ", "", text)  # trafilatura's list markers: items stay on lines of their own
    if text.strip() and heading and heading not in text:
        text = f"{heading}\n\n{text}"
    return clean_lines(text)


def own_main_text(tree) -> str:
    """The text of the page's <main>, <article> or <body> (navigation, header, footer, scripts,
    styles and forms already dropped), blocks on lines of their own."""
    root = tree.css_first("main") or tree.css_first("article") or tree.body or tree.root
    return clean_lines(_collect_text(root)) if root is not None else ""


def clean_lines(text: str) -> str:
    """Lines with single spaces, at most one blank line between blocks."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _collect_text(root) -> str:
    """The text under ``root``, block tags on lines of their own. Walked with a stack of its own,
    not by recursion, so markup nested thousands of levels deep cannot overflow Python's."""
    pieces: list[str] = []
    stack: list = [(root, False)]  # (node whose children come next, inside <pre>), or text to add
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            pieces.append(item)
            continue
        node, pre = item
        todo: list = []
        child = node.child
        while child is not None:
            if child.tag == "-text":
                # Line breaks in the HTML source are spaces, except inside <pre>; lines come from tags.
                text = child.text_content or ""
                todo.append(text if pre else re.sub(r"\s+", " ", text))
            elif child.tag == "br":
                todo.append("\n")  # a line break, not a paragraph break
            elif child.tag in BLOCK_TAGS:
                todo.extend(("\n\n" if child.tag not in {"li", "td", "th", "dt", "dd"} else "\n",
                             (child, pre or child.tag == "pre"),
                             "\n\n" if child.tag not in {"td", "th"} else "\n"))
            elif child.tag not in {"-comment", "!doctype"}:
                todo.append((child, pre))
            child = child.next
        stack.extend(reversed(todo))
    return "".join(pieces)


def iso_date(value: str) -> str:
    """The ISO date at the start of ``value`` (``2023-04-21T10:00`` -> ``2023-04-21``), or ''."""
    match = re.match(r"\s*(\d{4}-\d{2}(?:-\d{2})?)", value)
    return match.group(1) if match else ""


def read_sidecar(path: Path, corpus_dir: Path, max_file_mb: float) -> tuple[dict[str, str], bytes]:
    """The metadata in ``<file>.meta.json`` and the sidecar's bytes (for the document's hash). A
    sidecar that is refused as a document would be (a link out of the corpus, too large, ...) or is
    not a JSON object is ignored with a warning."""
    sidecar = path.with_name(path.name + META_SUFFIX)
    if not (sidecar.is_file() or sidecar.is_symlink()):
        return {}, b""
    try:
        data = read_inside(sidecar, corpus_dir, max_file_mb)
        values = json.loads(data.decode("utf-8"))
        if not isinstance(values, dict):
            raise ValueError("kein JSON-Objekt")
    except (LoadError, ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError are ValueErrors
        log.warning("%s: Metadaten ignoriert (%s)", printable(sidecar.name), error)
        return {}, b""
    return {k: str(v) for k, v in values.items() if isinstance(v, (str, int)) and str(v).strip()}, data


MONTH_NUMBERS = {name.lower(): number for name, number in GERMAN_MONTHS.items()}


def date_in_text(text: str) -> str:
    """The first dateline such as ``Essen, 21. April 2023`` or ``21.04.2023`` in the first lines."""
    head = text[:600]
    match = re.search(r"\b(\d{1,2})\.\s*(" + "|".join(MONTH_NUMBERS) + r")\s+(\d{4})\b", head, re.IGNORECASE)
    if match:
        day, month, year = match.groups()
        return f"{year}-{MONTH_NUMBERS[month.lower()]:02d}-{int(day):02d}"
    match = re.search(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b", head)
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return ""


def first_line(text: str) -> str:
    for line in text.splitlines():
        line = " ".join(line.split())
        if len(line) >= 3:
            return line[:120]
    return ""


def merge_meta(found: DocumentMeta, sidecar: dict[str, str], origin: str, text: str) -> DocumentMeta:
    """Sidecar values win over what the file says; the first line and a dateline fill gaps."""
    return DocumentMeta(
        title=sidecar.get("title") or found.title or first_line(text),
        publisher=sidecar.get("publisher") or found.publisher,
        date=sidecar.get("date") or found.date or date_in_text(text),
        kind=sidecar.get("kind") or found.kind,
        origin=sidecar.get("origin") or origin,
        ocr_pages=found.ocr_pages,
    )
