"""The stored answer decision: plain numbers, checked against the features it was made for."""

import json

import numpy as np
import pytest

from assistant.answers.answer_model import BUNDLED, VERIFIER_FEATURES, Decision, verifier_columns
from assistant.answers.features import FEATURES
from assistant.exceptions import AnswerModelError


def test_bundled_decision_matches_the_features_and_gives_probabilities():
    decision = Decision.load(features=FEATURES)
    assert decision.verified is not None and decision.verify >= 3
    assert "benchmarks/answer_model.py" in decision.about
    for model, width in ((decision.ranking, len(FEATURES)), (decision.verified, len(FEATURES) + len(VERIFIER_FEATURES))):
        assert 0.0 < model.threshold < 1.0 and len(model.features) == width
        rows = np.random.default_rng(0).normal(model.mean, model.scale, size=(50, width))
        probabilities = model.probabilities(rows)
        assert probabilities.shape == (50,) and ((probabilities > 0) & (probabilities < 1)).all()
        assert model.probabilities(np.zeros((0, width))).shape == (0,)


def test_the_verifier_raises_the_probability_of_the_unit_it_rates_highest():
    verified = Decision.load().verified
    row = np.tile(verified.mean, (3, 1))
    row[:, len(FEATURES):] = verifier_columns(np.array([4.0, -1.0, -3.0]))
    probabilities = verified.probabilities(row)
    assert probabilities[0] > probabilities[1] > probabilities[2]


def test_verifier_columns():
    columns = verifier_columns(np.array([1.0, 3.0, -2.0]))
    assert columns[:, 0] == pytest.approx([1.0, 3.0, -2.0])
    assert columns[:, 1] == pytest.approx([-2.0, 2.0, -5.0])  # the lead over the best other one
    assert columns[:, 2] == pytest.approx([1 / 2, 1.0, 1 / 3])
    assert verifier_columns(np.zeros(0)).shape == (0, len(VERIFIER_FEATURES))


def test_save_and_load_give_the_same_decision(tmp_path):
    decision = Decision.load()
    decision.save(tmp_path / "model.json")
    again = Decision.load(tmp_path / "model.json", FEATURES)
    rows = np.random.default_rng(1).normal(size=(5, len(FEATURES) + len(VERIFIER_FEATURES)))
    assert np.allclose(decision.ranking.probabilities(rows[:, :len(FEATURES)]),
                       again.ranking.probabilities(rows[:, :len(FEATURES)]))
    assert np.allclose(decision.verified.probabilities(rows), again.verified.probabilities(rows))
    assert (again.verify, again.verified.threshold) == (decision.verify, decision.verified.threshold)


def test_a_decision_for_other_features_is_refused(tmp_path):
    data = json.loads(BUNDLED.read_text(encoding="utf-8"))
    data["ranking"]["features"] = data["ranking"]["features"][::-1]
    (tmp_path / "other.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AnswerModelError, match="andere Merkmale"):
        Decision.load(tmp_path / "other.json", FEATURES)


@pytest.mark.parametrize("content", ["", "{not json", '{"ranking": {}}', '{"features": []}'])
def test_an_unreadable_decision_file_is_named(tmp_path, content):
    (tmp_path / "kaputt.json").write_text(content, encoding="utf-8")
    with pytest.raises(AnswerModelError, match="kaputt.json"):
        Decision.load(tmp_path / "kaputt.json")
