"""`LinearLearnerRegressor` and `LinearLearnerClassifier`: Autopilot's linear-learner algorithm, on numpy.

SageMaker's linear learner fits a linear model by mini-batch stochastic gradient descent (Adam by default) with
an L2 penalty ``wd``, an L1 penalty ``l1`` and a standardised label. Averaging the gradient over a mini-batch is
what keeps it stable on rows with extreme feature values, where per-sample SGD diverges; so this follows the
same recipe, with the same hyperparameter names, on dense or sparse inputs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


class _LinearLearner(BaseEstimator):
    def __init__(self, wd=1e-4, l1=0.0, learning_rate=1e-2, mini_batch_size=800, epochs=50,
                 early_stopping_patience=3, early_stopping_tolerance=1e-4, random_state=None):
        self.wd = wd
        self.l1 = l1
        self.learning_rate = learning_rate
        self.mini_batch_size = mini_batch_size
        self.epochs = epochs
        self.early_stopping_patience = early_stopping_patience
        self.early_stopping_tolerance = early_stopping_tolerance
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _fit_targets(self, X, targets: np.ndarray) -> None:
        """Fit weights so that ``_link(X @ W + b)`` approaches ``targets`` (n x k), by mini-batch Adam."""
        n, d = X.shape
        k = targets.shape[1]
        rng = np.random.default_rng(self.random_state)
        weights, bias = np.zeros((d, k)), np.zeros(k)
        moments = [np.zeros((d, k)), np.zeros((d, k)), np.zeros(k), np.zeros(k)]
        batch = max(1, min(int(self.mini_batch_size), n))
        best, stale, step = np.inf, 0, 0
        self.n_iter_ = 0
        for _ in range(int(self.epochs)):
            order = rng.permutation(n)
            for start in range(0, n, batch):
                rows = order[start:start + batch]
                residual = self._link(X[rows] @ weights + bias) - targets[rows]
                gradient_w = np.asarray(X[rows].T @ residual) / len(rows) + self.wd * weights
                gradient_b = residual.mean(axis=0)
                step += 1
                update, rate = self._adam(gradient_w, moments[0], moments[1], step)
                weights -= update
                bias -= self._adam(gradient_b, moments[2], moments[3], step)[0]
                if self.l1 > 0:  # proximal step, in Adam's per-weight step sizes: soft-threshold towards zero
                    weights = np.sign(weights) * np.maximum(np.abs(weights) - rate * self.l1, 0.0)
            self.n_iter_ += 1
            loss = self._loss(self._link(X @ weights + bias), targets)
            if not np.isfinite(loss):
                raise FloatingPointError(f"linear learner diverged (learning_rate={self.learning_rate:g})")
            if best == np.inf or loss < best - self.early_stopping_tolerance * max(1.0, best):
                best, stale = loss, 0
            else:
                stale += 1
                if stale >= self.early_stopping_patience:
                    break
        self.coef_, self.intercept_ = weights, bias

    def _adam(self, gradient, first, second, step):
        """Adam's update for ``gradient``, and the per-weight step size it used."""
        first *= _BETA1
        first += (1 - _BETA1) * gradient
        second *= _BETA2
        second += (1 - _BETA2) * gradient ** 2
        rate = self.learning_rate / (np.sqrt(second / (1 - _BETA2 ** step)) + _EPS)
        return rate * first / (1 - _BETA1 ** step), rate

    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=np.float64)
        return np.asarray(X @ self.coef_ + self.intercept_)


def _as_matrix(estimator, X, y):
    X, y = validate_data(estimator, X, y, accept_sparse="csr", dtype=np.float64, y_numeric=False)
    return (X.tocsr() if sp.issparse(X) else X), y


class LinearLearnerRegressor(RegressorMixin, _LinearLearner):
    """Linear regression by mini-batch Adam on a standardised label (linear learner's ``normalize_label``)."""

    _link = staticmethod(lambda z: z)

    @staticmethod
    def _loss(prediction, targets) -> float:
        return float(np.mean((prediction - targets) ** 2))

    def fit(self, X, y):
        """Learn the weights on ``X`` for the standardised ``y``, and the mean and scale to undo it."""
        X, y = _as_matrix(self, X, y)
        y = np.asarray(y, dtype=np.float64)
        self.label_mean_, self.label_scale_ = float(y.mean()), float(y.std()) or 1.0
        self._fit_targets(X, ((y - self.label_mean_) / self.label_scale_)[:, None])
        return self

    def predict(self, X) -> np.ndarray:
        """The predicted values for ``X``, on the label's own scale."""
        return self._decision(X)[:, 0] * self.label_scale_ + self.label_mean_


class LinearLearnerClassifier(ClassifierMixin, _LinearLearner):
    """Multinomial logistic regression by mini-batch Adam (linear learner's binary and multiclass classifiers)."""

    @staticmethod
    def _link(z):
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @staticmethod
    def _loss(prediction, targets) -> float:
        return float(-np.mean(np.sum(targets * np.log(np.clip(prediction, 1e-15, 1)), axis=1)))

    def fit(self, X, y):
        """Learn ``classes_`` and one weight vector per class from ``X`` and ``y``."""
        X, y = _as_matrix(self, X, y)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        codes = encoder.transform(y)
        self._fit_targets(X, np.eye(len(self.classes_))[codes])
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Each row's softmax probability of each class, in ``classes_`` order."""
        return self._link(self._decision(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]
