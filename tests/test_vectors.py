import numpy as np

from assistant.vectors import VectorIndex


def unit_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_small_collections_use_exact_search_and_find_the_nearest():
    vectors = unit_vectors(200)
    index = VectorIndex.build(vectors, exact_search_max=1000)
    assert index.kind == "flat" and index.size == 200
    results = index.search(vectors[17], k=5)
    assert results[0][0] == 17 and abs(results[0][1] - 1.0) < 1e-5
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)


def test_large_collections_switch_to_hnsw_with_high_recall():
    vectors = unit_vectors(3000, seed=1)
    index = VectorIndex.build(vectors, exact_search_max=1000, hnsw_m=16, ef_search=64)
    assert index.kind == "hnsw"
    queries = unit_vectors(50, seed=2)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len({p for p, _ in index.search(q, 10)} & set(e)) / 10 for q, e in zip(queries, exact)])
    assert recall >= 0.9


def test_allowed_positions_filter_results():
    vectors = unit_vectors(100, seed=3)
    for exact_max in (1000, 10):  # flat and HNSW
        index = VectorIndex.build(vectors, exact_search_max=exact_max)
        results = index.search(vectors[5], k=3, allowed=[40, 41, 42, 43])
        assert {p for p, _ in results} <= {40, 41, 42, 43} and len(results) == 3


def test_save_and_load_round_trip(tmp_path):
    vectors = unit_vectors(50, seed=4)
    index = VectorIndex.build(vectors)
    index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss")
    assert loaded.search(vectors[9], 3) == index.search(vectors[9], 3)
