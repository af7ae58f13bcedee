"""The compiled TreeSHAP: Shapley values by definition, the libraries' own TreeSHAP, and their predictions."""

from __future__ import annotations

import itertools
import math

import lightgbm
import numpy as np
import pytest
import xgboost
from scipy import sparse
from sklearn.ensemble import ExtraTreesClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeRegressor

from autopilot_local.reports import treeshap


def _data(n: int = 400, d: int = 5, seed: int = 0, missing: float = 0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 3] = np.where(rng.random(n) < 0.3, 0.0, X[:, 3])  # zeros: LightGBM's zero-as-missing splits
    X[rng.random((n, d)) < missing] = np.nan
    y = 2 * np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) ** 2 + np.isnan(X[:, 2]) + rng.normal(0, 0.1, n)
    return X, y


def _models():
    X, y = _data()
    binary = (y > np.median(y)).astype(int)
    return {
        "xgboost": (xgboost.XGBRegressor(n_estimators=4, max_depth=3, random_state=0).fit(X, y), X),
        "xgboost-binary": (xgboost.XGBClassifier(n_estimators=4, max_depth=3, random_state=0).fit(X, binary), X),
        "lightgbm": (lightgbm.LGBMRegressor(n_estimators=4, num_leaves=8, verbose=-1).fit(X, y), X),
        "lightgbm-zero-missing": (lightgbm.LGBMRegressor(n_estimators=4, num_leaves=8, zero_as_missing=True,
                                                         verbose=-1).fit(X, y), X),
        "lightgbm-no-missing": (lightgbm.LGBMRegressor(n_estimators=4, num_leaves=8, use_missing=False,
                                                       verbose=-1).fit(X, y), X),
        "randomforest": (RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0).fit(X, y), X),
        "extra-trees-binary": (ExtraTreesClassifier(n_estimators=3, max_depth=4, random_state=0).fit(X, binary), X),
    }


MODELS = _models()


def _expected(forest: treeshap.Forest, tree: int, x: np.ndarray, known: set) -> float:
    """E[tree(X) | X_S = x_S] as path-dependent TreeSHAP defines it: an unknown feature's split follows the
    training cover of each side."""
    def walk(node):
        feature = forest.feature[node]
        if feature < 0:
            return forest.value[node]
        left, right = forest.left[node], forest.right[node]
        if feature in known:
            goes = treeshap._goes_left(x[feature], forest.threshold[node], forest.default_left[node],
                                       forest.missing[node], forest.strict)
            return walk(left if goes else right)
        return (forest.cover[left] * walk(left) + forest.cover[right] * walk(right)) / forest.cover[node]
    return walk(forest.starts[tree])


def _shapley(forest: treeshap.Forest, x: np.ndarray) -> np.ndarray:
    """Shapley values by their definition: every coalition of the features, weighted."""
    d = len(x)
    values = np.zeros(d)
    for tree in range(len(forest.starts) - 1):
        for i in range(d):
            others = [j for j in range(d) if j != i]
            for size in range(d):
                weight = math.factorial(size) * math.factorial(d - size - 1) / math.factorial(d)
                for coalition in itertools.combinations(others, size):
                    known = set(coalition)
                    values[i] += weight * (_expected(forest, tree, x, known | {i}) - _expected(forest, tree, x, known))
    return values


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_values_are_the_shapley_values_of_the_path_dependent_game(name):
    model, X = MODELS[name]
    forest = treeshap.forest_of(model)
    rows = X[:12]
    rows = rows.astype(np.float32).astype(np.float64) if forest.float32 else rows  # what the library compares
    values, base = treeshap.shap_values(forest, rows, np.arange(X.shape[1]), X.shape[1])
    for row, x in zip(values, rows):
        np.testing.assert_allclose(row, _shapley(forest, x), rtol=1e-9, atol=1e-12)
    empty = sum(_expected(forest, t, rows[0], set()) for t in range(len(forest.starts) - 1)) + forest.offset
    assert base == pytest.approx(empty, rel=1e-12)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_values_add_up_to_the_libraries_own_prediction(name):
    model, X = MODELS[name]
    forest = treeshap.forest_of(model)
    values, base = treeshap.shap_values(forest, X, np.arange(X.shape[1]), X.shape[1])
    explained = values.sum(axis=1) + base
    np.testing.assert_allclose(explained, treeshap.predict(forest, X), rtol=0, atol=1e-9)  # both in float64
    if name.startswith("xgboost"):
        own = model.predict(X, output_margin=True)
        np.testing.assert_allclose(explained, own, rtol=0, atol=1e-5)  # XGBoost adds its trees in float32
    elif name.startswith("lightgbm"):
        np.testing.assert_allclose(explained, model.predict(X, raw_score=True), rtol=0, atol=1e-9)
    elif name.endswith("binary"):
        np.testing.assert_allclose(explained, model.predict_proba(X)[:, 1], rtol=0, atol=1e-9)
    else:
        np.testing.assert_allclose(explained, model.predict(X), rtol=0, atol=1e-9)


