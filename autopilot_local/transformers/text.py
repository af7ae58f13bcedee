"""Tf-idf over several text columns (Autopilot's ``MultiColumnTfidfVectorizer``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from autopilot_local.transformers._base import _cell_strings, _raw_columns, _RawCellsMixin

_EMPTY_VOCABULARY = ("empty vocabulary", "no terms remain")


def _documents(column) -> list[str]:
    return _cell_strings(column, missing="").tolist()


class MultiColumnTfidfVectorizer(_RawCellsMixin, TransformerMixin, BaseEstimator):
    """One ``TfidfVectorizer`` per column, outputs side by side; mirrors Autopilot's ``MultiColumnTfidfVectorizer``.

    Cells are read as strings, missing as "". Each column keeps at most ``max_features`` terms, or its entry of
    ``vocabulary_sizes``. A column whose vocabulary comes out empty is skipped (listed in ``ignored_columns_``)
    when ``ignore_columns_with_zero_vocabulary_size``, else the vectorizer's error is raised. Output is CSR; it has
    no columns when every column was skipped.
    """

    def __init__(
        self,
        max_df=1.0,
        min_df=1,
        analyzer="word",
        max_features=10000,
        ngram_range=(1, 1),
        sublinear_tf=True,
        vocabulary_sizes=None,
        ignore_columns_with_zero_vocabulary_size=True,
        token_pattern=r"(?u)\b\w\w+\b",
        strip_accents=None,
        dtype=np.float64,
    ):
        self.max_df = max_df
        self.min_df = min_df
        self.analyzer = analyzer
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.vocabulary_sizes = vocabulary_sizes
        self.ignore_columns_with_zero_vocabulary_size = ignore_columns_with_zero_vocabulary_size
        self.token_pattern = token_pattern
        self.strip_accents = strip_accents
        self.dtype = dtype

    def fit(self, X, y=None):
        """Learn each column's vocabulary and idf weights from ``X``."""
        columns = _raw_columns(self, X, reset=True)
        sizes = self._sizes(len(columns))
        self.vectorizers_ = [self._fit_column(_documents(column), size) for column, size in zip(columns, sizes)]
        self.ignored_columns_ = np.array([j for j, v in enumerate(self.vectorizers_) if v is None], dtype=np.int64)
        return self

    def transform(self, X):
        """The tf-idf matrices of the columns that were not skipped, side by side as CSR."""
        check_is_fitted(self)
        columns = _raw_columns(self, X, reset=False)
        blocks = [v.transform(_documents(c)) for v, c in zip(self.vectorizers_, columns) if v is not None]
        if not blocks:
            return sp.csr_matrix((len(columns[0]), 0), dtype=self.dtype)
        return sp.hstack(blocks, format="csr")

    def get_feature_names_out(self, input_features=None):
        """One ``<column>_<term>`` name per vocabulary term of each column that was not skipped."""
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        out = [
            f"{name}_{term}"
            for name, vectorizer in zip(names, self.vectorizers_)
            if vectorizer is not None
            for term in vectorizer.get_feature_names_out()
        ]
        return np.asarray(out, dtype=object)

    def _sizes(self, n_columns: int) -> list:
        if self.vocabulary_sizes is None:
            return [self.max_features] * n_columns
        if len(self.vocabulary_sizes) != n_columns:
            raise ValueError(f"vocabulary_sizes has {len(self.vocabulary_sizes)} entries for {n_columns} columns.")
        return list(self.vocabulary_sizes)

    def _fit_column(self, documents: list[str], size) -> TfidfVectorizer | None:
        vectorizer = TfidfVectorizer(
            max_df=self.max_df,
            min_df=self.min_df,
            analyzer=self.analyzer,
            max_features=size,
            ngram_range=self.ngram_range,
            sublinear_tf=self.sublinear_tf,
            token_pattern=self.token_pattern,
            strip_accents=self.strip_accents,
            dtype=self.dtype,
        )
        try:
            return vectorizer.fit(documents)
        except ValueError as error:
            if self.ignore_columns_with_zero_vocabulary_size and any(s in str(error) for s in _EMPTY_VOCABULARY):
                return None
            raise
