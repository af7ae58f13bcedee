"""The linear-learner algorithm: scikit-learn's contract, and fits that a linear model should get right."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from autopilot_local.tuning.linear_learner import LinearLearnerClassifier, LinearLearnerRegressor


@parametrize_with_checks([LinearLearnerRegressor(random_state=0), LinearLearnerClassifier(random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_regressor_recovers_coefficients_on_any_label_scale():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 5))
    coef = np.array([3.0, -2.0, 0.0, 0.5, 1.0])
    for scale in (1.0, 1e4):  # the label is standardised inside: the step size means the same at any scale
        y = scale * (X @ coef + 7 + rng.normal(0, 0.1, 4000))
        model = LinearLearnerRegressor(wd=0.0, learning_rate=0.05, epochs=60, random_state=0).fit(X, y)
        np.testing.assert_allclose(model.coef_[:, 0] * model.label_scale_ / scale, coef, atol=0.05)
        assert abs(model.predict(X[:1])[0] / scale - (X[0] @ coef + 7)) < 0.3


def test_extreme_rows_do_not_diverge():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 40))
    X[:5] *= 80  # rows whose squared norm makes per-sample SGD with a 0.01 step blow up
    y = X[:, 0] + rng.normal(size=3000)
    prediction = LinearLearnerRegressor(random_state=0).fit(X, y).predict(X)
    assert np.all(np.isfinite(prediction)) and np.mean((prediction - y) ** 2) < 2.0


def test_l1_shrinks_useless_weights_on_sparse_input():
    rng = np.random.default_rng(2)
    X = sp.random(3000, 50, density=0.2, random_state=2, format="csr")
    y = 4 * X[:, 0].toarray().ravel() + rng.normal(0, 0.5, 3000)
    plain = LinearLearnerRegressor(wd=0.0, l1=0.0, learning_rate=0.05, random_state=0).fit(X, y)
    lasso = LinearLearnerRegressor(wd=0.0, l1=0.05, learning_rate=0.05, random_state=0).fit(X, y)
    assert np.abs(lasso.coef_[1:, 0]).sum() < 0.3 * np.abs(plain.coef_[1:, 0]).sum()
    assert np.sum(lasso.coef_[1:, 0] == 0) > 10 and lasso.coef_[0, 0] > 0


def test_classifier_separates_three_classes():
    rng = np.random.default_rng(3)
    centers = np.array([[0, 0], [4, 0], [0, 4]])
    labels = rng.integers(0, 3, 1500)
    X = centers[labels] + rng.normal(size=(1500, 2))
    model = LinearLearnerClassifier(random_state=0).fit(X, np.array(["a", "b", "c"])[labels])
    assert (model.predict(X) == np.array(["a", "b", "c"])[labels]).mean() > 0.9
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
