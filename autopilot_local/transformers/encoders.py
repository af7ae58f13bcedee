"""Categorical and target encoders (Autopilot's ``ThresholdOneHotEncoder``, ``NALabelEncoder``,
``RobustLabelEncoder``)."""

from __future__ import annotations

from collections import Counter
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from autopilot_local.parsing import coerce_numeric
from autopilot_local.transformers._base import _cell_strings, _raw_columns, _RawCellsMixin

UNSEEN_LABEL = "<unseen_label>"


class ThresholdOneHotEncoder(_RawCellsMixin, TransformerMixin, BaseEstimator):
    """One-hot encode the frequent values of each column; mirrors Autopilot's ``ThresholdOneHotEncoder``.

    Cells are read as strings. A value becomes a category when it occurs at least ``threshold`` times in fit
    (None: max(10, n_samples / 1000); a float below 1: that fraction of n_samples), keeping at most
    ``max_categories`` of the most frequent per column. Missing, rare and unseen values encode as all zeros.
    Output is a CSR float64 matrix.
    """

    def __init__(self, threshold=None, max_categories=100):
        self.threshold = threshold
        self.max_categories = max_categories

    def fit(self, X, y=None):
        """Learn each column's frequent values from ``X``."""
        columns = _raw_columns(self, X, reset=True)
        min_count = self._min_count(len(columns[0]))
        self.categories_ = [self._frequent_values(_cell_strings(column), min_count) for column in columns]
        return self

    def transform(self, X):
        """One-hot encode ``X`` against the learned categories, as a CSR matrix."""
        check_is_fitted(self)
        columns = _raw_columns(self, X, reset=False)
        n_rows = len(columns[0])
        rows, cols, offset = [], [], 0
        for column, categories in zip(columns, self.categories_):
            position = {value: i for i, value in enumerate(categories)}
            codes = np.array([position.get(cell, -1) for cell in _cell_strings(column)], dtype=np.int64)
            hit = np.flatnonzero(codes >= 0)
            rows.append(hit)
            cols.append(codes[hit] + offset)
            offset += len(categories)
        row, col = np.concatenate(rows), np.concatenate(cols)
        data = np.ones(row.size, dtype=np.float64)
        return sp.csr_matrix((data, (row, col)), shape=(n_rows, offset))

    def get_feature_names_out(self, input_features=None):
        """One ``<column>_<value>`` name per output column."""
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        out = [f"{name}_{value}" for name, categories in zip(names, self.categories_) for value in categories]
        return np.asarray(out, dtype=object)

    def _min_count(self, n_samples: int) -> float:
        if self.threshold is None:
            return max(10.0, n_samples / 1000)
        if isinstance(self.threshold, Real) and not isinstance(self.threshold, Integral) and self.threshold < 1:
            return self.threshold * n_samples
        return float(self.threshold)

    def _frequent_values(self, cells: np.ndarray, min_count: float) -> np.ndarray:
        counts = Counter(cell for cell in cells if cell is not None)
        ranked = sorted((item for item in counts.items() if item[1] >= min_count), key=lambda kv: (-kv[1], kv[0]))
        if self.max_categories is not None:
            ranked = ranked[: self.max_categories]
        return np.array(sorted(value for value, _ in ranked), dtype=object)


def _target_cells(y) -> np.ndarray:
    """A target as a 1-d object array; a single column (n, 1) is accepted and flattened."""
    cells = y.to_numpy(dtype=object) if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y, dtype=object)
    if cells.ndim == 2 and cells.shape[1] == 1:
        cells = cells.ravel()
    if cells.ndim != 1:
        raise ValueError(f"y should be 1-d (or a single column), got shape {cells.shape}.")
    return cells


class NALabelEncoder(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Regression target as float64, non-numbers as NaN; mirrors Autopilot's ``NALabelEncoder``.

    Reads the target through ``coerce_numeric`` ("$12.50" -> 12.5, "abc" -> NaN) so the training rows that carry no
    usable target can be found and dropped. Stateless; output keeps the input's shape, as
    ``TransformedTargetRegressor`` passes a column.
    """

    def fit(self, y):
        """Check that ``y`` is one column; nothing is learned."""
        _target_cells(y)
        return self

    def transform(self, y):
        """``y`` as float64 in its own shape, non-numbers as NaN."""
        shape = np.shape(y)
        return coerce_numeric(_target_cells(y)).reshape(shape)

    def inverse_transform(self, y):
        """``y`` as a float64 array."""
        return np.asarray(y, dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.target_tags.one_d_labels = True
        return tags


class RobustLabelEncoder(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Classification target to int64 codes, tolerant of unseen labels; mirrors Autopilot's ``RobustLabelEncoder``.

    Labels are compared as strings (1 and 1.0 -> "1"; the string "1.0" stays "1.0"). ``classes_`` is ``labels``
    in the given order when given, else the sorted distinct non-missing values of y. ``fill_label_value`` (added to
    the classes when not among them) receives unseen labels; else ``include_unseen_class`` maps them to
    ``len(classes_)``; else they raise. ``inverse_transform`` maps ``len(classes_)`` to "<unseen_label>".
    """

    def __init__(self, labels=None, fill_label_value=None, include_unseen_class=False):
        self.labels = labels
        self.fill_label_value = fill_label_value
        self.include_unseen_class = include_unseen_class

    def fit(self, y):
        """Learn ``classes_`` from ``labels``, or else from the distinct values of ``y``."""
        cells = _cell_strings(_target_cells(y))
        if self.labels is not None:
            classes = [str(label) for label in self.labels]
            if len(set(classes)) != len(classes):
                raise ValueError(f"labels has duplicates: {self.labels!r}.")
        else:
            classes = sorted({cell for cell in cells if cell is not None})
        if self.fill_label_value is not None and str(self.fill_label_value) not in classes:
            classes.append(str(self.fill_label_value))
        self.classes_ = np.array(classes, dtype=str)
        return self

    def fit_transform(self, y):
        """Fit on ``y``, then return its codes."""
        return self.fit(y).transform(y)

    def transform(self, y):
        """The int64 codes of ``y``; unseen labels get the fill label's code or ``len(classes_)``, or raise."""
        check_is_fitted(self)
        cells = _cell_strings(_target_cells(y))
        position = {label: i for i, label in enumerate(self.classes_.tolist())}
        codes = np.array([position.get(cell, -1) for cell in cells], dtype=np.int64)
        unseen = codes < 0
        if unseen.any():
            codes[unseen] = self._unseen_code(cells[unseen])
        return codes

    def inverse_transform(self, y):
        """The labels of class codes ``y``; code ``len(classes_)`` gives "<unseen_label>"."""
        check_is_fitted(self)
        codes = np.asarray(y).ravel()
        if codes.size and (codes.dtype.kind not in "iuf" or not np.all(np.mod(codes, 1) == 0)):
            raise ValueError("inverse_transform expects integer class codes.")
        codes = codes.astype(np.int64)
        if codes.size and (codes.min() < 0 or codes.max() > len(self.classes_)):
            raise ValueError(f"class codes must lie in [0, {len(self.classes_)}].")
        return np.append(self.classes_, UNSEEN_LABEL)[codes]

    def _unseen_code(self, cells: np.ndarray) -> int:
        if self.fill_label_value is not None:
            return self.classes_.tolist().index(str(self.fill_label_value))
        if self.include_unseen_class:
            return len(self.classes_)
        shown = sorted({"<missing>" if cell is None else cell for cell in cells})[:5]
        raise ValueError(f"y contains labels not seen in fit: {', '.join(shown)}.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.one_d_labels = True
        return tags
