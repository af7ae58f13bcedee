"""The algorithms of Autopilot's HYPERPARAMETER_TUNING mode: estimator factories and search spaces.

Hyperparameter names and ranges are Autopilot's own (as its candidate notebooks print them), so a reader can hold
our candidates against a cloud job's; each factory maps them onto the scikit-learn or XGBoost estimator that
plays the algorithm's part here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from ..model import PresentClassesClassifier
from ..vocabulary import REGRESSION
from .linear_learner import LinearLearnerClassifier, LinearLearnerRegressor


@dataclass(frozen=True)
class Range:
    """One tunable hyperparameter: Autopilot's ContinuousParameter or IntegerParameter, linear or log scaled."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def to_dict(self) -> dict:
        """The range as JSON-ready data, with AWS's keys (MinValue, MaxValue, ScalingType)."""
        kind = "Integer" if self.integer else "Continuous"
        return {"Name": self.name, "Type": kind, "MinValue": self.low, "MaxValue": self.high,
                "ScalingType": "Logarithmic" if self.log else "Linear"}


@dataclass(frozen=True)
class Algorithm:
    """One algorithm the job tunes: its search space, its first configurations and its estimator."""

    name: str
    short_name: str  # as in Autopilot's tuning job names ("xgb", "ll", "mlp")
    ranges: tuple[Range, ...]
    defaults: dict  # the first configuration each candidate is screened with: quick, so every dpp is tried early
    # Known strong configurations, tried on the best screened candidate before the Bayesian search: they put a
    # good model on the leaderboard within a short budget, and give the sampler good points to start from.
    portfolio: tuple[dict, ...] = ()
    early_stopping: bool = False  # fit(..., eval_set=...) stops on the scoring rows: num_round is a cap

    def static_hyperparameters(self, problem_type: str, n_classes: int, n_features: int) -> dict:
        """The hyperparameters held fixed, not tuned, for this problem and data (objective, bins, epochs...)."""
        return _STATIC[self.name](problem_type, n_classes, n_features)

    def build(self, problem_type: str, n_classes: int, n_features: int, params: dict, seed: int):
        """An unfitted estimator for these hyperparameters (single-threaded: parallelism is across trials)."""
        static = self.static_hyperparameters(problem_type, n_classes, n_features)
        return _BUILDERS[self.name](problem_type, static | params, seed)


XGBOOST = Algorithm(
    "xgboost",
    "xgb",
    (
        Range("num_round", 64, 1024, log=True, integer=True),
        Range("max_depth", 2, 8, log=True, integer=True),
        Range("eta", 1e-3, 1.0, log=True),
        Range("gamma", 1e-6, 64.0, log=True),
        Range("min_child_weight", 1e-6, 32.0, log=True),
        Range("subsample", 0.5, 1.0),
        Range("colsample_bytree", 0.3, 1.0),
        Range("lambda", 1e-6, 2.0, log=True),
        Range("alpha", 1e-6, 2.0, log=True),
    ),
    # XGBoost's own defaults (eta 0.3, depth 6) with early stopping: about a second on 17,000 rows
    {"num_round": 1024, "max_depth": 6, "eta": 0.3, "gamma": 1e-6, "min_child_weight": 1.0, "subsample": 1.0,
     "colsample_bytree": 1.0, "lambda": 1.0, "alpha": 1e-6},
    portfolio=tuple(
        {"num_round": 1024, "gamma": 1e-6, "lambda": 1.0, "alpha": 1e-6} | config
        for config in (  # cheapest first; deeper trees and smaller steps cost more and usually score better
            {"max_depth": 7, "eta": 0.1, "min_child_weight": 2.0, "subsample": 0.8, "colsample_bytree": 0.6},
            {"max_depth": 5, "eta": 0.05, "min_child_weight": 1.0, "subsample": 0.7, "colsample_bytree": 0.7,
             "lambda": 2.0, "alpha": 0.1},
            {"max_depth": 8, "eta": 0.05, "min_child_weight": 3.0, "subsample": 0.8, "colsample_bytree": 0.5},
            {"max_depth": 8, "eta": 0.03, "min_child_weight": 3.0, "subsample": 0.8, "colsample_bytree": 0.5},
            {"max_depth": 8, "eta": 0.02, "min_child_weight": 5.0, "subsample": 0.7, "colsample_bytree": 0.4},
        )
    ),
    early_stopping=True,
)
LINEAR_LEARNER = Algorithm(
    "linear-learner",
    "ll",
    (
        Range("wd", 1e-7, 1.0, log=True),
        Range("l1", 1e-7, 1.0, log=True),
        Range("learning_rate", 1e-5, 1.0, log=True),
    ),
    {"wd": 1e-6, "l1": 1e-7, "learning_rate": 1e-2},
)
MLP = Algorithm(
    "mlp",
    "mlp",
    (
        Range("num_layers", 1, 3, integer=True),
        Range("layer_size", 16, 512, log=True, integer=True),
        Range("learning_rate", 1e-4, 1e-1, log=True),
        Range("wd", 1e-7, 1e-1, log=True),
        Range("mini_batch_size", 32, 512, log=True, integer=True),
    ),
    {"num_layers": 2, "layer_size": 128, "learning_rate": 1e-3, "wd": 1e-4, "mini_batch_size": 128},
)
ALGORITHMS = {a.name: a for a in (XGBOOST, LINEAR_LEARNER, MLP)}


