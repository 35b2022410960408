"""The in-memory knowledge base: what retrieval and answering ask of an index."""

import numpy as np


def test_chunk_similarity_is_the_best_of_own_and_unit_vectors(seed_kb):
    rng = np.random.default_rng(7)
    for _ in range(20):
        query = rng.normal(size=seed_kb.vectors.shape[1]).astype(np.float32)
        query /= np.linalg.norm(query)
        positions = rng.choice(len(seed_kb.chunks), size=int(rng.integers(1, len(seed_kb.chunks))), replace=False)
        expected = [max(float(seed_kb.vectors[p] @ query), float(seed_kb.unit_similarities(int(p), query).max()))
                    for p in positions]
        assert np.allclose(seed_kb.chunk_similarities(positions, query), expected, atol=1e-6)


def test_a_document_is_put_together_from_its_chunks(seed_kb):
    document = seed_kb.chunks[0].document
    text = seed_kb.document_text(document)
    assert len(text) == seed_kb.manifest.documents[document].length
    assert all(text[c.start:c.end] == c.text for c in seed_kb.chunks if c.document == document)
    assert set(seed_kb.documents()) == set(seed_kb.manifest.documents) and len(seed_kb.documents()) == 5
