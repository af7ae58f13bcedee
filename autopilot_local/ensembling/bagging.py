"""k-fold bagging: a family's models fitted on the folds, their out-of-fold predictions, their average.

Each row's out-of-fold prediction comes from the model that did not see it, so scores, stacking features and
ensemble weights computed from them are honest estimates. Forests instead fit once on every row and predict each
row from the trees whose bootstrap sample left it out.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..model import FoldEnsemble, PresentClassesClassifier, in_fold_prediction, predict_raw
from ..vocabulary import REGRESSION
from .families import GBM_PATIENCE, Family

DENSE_LIMIT = 2**30  # bytes: forests need dense rows; a larger matrix is refused rather than swapped


def fit_bagged(family: Family, config: dict, X, y: np.ndarray, sample_weight: np.ndarray | None, folds: list,
               problem_type: str, n_classes: int, seed: int) -> tuple[FoldEnsemble, np.ndarray, np.ndarray]:
    """The bagged model (its predictions average the fold models), its out-of-fold predictions, and its in-fold
    ones (each row's by the models fitted on it, what train metrics score)."""
    if family.out_of_bag:
        return _fit_forest(family, config, X, y, sample_weight, problem_type, n_classes, seed)
    models, oof = [], None
    for fit_rows, held_rows in folds:
        estimator = family.build(problem_type, n_classes, config, seed)
        if problem_type != REGRESSION and family.name == "xgboost":
            estimator = PresentClassesClassifier(estimator)  # a fold may lack a rare class; XGBoost needs 0..k-1
        weights = sample_weight[fit_rows] if sample_weight is not None else None
        held = (X[held_rows], y[held_rows], sample_weight[held_rows] if sample_weight is not None else None)
        _fit(family, estimator, X[fit_rows], y[fit_rows], weights, held)
        prediction = predict_raw(estimator, held[0], problem_type, n_classes)
        if oof is None:
            oof = np.zeros((len(y),) + prediction.shape[1:])
        oof[held_rows] = prediction
        models.append(estimator)
    inside = in_fold_prediction(models, [fit_rows for fit_rows, _ in folds], X, problem_type, n_classes)
    return FoldEnsemble(models, problem_type, n_classes), oof, inside


def _fit(family: Family, estimator, X, y, weights, held) -> None:
    """Fit one fold's model; gradient boosting stops when the held-out fold stops improving."""
    if not family.early_stopping:
        estimator.fit(X, y, sample_weight=weights)
        return
    X_held, y_held, w_held = held
    if family.name == "lightgbm":
        import lightgbm

        estimator.fit(X, y, sample_weight=weights, eval_set=[(X_held, y_held)],
                      eval_sample_weight=[w_held] if w_held is not None else None,
                      callbacks=[lightgbm.early_stopping(GBM_PATIENCE, verbose=False)])
    elif family.name == "xgboost":
        estimator.fit(X, y, sample_weight=weights, eval_set=[(X_held, y_held)],
                      sample_weight_eval_set=[w_held] if w_held is not None else None, verbose=False)
    else:  # catboost
        estimator.fit(X, y, sample_weight=weights, eval_set=(X_held, y_held))


def _fit_forest(family, config, X, y, sample_weight, problem_type, n_classes, seed):
    X = _dense(X)
    estimator = family.build(problem_type, n_classes, config, seed)
    estimator.fit(X, y, sample_weight=sample_weight)
    if problem_type == REGRESSION:
        oof = np.asarray(estimator.oob_prediction_, dtype=float)
    else:
        oof = np.zeros((len(y), n_classes))
        oof[:, np.asarray(estimator.classes_, dtype=int)] = estimator.oob_decision_function_
    never_left_out = ~np.isfinite(oof).all(axis=tuple(range(1, oof.ndim)))
    if never_left_out.any():  # in every bootstrap sample: the average of the other rows' predictions stands in
        oof[never_left_out] = np.nanmean(oof[~never_left_out], axis=0)
    bagged = FoldEnsemble([_DenseInput(estimator)], problem_type, n_classes)
    return bagged, oof, bagged.predict_raw(X)


def _dense(X):
    if not sparse.issparse(X):
        return np.asarray(X, dtype=np.float32)
    if X.shape[0] * X.shape[1] * 4 > DENSE_LIMIT:
        raise MemoryError(f"a forest needs dense rows and {X.shape[0]} x {X.shape[1]} would take over 1 GiB")
    return X.astype(np.float32).toarray()


class _DenseInput:
    """A forest that takes sparse rows, as the other models of its view do."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.classes_ = getattr(estimator, "classes_", None)

    def predict(self, X):
        return self.estimator.predict(_dense(X))

    def predict_proba(self, X):
        return self.estimator.predict_proba(_dense(X))
