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
from sparse_dot_topn import sp_matmul_topn

from matching.embedders import char_wb_tfidf
from matching.unique import sorted_unique


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
        >>> round(float((vectors[0] @ vectors[1].T).toarray()[0, 0]), 2) > 0.7
        True
    """

    ngram_range: tuple[int, int] = (2, 3)
    min_df: int = 1

    def embed(self, texts: list[str]) -> sp.csr_matrix:
        """Fit the vocabulary and IDF on ``texts`` and return their unit vectors."""
        return char_wb_tfidf(texts, ngram_range=self.ngram_range, min_df=self.min_df)


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
    vectors: sp.csr_matrix | np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    *,
    chunk_pairs: int = 131_072,
) -> np.ndarray:
    """Cosine similarity of the given row pairs (vectors are unit length).

    Gathering both sides' rows copies them, so pairs go ``chunk_pairs`` at a
    time: at 1M records the semantic rule's 3M directed pairs gathered at once
    held about 3 GiB of n-gram rows.
    """
    cosine = np.zeros(len(left), dtype=np.float32)
    for start in range(0, len(left), chunk_pairs):
        lhs, rhs = left[start : start + chunk_pairs], right[start : start + chunk_pairs]
        if sp.issparse(vectors):
            products = np.asarray(vectors[lhs].multiply(vectors[rhs]).sum(axis=1)).ravel()
        else:
            products = np.einsum("ij,ij->i", vectors[lhs], vectors[rhs])
        cosine[start : start + len(lhs)] = products
    return cosine


def _pairs_frame(left: np.ndarray, right: np.ndarray) -> pl.DataFrame:
    pairs = pl.DataFrame({"left": left.astype(np.uint32), "right": right.astype(np.uint32)})
    return (
        pairs.select(
            pl.min_horizontal("left", "right").alias("left"),
            pl.max_horizontal("left", "right").alias("right"),
        )
        .unique()
        .sort("left", "right")
    )


def _top_k_per_row(
    rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, *, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k highest-scoring (row, col) entries of every row (ties: lower col first)."""
    if len(rows) == 0:
        return rows, cols
    by_col = np.argsort(cols, kind="stable")
    rows, cols, scores = rows[by_col], cols[by_col], scores[by_col]
    # One float key orders by row, then by descending score; the stable sort keeps
    # equal scores in column order. Scores are cosines in [-1, 1].
    key = (rows - rows.min()).astype(np.float64) * 4.0 + (2.0 - scores.astype(np.float64))
    order = np.argsort(key, kind="stable")
    rows, cols = rows[order], cols[order]
    first = np.searchsorted(rows, rows, side="left")
    keep = (np.arange(len(rows)) - first) < k
    return rows[keep], cols[keep]


def distinctive_ngram_vectors(vectors: sp.csr_matrix, *, max_df: int) -> sp.csr_matrix:
    """The TF-IDF rows restricted to n-grams held by 2..``max_df`` records (see below)."""
    document_frequency = np.bincount(vectors.indices, minlength=vectors.shape[1])
    distinctive = np.flatnonzero((document_frequency >= 2) & (document_frequency <= max_df))
    return vectors[:, distinctive].tocsr()


def sparse_neighbours_of_rows(
    pruned: sp.csr_matrix, rows: np.ndarray, *, neighbours: int, chunk_rows: int = 65_536
) -> tuple[np.ndarray, np.ndarray]:
    """Directed top-k edges (row -> neighbour) of the given rows of a pruned matrix.

    The product and the top-n selection run in sparse_dot_topn's C++ kernel, which
    never materialises a row's full list of candidates (about 12x faster than a
    scipy product followed by a sort, at 100k names). It keeps ``2k + 1`` entries
    per row (the row itself among them); ``_top_k_per_row`` then picks k with a
    fixed tie order (lower column first), so the result does not depend on the
    kernel's order among equal scores unless more than k + 1 names tie.

    A row's neighbours depend on the whole population, so matching.incremental
    recomputes them for the rows a batch can reach and keeps the others.
    """
    transposed = pruned.T.tocsr()
    rows = np.asarray(rows, dtype=np.int64)
    lefts, rights = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for start in range(0, len(rows), chunk_rows):
        chunk = rows[start : start + chunk_rows]
        block = sp_matmul_topn(pruned[chunk], transposed, top_n=2 * neighbours + 1).tocsr()
        local = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        found = chunk[local]
        cols = block.indices.astype(np.int64)
        other = (cols != found) & (block.data > 0)
        left, right = _top_k_per_row(found[other], cols[other], block.data[other], k=neighbours)
        lefts.append(left)
        rights.append(right)
    return np.concatenate(lefts), np.concatenate(rights)


