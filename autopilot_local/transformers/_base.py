"""Input handling shared by the transformers that read raw cells (strings, numbers, dates) column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data


class _RawCellsMixin:
    """Declares that the transformer accepts raw cells: strings and missing values included."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


def _raw_columns(estimator, X, *, reset: bool) -> list[pd.Series]:
    """Check X's shape and feature names, then return its columns as Series of raw cells.

    DataFrame columns keep their dtype (strings, categories, datetimes) so the parsers see them as they are; arrays
    and lists go through ``check_array`` without any dtype conversion.
    """
    return _columns_of(_checked_input(estimator, X, reset=reset))


def _checked_input(estimator, X, *, reset: bool) -> pd.DataFrame | np.ndarray:
    """X with its shape and feature names checked: a DataFrame as it is, anything else as a 2-D array."""
    if isinstance(X, pd.DataFrame):
        known = getattr(estimator, "feature_names_in_", None)
        # the names the estimator was fitted on, in order: what validate_data would check, at a fraction of its
        # cost (a one-row request paid more for the check than for the transform)
        if reset or known is None or X.columns.tolist() != known.tolist():
            validate_data(estimator, X, skip_check_array=True, reset=reset)
        _check_not_empty(X.shape)
        return X
    return validate_data(estimator, X, dtype=None, ensure_all_finite=False, reset=reset)


def _columns_of(X: pd.DataFrame | np.ndarray) -> list[pd.Series]:
    if isinstance(X, np.ndarray):
        return [_series(X[:, j]) for j in range(X.shape[1])]
    default_index = isinstance(X.index, pd.RangeIndex) and X.index.start == 0 and X.index.step == 1
    return [column if default_index else column.reset_index(drop=True) for _, column in X.items()]


def _series(column: np.ndarray) -> pd.Series:
    dtype = object if column.dtype.kind in "OUS" else None
    return pd.Series(column, dtype=dtype)


def _check_not_empty(shape: tuple[int, int]) -> None:
    if shape[0] < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required.")
    if shape[1] < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is required.")


def _cell_strings(values, missing=None) -> np.ndarray:
    """Each cell as a string; missing cells become ``missing``.

    Whole numbers read the same whether the column came in as int or float (1 and 1.0 -> "1"): a column that
    held NaN when the model was trained is float, the same column without NaN at prediction time is int.
    Strings are kept as written ("1.0" stays "1.0").
    """
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy(dtype=object)
    cells = np.asarray(values, dtype=object).ravel()
    absent = pd.isna(cells)
    return np.array([missing if gone else _cell_string(cell) for cell, gone in zip(cells, absent)], dtype=object)


def _cell_string(cell) -> str:
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        return str(int(cell))
    return str(cell)
