"""Embedders for ``matching.semantic``: the default TF-IDF and optional model backends.

- ``char_wb_tfidf``: the default, model-free embedding (TF-IDF over character
  n-grams within words, the ``char_wb`` analyser of scikit-learn), computed
  with numpy over the code points of all names at once instead of one Python
  call per name: at a million names scikit-learn's analyser alone takes
  minutes, this takes seconds and gives the same vectors.
- ``StaticVocabEmbedder``: a static embedding model (vocabulary + matrix, the
  model2vec idea) loaded from a local folder, with no dependency: tokens are
  looked up whole, else through their character n-grams, and mean-pooled.
- ``Model2VecEmbedder``: a model2vec ``StaticModel`` loaded from a LOCAL path
  (optional extra ``semantic``; nothing is ever downloaded).

Every embedder returns L2-normalised rows, dense or scipy sparse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from connectors.errors import ConfigError
from matching.unique import sorted_unique, unique_with_codes

_BITS = 21  # Unicode code points fit in 21 bits, so three of them pack into one uint64.


def _ngram_keys(
    codes: np.ndarray, starts: np.ndarray, lengths: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(word position, packed n-gram) for every n-gram inside every padded word."""
    counts = np.maximum(lengths - n + 1, 0)
    total = int(counts.sum())
    word = np.repeat(np.arange(len(lengths)), counts)
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    position = np.repeat(starts, counts) + offset
    key = np.zeros(total, dtype=np.uint64)
    for k in range(n):
        key = (key << np.uint64(_BITS)) | codes[position + k].astype(np.uint64)
    return word, key


def _chunk_counts(
    texts: list[str], ngram_range: tuple[int, int]
) -> tuple[list[np.ndarray], list[sp.csr_matrix]]:
    """Per n: the chunk's n-gram vocabulary and its (text x n-gram) count matrix."""
    words = (
        pl.DataFrame({"t": texts}, schema={"t": pl.String})
        .with_row_index("row")
        .select("row", pl.col("t").str.to_lowercase().str.extract_all(r"\S+").alias("w"))
        .explode("w")
        .drop_nulls("w")
        .with_columns((" " + pl.col("w") + " ").alias("w"))
    )
    padded = words["w"].to_list()
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32)
    lengths = words.select(pl.col("w").str.len_chars())["w"].to_numpy().astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    rows = words["row"].to_numpy().astype(np.int64)
    vocabularies, matrices = [], []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        word, key = _ngram_keys(codes, starts, lengths, n)
        vocabulary, column = unique_with_codes(key)
        matrix = sp.csr_matrix(
            (np.ones(len(key), dtype=np.float32), (rows[word], column.ravel())),
            shape=(len(texts), len(vocabulary)),
        )
        matrix.sum_duplicates()
        vocabularies.append(vocabulary)
        matrices.append(matrix)
    return vocabularies, matrices


def _row_slices(indptr: np.ndarray, chunk_rows: int) -> list[tuple[int, int, int, int]]:
    """(first row, end row, first entry, end entry) of consecutive CSR row chunks."""
    n_rows = len(indptr) - 1
    return [
        (
            r0,
            min(r0 + chunk_rows, n_rows),
            int(indptr[r0]),
            int(indptr[min(r0 + chunk_rows, n_rows)]),
        )
        for r0 in range(0, n_rows, chunk_rows)
    ]


def _document_frequency(
    counts: sp.csr_matrix, multiplicity: np.ndarray, *, chunk_rows: int = 100_000
) -> np.ndarray:
    """Per n-gram, how many texts hold it (each distinct text counted ``multiplicity`` times).

    Row chunk by row chunk, so no per-entry temporary of the whole matrix exists
    (at a million names each such float64 array is about 0.4 GiB).
    """
    df = np.zeros(counts.shape[1], dtype=np.float64)
    for r0, r1, a, b in _row_slices(counts.indptr, chunk_rows):
        per_entry = np.repeat(multiplicity[r0:r1], np.diff(counts.indptr[r0 : r1 + 1]))
        df += np.bincount(counts.indices[a:b], weights=per_entry, minlength=counts.shape[1])
    return df


def _unit_tfidf(counts: sp.csr_matrix, idf: np.ndarray, *, chunk_rows: int = 100_000) -> np.ndarray:
    """The CSR data of the L2-normalised sublinear TF-IDF rows, float32, row chunk by chunk."""
    out = np.empty(counts.nnz, dtype=np.float32)
    for r0, r1, a, b in _row_slices(counts.indptr, chunk_rows):
        data = (1.0 + np.log(counts.data[a:b].astype(np.float64))) * idf[counts.indices[a:b]]
        entry_row = np.repeat(np.arange(r1 - r0), np.diff(counts.indptr[r0 : r1 + 1]))
        norms = np.sqrt(np.bincount(entry_row, weights=data * data, minlength=r1 - r0))
        out[a:b] = data / np.where(norms > 0, norms, 1.0)[entry_row]
    return out


