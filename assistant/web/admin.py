"""Staff actions behind the admin tab: add an uploaded release to the corpus, remove one.

Uploads are checked by content, not by name (a PDF must start like a PDF, a DOCX must be a
Word archive, ...), limited in size, given a clean file name that cannot leave the corpus
folder, and loaded once before they are kept, so an encrypted or scanned PDF is refused with the
reason instead of breaking the next update.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import unicodedata
import zipfile
from pathlib import Path

from ..documents.loading import META_SUFFIX, load_file
from ..exceptions import LoadError, UploadRejected

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def sniff_suffix(data: bytes, name: str) -> str:
    """The file type by content: .pdf, .docx, .html, .md or .txt."""
    head = data[:2048].lstrip().lower()
    if data.startswith(b"%PDF-"):
        return ".pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return ".docx"
        except zipfile.BadZipFile:
            pass
        raise UploadRejected("Die Datei ist ein Archiv, aber kein Word-Dokument (DOCX).")
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]:
        return ".html"
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadRejected("Die Datei ist weder Text noch PDF, HTML oder DOCX.")
    return ".md" if name.lower().endswith((".md", ".markdown")) else ".txt"


def clean_name(name: str, suffix: str) -> str:
    """A safe file name: no folders, no leading dots, only letters, digits, '-', '_' and '.'."""
    stem = Path(name.replace("\\", "/")).name
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix else stem
    stem = unicodedata.normalize("NFC", stem)
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE).strip(".-_") or "dokument"
    return stem[:80] + suffix


def add_upload(corpus_dir: Path, upload: Path, original_name: str, title: str = "", publisher: str = "",
               date: str = "", kind: str = "", ocr: bool = True) -> str:
    """Check an uploaded file and store it (with a metadata sidecar) in the corpus; its document id.
    ``ocr``: a scan counts as readable where text recognition reads it (setting ``ocr``)."""
    size = upload.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UploadRejected(f"Die Datei ist {size / 1e6:.1f} MB groß; erlaubt sind {MAX_UPLOAD_BYTES // 1_000_000} MB.")
    if size == 0:
        raise UploadRejected("Die Datei ist leer.")
    data = upload.read_bytes()
    name = clean_name(original_name, sniff_suffix(data, original_name))
    if date and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", date.strip()):
        raise UploadRejected("Das Datum bitte als JJJJ-MM-TT angeben, z. B. 2023-04-21.")
    meta = {k: v.strip() for k, v in (("title", title), ("publisher", publisher), ("date", date), ("kind", kind))
            if v and v.strip()}
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / name
        trial.write_bytes(data)
        try:
            load_file(trial, Path(folder), ocr=ocr)
        except LoadError as error:
            raise UploadRejected(f"{original_name}: {error}") from None
    target = corpus_dir / name
    counter = 2
    while target.exists():
        target = corpus_dir / f"{Path(name).stem}-{counter}{Path(name).suffix}"
        counter += 1
    if meta:
        (corpus_dir / (target.name + META_SUFFIX)).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n",
                                                             encoding="utf-8")
    shutil.copyfile(upload, target)
    return target.name


def remove_document(corpus_dir: Path, document: str) -> None:
    """Delete a document's file and its sidecar from the corpus (never anything outside it)."""
    corpus = corpus_dir.resolve()
    path = (corpus_dir / document).resolve()
    if not path.is_relative_to(corpus) or path == corpus or not path.is_file():
        raise UploadRejected(f"{document}: kein Dokument im Korpus.")
    path.unlink()
    sidecar = path.with_name(path.name + META_SUFFIX)
    if sidecar.is_file():
        sidecar.unlink()
