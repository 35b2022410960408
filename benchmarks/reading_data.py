"""Step 1 of ``train_verifier.py``, its data: (question, unit, answers?) pairs from the QA sets of
``../shared/training`` (provenance and licences in that folder's README), and the digest that
the reading model, and everything trained from it, is kept by. Its own module so that
``answer_model.py`` finds the out-of-fold logits by that digest without importing the trainer.

Each question's paragraph is split into units as the assistant splits documents
(``documents/chunking.py``); the unit holding the answer is positive; the ``NEGATIVES`` units of
its paragraph that share most words with the question, and the closest unit of another paragraph
of the article, are negative; an unanswerable question's units are all negative. With
``contrast`` (``train_verifier.py --contrast reading``, measured and not shipped: see
benchmarks/README.md) each answerable question also gives a contrast negative
(``contrast_question``): the question with one of its names or numbers that the answering unit
contains swapped for another of the article, paired with that unit, which no longer answers it.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from common import SHARED

from assistant.answers.verifier import MAX_TOKENS, verifier_passage
from assistant.documents.chunking import ANSWER_KINDS, units

TRAINING = SHARED.parent / "training"
READING = {  # the QA sets of step 1 (see ../shared/training/README.md)
    "squad2": TRAINING / "squad2-dev-half" / "dev-v2.0.json",
    "germanquad": TRAINING / "germanquad-test-part" / "GermanQuAD_test_part.json",
    "mlqa": TRAINING / "mlqa-de-dev" / "mlqa-dev-de-de.squad.json",
}
LAYERS = 8  # of the encoder's 12: as good as all 12 in the measurement (README) and a third faster
NEGATIVES = 3
WORD = re.compile(r"\w{3,}")
NUMBER = re.compile(r"\b\d+\b")
NAME = re.compile(r"\b[A-ZÄÖÜ][\w-]{3,}")


@dataclass(frozen=True)
class Pair:
    """One training example of the verifier: does ``passage`` answer ``question`` (1.0) or not."""

    question: str
    passage: str
    label: float


def _stems(text: str) -> set[str]:
    return {word.casefold()[:6] for word in WORD.findall(text)}


def contrast_question(question: str, answering: str, others: Sequence[str], rng: random.Random) -> str | None:
    """``question`` with one number (else one capitalised word, not the first) that ``answering``
    contains swapped for one of the same kind that only ``others`` contain, so that ``answering``
    no longer answers it; None where no such swap exists. Numbers swap for numbers of as many
    digits (a year for a year)."""
    for pattern in (NUMBER, NAME):
        known = set(pattern.findall(answering)) | set(pattern.findall(question))
        pool = sorted({word for text in others for word in pattern.findall(text)} - known)
        swaps = [(match, choices) for match in pattern.finditer(question) if match.start() > 0
                 and match.group() in answering
                 and (choices := [w for w in pool if pattern is NAME or len(w) == len(match.group())])]
        if swaps:
            match, choices = rng.choice(swaps)
            return question[:match.start()] + rng.choice(choices) + question[match.end():]
    return None


def reading_pairs(name: str, seed: int = 0, contrast: bool = False) -> list[Pair]:
    """Step 1's pairs from one SQuAD-format file (see this module's docstring)."""
    rng, swaps = random.Random(seed), random.Random(seed + 1)
    pairs = []
    for article in json.loads(READING[name].read_text(encoding="utf-8"))["data"]:
        title = article.get("title", "").replace("_", " ")
        paragraphs = [(p["context"], [s for s in units(p["context"]) if s.kind in ANSWER_KINDS])
                      for p in article["paragraphs"]]
        for number, paragraph in enumerate(article["paragraphs"]):
            context, spans = paragraphs[number]
            texts = [context[s.start:s.end] for s in spans]
            elsewhere = [text[s.start:s.end] for other, (text, found) in enumerate(paragraphs) if other != number
                         for s in found]
            for qa in paragraph["qas"]:
                question = qa["question"].strip()
                starts = [] if qa.get("is_impossible") else [a["answer_start"] for a in qa.get("answers", [])]
                positive = {i for i, s in enumerate(spans) for start in starts if s.start <= start < s.end}
                # SQuAD's article titles name the subject, as a document title does (half the time)
                shown = title if name == "squad2" and rng.random() < 0.5 else ""
                words = _stems(question)
                closest = sorted((i for i in range(len(spans)) if i not in positive),
                                 key=lambda i: -len(words & _stems(texts[i])) + rng.random() * 0.5)
                chosen = closest[:NEGATIVES + (0 if positive else 1)]
                pairs += [Pair(question, verifier_passage(shown, "", texts[i]), float(i in positive))
                          for i in sorted(positive) + chosen]
                if elsewhere:
                    other = min(elsewhere, key=lambda text: -len(words & _stems(text)) + rng.random() * 0.5)
                    pairs.append(Pair(question, verifier_passage(shown, "", other), 0.0))
                if contrast and positive:
                    answering = texts[min(positive)]
                    swapped = contrast_question(question, answering, [t for t in texts if t != answering] + elsewhere,
                                                swaps)
                    if swapped:
                        pairs.append(Pair(swapped, verifier_passage(shown, "", answering), 0.0))
    return pairs


def reading_data(contrast: bool = False) -> list[Pair]:
    """The pairs of step 1, from every set of ``READING`` (with contrast negatives: ``contrast``)."""
    return [pair for name in READING for pair in reading_pairs(name, contrast=contrast)]


def reading_digest(pairs: Sequence[Pair]) -> str:
    """What the reading model is kept by: the pairs it learns from, and how much of the model and
    of each pair it reads. Step 2's models and logits are kept by it too (with the rows' digest),
    so that a reading model of another shape or data never passes for the one they came from."""
    return hashlib.sha256(f"{LAYERS} {MAX_TOKENS}\x00".encode() + "\x00".join(
        f"{p.question}\x01{p.passage}\x01{p.label}" for p in pairs).encode()).hexdigest()[:16]
