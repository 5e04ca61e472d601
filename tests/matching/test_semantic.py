"""Semantic similarity: the TF-IDF embedder, neighbour search and model backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from connectors.errors import ConfigError
from matching.embedders import Model2VecEmbedder, StaticVocabEmbedder, char_wb_tfidf
from matching.semantic import TfidfCharNgramEmbedder, cosine_of_pairs, nearest_name_pairs

TEXTS = [
    "上海星辰贸易 | shanghaixingchenmaoyi",
    "shanghai xingchen trading | shanghai xingchen trading",
    "星辰贸易上海 | xingchenmaoyishanghai",
    "northwind logistics | northwind logistics",
    "logistics northwind | logistics northwind",
    "王伟 | wang wei",
    "wei  wang | wei wang",
    "",
    "北京华拓科技 | beijinghuatuokeji",
    "Ünïcode Straße | unicode strasse",
]


def test_char_ngram_tfidf_equals_scikit_learn() -> None:
    reference = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, lowercase=True
    ).fit_transform(TEXTS)
    ours = char_wb_tfidf(TEXTS)
    assert ours.shape == reference.shape
    left, right = np.triu_indices(len(TEXTS))
    expected = np.asarray(reference[left].multiply(reference[right]).sum(axis=1)).ravel()
    assert cosine_of_pairs(ours, left, right) == pytest.approx(expected, abs=1e-5)


def test_char_ngram_tfidf_min_df_and_chunks_agree() -> None:
    whole = char_wb_tfidf(TEXTS * 3, min_df=2)
    chunked = char_wb_tfidf(TEXTS * 3, min_df=2, chunk_texts=4)
    assert abs(whole - chunked).max() < 1e-6


def test_char_ngram_tfidf_rejects_long_ngrams() -> None:
    with pytest.raises(ConfigError, match="ngram_range"):
        char_wb_tfidf(["abc"], ngram_range=(2, 4))


@pytest.mark.parametrize(
    ("a", "b"),
    [(0, 1), (3, 4), (5, 6), (0, 2)],
    ids=["pinyin-vs-chinese", "reordered", "person-name-order", "city-moved"],
)
def test_nearest_pairs_find_names_sharing_no_key(a: int, b: int) -> None:
    vectors = TfidfCharNgramEmbedder().embed(TEXTS)
    pairs = set(nearest_name_pairs(vectors, neighbours=2, min_cosine=0.3).iter_rows())
    assert (a, b) in pairs


def test_nearest_pairs_respect_min_cosine_and_are_ordered() -> None:
    vectors = TfidfCharNgramEmbedder().embed(TEXTS)
    pairs = nearest_name_pairs(vectors, neighbours=3, min_cosine=0.5)
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    assert np.all(left < right)
    assert np.all(cosine_of_pairs(vectors, left, right) >= 0.5)
    assert pairs.height == pairs.unique().height


def test_dense_projection_search_finds_the_exact_neighbours_of_clear_clusters() -> None:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((40, 16))
    points = np.repeat(centres, 3, axis=0) + 0.01 * rng.standard_normal((120, 16))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    exact = nearest_name_pairs(points, neighbours=2, min_cosine=0.9)
    projected = nearest_name_pairs(points, neighbours=2, min_cosine=0.9, exact_limit=10)
    truth = {(i, j) for i in range(120) for j in range(i + 1, 120) if i // 3 == j // 3}
    assert set(exact.iter_rows()) == truth
    assert len(set(projected.iter_rows()) & truth) >= 0.9 * len(truth)


def _tiny_model(folder: Path) -> None:
    tokens = ["acme", "trading", "星辰", "xingchen", " xi", "xin", "ing", "chen"]
    matrix = np.eye(len(tokens), 4, dtype=np.float32) + 0.1
    matrix[3] = matrix[2]  # the romanisation shares the vector of the Chinese token
    StaticVocabEmbedder.save(folder, tokens, matrix)


def test_static_vocab_embedder_round_trips_a_tiny_model(tmp_path: Path) -> None:
    _tiny_model(tmp_path / "model")
    embedder = StaticVocabEmbedder.load(tmp_path / "model")
    vectors = embedder.embed(["星辰", "Xingchen", "ACME trading", "unknown words", None])  # type: ignore[list-item]
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-6)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(vectors[3:], 0.0)
    pairs = nearest_name_pairs(vectors, neighbours=1, min_cosine=0.99)
    assert (0, 1) in set(pairs.iter_rows())


def test_static_vocab_embedder_needs_a_complete_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no static model"):
        StaticVocabEmbedder.load(tmp_path)


def test_model2vec_embedder_loads_a_tiny_self_built_model(tmp_path: Path) -> None:
    import model2vec
    import tokenizers

    vocab = {"[UNK]": 0, "[PAD]": 1, "acme": 2, "trading": 3, "星辰": 4, "xingchen": 5}
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    vectors = np.eye(len(vocab), 4, dtype=np.float32) + 0.05
    vectors[5] = vectors[4]
    model2vec.StaticModel(vectors=vectors, tokenizer=tokenizer).save_pretrained(tmp_path / "m2v")
    embedder = Model2VecEmbedder.load(tmp_path / "m2v")
    out = embedder.embed(["星辰", "xingchen", "acme trading"])
    assert float(out[0] @ out[1]) == pytest.approx(1.0, abs=1e-5)
    assert float(out[0] @ out[2]) < 0.9


def test_model2vec_embedder_refuses_anything_but_a_local_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Model2VecEmbedder.load(tmp_path / "minishlab/potion-base-8M")