WIDE = 200  # columns above which XGBoost histograms get fewer bins


def _xgboost_static(problem_type: str, n_classes: int, n_features: int) -> dict:
    # Finding a split weighs every column's bins at every node: on hundreds of tf-idf columns 64 bins halve the
    # time at the same score, while a few dense columns (coordinates, prices) keep XGBoost's 256.
    static = {"max_bin": 64 if n_features > WIDE else 256}
    if problem_type == REGRESSION:
        return static | {"objective": "reg:squarederror"}
    if n_classes == 2:
        return static | {"objective": "binary:logistic"}
    return static | {"objective": "multi:softprob", "num_class": n_classes}


def _xgboost(problem_type: str, p: dict, seed: int):
    import xgboost

    kwargs = dict(
        n_estimators=int(p["num_round"]), max_depth=int(p["max_depth"]), learning_rate=p["eta"], gamma=p["gamma"],
        min_child_weight=p["min_child_weight"], subsample=p["subsample"], colsample_bytree=p["colsample_bytree"],
        reg_lambda=p["lambda"], reg_alpha=p["alpha"], objective=p["objective"], tree_method="hist", n_jobs=1,
        max_bin=p["max_bin"], random_state=seed, verbosity=0, early_stopping_rounds=early_stopping_rounds(p["eta"]),
    )
    if problem_type == REGRESSION:
        return xgboost.XGBRegressor(**kwargs)
    return PresentClassesClassifier(xgboost.XGBClassifier(**kwargs))


def early_stopping_rounds(eta: float) -> int:
    """Rounds without improvement before boosting stops: patience grows as the step shrinks (10 to 50)."""
    return int(np.clip(round(2.0 / eta), 10, 50))


def _linear_static(problem_type: str, n_classes: int, n_features: int) -> dict:
    if problem_type == REGRESSION:
        predictor = "regressor"
    else:
        predictor = "binary_classifier" if n_classes == 2 else "multiclass_classifier"
    return {"predictor_type": predictor, "epochs": 50, "mini_batch_size": 800, "loss": "auto"}


def _linear_learner(problem_type: str, p: dict, seed: int):
    estimator = LinearLearnerRegressor if problem_type == REGRESSION else LinearLearnerClassifier
    return estimator(wd=p["wd"], l1=p["l1"], learning_rate=p["learning_rate"],
                     mini_batch_size=int(p["mini_batch_size"]), epochs=int(p["epochs"]), random_state=seed)


def _mlp_static(problem_type: str, n_classes: int, n_features: int) -> dict:
    return {"epochs": 200, "early_stopping": True, "n_iter_no_change": 10}


def _mlp(problem_type: str, p: dict, seed: int):
    common = dict(
        hidden_layer_sizes=(int(p["layer_size"]),) * int(p["num_layers"]), learning_rate_init=p["learning_rate"],
        alpha=p["wd"], batch_size=int(p["mini_batch_size"]), max_iter=int(p["epochs"]),
        early_stopping=p["early_stopping"], n_iter_no_change=int(p["n_iter_no_change"]), random_state=seed,
    )
    if problem_type == REGRESSION:
        return TransformedTargetRegressor(MLPRegressor(**common), transformer=StandardScaler())
    return MLPClassifier(**common)


_STATIC = {"xgboost": _xgboost_static, "linear-learner": _linear_static, "mlp": _mlp_static}
_BUILDERS = {"xgboost": _xgboost, "linear-learner": _linear_learner, "mlp": _mlp}
