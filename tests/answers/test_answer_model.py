"""The stored answer model: plain numbers, checked against the features it was made for."""

import json

import numpy as np
import pytest

from assistant.answers.answer_model import BUNDLED, AnswerModel
from assistant.answers.features import FEATURES
from assistant.exceptions import AnswerModelError


def test_bundled_model_matches_the_features_and_gives_probabilities():
    model = AnswerModel.load(features=FEATURES)
    assert 0.0 < model.threshold < 1.0 and "benchmarks/answer_model.py" in model.about
    rows = np.random.default_rng(0).normal(model.mean, model.scale, size=(50, len(FEATURES)))
    probabilities = model.probabilities(rows)
    assert probabilities.shape == (50,) and ((probabilities > 0) & (probabilities < 1)).all()
    assert model.probabilities(np.zeros((0, len(FEATURES)))).shape == (0,)


def test_save_and_load_give_the_same_model(tmp_path):
    model = AnswerModel.load()
    model.save(tmp_path / "model.json")
    again = AnswerModel.load(tmp_path / "model.json", FEATURES)
    rows = np.random.default_rng(1).normal(size=(5, len(FEATURES)))
    assert np.allclose(model.probabilities(rows), again.probabilities(rows)) and again.threshold == model.threshold


def test_a_model_for_other_features_is_refused(tmp_path):
    data = json.loads(BUNDLED.read_text(encoding="utf-8"))
    data["features"] = data["features"][::-1]
    (tmp_path / "other.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AnswerModelError, match="andere Merkmale"):
        AnswerModel.load(tmp_path / "other.json", FEATURES)


@pytest.mark.parametrize("content", ["", "{not json", '{"features": []}'])
def test_an_unreadable_model_file_is_named(tmp_path, content):
    (tmp_path / "kaputt.json").write_text(content, encoding="utf-8")
    with pytest.raises(AnswerModelError, match="kaputt.json"):
        AnswerModel.load(tmp_path / "kaputt.json")
