"""Date and time features (Autopilot's ``DateTimeVectorizer``)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from autopilot_local.parsing import parse_datetimes
from autopilot_local.transformers._base import _raw_columns, _RawCellsMixin

DATETIME_FEATURES = ("WEEKDAY", "YEAR", "HOUR", "MINUTE", "SECOND", "MONTH", "WEEK_OF_YEAR", "EPOCH_DAYS")
"""Autopilot's default features, plus EPOCH_DAYS: a monotone time axis that trees and linear models both use."""

PERIODS = {"WEEKDAY": 7, "HOUR": 24, "MINUTE": 60, "SECOND": 60, "MONTH": 12, "WEEK_OF_YEAR": 53}
"""Periodic features and their periods; the others (YEAR, EPOCH_DAYS) are emitted as they are in cyclic mode."""

_MODES = ("cyclic", "ordinal")
_EPOCH = pd.Timestamp(1970, 1, 1)

_EXTRACTORS = {
    "WEEKDAY": lambda d: d.dt.day_of_week,
    "YEAR": lambda d: d.dt.year,
    "HOUR": lambda d: d.dt.hour,
    "MINUTE": lambda d: d.dt.minute,
    "SECOND": lambda d: d.dt.second,
    "MONTH": lambda d: d.dt.month,
    "WEEK_OF_YEAR": lambda d: d.dt.isocalendar().week,
    "EPOCH_DAYS": lambda d: (d - _EPOCH) / pd.Timedelta(days=1),
}


class DateTimeVectorizer(_RawCellsMixin, TransformerMixin, BaseEstimator):
    """Numeric features from date/time columns; mirrors Autopilot's ``DateTimeVectorizer``.

    Each column is parsed with ``parse_datetimes``; unparsable, out-of-range or missing cells take
    ``default_datetime``. The features in ``extract`` (default: all of ``DATETIME_FEATURES``) are emitted per
    column: raw numbers in "ordinal" mode; in "cyclic" mode sin and cos for periodic features and the raw number for
    the others. With ``ignore_constant_columns``, outputs that were constant in fit are dropped. Output is dense
    float64.
    """

    def __init__(
        self, extract=None, mode="cyclic", ignore_constant_columns=True, default_datetime=datetime(1970, 1, 1)
    ):
        self.extract = extract
        self.mode = mode
        self.ignore_constant_columns = ignore_constant_columns
        self.default_datetime = default_datetime

    def fit(self, X, y=None):
        """Learn which outputs vary in ``X`` (all are kept without ``ignore_constant_columns``)."""
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {self.mode!r}.")
        self.extract_ = self._features()
        values = self._expand(_raw_columns(self, X, reset=True))
        if self.ignore_constant_columns:
            self.kept_features_ = np.ptp(values, axis=0) > 0
        else:
            self.kept_features_ = np.ones(values.shape[1], dtype=bool)
        return self

    def transform(self, X):
        """The kept date features of ``X``, as dense float64."""
        check_is_fitted(self)
        return self._expand(_raw_columns(self, X, reset=False))[:, self.kept_features_]

    def get_feature_names_out(self, input_features=None):
        """One ``<column>_<feature>`` name per kept output (periodic features: ``_sin`` and ``_cos`` in cyclic mode)."""
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        out = [f"{name}_{label}" for name in names for label in self._output_labels()]
        return np.asarray(out, dtype=object)[self.kept_features_]

    def _features(self) -> tuple[str, ...]:
        features = DATETIME_FEATURES if self.extract is None else tuple(self.extract)
        unknown = sorted(set(features) - set(DATETIME_FEATURES))
        if unknown:
            raise ValueError(f"Unknown datetime features {unknown}; choose from {DATETIME_FEATURES}.")
        return features

    def _output_labels(self) -> list[str]:
        labels = []
        for feature in self.extract_:
            if self.mode == "cyclic" and feature in PERIODS:
                labels += [f"{feature.lower()}_sin", f"{feature.lower()}_cos"]
            else:
                labels.append(feature.lower())
        return labels

    def _expand(self, columns) -> np.ndarray:
        return np.hstack([self._column_features(column) for column in columns])

    def _column_features(self, column) -> np.ndarray:
        dates = parse_datetimes(column).fillna(pd.Timestamp(self.default_datetime))
        outputs = []
        for feature in self.extract_:
            value = pd.Series(_EXTRACTORS[feature](dates)).to_numpy(dtype=np.float64)
            if self.mode == "cyclic" and feature in PERIODS:
                angle = 2.0 * np.pi * value / PERIODS[feature]
                outputs += [np.sin(angle), np.cos(angle)]
            else:
                outputs.append(value)
        return np.column_stack(outputs) if outputs else np.empty((len(dates), 0))
