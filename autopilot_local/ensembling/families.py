"""The model families of Autopilot's ENSEMBLING mode, each with a small portfolio of strong configurations.

Autopilot's ensembling runs AutoGluon; its algorithm names map onto these estimators:

- ``lightgbm``, ``xgboost``, ``catboost``: gradient-boosted trees, early-stopped on the held-out fold;
- ``randomforest``, ``extra-trees``: scikit-learn forests, fitted once on every row, their out-of-bag
  predictions standing in for out-of-fold ones (as AutoGluon does: five times cheaper than five forests);
- ``linear-learner``: ridge regression or L2 logistic regression;
- ``nn-torch`` and ``fastai``: AutoGluon's two neural networks, played here by scikit-learn's MLP with their
  layer sizes (no PyTorch dependency); say so when comparing with a cloud job.

The portfolios are short lists of hand-picked configurations, cheapest and most reliable first, in the spirit of
AutoGluon's zero-shot portfolio: no search, every configuration a known good point.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from ..vocabulary import REGRESSION

TREES, DENSE = "trees", "dense"  # the two feature views (see `views.py`)
GBM_ROUNDS = 5000  # a cap: boosting stops when the held-out fold stops improving
GBM_PATIENCE = 50


@dataclass(frozen=True)
class Family:
    """One algorithm of the ENSEMBLING mode: how to build it, on which view, with which configurations."""

    name: str  # Autopilot's algorithm name
    model_name: str  # AutoGluon's name for its models, which Autopilot's leaderboard shows ("LightGBM")
    view: str  # TREES or DENSE
    portfolio: tuple[dict, ...]
    module: str  # the package it needs
    extra: str = ""  # the optional extra that installs it, where it is not a dependency
    out_of_bag: bool = False  # one fit on all rows, out-of-bag predictions as out-of-fold ones
    early_stopping: bool = False

    def available(self) -> bool:
        """Whether the family's package is installed."""
        return importlib.util.find_spec(self.module) is not None

    def build(self, problem_type: str, n_classes: int, config: dict, seed: int):
        """An unfitted, single-threaded estimator (the parallelism is across models)."""
        return _BUILDERS[self.name](problem_type, n_classes, config, seed)


LIGHTGBM = Family("lightgbm", "LightGBM", TREES, (
    {"learning_rate": 0.05},
    {"learning_rate": 0.05, "extra_trees": True},
    {"learning_rate": 0.03, "num_leaves": 128, "feature_fraction": 0.9, "min_data_in_leaf": 3},
    {"learning_rate": 0.02, "num_leaves": 48, "feature_fraction": 0.6, "min_data_in_leaf": 10, "lambda_l2": 1.0},
    {"learning_rate": 0.01, "num_leaves": 64, "feature_fraction": 0.5, "min_data_in_leaf": 5, "lambda_l2": 2.0},
    {"learning_rate": 0.03, "num_leaves": 16, "feature_fraction": 0.8, "extra_trees": True},
), "lightgbm", early_stopping=True)
XGBOOST = Family("xgboost", "XGBoost", TREES, (
    {"eta": 0.1, "max_depth": 6},
    {"eta": 0.05, "max_depth": 8, "min_child_weight": 3.0, "subsample": 0.8, "colsample_bytree": 0.6},
    {"eta": 0.02, "max_depth": 8, "min_child_weight": 5.0, "subsample": 0.7, "colsample_bytree": 0.4},
), "xgboost", early_stopping=True)
CATBOOST = Family("catboost", "CatBoost", TREES, (
    {"learning_rate": 0.05, "depth": 6},
    {"learning_rate": 0.05, "depth": 8, "l2_leaf_reg": 5.0},
), "catboost", extra="catboost", early_stopping=True)
RANDOM_FOREST = Family("randomforest", "RandomForest", TREES, (
    {"n_estimators": 200, "max_features": 0.5},
    {"n_estimators": 300, "max_features": 0.25},
), "sklearn", out_of_bag=True)
EXTRA_TREES = Family("extra-trees", "ExtraTrees", TREES, (
    {"n_estimators": 200, "max_features": 0.5},
    {"n_estimators": 300, "max_features": 1.0},
), "sklearn", out_of_bag=True)
LINEAR = Family("linear-learner", "LinearModel", DENSE, (
    {"C": 1.0},
), "sklearn")
NN_TORCH = Family("nn-torch", "NeuralNetTorch", DENSE, (
    {"layers": (256, 128), "learning_rate": 1e-3, "wd": 1e-4, "batch_size": 256},
    {"layers": (512, 256, 128), "learning_rate": 5e-4, "wd": 1e-3, "batch_size": 128},
), "sklearn")
FASTAI = Family("fastai", "NeuralNetFastAI", DENSE, (
    {"layers": (200, 100), "learning_rate": 3e-3, "wd": 1e-3, "batch_size": 256},
), "sklearn")

