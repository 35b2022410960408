"""What a question asks for, and which passages can supply it, without a language model.

``classify("Wann wurde RuhrFutur gegründet?")`` -> ``Question(kind="date", language="de")``.
The kind is the expected answer type (date, number, cost, person, contact, place, or other), read
from German and English question words; ``has_answer_type`` tells whether a text contains
something of that type. Retrieval gives such passages a small bonus, and the answer composer
prefers sentences that contain the wanted type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .analysis import STOPWORDS
from .text import EMAIL as EMAIL_PATTERN
from .text import ENGLISH_MONTHS, GERMAN_MONTHS, PHONE as PHONE_PATTERN, words

MONTH_NAMES = f"(?:{'|'.join([*GERMAN_MONTHS, *ENGLISH_MONTHS])})"
WEEKDAYS = r"(?:Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag)s?"
# A date, a year, a decade or century, or a time of the week or day: all answer "wann".
DATE = re.compile(rf"\b\d{{1,2}}\.\s?{MONTH_NAMES}\s+\d{{4}}\b|\b\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}\b"
                  rf"|\b{MONTH_NAMES}\s+\d{{4}}\b|\b(?:1\d|20)\d{{2}}\b|\b{WEEKDAYS}\b"
                  rf"|\b\d{{1,2}}(?:[:.]\d{{2}})?\s?Uhr\b|\b\d{{2,4}}er(?:n|\s+Jahren?)?\b|\b\d{{1,2}}\.\s?Jahrhundert\w*",
                  re.IGNORECASE)
NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b|\b(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|"
                    r"dreißig|vierzig|fünfzig|hundert\w*|tausend\w*|million\w*|milliard\w*|hälfte|drittel|viertel|"
                    r"dutzend\w*|prozent)\b", re.IGNORECASE)
# An amount of money, or that something costs nothing.
MONEY = re.compile(r"\d[\d.,]*\s?(?:€|euro\b|eur\b|mio\.?\s?(?:€|euro)|millionen euro)|€\s?\d"
                   r"|\b(?:kostenlos|kostenfrei|gebührenfrei|unentgeltlich|free of charge)\b", re.IGNORECASE)
EMAIL = re.compile(EMAIL_PATTERN)
PHONE = re.compile(PHONE_PATTERN)
# Two capitalised words in a row, optionally with a title or initial: "Dr. Britta L. Schröder"; not
# where one is a capitalised function word ("Melden Sie", "Die Stadt").
_NOT_A_NAME = (r"(?!(?:Sie|Ihr|Ihre|Ihnen|Ihrer|Der|Die|Das|Den|Dem|Des|Ein|Eine|Einen|Und|Oder|Mit|Für|Bei|Von|Zu|Zum|"
               r"Zur|Im|In|Am|An|Auf|Aus|Wir|Uns|Unser|Unsere|Es|Er|Wer|Wie|Was|Wann|Wo|Nach|Über|Seit)\b)")
PERSON = re.compile(rf"\b(?:Dr\. |Prof\. )?{_NOT_A_NAME}[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?(?: [A-Z]\.)? {_NOT_A_NAME}"
                    rf"[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?\b")

KIND_PATTERNS = (
    ("contact", r"\b(e-?mail|mail|telefon\w*|tel|phone|fax|erreiche ich|erreicht man|erreichen sie|erreichbar|kontaktier\w*|reach|"
                r"contact details|adresse|address|nummer|number to call)\b"),
    ("cost", r"\b(kostet|kosten|kostenlos|preis\w*|gebühr\w*|teuer|budget\w*|etat|finanzvolumen|"
             r"stiftungskapital|fördersumme|cost|costs|price|fee|fees|budget)\b"),
    ("date", r"\b(wann|seit wann|bis wann|in welchem jahr|welche[mn]? (jahr|datum|tag|monat)|an welchem tag|"
             r"datum|when|what year|which year|what date)\b"),
    ("number", r"\b(wie viele|wie viel|wieviele|wieviel|wie hoch|wie groß|wie lange|anzahl|how many|how much|"
               r"how large|how long)\b"),
    ("person", r"\b(wer|wem|wen|wessen|who|whom|whose|ansprechpartner\w*|zuständig\w*|kontaktperson\w*|"
               r"verantwortlich\w*|leitet|leitung|geschäftsführ\w*|contact person|responsible|in charge)\b"),
    ("place", r"\b(wo|wohin|woher|in welcher stadt|in welchem ort|where|which city)\b"),
)

# Words that say what kind of answer is wanted rather than what it is about: a passage need not
# contain them ("Wie lautet ihre E-Mail-Adresse?" is answered by "schroeder@..."). Question words,
# words that ask for a name, a number or an example, and auxiliary verbs. Compared case-folded.
FRAME_WORDS = frozenset(word.casefold() for word in """
adresse adressen e-mail email mail mailadresse e-mail-adresse telefon telefonnummer nummer name namen
datum jahr jahre jahren anzahl thema themen zuständig zuständige zuständigkeit ansprechpartner ansprechpartnerin
ansprechperson kontakt kontaktperson kontaktdaten lautet lauten heißt heißen hieß hießen genannt nennt
nennen nannte bezeichnet bezeichnung begriff gibt gab hoch groß viele erreiche erreichen erreicht
erreichbar person personen wann wer wen wem wessen was wo wie woher wohin wofür woran wodurch womit
worauf wovon wozu worin woraus worüber weshalb wieso warum welche welcher welches welchen welchem art
arten sorte form beispiel beispiele oft lange prozentsatz prozent anteil teil wurden worden konnte konnten
musste mussten sollte sollten wäre wären hatten tun getan machte macht fand fanden findet finden statt
stattfinden stattgefunden
contact address phone number name responsible person people reach
""".split())
# Kinds whose answer must contain something of that type: a date, a number, an amount, a contact detail.
STRICT_KINDS = frozenset({"date", "number", "cost", "contact"})

ENGLISH_WORDS = frozenset("the a an of is are was were who what when where which how why do does did for to "
                          "in on at by with from this that can i you my your there their".split())


# A contact detail asked for by name: "Wie lautet die Telefonnummer von ...?"
ATTRIBUTE_PATTERNS = (
    ("email", r"\b(e-?mail\w*|mail\w*|mailadresse)\b"),
    ("phone", r"\b(telefon\w*|tel|rufnummer|anrufen|ruf\w* \w+ an|phone|call)\b"),
)
ATTRIBUTE_NAMES = {"email": "Eine E-Mail-Adresse", "phone": "Eine Telefonnummer"}
# Asking for several things: "Welche Städte ...", "Nennen Sie ...", "Wer sind ...", "Was sind ...".
LIST_QUESTION = re.compile(r"\b(?:welche|nennen|nenne|aufzählen|wer sind|was sind|which|list)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # "date", "number", "cost", "person", "contact", "place" or "other"
    language: str  # "de" or "en"
    attribute: str = ""  # "email" or "phone" when that contact detail is asked for
    wants_list: bool = False  # asks for several things ("Welche Städte ...")


def classify(text: str) -> Question:
    lowered = text.casefold()
    kind = next((name for name, pattern in KIND_PATTERNS if re.search(pattern, lowered)), "other")
    attribute = next((name for name, pattern in ATTRIBUTE_PATTERNS if re.search(pattern, lowered)), "")
    return Question(text, kind, language_of(text), attribute, bool(LIST_QUESTION.search(text)))


def language_of(text: str) -> str:
    """"en" when English function words outnumber German ones, else "de"."""
    tokens = words(text)
    english = sum(token in ENGLISH_WORDS for token in tokens)
    german = sum(token in STOPWORDS and token not in ENGLISH_WORDS for token in tokens)
    return "en" if english > german else "de"


def has_answer_type(text: str, kind: str) -> bool:
    """Whether ``text`` contains something a question of ``kind`` asks for."""
    return bool(answer_values(text, kind))


# The thing a question asks for: "Welche Partei ...", "In welchem County ...", "Wie viele Punkte ...",
# "Wie hieß das Stadion ...": the noun after the question word (up to two words between).
FOCUS = re.compile(r"\b(?i:welche[rsmn]?|wie\s+viele?|wieviele?|was\s+für(?:\s+eine?[rsmn]?)?|"
                   r"wie\s+(?:hieß|hießen|heißt|heißen|lautet|lauteten|lautete|nennt\s+man)\s+(?:der|die|das|den|dem))"
                   r"\s+(?:[a-zäöüß0-9][\w-]*\s+){0,2}([A-ZÄÖÜ][^\W_]+)")


TITLES = frozenset({"dr", "prof", "herr", "frau"})
LEADS = re.compile(r"\bwer\s+(?:leitet|leitete|führt|führte|steht\s+an\s+der\s+spitze)\b", re.IGNORECASE)
# The role a "wer" question asks about: "Wer ist der *Vorstandsvorsitzende* der Evonik AG?" (not a
# name: "Wer ist Bernd Kreuzinger?").
ROLE = re.compile(r"\b(?i:wer\s+(?:ist|war|sind|waren|wird|wurde))\s+(?:(?i:der|die|das|den|ein|eine)\s+)?"
                  r"(?:(?i:neue[rn]?|erste[rn]?|damalige[rn]?|heutige[rn]?|jetzige[rn]?)\s+)?([A-ZÄÖÜ][^\W_]+)\b(?!\s+[A-ZÄÖÜ])")


def focus_word(text: str) -> str:
    """The noun a question asks for, lower case ("partei" in "Welche Partei regiert?", the role in
    "Wer ist der Vorstandsvorsitzende ...?"), or ""."""
    if LEADS.search(text):
        return "leitung"  # "Wer leitet ...?" asks for the head: a unit must name a head
    match = FOCUS.search(text) or ROLE.search(text)
    word = match.group(1).casefold() if match else ""
    return "" if word in FRAME_WORDS or word in TITLES else word


def attribute_values(text: str, attribute: str) -> list[str]:
    """The e-mail addresses or phone numbers in ``text``."""
    pattern = {"email": EMAIL, "phone": PHONE}[attribute]
    return [match.group().strip() for match in pattern.finditer(text)]


def answer_values(text: str, kind: str) -> list[str]:
    """What in ``text`` a question of ``kind`` asks for: its dates, numbers, e-mail addresses and
    phone numbers, or names of people."""
    if kind == "number":  # a count, not the year or date it is about
        dates = [m.span() for m in DATE.finditer(text)]
        return [m.group() for m in NUMBER.finditer(text) if not any(a <= m.start() < b for a, b in dates)]
    patterns = {"date": (DATE,), "cost": (MONEY,), "contact": (EMAIL, PHONE), "person": (PERSON,)}.get(kind, ())
    return [match.group() for pattern in patterns for match in pattern.finditer(text)]
