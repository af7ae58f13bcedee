"""Taming heavy-tailed numeric columns (Autopilot's ``QuantileExtremeValuesTransformer`` and
``LogExtremeValuesTransformer``)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data


def _is_extreme(column: np.ndarray, threshold_std: float) -> bool:
    """Whether some values lie both beyond the 2nd/98th percentiles and beyond mean +/- threshold_std * std.

    Missing values (NaN, which XGBoost pipelines keep) are left out of the statistics.
    """
    values = column[~np.isnan(column)]
    if values.size == 0:
        return False
    low, high = np.percentile(values, [2, 98])
    outside_percentiles = (values < low) | (values > high)
    outside_std = np.abs(values - values.mean()) > threshold_std * values.std()
    return bool((outside_percentiles & outside_std).any())


class _ExtremeValuesTransformer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Finds the extreme columns in fit and rewrites only those; subclasses say how."""

    def __init__(self, threshold_std=4.0):
        self.threshold_std = threshold_std

    def fit(self, X, y=None):
        """Learn which columns of ``X`` are extreme, and what their rewrite needs."""
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=True)
        extreme = [_is_extreme(column, self.threshold_std) for column in X.T]
        self.extreme_features_ = np.flatnonzero(np.array(extreme, dtype=bool))
        self._fit_extreme(X[:, self.extreme_features_])
        return self

    def transform(self, X):
        """A float64 copy of ``X`` with the extreme columns rewritten."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=False, copy=True)
        X = X.astype(np.float64, copy=False)
        if self.extreme_features_.size:
            X[:, self.extreme_features_] = self._transform_extreme(X[:, self.extreme_features_])
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _fit_extreme(self, X: np.ndarray) -> None:
        """Learn whatever the rewrite of the extreme columns needs."""

    def _transform_extreme(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class QuantileExtremeValuesTransformer(_ExtremeValuesTransformer):
    """Map extreme columns to uniform [0, 1] quantiles; mirrors Autopilot's ``QuantileExtremeValuesTransformer``.

    A column is extreme when some values lie beyond both its 2nd/98th percentiles and mean +/- ``threshold_std``
    standard deviations; other columns pass through unchanged. Input is numeric; NaN is ignored in fit and kept.
    """

    def _fit_extreme(self, X: np.ndarray) -> None:
        self.quantile_transformer_ = None
        if X.shape[1]:
            quantiles = QuantileTransformer(
                n_quantiles=min(1000, X.shape[0]), output_distribution="uniform", random_state=0
            )
            self.quantile_transformer_ = quantiles.fit(X)

    def _transform_extreme(self, X: np.ndarray) -> np.ndarray:
        return self.quantile_transformer_.transform(X)


class LogExtremeValuesTransformer(_ExtremeValuesTransformer):
    """Apply sign(x) * log1p(|x|) to extreme columns; mirrors Autopilot's ``LogExtremeValuesTransformer``.

    Uses the same extreme-column rule as ``QuantileExtremeValuesTransformer``; other columns pass through, and NaN
    stays NaN.
    """

    def _transform_extreme(self, X: np.ndarray) -> np.ndarray:
        return np.sign(X) * np.log1p(np.abs(X))