def test_it_equals_xgboosts_own_treeshap_on_sparse_rows_where_unstored_means_missing():
    rng = np.random.default_rng(1)
    X = sparse.random(600, 30, density=0.15, format="csr", random_state=1, data_rvs=rng.standard_normal)
    y = X[:, 0].toarray().ravel() * 3 + (X[:, 1].toarray().ravel() != 0) + rng.normal(0, 0.1, 600)
    model = xgboost.XGBRegressor(n_estimators=60, max_depth=6, random_state=0).fit(X, y)
    values, base = treeshap.shap_values(treeshap.forest_of(model), X, np.arange(30), 30)
    own = model.get_booster().predict(xgboost.DMatrix(X), pred_contribs=True)
    np.testing.assert_allclose(values, own[:, :-1], rtol=0, atol=2e-5)  # XGBoost's are float32
    assert base == pytest.approx(float(own[0, -1]), abs=2e-5)


def test_deep_lightgbm_paths_beyond_the_table_equal_lightgbms_own_treeshap():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 30))
    y = np.prod(np.sign(X[:, :16]), axis=1) + X @ rng.normal(size=30) + rng.normal(0, 0.1, 3000)
    model = lightgbm.LGBMRegressor(n_estimators=5, num_leaves=1000, min_child_samples=2, max_depth=-1,
                                   verbose=-1).fit(X, y)
    forest = treeshap.forest_of(model)
    depth = _deepest_distinct(forest)
    assert depth > treeshap.TABLE_DEPTH  # paths too deep for the per-pattern table are computed row by row
    values, base = treeshap.shap_values(forest, X[:300], np.arange(30), 30)
    own = model.predict(X[:300], pred_contrib=True)
    np.testing.assert_allclose(values, own[:, :-1], rtol=1e-7, atol=1e-9)
    assert base == pytest.approx(own[0, -1], abs=1e-9)


def _deepest_distinct(forest: treeshap.Forest) -> int:
    """The most distinct features on one root-to-leaf path."""
    deepest = 0
    for tree in range(len(forest.starts) - 1):
        stack = [(forest.starts[tree], frozenset())]
        while stack:
            node, seen = stack.pop()
            if forest.feature[node] < 0:
                deepest = max(deepest, len(seen))
                continue
            seen = seen | {int(forest.feature[node])}
            stack += [(forest.left[node], seen), (forest.right[node], seen)]
    return deepest


def test_columns_add_into_their_output_columns():
    model, X = MODELS["lightgbm"]
    forest = treeshap.forest_of(model)
    separate, base = treeshap.shap_values(forest, X, np.arange(5), 5)
    grouped, same_base = treeshap.shap_values(forest, X, np.array([0, 0, 1, 1, 1]), 2)
    np.testing.assert_allclose(grouped, np.c_[separate[:, :2].sum(axis=1), separate[:, 2:].sum(axis=1)],
                               atol=1e-12)
    assert same_base == base


def test_models_it_does_not_read_are_refused():
    X, y = _data(missing=0)
    assert treeshap.forest_of(lightgbm.LGBMRegressor(n_estimators=3, linear_tree=True, verbose=-1).fit(X, y)) is None
    three = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    assert treeshap.forest_of(xgboost.XGBClassifier(n_estimators=3).fit(X, three)) is None
    assert treeshap.forest_of(xgboost.XGBRegressor(n_estimators=3, booster="gblinear").fit(X, y)) is None
    x = np.arange(200.0).reshape(-1, 1)
    chain = DecisionTreeRegressor(random_state=0).fit(x, 2.0 ** np.arange(200))  # each split peels off the top rows
    assert chain.get_depth() > treeshap.MAX_PATH_FEATURES  # deeper than a row's bit pattern holds
    assert treeshap.forest_of(chain) is None
