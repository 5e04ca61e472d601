"""Semantic name similarity: a pluggable embedder and nearest-neighbour search.

The default embedder needs no model download: TF-IDF-weighted character
n-grams fitted on the run's own names. IDF makes a rare distinctive token
('xingchen', '星辰') count for more than the boilerplate every company shares
('trading', 'co', '贸易'), and character n-grams survive typos, reordered
tokens and the pinyin rendering of a Chinese name. Model backends plug in
through the same ``Embedder`` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors


class Embedder(Protocol):
    """Turns texts into L2-normalised row vectors (dense or scipy sparse)."""

    def embed(self, texts: list[str]) -> sp.csr_matrix | np.ndarray:
        """Embed ``texts``; row i is the unit vector of texts[i]."""
        ...


@dataclass(frozen=True)
class TfidfCharNgramEmbedder:
    """TF-IDF over character n-grams, fitted on the texts it embeds.

    Example:
        >>> vectors = TfidfCharNgramEmbedder().embed(["acme trading", "acme tradin"])
        >>> round(float((vectors[0] @ vectors[1].T).toarray()[0, 0]), 2) > 0.8
        True
    """

    ngram_range: tuple[int, int] = (2, 3)
    min_df: int = 1

    def embed(self, texts: list[str]) -> sp.csr_matrix:
        """Fit the vocabulary and IDF on ``texts`` and return their unit vectors."""
        if not texts:
            return sp.csr_matrix((0, 0))
        vectoriser = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=self.ngram_range,
            min_df=self.min_df,
            sublinear_tf=True,
            lowercase=True,
            dtype=np.float32,
        )
        return vectoriser.fit_transform(texts).tocsr()


def name_embedding_text(std: pl.DataFrame) -> list[str]:
    """The text embedded for each record: the name key plus its romanisation.

    Putting both scripts in one text lets '上海星辰贸易' and 'Shanghai Xingchen
    Trading' share the n-grams of 'shanghai xingchen'.
    """
    text = pl.concat_str(
        [pl.col("name_key").fill_null(""), pl.col("name_latin").fill_null("")], separator=" | "
    )
    return std.select(text.alias("t"))["t"].to_list()


def embed_names(std: pl.DataFrame, *, embedder: Embedder) -> sp.csr_matrix | np.ndarray:
    """Unit vectors of every record's name, in ``record_index`` order."""
    return embedder.embed(name_embedding_text(std))


def cosine_of_pairs(
    vectors: sp.csr_matrix | np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Cosine similarity of the given row pairs (vectors are unit length)."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.float32)
    if sp.issparse(vectors):
        products = vectors[left].multiply(vectors[right]).sum(axis=1)
        return np.asarray(products, dtype=np.float32).ravel()
    return np.einsum("ij,ij->i", vectors[left], vectors[right]).astype(np.float32)


def nearest_name_pairs(
    vectors: sp.csr_matrix | np.ndarray, *, neighbours: int, min_cosine: float
) -> pl.DataFrame:
    """Candidate pairs (left < right) among each record's nearest names by cosine."""
    n = vectors.shape[0]
    empty = pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32})
    if n < 2:
        return empty
    k = min(neighbours + 1, n)
    index = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute")
    index.fit(vectors)
    distances, indices = index.kneighbors(vectors)
    left = np.repeat(np.arange(n, dtype=np.uint32), k)
    right = indices.ravel().astype(np.uint32)
    keep = (left != right) & ((1.0 - distances.ravel()) >= min_cosine)
    pairs = pl.DataFrame({"left": left[keep], "right": right[keep]})
    return pairs.select(
        pl.min_horizontal("left", "right").alias("left"),
        pl.max_horizontal("left", "right").alias("right"),
    ).unique()
