"""Everyday spelling of questions, put right by the words the documents use.

Citizens type "oberbuergermeisterin", "wer war der ob von bochum", "kreuzinnger": umlauts written
as ae/oe/ue and ß as ss, no capitals, a letter too many or too few in a name. German matching
leans on exactly these: capitals mark nouns and names (``features.entity_words``), stems differ
with and without umlauts, and an abbreviation such as "OB" is told from the word "ob" by its
capitals. ``Spelling`` is learnt from the indexed texts themselves (no dictionary to install),
and changes a word of a question only to a word that the documents contain:

* a word the documents write otherwise in capitals ("bochum" -> "Bochum");
* a word with ae/oe/ue/ss that the documents contain only with umlauts or ß, also with an ending
  they do not have ("oberbuergermeisterin" -> "Oberbürgermeisterin", from "Oberbürgermeister");
* an unknown word of at least ``TYPO_MIN`` letters that is one letter away (inserted, deleted,
  replaced) from exactly one name the documents contain ("Kreuzinnger" -> "Kreuzinger"); names are
  the words of people's names and words with a capital inside ("RuhrFutur"), not every capitalised
  noun, so that an English "talent" is not taken for the German "Talente";
* a lower-case abbreviation after an article ("der ob" -> "der OB"; "ob" alone stays the conjunction).

A word the documents contain as typed is never changed, so correct questions pass unchanged.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .questions import PERSON
from .text import TOKEN
from .vocabulary import ABBREVIATIONS

TYPO_MIN = 6  # shorter words have too many neighbours one letter away
FOLDED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
ARTICLES = frozenset("der die das den dem des ein eine einen einem einer eines vom zum zur beim".split())
# Endings of inflected and female forms, tried when the documents have the word only without them.
ENDINGS = ("", "in", "innen", "e", "en", "n", "s", "es", "er")
LETTERS = re.compile(r"[^\W\d_]+")
TWO_LETTERS = re.compile(r"ae|oe|ue|ss")  # how ä, ö, ü and ß are typed without them
INNER_CAPITAL = re.compile(r".[A-ZÄÖÜ]")


def fold(word: str) -> str:
    """A word lowercased, with umlauts and ß written as two letters: how it may be typed."""
    return word.casefold().translate(FOLDED)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


@dataclass(frozen=True)
class Spelling:
    """The documents' spelling of each word, by the ways a question may type it."""

    # "bochum" -> "Bochum"; None: the documents have the word only at the start of a sentence, where
    # its capital says nothing ("Dem Netzwerk gehören ...": "dem" stays as typed).
    by_lower: dict[str, str | None] = field(default_factory=dict)
    by_folded: dict[str, str] = field(default_factory=dict)  # "oberbuergermeisterin" -> "Oberbürgermeisterin"
    names_by_deletion: dict[str, tuple[str, ...]] = field(default_factory=dict)  # one letter less -> names

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Spelling:
        """Learnt from the indexed texts: each word's most frequent form inside sentences; names are
        the words of people's names ("Bernd Kreuzinger") and words with a capital inside ("RuhrFutur")."""
        inside: Counter[str] = Counter()
        first: Counter[str] = Counter()
        named: set[str] = set()
        for text in texts:
            for match in LETTERS.finditer(text):
                (first if _starts_sentence(text, match.start()) else inside)[match.group()] += 1
            named.update(word for person in PERSON.findall(text) for word in LETTERS.findall(person))
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for form, count in inside.items():
            forms[form.casefold()][form] += count
        by_lower: dict[str, str | None] = {form.casefold(): None for form in first}
        by_lower.update({lower: seen.most_common(1)[0][0] for lower, seen in forms.items()})
        by_folded: dict[str, str] = {}
        for form in [*inside, *first]:  # a form inside a sentence first
            if fold(form) != form.casefold():
                by_folded.setdefault(fold(form), by_lower.get(form.casefold()) or form)
        names: dict[str, set[str]] = defaultdict(set)
        for lower, form in by_lower.items():
            if form and len(lower) >= TYPO_MIN - 1 and (form in named or INNER_CAPITAL.search(form)):
                for key in _deletions(lower) | {lower}:
                    names[key].add(form)
        return cls(by_lower, by_folded, {key: tuple(sorted(found)) for key, found in names.items()})

    def normalise(self, question: str) -> str:
        """``question`` with each word spelt as the documents spell it (see the module docstring)."""
        parts: list[str] = []
        position = 0
        for match, spelt in self._spelt(question):
            parts.append(question[position:match.start()])
            parts.append(spelt)
            position = match.end()
        parts.append(question[position:])
        return "".join(parts)

    def changes(self, question: str) -> list[tuple[str, str]]:
        """The words ``normalise`` changes, each as typed and as the documents spell it."""
        return [(match.group(), spelt) for match, spelt in self._spelt(question) if spelt != match.group()]

    def _spelt(self, question: str) -> Iterator[tuple[re.Match[str], str]]:
        previous = ""
        for match in TOKEN.finditer(question):
            yield match, self._word(match.group(), previous)
            previous = match.group().casefold()

    def _word(self, word: str, previous: str) -> str:
        lower = word.casefold()
        if not LETTERS.fullmatch(word):
            return word
        if lower in ABBREVIATIONS and word == lower:  # "ob" is also a word: an abbreviation after an article
            return word.upper() if previous in ARTICLES else word
        if lower in self.by_lower:
            known = self.by_lower[lower]
            return known if known and word == lower else word  # capitals the asker typed are kept
        folded = fold(word)
        typed_apart = folded != lower or TWO_LETTERS.search(lower)  # has umlauts, or may stand for some
        for ending in ENDINGS if typed_apart else ():  # "oberbuergermeisterin": the documents have "Oberbürgermeister"
            if folded.endswith(ending) and (spelt := self.by_folded.get(folded[:len(folded) - len(ending)])):
                return spelt + ending
        if len(lower) >= TYPO_MIN:
            names = {name for key in _deletions(lower) | {lower} for name in self.names_by_deletion.get(key, ())}
            names = {name for name in names if _one_edit(lower, name.casefold())}
            if len(names) == 1:
                return names.pop()
        return word


def _starts_sentence(text: str, position: int) -> bool:
    """Whether the word at ``position`` begins a sentence, a line or a list item."""
    before = position - 1
    while before >= 0 and before > position - 8 and text[before] in " \t\"„“»«'(–-•*":
        before -= 1
    return before < 0 or text[before] in ".!?:…\n"


def _one_edit(a: str, b: str) -> bool:
    """One letter inserted, deleted or replaced."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))
