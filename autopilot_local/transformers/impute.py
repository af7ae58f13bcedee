"""Imputation of raw cells read as numbers (Autopilot's ``RobustImputer`` and ``RobustMissingIndicator``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from autopilot_local.parsing import coerce_numeric
from autopilot_local.transformers._base import _checked_input, _columns_of, _RawCellsMixin

_STRATEGIES = ("median", "mean", "most_frequent", "constant")
_FEATURES = ("missing-only", "all")


def _numeric_matrix(estimator, X, *, reset: bool) -> np.ndarray:
    """Every column of the checked ``X`` through ``coerce_numeric``: money and percent strings become numbers, junk
    and inf become NaN. Columns already numeric are read in one step: a single row must not cost a Series each."""
    X = _checked_input(estimator, X, reset=reset)
    if isinstance(X, pd.DataFrame) and all(_is_number(dtype) for dtype in X.dtypes):
        values = X.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        values[~np.isfinite(values)] = np.nan
        return values
    return np.column_stack([coerce_numeric(column) for column in _columns_of(X)])


def _is_number(dtype) -> bool:
    return pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)


def _most_frequent(values: np.ndarray) -> float:
    uniques, counts = np.unique(values, return_counts=True)
    return float(uniques[np.argmax(counts)])


def _column_statistic(column: np.ndarray, strategy: str) -> float:
    present = column[~np.isnan(column)]
    if present.size == 0:
        return 0.0
    if strategy == "median":
        return float(np.median(present))
    if strategy == "mean":
        return float(np.mean(present))
    return _most_frequent(present)


class RobustImputer(_RawCellsMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Impute missing values after reading every cell as a number; mirrors Autopilot's ``RobustImputer``.

    Cells go through ``coerce_numeric`` first, so "$1,000.00" is 1000.0 and non-numeric junk counts as missing.
    ``strategy`` is "median", "mean", "most_frequent" or "constant" (with ``fill_values``, a scalar or one value per
    column; 0 when None). ``fill_values=np.nan`` with "constant" only turns non-finite cells into NaN, for learners
    that handle missing values themselves. A column missing throughout fit imputes to 0, so no column is dropped.
    """

    def __init__(self, strategy="median", fill_values=None):
        self.strategy = strategy
        self.fill_values = fill_values

    def fit(self, X, y=None):
        """Learn each column's fill value from ``X`` (or take it from ``fill_values``)."""
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, got {self.strategy!r}.")
        values = _numeric_matrix(self, X, reset=True)
        if self.strategy == "constant":
            self.statistics_ = self._constants(values.shape[1])
        else:
            self.statistics_ = np.array([_column_statistic(column, self.strategy) for column in values.T])
        return self

    def transform(self, X):
        """``X`` read as numbers, each missing cell replaced by its column's fill value."""
        check_is_fitted(self)
        values = _numeric_matrix(self, X, reset=False)
        rows, cols = np.nonzero(np.isnan(values))
        values[rows, cols] = self.statistics_[cols]
        return values

    def _constants(self, n_features: int) -> np.ndarray:
        fill = np.asarray(0.0 if self.fill_values is None else self.fill_values, dtype=np.float64)
        if fill.ndim == 0:
            return np.full(n_features, float(fill))
        if fill.shape != (n_features,):
            raise ValueError(f"fill_values has {fill.size} values but X has {n_features} columns.")
        return fill.copy()


class RobustMissingIndicator(_RawCellsMixin, TransformerMixin, BaseEstimator):
    """0/1 flags for cells that are not a finite number; mirrors Autopilot's ``RobustMissingIndicator``.

    ``features="missing-only"`` flags only the columns that had missing cells in fit (possibly none, giving an
    (n, 0) output); ``"all"`` flags every column.
    """

    def __init__(self, features="missing-only"):
        self.features = features

    def fit(self, X, y=None):
        """Learn which columns of ``X`` to flag."""
        if self.features not in _FEATURES:
            raise ValueError(f"features must be one of {_FEATURES}, got {self.features!r}.")
        missing = np.isnan(_numeric_matrix(self, X, reset=True))
        keep = missing.any(axis=0) if self.features == "missing-only" else np.ones(missing.shape[1], dtype=bool)
        self.features_ = np.flatnonzero(keep)
        return self

    def transform(self, X):
        """The 0/1 missing flags of the flagged columns of ``X``, as float64."""
        check_is_fitted(self)
        missing = np.isnan(_numeric_matrix(self, X, reset=False))
        return missing[:, self.features_].astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        """One ``missingindicator_<column>`` name per flagged column."""
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        return np.asarray([f"missingindicator_{names[i]}" for i in self.features_], dtype=object)
