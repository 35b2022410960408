"""German text analysis for the lexical index: tokens, stopwords, stemming, umlaut folding, compounds.

``Analyzer.terms("Wer ist für Potenzialförderung zuständig?")`` gives
``["potenzialford", "potenzial", "ford", "zustand"]``-like stems: the Snowball German stemmer
folds ä/ö/ü/ß and their spellings ae/oe/ue/ss alike, so "Potenzialfoerderung" and
"Potenzialförderung" meet; compounds are split into parts that occur in the corpus on their
own, so "Förderung" also finds "Potenzialförderung". The vocabulary of parts is learnt from the
indexed texts and stored with the index, so questions are analysed exactly like the documents.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

from .text import TOKEN, words
from .vocabulary import ABBREVIATIONS

# Function words of German (and a few English ones, for questions asked in English).
STOPWORDS = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm
andern anderr anders auch auf aus bei beim bin bis bist da damit dann das dass dasselbe dazu daß dein
deine deinem deinen deiner deines dem demselben den denn denselben der derer derselbe derselben des
desselben dessen dich die dies diese dieselbe dieselben diesem diesen dieser dieses dir doch dort du
durch ein eine einem einen einer eines einig einige einigem einigen einiger einiges einmal er es etwas
euch euer eure eurem euren eurer eures für gegen gewesen hab habe haben hat hatte hatten hier hin
hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in indem ins ist jede jedem jeden jeder
jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines können könnte
machen man manche manchem manchen mancher manches mein meine meinem meinen meiner meines mich mir mit
muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seines
selbst sich sie sind so solche solchem solchen solcher solches soll sollte sondern sonst über um und
uns unsere unserem unseren unser unseres unter viel vom von vor wann war waren warst was weg weil
weiter welche welchem welchen welcher welches wenn wer werde werden wie wieder will wir wird wirst wo
wollen wollte wurde würde würden zu zum zur zwar zwischen wieso weshalb warum woher wohin gibt gab
the a an of and or is are was were who what when where which how why do does did for to in on at by
with from this that these those it its be been has have had
""".split())


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball German stem of a lowercased word; ß, umlauts and ae/oe/ue are folded alike."""
    return _stemmer().stemWord(word)


class Analyzer:
    """Turns text into BM25 terms; ``parts`` is the set of stems compounds may be split into."""

    min_part = 4  # letters in each part of a compound, so "ung" or "ein" never count as words

    def __init__(self, parts: Iterable[str] = ()):
        self.parts = frozenset(parts)
        self._split = lru_cache(maxsize=200_000)(self._split_uncached)

    @classmethod
    def learn(cls, texts: Iterable[str]) -> Analyzer:
        """An analyzer whose compound parts are the stems of the words in ``texts``."""
        parts = {stem(word) for text in texts for word in words(text)
                 if len(word) >= cls.min_part and word not in STOPWORDS and not word.isdigit()}
        return cls(parts)

    def terms(self, text: str) -> list[str]:
        """Stems of the content words of ``text``, each followed by the stems of its compound parts."""
        result: list[str] = []
        for token in TOKEN.findall(unicodedata.normalize("NFC", text)):
            word = token.casefold()
            # "OB" in capitals is the abbreviation (Oberbürgermeister), not the conjunction "ob".
            if word in STOPWORDS and not (token.isupper() and word in ABBREVIATIONS):
                continue
            result.append(stem(word))
            if len(word) >= 2 * self.min_part and not word.isdigit():
                result.extend(self._split(word))
        return result

    def _split_uncached(self, word: str) -> tuple[str, ...]:
        """Stems of the parts of a compound, longest known tail first: "potenzialförderung" ->
        ("potenzial", "forder"). Linking "s"/"es" between parts is allowed. A split whose head is
        not a corpus word is used only when no split with a known head exists."""
        if not self.parts:
            return ()
        fallback: tuple[str, ...] = ()
        whole = stem(word)
        for cut in range(self.min_part, len(word) - self.min_part + 1):
            head, tail = word[:cut], word[cut:]
            tail_stem = stem(tail)
            if tail_stem not in self.parts:
                continue
            head_stem = self._known_head(head)
            if head_stem == whole:  # an inflection ending, not a second word: "teilnehm|ende"
                continue
            if head_stem is not None:
                return (*self._split(head), head_stem, *self._split(tail), tail_stem)
            if not fallback and len(tail) > self.min_part:
                fallback = (stem(head), *self._split(tail), tail_stem)
        return fallback

    def _known_head(self, head: str) -> str | None:
        for candidate in (head, head[:-1] if head.endswith("s") else "", head[:-2] if head.endswith("es") else ""):
            if len(candidate) >= self.min_part and stem(candidate) in self.parts:
                return stem(candidate)
        return None
