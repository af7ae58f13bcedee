"""Fitted models' shapes: `CandidateModel`, a finished candidate as one object that predicts from raw rows, and
the parts inside it that both engines fit (fold ensembles, classifiers of the classes present).

Every model here answers `predict_raw`: regression values, or one probability column per encoded class.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

from .errors import InputError
from .vocabulary import REGRESSION


class CandidateModel:
    """The feature transform of a dpp, the tuned algorithm and the label transform, chained.

    Like Autopilot's inference pipeline (feature-transform container, algorithm container, inverse label
    transform), but in one picklable object: ``predict`` takes rows as they come from the user's CSV.

    Parameters
    ----------
    name : str
        The candidate's name.
    feature_columns : list of str
        The columns the feature transform reads.
    feature_transform : object
        The dpp's fitted transform (or ENSEMBLING's `Views`): raw rows in, matrices out.
    label_transform : object
        The fitted label encoder, whose ``classes_`` are the labels of a classification problem.
    estimator : object
        Fitted model(s) with ``predict_raw``: a `FoldEnsemble` or ENSEMBLING's weighted ensemble.
    problem_type : str
        Regression, BinaryClassification or MulticlassClassification.
    input_columns : list of str, optional
        Every column of the training data but the target, in order (what a row sent to an endpoint holds); by
        default the feature columns.
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
        """The class labels, in the order of ``predict_proba``'s columns (empty for regression)."""
        return np.asarray(self.label_transform.classes_) if self.problem_type != REGRESSION else np.array([])

    def transform(self, rows: pd.DataFrame):
        """The feature transform's output for raw ``rows``; `InputError` names the feature columns they lack."""
        missing = [c for c in self.feature_columns if c not in rows.columns]
        if missing:
            raise InputError(f"the data lacks column(s) the model was trained on: {', '.join(map(repr, missing))}")
        return transform_through(self.feature_transform, columns_of(rows, self.feature_columns))

    def predict_raw(self, rows: pd.DataFrame) -> np.ndarray:
        """Regression values, or one probability column per class (in ``classes_`` order)."""
        return self.estimator.predict_raw(self.transform(rows))

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """Predicted values, or predicted labels, for raw ``rows``."""
        raw = self.predict_raw(rows)
        if self.problem_type == REGRESSION:
            return raw
        return self.classes_[np.argmax(raw, axis=1)]

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """Class probabilities for raw ``rows``, one column per class of ``classes_``."""
        if self.problem_type == REGRESSION:
            raise AttributeError("a regression model has no class probabilities")
        return self.predict_raw(rows)


def transform_through(step, X):
    """``step.transform(X)``, walking the fitted pipelines, feature unions and column transformers here rather than
    through scikit-learn's containers, whose checks and joblib dispatch cost milliseconds a call: an endpoint's
    single row spent most of its time there. Containers configured in ways this walk does not reproduce (weights,
    pandas output, columns not given by name) are left to scikit-learn."""
    if getattr(step, "_sklearn_output_config", {}).get("transform") not in (None, "default"):
        return step.transform(X)
    if isinstance(step, Pipeline):
        for _, inner in step.steps:
            if inner not in (None, "passthrough"):
                X = transform_through(inner, X)
        return X
    if isinstance(step, FeatureUnion) and step.transformer_weights is None:
        parts = [transform_through(inner, X) for _, inner in step.transformer_list if inner not in ("drop", None)]
        if any(inner == "passthrough" for _, inner in step.transformer_list) or not parts:
            return step.transform(X)
        return sp.hstack(parts).tocsr() if any(sp.issparse(part) for part in parts) else np.hstack(parts)
    if isinstance(step, ColumnTransformer) and isinstance(X, pd.DataFrame) and _by_name(step.transformers_):
        parts = [transform_through(inner, columns_of(X, columns)) for _, inner, columns in step.transformers_
                 if inner != "drop" and len(columns)]
        if step.sparse_output_:
            return sp.hstack(parts).tocsr()
        return np.hstack([part.toarray() if sp.issparse(part) else part for part in parts])
    return step.transform(X)


