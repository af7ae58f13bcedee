"""`CandidateModel`: a finished candidate as one object that predicts from raw rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import REGRESSION
from .errors import InputError


class CandidateModel:
    """The feature transform of a dpp, the tuned algorithm and the label transform, chained.

    Like Autopilot's inference pipeline (feature-transform container, algorithm container, inverse label
    transform), but in one picklable object: ``predict`` takes rows as they come from the user's CSV.
    """

    def __init__(self, name, feature_columns, feature_transform, label_transform, estimator, problem_type,
                 input_columns=None):
        self.name = name
        self.feature_columns = list(feature_columns)
        # every column of the training data but the target, in order: what a row sent to an endpoint holds
        self.input_columns = list(input_columns or feature_columns)
        self.feature_transform = feature_transform
        self.label_transform = label_transform
        self.estimator = estimator
        self.problem_type = problem_type

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.label_transform.classes_) if self.problem_type != REGRESSION else np.array([])

    def transform(self, rows: pd.DataFrame):
        missing = [c for c in self.feature_columns if c not in rows.columns]
        if missing:
            raise InputError(f"the data lacks column(s) the model was trained on: {', '.join(map(repr, missing))}")
        return self.feature_transform.transform(rows[self.feature_columns])

    def predict_raw(self, rows: pd.DataFrame) -> np.ndarray:
        """Regression values, or one probability column per class (in ``classes_`` order)."""
        return self.estimator.predict_raw(self.transform(rows))

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        raw = self.predict_raw(rows)
        if self.problem_type == REGRESSION:
            return raw
        return self.classes_[np.argmax(raw, axis=1)]

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        if self.problem_type == REGRESSION:
            raise AttributeError("a regression model has no class probabilities")
        return self.predict_raw(rows)
