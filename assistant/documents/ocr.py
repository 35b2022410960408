"""Text recognition (OCR) for scanned PDF pages, with Tesseract's German model.

Many releases of public offices arrive as scans: PDF pages that are one picture and no text
layer. ``recognise_page`` reads the pictures on such a page with Tesseract (through
``pytesseract``; Debian's ``tesseract-ocr`` and ``tesseract-ocr-deu``, which scripts/setup.sh
installs). Nothing here runs unless Tesseract and its German model are installed: ``available``
says whether they are, and loading then reports scanned pages as unreadable instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache

from ..datatypes import DocumentMeta
from ..exceptions import RecognitionError

LANGUAGE = "deu"
MIN_DPI = 250  # Tesseract reads best at about 300 dpi; smaller scans are enlarged first
PAGE_TIMEOUT_S = 120
INSTALL_HINT = ("Tesseract mit dem deutschen Modell installieren (Debian: tesseract-ocr tesseract-ocr-deu; "
                "scripts/setup.sh tut das)")


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether Tesseract and its German model are installed (asked once per process)."""
    if shutil.which("tesseract") is None:
        return False
    try:
        listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return LANGUAGE in listed.stdout.split()


def recognise_page(page) -> str:
    """The text Tesseract reads in the pictures of a pypdf ``page`` ('' if there are none or they
    hold no text), with words split at line ends joined again."""
    pictures = page_pictures(page)
    if not pictures:
        return ""
    import pytesseract  # imports pandas where installed: only when there is something to read

    texts = []
    for picture in pictures:
        try:
            text = pytesseract.image_to_string(picture, lang=LANGUAGE, timeout=PAGE_TIMEOUT_S)
        except (pytesseract.TesseractError, RuntimeError, OSError) as error:  # RuntimeError: the timeout
            raise RecognitionError(str(error).strip() or type(error).__name__) from None
        texts.append(clean(text))
    return "\n\n".join(text for text in texts if text)


def page_pictures(page) -> list:
    """The pictures of a PDF page as greyscale PIL images, enlarged to about ``MIN_DPI``."""
    width_inches = float(page.mediabox.width) / 72 or 1.0
    pictures = []
    try:
        resources = page.get("/Resources")
        if not resources or "/XObject" not in resources.get_object():
            return []  # no pictures (a blank page, or only drawings): PIL need not even be imported
        images = list(page.images)
    except Exception as error:  # noqa: BLE001 - an undecodable image filter fails inside pypdf in many ways
        raise RecognitionError(f"pictures cannot be read ({type(error).__name__}: {error})") from None
    for image in images:
        try:
            picture = image.image.convert("L")
        except Exception as error:  # noqa: BLE001 - as above, and PIL's own decoders
            raise RecognitionError(f"picture cannot be decoded ({type(error).__name__}: {error})") from None
        if picture.width < 50 or picture.height < 20:
            continue  # a logo or a rule, not a page of text
        dpi = picture.width / width_inches
        if dpi < MIN_DPI:
            scale = min(4.0, MIN_DPI / dpi)
            picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
        pictures.append(picture)
    return pictures


def clean(text: str) -> str:
    """Tesseract's text without trailing spaces and form feeds, words hyphenated at a line end
    joined ("Potenzial-\\nförderung" -> "Potenzialförderung"), blank-line runs shortened."""
    text = text.replace("\f", "\n")
    text = "\n".join(line.rstrip() for line in text.splitlines())
    text = re.sub(r"(\w)-\n([a-zäöüß]\w*)[ \t]*", r"\1\2\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def page_label(page: int | None, meta: DocumentMeta, word: str = "Seite") -> str:
    """"Seite 2" for a citation, "Seite 2 (Texterkennung)" when the page was read from a scan: its
    text may hold misread words, and the reader should know."""
    if not page:
        return ""
    return f"{word} {page} (Texterkennung)" if meta.read_by_ocr(page) else f"{word} {page}"
