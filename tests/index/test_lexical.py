import numpy as np

from assistant.index.lexical import LexicalIndex, top_k

TEXTS = [
    "Potenzialförderung\nTalentMetropole Ruhr\nBernd Kreuzinger: kreuzinger@talentmetropoleruhr.de",
    "Die Förderung von Talenten für die Metropole Ruhr.",
    "Die Städte Bottrop, Duisburg, Hagen, Hamm und Herne treten RuhrFutur bei.",
    "Rund 600 Teilnehmende beim Kongress ZukunftsBildung Ruhr 2018.",
]


def test_umlaut_spelling_variants_find_the_same_passage():
    index = LexicalIndex.build(TEXTS)
    for query in ("Potenzialförderung", "Potenzialfoerderung", "POTENZIALFÖRDERUNG"):
        assert index.search(query, k=1)[0][0] == 0


def test_compound_part_finds_the_compound():
    index = LexicalIndex.build(TEXTS)
    found = {position for position, _ in index.search("Förderung", k=4)}
    assert {0, 1} <= found


def test_stopword_only_query_matches_nothing():
    index = LexicalIndex.build(TEXTS)
    assert index.search("wer ist die", k=3) == []
    assert not index.scores("wer ist die").any()


def test_mask_restricts_results():
    index = LexicalIndex.build(TEXTS)
    mask = np.array([False, True, True, True])
    assert [p for p, _ in index.search("Förderung", k=4, mask=mask)] == [1]


def test_top_k_orders_and_drops_zeros():
    assert top_k(np.array([0.0, 2.0, 1.0, 3.0]), 3) == [(3, 3.0), (1, 2.0), (2, 1.0)]
    assert top_k(np.array([0.0, 0.0]), 2) == []
