"""Dimensionality reduction that only acts on wide inputs (Autopilot's ``RobustPCA``)."""

from __future__ import annotations

import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.utils.validation import FLOAT_DTYPES, _check_feature_names_in, check_is_fitted, validate_data


class RobustPCA(TransformerMixin, BaseEstimator):
    """Reduce to ``n_components`` only when there are more features than that; mirrors Autopilot's ``RobustPCA``.

    With at most ``n_components`` features it passes X through (sparse stays sparse). Otherwise dense input goes
    through ``PCA`` and sparse input through ``TruncatedSVD`` (which needs no centering), with the components capped
    by the number of samples.
    """

    def __init__(self, n_components=1000, svd_solver="auto", iterated_power="auto", tol=0.0, random_state=None):
        self.n_components = n_components
        self.svd_solver = svd_solver
        self.iterated_power = iterated_power
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit `PCA` (dense) or `TruncatedSVD` (sparse) on ``X`` when it has more than ``n_components`` features."""
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=FLOAT_DTYPES, reset=True)
        self.reducer_ = None
        if X.shape[1] > self.n_components:
            self.reducer_ = self._reducer(X).fit(X)
        self.n_components_ = X.shape[1] if self.reducer_ is None else self.reducer_.components_.shape[0]
        return self

    def transform(self, X):
        """``X`` reduced to ``n_components_`` columns, or ``X`` itself when it was narrow enough."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=FLOAT_DTYPES, reset=False)
        return X if self.reducer_ is None else self.reducer_.transform(X)

    def get_feature_names_out(self, input_features=None):
        """The input names when ``X`` passes through, else the reducer's component names."""
        check_is_fitted(self)
        if self.reducer_ is None:
            return _check_feature_names_in(self, input_features)
        return self.reducer_.get_feature_names_out()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _reducer(self, X):
        if sp.issparse(X):
            algorithm = "arpack" if self.svd_solver == "arpack" else "randomized"
            limit = min(X.shape) - 1 if algorithm == "arpack" else X.shape[1] - 1
            n_iter = 5 if self.iterated_power == "auto" else self.iterated_power
            return TruncatedSVD(
                n_components=max(1, min(self.n_components, limit)),
                algorithm=algorithm,
                n_iter=n_iter,
                tol=self.tol,
                random_state=self.random_state,
            )
        limit = min(X.shape) - 1 if self.svd_solver == "arpack" else min(X.shape)
        return PCA(
            n_components=max(1, min(self.n_components, limit)),
            svd_solver=self.svd_solver,
            iterated_power=self.iterated_power,
            tol=self.tol,
            random_state=self.random_state,
        )