def distinct_texts(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts (first-seen order) and, per input text, its distinct row.

    Names repeat (a customer's records, common names), so n-grams are analysed
    once per distinct text.
    """
    series = pl.Series("t", texts, dtype=pl.String).fill_null("")
    distinct = series.unique(maintain_order=True)
    row = (
        series.to_frame()
        .join(distinct.to_frame().with_row_index("d"), on="t", how="left", maintain_order="left")[
            "d"
        ]
        .to_numpy()
        .astype(np.int64)
    )
    return distinct.to_list(), row


@dataclass(frozen=True)
class NgramCounts:
    """The n-gram counts of a list of texts, over the vocabulary they hold.

    ``counts`` has one row per distinct text (``distinct_texts``' order) and
    the columns of ``vocabularies`` stacked (each sorted, one per n);
    ``text_row`` maps every input text to its distinct row.
    """

    vocabularies: tuple[np.ndarray, ...]
    counts: sp.csr_matrix
    multiplicity: np.ndarray
    text_row: np.ndarray

    @classmethod
    def of(
        cls, texts: list[str], *, ngram_range: tuple[int, int], chunk_texts: int = 100_000
    ) -> NgramCounts:
        """Count the n-grams of the distinct ``texts``, ``chunk_texts`` at a time."""
        low, high = ngram_range
        values, text_row = distinct_texts(texts)
        multiplicity = np.bincount(text_row, minlength=len(values)).astype(np.float64)
        per_n: list[list[tuple[np.ndarray, sp.csr_matrix]]] = [[] for _ in range(low, high + 1)]
        for start in range(0, len(values), chunk_texts):
            vocabularies, matrices = _chunk_counts(values[start : start + chunk_texts], ngram_range)
            for k, (vocabulary, matrix) in enumerate(zip(vocabularies, matrices, strict=True)):
                per_n[k].append((vocabulary, matrix))
        blocks, vocabularies_out = [], []
        for chunks in per_n:
            vocabulary = sorted_unique(np.concatenate([v for v, _ in chunks]))
            remapped = []
            for local, matrix in chunks:
                columns = np.searchsorted(vocabulary, local)[matrix.indices]
                remapped.append(
                    sp.csr_matrix(
                        (matrix.data, columns, matrix.indptr),
                        shape=(matrix.shape[0], len(vocabulary)),
                    )
                )
            blocks.append(sp.vstack(remapped, format="csr"))
            vocabularies_out.append(vocabulary.astype(np.uint64))
        return cls(
            vocabularies=tuple(vocabularies_out),
            counts=sp.hstack(blocks, format="csr"),
            multiplicity=multiplicity,
            text_row=text_row,
        )

    def document_frequency(self) -> np.ndarray:
        """Per n-gram column, how many of the texts hold it."""
        return _document_frequency(self.counts, self.multiplicity)

    def unit_tfidf(self, idf: np.ndarray) -> sp.csr_matrix:
        """Every input text's L2-normalised sublinear TF-IDF row (float32) under ``idf``."""
        counts = self.counts
        vectors = sp.csr_matrix(
            (_unit_tfidf(counts, idf), counts.indices, counts.indptr), shape=counts.shape
        )
        return vectors[self.text_row]


def char_wb_tfidf(
    texts: list[str],
    *,
    ngram_range: tuple[int, int] = (2, 3),
    min_df: int = 1,
    chunk_texts: int = 100_000,
) -> sp.csr_matrix:
    """TF-IDF unit vectors over character n-grams within words, like scikit-learn.

    Equals ``TfidfVectorizer(analyzer="char_wb", ngram_range=..., min_df=...,
    sublinear_tf=True, lowercase=True)`` up to column order and float32
    rounding: words are padded with a space on each side, n-grams never cross
    a word, tf is ``1 + ln(count)``, idf ``ln((1 + n) / (1 + df)) + 1``. Only
    distinct texts are analysed, in chunks, so memory stays bounded.

    Example:
        >>> v = char_wb_tfidf(["acme trading", "acme tradin", "zeta"])
        >>> float((v[0] @ v[1].T).toarray()[0, 0]) > float((v[0] @ v[2].T).toarray()[0, 0])
        True
    """
    low, high = ngram_range
    if not 1 <= low <= high <= 3:
        msg = f"matching.semantic: ngram_range {ngram_range} must lie within (1, 3)"
        raise ConfigError(msg)
    if not texts:
        return sp.csr_matrix((0, 0), dtype=np.float32)
    counted = NgramCounts.of(texts, ngram_range=ngram_range, chunk_texts=chunk_texts)
    df = counted.document_frequency()
    if min_df > 1:
        kept = np.flatnonzero(df >= min_df)
        counted = replace(counted, counts=counted.counts[:, kept].tocsr())
        df = df[kept]
    return counted.unit_tfidf(idf_of(df, population=len(texts)))


def idf_of(df: np.ndarray, *, population: int) -> np.ndarray:
    """Smoothed IDF, scikit-learn's: ``ln((1 + n) / (1 + df)) + 1``."""
    return np.log((1.0 + population) / (1.0 + df)) + 1.0


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass(frozen=True)
class StaticVocabEmbedder:
    """A static embedding model loaded from a local folder; no dependency, no download.

    The folder holds ``vocab.json`` (a JSON list of tokens; row i of the matrix
    is token i) and ``embeddings.npy`` (tokens x dimensions). A text is split
    into lower-cased words; a word in the vocabulary uses its vector, any other
    the mean of its character trigrams that are (so 'Xingchen' still lands near
    'xingchen'); the text is the mean of its words, L2-normalised. A text with
    no known token gets the zero vector (cosine 0 with everything).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> StaticVocabEmbedder.save(folder, ["acme", "trading"], np.eye(2))
        >>> vectors = StaticVocabEmbedder.load(folder).embed(["ACME Trading", "acme"])
        >>> [[round(float(x), 3) for x in row] for row in vectors]
        [[0.707, 0.707], [1.0, 0.0]]
    """

    vocabulary: dict[str, int]
    matrix: np.ndarray = field(repr=False)

    @staticmethod
    def save(folder: Path, tokens: list[str], matrix: np.ndarray) -> None:
        """Write a model folder (used by tests and to export other static models)."""
        if len(tokens) != matrix.shape[0]:
            msg = f"{len(tokens)} tokens but {matrix.shape[0]} matrix rows"
            raise ConfigError(msg)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.json").write_text(json.dumps(tokens, ensure_ascii=False), "utf-8")
        np.save(folder / "embeddings.npy", np.asarray(matrix, dtype=np.float32))

    @classmethod
    def load(cls, folder: str | Path) -> StaticVocabEmbedder:
        """Load a model folder written by ``save``; raises ConfigError when incomplete."""
        folder = Path(folder)
        vocab_file, matrix_file = folder / "vocab.json", folder / "embeddings.npy"
        if not vocab_file.is_file() or not matrix_file.is_file():
            msg = f"matching.semantic: no static model at {folder} (vocab.json, embeddings.npy)"
            raise ConfigError(msg)
        tokens = json.loads(vocab_file.read_text("utf-8"))
        matrix = np.load(matrix_file)
        return cls({t: i for i, t in enumerate(tokens)}, matrix)

    def _word_vector(self, word: str) -> np.ndarray | None:
        index = self.vocabulary.get(word)
        if index is not None:
            return np.asarray(self.matrix[index])
        padded = f" {word} "
        rows = [
            self.vocabulary[g]
            for g in (padded[i : i + 3] for i in range(len(padded) - 2))
            if g in self.vocabulary
        ]
        return np.asarray(self.matrix[rows].mean(axis=0)) if rows else None

    def embed(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors; one Python pass per distinct word."""
        series = pl.Series(texts, dtype=pl.String).fill_null("").str.to_lowercase()
        words = series.str.extract_all(r"\S+").to_list()
        vectors = np.zeros((len(texts), self.matrix.shape[1]), dtype=np.float32)
        cache: dict[str, np.ndarray | None] = {}
        for i, text_words in enumerate(words):
            found = []
            for word in text_words or []:
                if word not in cache:
                    cache[word] = self._word_vector(word)
                vector = cache[word]
                if vector is not None:
                    found.append(vector)
            if found:
                vectors[i] = np.mean(found, axis=0)
        return _normalised(vectors)


@dataclass(frozen=True)
class Model2VecEmbedder:
    """A model2vec ``StaticModel`` loaded from a local folder (extra ``semantic``).

    Only a path on disk is accepted: nothing is fetched from a model hub at
    run time. Raises ConfigError when model2vec is missing or the path is not a
    folder.
    """

    model: Any = field(repr=False)

    @classmethod
    def load(cls, folder: str | Path) -> Model2VecEmbedder:
        """Load the model saved at ``folder`` (``StaticModel.save_pretrained``)."""
        folder = Path(folder)
        if not folder.is_dir():
            msg = f"matching.semantic: model2vec model folder {folder} does not exist"
            raise ConfigError(msg)
        try:
            from model2vec import StaticModel
        except ImportError as error:
            msg = "matching.semantic: model2vec is not installed (pip install 'fusion[semantic]')"
            raise ConfigError(msg) from error
        return cls(StaticModel.from_pretrained(str(folder)))

    def embed(self, texts: list[str]) -> np.ndarray:
        """The model's embeddings of ``texts``, L2-normalised."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return _normalised(np.asarray(self.model.encode(texts), dtype=np.float32))
