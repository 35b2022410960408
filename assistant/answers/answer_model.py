"""The learnt answer decision: how likely a candidate unit answers a question.

Two logistic regressions, trained by ``python benchmarks/answer_model.py`` on questions with known
answers (German XQuAD articles with paragraphs removed, so that near-topic questions have no
answer, and questions over the seed documents) and stored together as JSON beside this module
(``Decision``):

* ``ranking`` over the standardised features of ``features.py`` orders every candidate unit; it is
  cheap, so it sees them all;
* ``verified`` judges the best ``verify`` of them with the same features and what the verifier
  (``verifier.py``, a cross-encoder that reads question and unit together) says of each
  (``VERIFIER_FEATURES``), and decides: the best one is shown only when its probability reaches
  ``threshold``, the operating point chosen from the cross-validated curve of answered-correctly
  against false answers.

Without the verifier (setting ``answering.verifier = false``) the ranking model decides alone, at
its own cross-validated threshold. Plain numbers in a JSON file: no pickle, nothing executed when
loading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import AnswerModelError

BUNDLED = Path(__file__).with_name("models") / "answer-model.json"
# What the verified stage knows beyond the features, per candidate: the verifier's logit, its lead
# over the best other candidate judged, and its rank among them (1, 1/2, 1/3, ...).
VERIFIER_FEATURES = ("verifier", "verifier_lead", "verifier_rank")


def verifier_columns(logits: np.ndarray) -> np.ndarray:
    """The ``VERIFIER_FEATURES`` of candidates from the verifier's logits for them."""
    logits = np.asarray(logits, dtype=np.float64)
    if not len(logits):
        return np.zeros((0, len(VERIFIER_FEATURES)))
    others = np.array([np.max(np.delete(logits, i), initial=logits[i] - 10.0) for i in range(len(logits))])
    rank = np.argsort(np.argsort(-logits, kind="stable"), kind="stable")
    return np.column_stack([logits, logits - others, 1.0 / (1 + rank)])


@dataclass(frozen=True)
class AnswerModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float  # answer when the best candidate's probability is at least this
    about: str = ""  # how it was trained: command, data, date

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """Probability that each row's candidate answers the question."""
        if not len(matrix):
            return np.zeros(0)
        z = ((matrix - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "threshold": self.threshold,
                "about": self.about}

    @classmethod
    def from_dict(cls, data: dict) -> AnswerModel:
        return cls(tuple(data["features"]), np.asarray(data["mean"], dtype=np.float64),
                   np.asarray(data["scale"], dtype=np.float64), np.asarray(data["coef"], dtype=np.float64),
                   float(data["intercept"]), float(data["threshold"]), str(data.get("about", "")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def check(self, features: tuple[str, ...], path: Path) -> AnswerModel:
        """This model, if it was made for exactly ``features``."""
        if self.features != tuple(features):
            raise AnswerModelError(f"{path}: das Antwortmodell wurde für andere Merkmale gemacht; bitte mit "
                                   "`python benchmarks/answer_model.py` neu trainieren")
        return self


@dataclass(frozen=True)
class Decision:
    """Both stages of the decision (see the module docstring)."""

    ranking: AnswerModel
    verified: AnswerModel | None = None  # None: the ranking model decides alone
    verify: int = 0  # how many of the best-ranked candidates the verifier judges
    about: str = ""

    def to_dict(self) -> dict:
        return {"ranking": self.ranking.to_dict(), "verified": self.verified and self.verified.to_dict(),
                "verify": self.verify, "about": self.about}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = BUNDLED, features: tuple[str, ...] | None = None) -> Decision:
        """The decision in ``path``; with ``features``, checked to be made for exactly those (and,
        for the verified stage, those followed by ``VERIFIER_FEATURES``)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            ranking = AnswerModel.from_dict(data["ranking"])
            verified = AnswerModel.from_dict(data["verified"]) if data.get("verified") else None
            decision = cls(ranking, verified, int(data.get("verify", 0)), str(data.get("about", "")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise AnswerModelError(f"{path}: Antwortmodell nicht lesbar ({type(error).__name__}: {error})") from None
        if features is not None:
            ranking.check(features, path)
            if verified is not None:
                verified.check((*features, *VERIFIER_FEATURES), path)
        return decision