def sparse_neighbours(
    vectors: sp.csr_matrix, *, neighbours: int, max_df: int, chunk_rows: int = 65_536
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-k neighbours of TF-IDF rows through their distinctive n-grams.

    Brute force costs n^2 and at 100k records takes minutes. Here only n-grams
    held by at most ``max_df`` records take part in the search: two names that
    share nothing rarer than 'ing' or '有限' are not worth a comparison, and the
    cap bounds the work per n-gram, so the cost grows linearly with the number
    of records. Candidates are ranked by their dot product over these n-grams
    (a lower bound of the true cosine), in row chunks so memory stays flat.
    """
    pruned = distinctive_ngram_vectors(vectors, max_df=max_df)
    return sparse_neighbours_of_rows(
        pruned, np.arange(pruned.shape[0]), neighbours=neighbours, chunk_rows=chunk_rows
    )


def _dense_neighbours(
    vectors: np.ndarray, *, neighbours: int, chunk_rows: int, exact_limit: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k neighbours of dense unit vectors (model embeddings).

    Exact, chunk by chunk, up to ``exact_limit`` rows; above it, records that
    sort near each other along a few seeded random directions are candidates
    (a sorted-neighbourhood index in embedding space), so the cost stays
    n log n. Either way candidates are ranked by their true cosine.
    """
    n = vectors.shape[0]
    if n <= exact_limit:
        lefts, rights = [], []
        for start in range(0, n, chunk_rows):
            scores = vectors[start : start + chunk_rows] @ vectors.T
            rows = np.repeat(np.arange(scores.shape[0]) + start, n)
            cols = np.tile(np.arange(n), scores.shape[0])
            flat = scores.ravel()
            other = rows != cols
            left, right = _top_k_per_row(rows[other], cols[other], flat[other], k=neighbours)
            lefts.append(left)
            rights.append(right)
        return np.concatenate(lefts), np.concatenate(rights)
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((vectors.shape[1], 16)).astype(vectors.dtype)
    projections = vectors @ directions
    lefts, rights = [], []
    for d in range(projections.shape[1]):
        order = np.argsort(projections[:, d], kind="stable")
        for offset in range(1, 2 * neighbours + 1):
            lefts.append(order[:-offset])
            rights.append(order[offset:])
    left, right = np.concatenate(lefts), np.concatenate(rights)
    # The same pair sorts close along several directions: score it once.
    packed = sorted_unique(np.minimum(left, right).astype(np.int64) * n + np.maximum(left, right))
    left, right = packed // n, packed % n
    scores = np.einsum("ij,ij->i", vectors[left], vectors[right])
    both_left = np.concatenate([left, right])
    both_right = np.concatenate([right, left])
    return _top_k_per_row(both_left, both_right, np.concatenate([scores, scores]), k=neighbours)


def nearest_name_pairs(
    vectors: sp.csr_matrix | np.ndarray,
    *,
    neighbours: int,
    min_cosine: float,
    max_df: int = 200,
    chunk_rows: int = 65_536,
    exact_limit: int = 20_000,
    seed: int = 42,
    directed: tuple[np.ndarray, np.ndarray] | None = None,
) -> pl.DataFrame:
    """Candidate pairs (left < right) among each record's nearest names by cosine.

    Sparse TF-IDF vectors are searched through their distinctive n-grams
    (see ``sparse_neighbours``), dense model vectors exactly up to
    ``exact_limit`` rows and by random-projection neighbourhoods beyond.
    Only pairs whose true cosine reaches ``min_cosine`` are kept. ``directed``:
    the neighbour lists (row -> neighbour) when the caller has them already
    (``matching.incremental`` keeps them as its index), so they are not searched
    twice.

    Example:
        >>> vectors = TfidfCharNgramEmbedder().embed(["acme trading", "acme tradin", "zeta"])
        >>> nearest_name_pairs(vectors, neighbours=2, min_cosine=0.5).rows()
        [(0, 1)]
    """
    n = vectors.shape[0]
    if n < 2:
        return _pairs_frame(np.zeros(0, np.int64), np.zeros(0, np.int64))
    if directed is not None:
        left, right = directed
    elif sp.issparse(vectors):
        left, right = sparse_neighbours(
            sp.csr_matrix(vectors), neighbours=neighbours, max_df=max_df, chunk_rows=chunk_rows
        )
    else:
        dense = np.asarray(vectors, dtype=np.float32)
        left, right = _dense_neighbours(
            dense,
            neighbours=neighbours,
            chunk_rows=max(1, 2_000_000 // max(n, 1)),
            exact_limit=exact_limit,
            seed=seed,
        )
    # Undirected and deduplicated first: a mutual neighbour's cosine is computed once.
    pairs = _pairs_frame(left, right)
    cosine = cosine_of_pairs(
        vectors,
        pairs["left"].to_numpy().astype(np.int64),
        pairs["right"].to_numpy().astype(np.int64),
    )
    return pairs.filter(pl.Series(cosine >= min_cosine))
