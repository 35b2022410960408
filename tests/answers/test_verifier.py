"""The shipped verifier, with its real weights: known (question, unit) pairs on the right side."""

import numpy as np
import pytest

from assistant.answers.verifier import BUNDLED, MAX_TOKENS, Verifier, VerifierWeights, load_verifier, verifier_passage
from assistant.exceptions import AnswerModelError

from conftest import PRECISION

TEAM = "TalentMetropole Ruhr: Talente finden und fördern – Team und direkte Ansprechpartner"
# (question, a unit that answers it, a unit of the same document that does not)
PAIRS = [
    ("Wann wurde die Bildungsinitiative RuhrFutur gegründet?",
     "2013 hatte die Stiftung Mercator gemeinsam mit fünf Ruhrgebietskommunen, fünf Hochschulen und dem Land NRW "
     "die Bildungsinitiative gegründet.",
     "Inzwischen gehören neben Land, Region und Stiftung 13 Kommunen und sieben Hochschulen zu RuhrFutur."),
    ("Wie viele Teilnehmende hatte der Kongress 2018?",
     "September 2018: Kongress ZukunftsBildung Ruhr 2018 Rund 600 Teilnehmende entwickeln an zwei Tagen in sechs "
     "Themenforen die relevanten Fragestellungen weiter.",
     "Dezember 2017: Kick-Off-Veranstaltung 100 Verantwortliche aus Bildung, Wissenschaft, Verwaltung, Wirtschaft "
     "und Zivilgesellschaft tauschen sich zum ersten Mal gemeinsam zu den Themenfeldern aus."),
    ("Who is the managing director of RuhrFutur?",
     "„Die Erweiterung von RuhrFutur trägt dem Ansatz Rechnung“, erklärt Dr. Oliver Döhrmann, Geschäftsführer der "
     "RuhrFutur.",
     "RuhrFutur wächst: Fünf weitere Städte treten der Bildungsinitiative bei."),
    ("Welche Telefonnummer hat Katharina Kadgien?",
     verifier_passage(TEAM, "", "Katharina Kadgien\n\nProjektmanagerin\n\nTelefon: 0201 8966620\nkadgien@i-r.de"),
     verifier_passage(TEAM, "", "Das Team der TalentMetropole Ruhr arbeitet gerne gemeinsam mit Ihnen daran.")),
]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return load_verifier(PRECISION)


@pytest.mark.parametrize("question, answering, other", PAIRS, ids=[p[0] for p in PAIRS])
def test_a_unit_that_answers_scores_above_one_that_does_not(verifier, question, answering, other):
    # The decision reads the verifier's lead over the other candidates (verifier_lead), not the sign
    # of its logit: it must put the answering unit clearly first.
    logits = verifier.logits(question, [answering, other])
    assert logits[0] > logits[1] + 1.0, logits


def test_scores_do_not_depend_on_the_other_units_of_the_batch(verifier):
    question, answering, other = PAIRS[0]
    together = verifier.logits(question, [answering, other, "Kurz."])
    # A padded batch changes the order of float operations, not the result beyond rounding.
    assert together[:2] == pytest.approx([verifier.logits(question, [answering])[0],
                                          verifier.logits(question, [other])[0]], abs=1e-3)
    assert verifier.logits(question, []).shape == (0,)


def test_long_units_are_cut_to_the_model_limit(verifier):
    rows = verifier.rows("Wann?", ["Ein sehr langer Satz. " * 200])
    assert len(rows[0]) == MAX_TOKENS and rows[0][-1] == verifier.encoder.model.eos


def test_shipped_weights_are_small_and_say_how_they_were_made():
    weights = VerifierWeights.load()
    assert BUNDLED.stat().st_size < 50 * 2**20
    assert "benchmarks/train_verifier.py" in weights.about and len(weights.layers) >= 4
    assert all(np.isfinite(array).all() for layer in weights.layers for array in layer.values())


def test_saved_weights_load_back(tmp_path):
    weights = VerifierWeights.load()
    weights.save(tmp_path / "v.npz")
    again = VerifierWeights.load(tmp_path / "v.npz")
    assert again.about == weights.about and again.head_bias == pytest.approx(weights.head_bias)
    assert np.allclose(again.layers[0]["qkv.w"], weights.layers[0]["qkv.w"])  # float16 both times


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_an_unreadable_weights_file_is_named(tmp_path, content):
    (tmp_path / "kaputt.npz").write_bytes(content)
    with pytest.raises(AnswerModelError, match="kaputt.npz"):
        VerifierWeights.load(tmp_path / "kaputt.npz")
