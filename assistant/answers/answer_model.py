"""The learnt answer decision: how likely a candidate unit answers a question, from its features.

A logistic regression over the standardised features of ``features.py``, trained by
``python benchmarks/answer_model.py`` on questions with known answers (German XQuAD articles with
paragraphs removed, so that near-topic questions have no answer) and stored as JSON beside this
module. It ranks the candidates, and the best one is shown only when its probability reaches
``threshold``, the operating point chosen from the cross-validated curve of answered-correctly
against false answers. Plain numbers in a JSON file: no pickle, nothing executed when loading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import AnswerModelError

BUNDLED = Path(__file__).with_name("models") / "answer-model.json"


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

    @classmethod
    def load(cls, path: Path = BUNDLED, features: tuple[str, ...] | None = None) -> AnswerModel:
        """The model in ``path``; with ``features``, checked to be made for exactly those."""
        try:
            model = cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise AnswerModelError(f"{path}: Antwortmodell nicht lesbar ({type(error).__name__}: {error})") from None
        if features is not None and model.features != tuple(features):
            raise AnswerModelError(f"{path}: das Antwortmodell wurde für andere Merkmale gemacht; bitte mit "
                                   "`python benchmarks/answer_model.py` neu trainieren")
        return model
