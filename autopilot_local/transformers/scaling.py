"""Standard scaling that respects sparsity (Autopilot's ``RobustStandardScaler``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

_SPARSE_ENOUGH = 0.7


class RobustStandardScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale to unit variance, centering only dense data that is not mostly zeros; mirrors Autopilot's
    ``RobustStandardScaler``.

    Sparse input, and dense input with at least 70% zeros, is scaled without centering so it stays sparse (or cheap
    to make sparse). Constant columns keep a scale of 1, so they never produce NaN or inf.
    """

    def fit(self, X, y=None):
        """Learn each column's scale from ``X``, and its mean when ``X`` is dense and not mostly zeros."""
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan")
        self.scaler_ = StandardScaler(with_mean=not self._mostly_zeros(X)).fit(X)
        return self

    def transform(self, X):
        """``X`` scaled, and centered when the fit was; sparse input is made dense only to be centered."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=False
        )
        if sp.issparse(X) and self.scaler_.with_mean:
            X = X.toarray()
        return self.scaler_.transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        return tags

    @staticmethod
    def _mostly_zeros(X) -> bool:
        if sp.issparse(X):
            return True
        return bool(np.mean(X == 0) >= _SPARSE_ENOUGH) if X.size else False
