"""Frozen name TF-IDF: the n-gram vocabulary and IDF stored with the match model.

The default embedder (``matching.semantic.TfidfCharNgramEmbedder``) fits its
IDF on the names of the run, so one new record shifts every name vector a
little, and with it every cosine, every semantic neighbour list and every
score: a full run's result would depend on all records at once. Fitted once
(with the model, on the first run or on ``--retrain``) and then reused by
every incremental and full run, a name's vector depends on that name alone,
which is what lets ``matching.incremental`` touch only what a batch reaches.

The vectors equal ``char_wb_tfidf``'s (scikit-learn's ``char_wb`` TF-IDF with
sublinear tf) on the texts the statistics were fitted on; an n-gram that no
fitted name held is ignored, as any fitted vectoriser ignores unknown terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from matching.embedders import NgramCounts, _chunk_counts, distinct_texts, idf_of
from matching.unique import sorted_unique

CHUNK_TEXTS = 100_000


@dataclass(frozen=True)
class NameIdf:
    """Vocabulary and IDF of name n-grams, plus the population they were fitted on.

    ``population`` is also the denominator of term-frequency shares (see
    ``matching.linkage.pair_term_frequencies``), for the same reason.

    Example:
        >>> idf = NameIdf.fit(["acme trading", "acme tradin", "zeta"])
        >>> v = idf.embed(["acme trading", "acme tradin"])
        >>> round(float((v[0] @ v[1].T).toarray()[0, 0]), 2) > 0.7
        True
    """

    ngram_range: tuple[int, int]
    vocabularies: tuple[np.ndarray, ...]
    idf: np.ndarray
    population: int

    def equals(self, other: NameIdf) -> bool:
        """The same vocabulary, IDF and population (whether or not the same object).

        Statistics read back from another step's output are a copy of the ones
        the model froze; whether a release may keep its ``name_idf`` is a
        question of values.
        """
        return (
            self.ngram_range == other.ngram_range
            and self.population == other.population
            and np.array_equal(self.idf, other.idf)
            and len(self.vocabularies) == len(other.vocabularies)
            and all(
                np.array_equal(mine, theirs)
                for mine, theirs in zip(self.vocabularies, other.vocabularies, strict=True)
            )
        )

    @classmethod
    def fit(cls, texts: list[str], *, ngram_range: tuple[int, int] = (2, 3)) -> NameIdf:
        """Vocabulary and ``idf = ln((1 + n) / (1 + df)) + 1`` over ``texts``."""
        values, row = distinct_texts(texts)
        multiplicity = np.bincount(row, minlength=len(values)).astype(np.float64)
        sizes = range(ngram_range[1] - ngram_range[0] + 1)
        found: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in sizes]
        for start in range(0, len(values), CHUNK_TEXTS):
            weights = multiplicity[start : start + CHUNK_TEXTS]
            vocabularies, matrices = _chunk_counts(values[start : start + CHUNK_TEXTS], ngram_range)
            for k, (vocabulary, matrix) in enumerate(zip(vocabularies, matrices, strict=True)):
                entry_row = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
                df = np.bincount(
                    matrix.indices, weights=weights[entry_row], minlength=len(vocabulary)
                )
                found[k].append((vocabulary, df))
        vocabularies_out, idf_parts = [], []
        for chunks in found:
            vocabulary = (
                sorted_unique(np.concatenate([v for v, _ in chunks]))
                if chunks
                else np.zeros(0, np.uint64)
            )
            frequency = np.zeros(len(vocabulary))
            for local, counts in chunks:
                np.add.at(frequency, np.searchsorted(vocabulary, local), counts)
            vocabularies_out.append(vocabulary.astype(np.uint64))
            idf_parts.append(idf_of(frequency, population=len(texts)))
        return cls(
            ngram_range=ngram_range,
            vocabularies=tuple(vocabularies_out),
            idf=np.concatenate(idf_parts) if idf_parts else np.zeros(0),
            population=len(texts),
        )

    @classmethod
    def fit_embed(
        cls, texts: list[str], *, ngram_range: tuple[int, int] = (2, 3)
    ) -> tuple[NameIdf, sp.csr_matrix]:
        """``fit(texts)`` and that fit's ``embed(texts)``, from one count of their n-grams.

        A full run fits the statistics on the very names it embeds; counting
        them once instead of twice saves about 9 s at 1M records. The vectors
        are ``char_wb_tfidf(texts)``'s, which ``embed`` equals on fitted texts.
        """
        if not texts:
            empty = cls.fit(texts, ngram_range=ngram_range)
            return empty, empty.embed(texts)
        counted = NgramCounts.of(texts, ngram_range=ngram_range, chunk_texts=CHUNK_TEXTS)
        idf = idf_of(counted.document_frequency(), population=len(texts))
        statistics = cls(
            ngram_range=ngram_range,
            vocabularies=counted.vocabularies,
            idf=idf,
            population=len(texts),
        )
        return statistics, counted.unit_tfidf(idf)

    @property
    def width(self) -> int:
        """Number of vector columns (n-grams in the vocabulary)."""
        return int(sum(len(v) for v in self.vocabularies))

    def embed(self, texts: list[str]) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows of ``texts`` (float32; one row per text)."""
        width = self.width
        if not texts:
            return sp.csr_matrix((0, width), dtype=np.float32)
        values, row = distinct_texts(texts)
        offsets = np.cumsum([0, *(len(v) for v in self.vocabularies)])
        chunks = []
        for start in range(0, len(values), CHUNK_TEXTS):
            vocabularies, matrices = _chunk_counts(
                values[start : start + CHUNK_TEXTS], self.ngram_range
            )
            rows, cols, data = [], [], []
            for k, (local, matrix) in enumerate(zip(vocabularies, matrices, strict=True)):
                frozen = self.vocabularies[k]
                position = np.searchsorted(frozen, local.astype(np.uint64))
                position = np.minimum(position, max(len(frozen) - 1, 0))
                known = frozen[position] == local if len(frozen) else np.zeros(len(local), bool)
                coo = matrix.tocoo()
                keep = known[coo.col]
                rows.append(coo.row[keep])
                cols.append(position[coo.col[keep]] + offsets[k])
                data.append(coo.data[keep])
            counts = sp.csr_matrix(
                (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                shape=(matrices[0].shape[0], width),
                dtype=np.float32,
            )
            counts.sum_duplicates()
            counts.sort_indices()
            chunks.append(counts)
        counts = sp.vstack(chunks, format="csr")
        entry_row = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        weights = (1.0 + np.log(counts.data.astype(np.float64))) * self.idf[counts.indices]
        norms = np.sqrt(
            np.bincount(entry_row, weights=weights * weights, minlength=counts.shape[0])
        )
        weights /= np.where(norms > 0, norms, 1.0)[entry_row]
        vectors = sp.csr_matrix(
            (weights.astype(np.float32), counts.indices, counts.indptr), shape=counts.shape
        )
        return vectors[row]

    def to_frame(self) -> pl.DataFrame:
        """One row per n-gram (``n``, packed ``ngram``, ``idf``), in column order."""
        low = self.ngram_range[0]
        return pl.DataFrame(
            {
                "n": np.concatenate(
                    [
                        np.full(len(v), low + k, dtype=np.int8)
                        for k, v in enumerate(self.vocabularies)
                    ]
                )
                if self.vocabularies
                else np.zeros(0, np.int8),
                "ngram": np.concatenate(self.vocabularies) if self.vocabularies else np.zeros(0),
                "idf": self.idf,
            },
            schema={"n": pl.Int8, "ngram": pl.UInt64, "idf": pl.Float64},
        )

    @classmethod
    def from_frame(
        cls, frame: pl.DataFrame, *, population: int, ngram_range: tuple[int, int]
    ) -> NameIdf:
        """The statistics ``to_frame`` stored."""
        low, high = ngram_range
        vocabularies = tuple(
            frame.filter(pl.col("n") == n)["ngram"].to_numpy().astype(np.uint64)
            for n in range(low, high + 1)
        )
        return cls(
            ngram_range=ngram_range,
            vocabularies=vocabularies,
            idf=frame["idf"].to_numpy().astype(np.float64),
            population=population,
        )


@dataclass(frozen=True)
class PrecomputedVectors:
    """An ``Embedder`` that returns vectors already computed for exactly these records."""

    vectors: sp.csr_matrix

    def embed(self, texts: list[str]) -> sp.csr_matrix:
        """The precomputed rows (their number must equal the number of texts)."""
        if self.vectors.shape[0] != len(texts):
            msg = f"{self.vectors.shape[0]} precomputed vectors for {len(texts)} texts"
            raise ValueError(msg)
        return self.vectors


def vectors_to_frame(vectors: sp.csr_matrix) -> pl.DataFrame:
    """CSR rows as list columns (``ngrams``, ``weights``), one row per record_index."""
    import pyarrow as pa

    offsets = pa.array(vectors.indptr.astype(np.int64))
    columns = pa.LargeListArray.from_arrays(offsets, pa.array(vectors.indices.astype(np.uint32)))
    weights = pa.LargeListArray.from_arrays(offsets, pa.array(vectors.data.astype(np.float32)))
    return pl.DataFrame(
        {
            "record_index": np.arange(vectors.shape[0], dtype=np.uint32),
            "ngrams": pl.Series(columns).cast(pl.List(pl.UInt32)),
            "weights": pl.Series(weights).cast(pl.List(pl.Float32)),
        }
    )


def vectors_from_frame(frame: pl.DataFrame, *, width: int) -> sp.csr_matrix:
    """The CSR matrix ``vectors_to_frame`` stored (rows in record_index order)."""
    ordered = frame.sort("record_index")
    lengths = ordered["ngrams"].list.len().fill_null(0).to_numpy().astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = ordered["ngrams"].explode().drop_nulls().to_numpy().astype(np.int32)
    data = ordered["weights"].explode().drop_nulls().to_numpy().astype(np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(ordered.height, width))