def columns_of(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``frame[names]``, taken by position: pandas' selection by name costs several times more on a small frame."""
    if frame.columns.tolist() == names:
        return frame
    positions = {name: i for i, name in enumerate(frame.columns)}
    if len(positions) < frame.shape[1] or not all(name in positions for name in names):
        return frame[names]  # repeated or absent names: pandas' own answer (and error)
    return frame.take([positions[name] for name in names], axis=1)


def _by_name(transformers: list) -> bool:
    """Every column list given by name and every part a fitted transformer (not "passthrough")."""
    return all(inner == "drop" or (not isinstance(inner, str) and isinstance(columns, list)
                                   and all(isinstance(column, str) for column in columns))
               for _, inner, columns in transformers)


def predict_raw(estimator, X, problem_type: str, n_classes: int) -> np.ndarray:
    """What a fitted estimator predicts for ``X``, in the engines' one shape.

    Parameters
    ----------
    estimator : object
        A fitted scikit-learn-style regressor (``predict``) or classifier (``predict_proba`` and ``classes_``).
    X : array-like or sparse matrix
        Transformed rows.
    problem_type : str
        Regression, BinaryClassification or MulticlassClassification.
    n_classes : int
        The number of label codes (0 for regression).

    Returns
    -------
    numpy.ndarray
        Regression values, or class probabilities with one column for each of the ``n_classes`` label codes (a
        class absent from the estimator's training rows gets probability 0).
    """
    if problem_type == REGRESSION:
        return np.asarray(estimator.predict(X), dtype=float)
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    if proba.shape[1] == n_classes:
        return proba
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(estimator.classes_, dtype=int)] = proba
    return full


class FoldEnsemble:
    """Models fitted on the folds of k-fold cross-validation, averaged: Autopilot's k-fold candidates predict this
    way, and so do ENSEMBLING's bagged models.

    Parameters
    ----------
    models : list
        The fitted fold models.
    problem_type : str
        Regression, BinaryClassification or MulticlassClassification.
    n_classes : int
        The number of label codes (0 for regression).
    """

    def __init__(self, models, problem_type: str, n_classes: int):
        self.models = models
        self.problem_type = problem_type
        self.n_classes = n_classes

    def predict_raw(self, X) -> np.ndarray:
        """The fold models' `predict_raw`, averaged."""
        return np.mean([predict_raw(m, X, self.problem_type, self.n_classes) for m in self.models], axis=0)


def in_fold_prediction(models: list, fit_rows: list, X, problem_type: str, n_classes: int) -> np.ndarray:
    """Each training row's prediction by the models fitted on it, averaged: what the train metrics score, the
    in-sample counterpart of the out-of-fold prediction.

    Parameters
    ----------
    models : list
        Fitted models, one per fold.
    fit_rows : list of numpy.ndarray
        The rows of ``X`` each model was fitted on.
    X : array-like or sparse matrix
        Every training row, transformed.
    problem_type, n_classes
        As for `predict_raw`.
    """
    total, count = None, np.zeros(X.shape[0])
    for model, rows in zip(models, fit_rows):
        part = predict_raw(model, X[rows], problem_type, n_classes)
        if total is None:
            total = np.zeros((X.shape[0],) + part.shape[1:])
        total[rows] += part
        count[rows] += 1
    return total / count.reshape((-1,) + (1,) * (total.ndim - 1))


class PresentClassesClassifier:
    """Fits a classifier on the classes present in its rows, coded 0..k-1.

    XGBoost refuses labels that are not exactly 0..k-1, and a fold of a problem with a rare class can lack it.
    ``classes_`` keeps the original codes, so `predict_raw` puts each probability back in its class's column.

    Parameters
    ----------
    estimator : object
        An unfitted XGBoost classifier (or any classifier with ``fit(X, y, eval_set=...)``).
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, eval_set=None, **fit_params):
        """Fit on the classes of ``y``; rows of ``eval_set`` whose class ``y`` lacks are left out of it."""
        self.classes_, codes = np.unique(y, return_inverse=True)
        if eval_set:
            X_eval, y_eval = eval_set[0]
            known = np.isin(y_eval, self.classes_)
            eval_set = [(X_eval[known], np.searchsorted(self.classes_, y_eval[known]))]
            if fit_params.get("sample_weight_eval_set") is not None:
                fit_params["sample_weight_eval_set"] = [fit_params["sample_weight_eval_set"][0][known]]
        if len(self.classes_) == 2 and str(self.estimator.get_params().get("objective", "")).startswith("multi:"):
            self.estimator.set_params(objective="binary:logistic")  # two of three classes: a binary problem here
        self.estimator.fit(X, codes, eval_set=eval_set, **fit_params)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of the present classes, in ``classes_`` order."""
        return self.estimator.predict_proba(X)
