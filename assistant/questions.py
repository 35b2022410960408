"""What a question asks for, and which passages can supply it, without a language model.

``classify("Wann wurde RuhrFutur gegründet?")`` -> ``Question(kind="date", language="de")``.
The kind is the expected answer type (date, number, person, contact, place, or other), read
from German and English question words; ``has_answer_type`` tells whether a text contains
something of that type. Retrieval gives such passages a small bonus, and the answer composer
prefers sentences that contain the wanted type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .analysis import STOPWORDS, words

MONTH_NAMES = (r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
               r"|January|February|March|May|June|July|October|December)")
WEEKDAYS = r"(?:Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag)s?"
# A date, a year, or a time of the week or day: all answer "wann".
DATE = re.compile(rf"\b\d{{1,2}}\.\s?{MONTH_NAMES}\s+\d{{4}}\b|\b\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}\b"
                  rf"|\b{MONTH_NAMES}\s+\d{{4}}\b|\b(?:1[5-9]|20)\d{{2}}\b|\b{WEEKDAYS}\b"
                  rf"|\b\d{{1,2}}(?:[:.]\d{{2}})?\s?Uhr\b", re.IGNORECASE)
NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b|\b(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|"
                    r"hundert|tausend|million\w*|milliard\w*)\b", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\+49|\b0\d{2,4})[\s/-]*\d[\d\s/-]{4,}\d")
# Two capitalised words in a row, optionally with a title or initial: "Dr. Britta L. Schröder".
PERSON = re.compile(r"\b(?:Dr\.\s|Prof\.\s)?[A-ZÄÖÜ][a-zäöüß]+(?:\s[A-Z]\.)?\s[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?\b")

KIND_PATTERNS = (
    ("contact", r"\b(e-?mail|mail|telefon\w*|tel|phone|fax|erreiche ich|erreicht man|erreichen sie|erreichbar|kontaktier\w*|reach|"
                r"contact details|adresse|address|nummer|number to call)\b"),
    ("date", r"\b(wann|seit wann|bis wann|in welchem jahr|welche[mn]? (jahr|datum|tag|monat)|an welchem tag|"
             r"datum|when|what year|which year|what date)\b"),
    ("number", r"\b(wie viele|wie viel|wieviele|wieviel|wie hoch|wie groß|wie lange|anzahl|how many|how much|"
               r"how large|how long)\b"),
    ("person", r"\b(wer|wem|wen|wessen|who|whom|whose|ansprechpartner\w*|zuständig\w*|kontaktperson\w*|"
               r"verantwortlich\w*|leitet|leitung|geschäftsführ\w*|contact person|responsible|in charge)\b"),
    ("place", r"\b(wo|wohin|woher|in welcher stadt|in welchem ort|where|which city)\b"),
)

# Words that say what kind of answer is wanted rather than what it is about: a passage need not
# contain them ("Wie lautet ihre E-Mail-Adresse?" is answered by "schroeder@...").
FRAME_WORDS = frozenset("""
adresse adressen e-mail email mail mailadresse telefon telefonnummer nummer name namen datum jahr jahre
anzahl zuständig zuständige zuständigkeit ansprechpartner ansprechpartnerin ansprechperson kontakt
kontaktperson kontaktdaten lautet lauten heißt heißen gibt hoch groß viele erreiche erreichen erreicht
erreichbar person personen wann wer contact address phone number name responsible person people reach
""".split())

# Kinds whose answer must contain something of that type: a date, a number, a contact detail.
STRICT_KINDS = frozenset({"date", "number", "contact"})

ENGLISH_WORDS = frozenset("the a an of is are was were who what when where which how why do does did for to "
                          "in on at by with from this that can i you my your there their".split())


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # "date", "number", "person", "contact", "place" or "other"
    language: str  # "de" or "en"


def classify(text: str) -> Question:
    lowered = text.casefold()
    kind = next((name for name, pattern in KIND_PATTERNS if re.search(pattern, lowered)), "other")
    return Question(text, kind, language_of(text))


def language_of(text: str) -> str:
    """"en" when English function words outnumber German ones, else "de"."""
    tokens = words(text)
    english = sum(token in ENGLISH_WORDS for token in tokens)
    german = sum(token in STOPWORDS and token not in ENGLISH_WORDS for token in tokens)
    return "en" if english > german else "de"


def has_answer_type(text: str, kind: str) -> bool:
    """Whether ``text`` contains something a question of ``kind`` asks for."""
    if kind == "date":
        return bool(DATE.search(text))
    if kind == "number":
        return bool(NUMBER.search(text))
    if kind == "contact":
        return bool(EMAIL.search(text) or PHONE.search(text))
    if kind == "person":
        return bool(PERSON.search(text))
    return False