FAMILIES = {f.name: f for f in (LIGHTGBM, XGBOOST, CATBOOST, RANDOM_FOREST, EXTRA_TREES, LINEAR, NN_TORCH, FASTAI)}
# The order a job trains (family, configuration) in: most accuracy per second first, so that a short budget still
# gets a good, varied ensemble (measured on the Airbnb listings: LightGBM and extremely randomized trees are
# quick and strong, XGBoost on wide sparse tf-idf several times slower, large-leaf LightGBM slowest). The second
# half (slow learning rates, bigger forests and networks) is what a longer budget adds.
PRIORITY = (
    ("lightgbm", 0), ("lightgbm", 1), ("extra-trees", 0), ("linear-learner", 0), ("randomforest", 0),
    ("catboost", 0), ("nn-torch", 0), ("xgboost", 0), ("fastai", 0), ("lightgbm", 3), ("xgboost", 1),
    ("catboost", 1), ("lightgbm", 2),
    ("xgboost", 2), ("lightgbm", 4), ("extra-trees", 1), ("nn-torch", 1), ("lightgbm", 5), ("randomforest", 1),
)


def _lightgbm(problem_type, n_classes, config, seed):
    import lightgbm

    params = dict(n_estimators=GBM_ROUNDS, learning_rate=config["learning_rate"],
                  num_leaves=config.get("num_leaves", 31), min_child_samples=config.get("min_data_in_leaf", 20),
                  colsample_bytree=config.get("feature_fraction", 1.0), reg_lambda=config.get("lambda_l2", 0.0),
                  extra_trees=config.get("extra_trees", False), n_jobs=1, random_state=seed, verbose=-1)
    if problem_type == REGRESSION:
        return lightgbm.LGBMRegressor(**params)
    return lightgbm.LGBMClassifier(**params)


def _xgboost(problem_type, n_classes, config, seed):
    import xgboost

    params = dict(n_estimators=GBM_ROUNDS, learning_rate=config["eta"], max_depth=config["max_depth"],
                  min_child_weight=config.get("min_child_weight", 1.0), subsample=config.get("subsample", 1.0),
                  colsample_bytree=config.get("colsample_bytree", 1.0), tree_method="hist", n_jobs=1,
                  random_state=seed, verbosity=0, early_stopping_rounds=GBM_PATIENCE)
    if problem_type == REGRESSION:
        return xgboost.XGBRegressor(**params)
    return xgboost.XGBClassifier(**params)


def _catboost(problem_type, n_classes, config, seed):
    import catboost

    params = dict(iterations=GBM_ROUNDS, learning_rate=config["learning_rate"], depth=config["depth"],
                  l2_leaf_reg=config.get("l2_leaf_reg", 3.0), thread_count=1, random_seed=seed, verbose=False,
                  allow_writing_files=False, early_stopping_rounds=GBM_PATIENCE)
    if problem_type == REGRESSION:
        return catboost.CatBoostRegressor(**params)
    return catboost.CatBoostClassifier(**params)


def _forest(regressor, classifier):
    def build(problem_type, n_classes, config, seed):
        params = dict(n_estimators=config["n_estimators"], max_features=config["max_features"], bootstrap=True,
                      oob_score=True, n_jobs=1, random_state=seed)
        if problem_type == REGRESSION:
            return regressor(min_samples_leaf=2, **params)  # halves the trees' size at no cost in accuracy
        return classifier(**params)
    return build


def _linear(problem_type, n_classes, config, seed):
    if problem_type == REGRESSION:  # ridge picks its penalty by leave-one-out on the training rows, cheaply
        return RidgeCV(alphas=np.logspace(-3, 3, 13))
    return LogisticRegression(C=config["C"], max_iter=1000)


def _mlp(problem_type, n_classes, config, seed):
    params = dict(hidden_layer_sizes=tuple(config["layers"]), learning_rate_init=config["learning_rate"],
                  alpha=config["wd"], batch_size=config["batch_size"], max_iter=200, early_stopping=True,
                  n_iter_no_change=10, random_state=seed)
    if problem_type == REGRESSION:
        return TransformedTargetRegressor(MLPRegressor(**params), transformer=StandardScaler())
    return MLPClassifier(**params)


_BUILDERS = {
    "lightgbm": _lightgbm, "xgboost": _xgboost, "catboost": _catboost,
    "randomforest": _forest(RandomForestRegressor, RandomForestClassifier),
    "extra-trees": _forest(ExtraTreesRegressor, ExtraTreesClassifier),
    "linear-learner": _linear, "nn-torch": _mlp, "fastai": _mlp,
}
