"""Prediction power: how well each feature alone predicts the target, as Autopilot reports it (one model per feature).

Every feature gets one small model, scored on out-of-fold predictions of a K-fold split. The score is a skill score
in [0, 1]: 1 - SSE(model) / SSE(baseline), where the baseline predicts the training folds' mean (regression) or
class frequencies (classification, on one-hot labels: a Brier skill score). 0 = no better than the baseline,
1 = perfect. A regression target is scored on its ranks (quantiles in [0, 1]): power measures how well a feature
orders the target, so a handful of extreme values cannot hide a feature that is a copy of the target (leakage).

Models: numeric and datetime features -> a shallow decision tree (missing values routed by the tree); categorical
-> the smoothed per-category target mean; text -> tf-idf words and a ridge regression (the vocabulary is learnt
once on all rows of the sample: it sees no target, so it leaks nothing into the scores).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sklearn
from scipy.stats import rankdata
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.tree import DecisionTreeRegressor

from ._values import category_codes, datetime_days, numeric_values, text_values
from .column_types import CATEGORICAL, DATETIME, NUMERIC, TEXT, ColumnTypes

FOLDS = 3
TREE_MAX_DEPTH = 5
TREE_MIN_LEAF = 5
CATEGORY_PRIOR_WEIGHT = 1.0
TFIDF_MAX_FEATURES = 2000
RIDGE_ALPHA = 1.0
MIN_ROWS = 10
# A feature that alone predicts the target this well is suspect: it may be derived from the target.
LEAKAGE_THRESHOLD = 0.95


def prediction_power(
    frame: pd.DataFrame, targets: np.ndarray, classification: bool, types: ColumnTypes, seed: int
) -> dict[str, float]:
    """Score each feature column of ``frame`` (typed by ``types``) against ``targets``, in column order.

    ``targets``: floats for regression, class codes 0..k-1 for classification. Empty for fewer than MIN_ROWS rows.
    """
    if len(frame) < MIN_ROWS:
        return {}
    matrix = _one_hot(targets) if classification else (rankdata(targets) / len(targets)).reshape(-1, 1)
    folds = _folds(targets, classification, seed)
    baseline = _baseline_sse(matrix, folds)
    scores = {}
    # thousands of columns mean thousands of tiny fits, where scikit-learn's checks would take half the time
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        for column in frame.columns:
            kind = types.of(column)
            if kind in (NUMERIC, DATETIME, CATEGORICAL, TEXT):
                predicted = _PREDICTORS[kind](frame[column], matrix, folds, seed)
                scores[column] = _skill(matrix, predicted, baseline)
    return scores


def _one_hot(codes: np.ndarray) -> np.ndarray:
    matrix = np.zeros((len(codes), int(codes.max()) + 1))
    matrix[np.arange(len(codes)), codes] = 1.0
    return matrix


def _folds(targets: np.ndarray, classification: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    stratify = classification and np.bincount(targets).min() >= FOLDS
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=FOLDS, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(targets)), targets if stratify else None))


def _baseline_sse(matrix: np.ndarray, folds) -> float:
    return float(sum(((matrix[test] - matrix[train].mean(axis=0)) ** 2).sum() for train, test in folds))


def _skill(matrix: np.ndarray, predicted: np.ndarray, baseline: float) -> float:
    if baseline <= 0:
        return 0.0
    return float(np.clip(1.0 - ((matrix - predicted) ** 2).sum() / baseline, 0.0, 1.0))


def _tree_predictions(x: np.ndarray, matrix: np.ndarray, folds, seed: int) -> np.ndarray:
    predicted = np.empty_like(matrix)
    x = x.reshape(-1, 1)
    for train, test in folds:
        if np.isnan(x[train]).all():
            predicted[test] = matrix[train].mean(axis=0)
            continue
        tree = DecisionTreeRegressor(max_depth=TREE_MAX_DEPTH, min_samples_leaf=TREE_MIN_LEAF, random_state=seed)
        tree.fit(x[train], matrix[train])
        predicted[test] = tree.predict(x[test]).reshape(len(test), -1)
    return predicted


def _numeric(series: pd.Series, matrix, folds, seed) -> np.ndarray:
    return _tree_predictions(numeric_values(series), matrix, folds, seed)


def _datetime(series: pd.Series, matrix, folds, seed) -> np.ndarray:
    return _tree_predictions(datetime_days(series), matrix, folds, seed)


def _categorical(series: pd.Series, matrix, folds, seed) -> np.ndarray:
    codes = category_codes(series)
    n_codes = int(codes.max()) + 1
    predicted = np.empty_like(matrix)
    for train, test in folds:
        prior = matrix[train].mean(axis=0)
        sums = np.zeros((n_codes, matrix.shape[1]))
        np.add.at(sums, codes[train], matrix[train])
        counts = np.bincount(codes[train], minlength=n_codes)[:, None]
        means = (sums + CATEGORY_PRIOR_WEIGHT * prior) / (counts + CATEGORY_PRIOR_WEIGHT)
        predicted[test] = means[codes[test]]
    return predicted


def _text(series: pd.Series, matrix, folds, seed) -> np.ndarray:
    vectorizer = TfidfVectorizer(max_features=TFIDF_MAX_FEATURES, min_df=2, sublinear_tf=True, dtype=np.float64)
    try:
        words = vectorizer.fit_transform(text_values(series))
    except ValueError:
        return np.tile(matrix.mean(axis=0), (len(matrix), 1))
    predicted = np.empty_like(matrix)
    for train, test in folds:
        model = Ridge(alpha=RIDGE_ALPHA).fit(words[train], matrix[train])
        predicted[test] = model.predict(words[test]).reshape(len(test), -1)
    return predicted


_PREDICTORS = {NUMERIC: _numeric, DATETIME: _datetime, CATEGORICAL: _categorical, TEXT: _text}
