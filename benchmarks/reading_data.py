"""Step 1 of ``train_verifier.py``, its data: (question, unit, answers?) pairs from the QA sets of
``../shared/training`` (provenance and licences in that folder's README), and the digest that
the reading model, and everything trained from it, is kept by. Its own module so that
``answer_model.py`` finds the out-of-fold logits by that digest without importing the trainer.

Each question's paragraph is split into units as the assistant splits documents
(``documents/chunking.py``); the unit holding the answer is positive; the ``NEGATIVES`` units of
its paragraph that share most words with the question, and the closest unit of another paragraph
of the article, are negative; an unanswerable question's units are all negative.
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


@dataclass(frozen=True)
class Pair:
    """One training example of the verifier: does ``passage`` answer ``question`` (1.0) or not."""

    question: str
    passage: str
    label: float


def _stems(text: str) -> set[str]:
    return {word.casefold()[:6] for word in WORD.findall(text)}


def reading_pairs(name: str, seed: int = 0) -> list[Pair]:
    """Step 1's pairs from one SQuAD-format file (see this module's docstring)."""
    rng = random.Random(seed)
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
    return pairs


def reading_data() -> list[Pair]:
    """The pairs of step 1, from every set of ``READING``."""
    return [pair for name in READING for pair in reading_pairs(name)]


def reading_digest(pairs: Sequence[Pair]) -> str:
    """What the reading model is kept by: the pairs it learns from, and how much of the model and
    of each pair it reads. Step 2's models and logits are kept by it too (with the rows' digest),
    so that a reading model of another shape or data never passes for the one they came from."""
    return hashlib.sha256(f"{LAYERS} {MAX_TOKENS}\x00".encode() + "\x00".join(
        f"{p.question}\x01{p.passage}\x01{p.label}" for p in pairs).encode()).hexdigest()[:16]
