import numpy as np

from assistant.index.vectors import VectorIndex
from conftest import clustered_vectors, unit_vectors


def test_small_collections_use_exact_search_and_find_the_nearest():
    vectors = unit_vectors(200)
    index = VectorIndex.build(vectors, exact_search_max=1000)
    assert index.kind == "flat" and index.size == 200
    results = index.search(vectors[17], k=5)
    assert results[0][0] == 17 and abs(results[0][1] - 1.0) < 1e-5
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)


def test_large_collections_switch_to_ivf_with_high_recall():
    vectors = clustered_vectors(5000, seed=1)
    index = VectorIndex.build(vectors, exact_search_max=1000, nprobe=8)
    assert index.kind == "ivf" and index.size == 5000
    assert index.describe() == f"IVF{VectorIndex.ivf_lists(5000)},Flat nprobe=8"
    queries = clustered_vectors(50, seed=2)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len({p for p, _ in index.search(q, 10)} & set(e)) / 10 for q, e in zip(queries, exact)])
    assert recall >= 0.95


def test_ivf_lists_grow_with_the_square_root_of_the_size():
    assert [VectorIndex.ivf_lists(n) for n in (10_000, 100_000, 1_000_000)] == [256, 512, 2048]
