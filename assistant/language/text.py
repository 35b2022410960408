"""Small pieces of text handling that several modules share, each written once.

Keys that compare texts regardless of spacing and case, the word tokens of the lexical index,
German (and English) month names, and the patterns of e-mail addresses and phone numbers.
"""

from __future__ import annotations

import re
import unicodedata

TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # a word: letters and digits


def normalise(text: str) -> str:
    """Unicode-compose and lowercase, so that "Ä" typed as A + combining diaeresis matches "ä"."""
    return unicodedata.normalize("NFC", text).casefold()


def words(text: str) -> list[str]:
    """Lowercased word tokens (letters and digits), stopwords included."""
    return TOKEN.findall(normalise(text))


def one_line(text: str) -> str:
    """``text`` with every run of white space (line breaks included) as one space, trimmed."""
    return " ".join(text.split())


def text_key(text: str) -> str:
    """``text`` as compared regardless of spacing and case (the same passage, the same answer)."""
    return one_line(text).casefold()


def word_key(text: str) -> str:
    """The words of ``text``, lowercased, one space apart: punctuation and spacing ignored."""
    return " ".join(TOKEN.findall(text.casefold()))


# Month names as German documents write them, with their numbers; the English names that differ;
# and the abbreviations of dates in lists ("3. Okt").
GERMAN_MONTHS = {"Januar": 1, "Jänner": 1, "Februar": 2, "März": 3, "April": 4, "Mai": 5, "Juni": 6, "Juli": 7,
                 "August": 8, "September": 9, "Oktober": 10, "November": 11, "Dezember": 12}
ENGLISH_MONTHS = ("January", "February", "March", "May", "June", "July", "October", "December")
MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mär", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Okt", "Nov", "Dez")

EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# The start of a German phone number ("0201 89666", "+49 201 ..."): enough to call a line a contact
# line; a whole number also ends in a digit.
PHONE_START = r"(?:\+49|\b0\d{2,4})[\s/-]*\d[\d\s/-]{4,}"
PHONE = PHONE_START + r"\d"
