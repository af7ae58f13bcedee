"""SHAP values of a job's model on the original columns of the data, not on its one-hot or tf-idf columns.

Two explainers, each additive: a row's attributions plus the base value equal what is explained for that row.

- **Exact** (TreeSHAP, path-dependent): where every model inside is gradient boosting (XGBoost, LightGBM) on
  columns that each come from one original column. The libraries' own TreeSHAP gives each transformed column's
  attribution; an original column's is the sum over the columns made from it, found by changing one original
  column at a time and seeing which transformed columns move. Bagged and weighted models are averages, so their
  attributions are the same averages. It explains the raw output: the value for regression, the log-odds of the
  positive class (the models' average) for binary classification.
- **Sampled** (permutation SHAP) for any other model: for random orders of the columns (each with its reverse)
  and rows of a background sample, the columns of a row are switched from the background's values to the row's
  one at a time, and each switch's change in the prediction is that column's share. It explains the value, the
  positive class's probability, or (multiclass) the probability of the class the model predicts for the row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from ..config import BINARY, REGRESSION
from ..ensembling.model import Views, WeightedEnsemble
from ..tuning import FoldEnsemble

MAPPING_ROWS = 512  # rows the column mapping is probed on
PROBE_BACKGROUND = 2000  # training rows added to the probe
PERMUTATIONS = 2  # one random order and its reverse
BACKGROUND = 16


@dataclass
class Explanation:
    columns: list  # the original columns, in the model's order
    values: np.ndarray  # rows x columns
    base_value: np.ndarray  # per row (the same for every row but in multiclass)
    scale: str  # what is explained: "value", "log-odds of 'yes'", "probability of 'yes'", ...
    method: str  # "exact TreeSHAP" or "sampled permutation SHAP"

    @property
    def explained(self) -> np.ndarray:
        """What the attributions add up to, row by row."""
        return self.base_value + self.values.sum(axis=1)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.values, columns=[str(c) for c in self.columns])
        frame.insert(0, "base_value", self.base_value)
        frame.insert(1, "explained", self.explained)
        return frame


def explain(model, rows: pd.DataFrame, background: pd.DataFrame | None = None, seed: int = 0) -> Explanation:
    """Attributions of ``model`` (a job's `CandidateModel`) for ``rows``, on its original feature columns.

    ``background`` (rows of the training data) is what the sampled explainer switches from; the exact one needs
    none. Raises `ValueError` for a sampled explanation without background rows.
    """
    rows = rows[model.feature_columns].reset_index(drop=True)
    exact = exact_explanation(model, rows, background)
    if exact is not None:
        return exact
    if background is None or len(background) == 0:
        raise ValueError("this model is explained by sampling, which needs background rows")
    background = background[model.feature_columns].sample(n=min(BACKGROUND, len(background)), random_state=seed)
    return _sampled(model, rows, background.reset_index(drop=True), np.random.default_rng(seed))


def explain_job(job_dir, rows: pd.DataFrame, seed: int = 0) -> Explanation:
    """`explain` for a finished job's best candidate; background rows, where needed, come from its training file."""
    from ..artifacts import read_json
    from ..errors import InputError
    from ..io import read_table
    from ..predict import load_best_model

    model = load_best_model(job_dir)
    missing = [c for c in model.feature_columns if c not in rows.columns]
    if missing:
        raise InputError(f"the rows lack column(s) the model was trained on: {', '.join(map(repr, missing))}")
    request = read_json(Path(job_dir) / "request.json")
    training = request["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    background = read_table(training) if "://" not in training and Path(training).exists() else None
    try:
        return explain(model, rows, background, seed)
    except ValueError:
        raise InputError(f"this model is explained by sampling against rows of its training data, and "
                         f"{training} is not there") from None


# --- exact --------------------------------------------------------------------------------------------------------


def exact_explanation(model, rows: pd.DataFrame, background: pd.DataFrame | None = None) -> Explanation | None:
    """The exact TreeSHAP explanation, or None where the model is not explained exactly.

    Which original column each transformed one comes from is probed on the rows and on ``background`` (the
    training rows): a one-hot column of a category no explained row has still carries an attribution.
    """
    parts = _tree_parts(model) if model.problem_type in (REGRESSION, BINARY) else None
    if parts is None:
        return None
    rows = rows[model.feature_columns].reset_index(drop=True)
    probe, pool = rows.iloc[:MAPPING_ROWS], rows
    if background is not None:
        background = background[model.feature_columns]
        extra = background.sample(n=min(PROBE_BACKGROUND, len(background)), random_state=0)
        probe = pd.concat([probe, extra], ignore_index=True)
        pool = pd.concat([rows, background], ignore_index=True)
    transformed = model.transform(rows)  # once: every fold model reads the same matrices
    matrices = transformed if isinstance(model.feature_transform, Views) else {None: transformed}
    values = np.zeros((len(rows), len(model.feature_columns)))
    base = 0.0
    origins_by_view: dict = {}
    for view, weight, estimator in parts:
        X = matrices[view]
        if view not in origins_by_view:
            transform = model.feature_transform.transforms[view] if view else model.feature_transform
            origins_by_view[view] = _mapped(transform, probe, pool, model.feature_columns)
        origin = origins_by_view[view]
        if origin is None:
            return None
        contributions = _contributions(estimator, X)
        base += weight * float(contributions[0, -1])
        grouped = np.zeros((len(rows), len(model.feature_columns) + 1))  # the last: unattributed columns
        np.add.at(grouped.T, origin, contributions[:, :-1].T)
        if np.abs(grouped[:, -1]).max(initial=0.0) > 0:
            return None  # a column moved by no original column carries weight: no exact grouping
        values += weight * grouped[:, :-1]
    label = str(model.classes_[1]) if model.problem_type == BINARY else ""
    scale = "predicted value" if model.problem_type == REGRESSION else f"log-odds of {label!r} (the models' average)"
    return Explanation(list(model.feature_columns), values, np.full(len(rows), base), scale, "exact TreeSHAP")


def _tree_parts(model) -> list | None:
    """(view, weight, fitted booster) for every model inside, or None if one is not gradient boosting."""
    estimator = model.estimator
    if isinstance(estimator, FoldEnsemble):
        members = [(None, 1.0, estimator)]
    elif isinstance(estimator, WeightedEnsemble):
        members = []
        for name, weight in estimator.weights.items():
            bagged, view, inputs = estimator.models[name]
            if inputs:
                return None  # stacked on other models' predictions
            members.append((view, weight, bagged))
    else:
        return None
    parts = []
    for view, weight, bagged in members:
        for fold_model in bagged.models:
            booster = getattr(fold_model, "estimator", fold_model)  # a PresentClassesClassifier wraps XGBoost
            if type(booster).__module__.split(".")[0] not in ("xgboost", "lightgbm"):
                return None
            if len(getattr(booster, "classes_", ())) > 2:
                return None
            parts.append((view, weight / len(bagged.models), booster))
    return parts


def _contributions(booster, X) -> np.ndarray:
    """TreeSHAP values (the bias last) on the booster's raw output, at the iteration it predicts with."""
    cores = os.cpu_count() or 1  # the model was fitted on one thread, beside others; explaining, it has them all
    if type(booster).__module__.startswith("xgboost"):
        import xgboost

        best = getattr(booster, "best_iteration", None)
        ranges = {"iteration_range": (0, best + 1)} if best is not None else {}
        booster.get_booster().set_param({"nthread": cores})
        values = booster.get_booster().predict(xgboost.DMatrix(X, nthread=cores), pred_contribs=True, **ranges)
        return np.asarray(values, dtype=float)
    values = booster.predict(X, pred_contrib=True, num_threads=cores)
    return np.asarray(values.toarray() if sparse.issparse(values) else values, dtype=float)


def _mapped(transform, probe: pd.DataFrame, pool: pd.DataFrame, columns: list) -> np.ndarray | None:
    """`origins` probed on ``probe``, then again on rows of ``pool`` that use a transformed column no probe has
    moved yet (a rare category), until every column the pool uses has its original column."""
    X = transform.transform(pool)
    origin = origins(transform, probe, columns)
    for _ in range(3):
        if origin is None:
            return None
        unmapped = np.flatnonzero(origin == len(columns))
        used = _dense(X[:, unmapped]) if len(unmapped) else np.zeros((len(pool), 0))
        differs = ~np.isclose(used, used[:1], equal_nan=True)
        wanted = np.flatnonzero(differs.any(axis=1))
        if not len(wanted):
            return origin
        # the rows that differ, and as many that do not, so that a shift by one moves every such column
        again = origins(transform, pool.iloc[np.concatenate([wanted[:MAPPING_ROWS // 2], [0]])], columns)
        if again is None:
            return None
        newly = (origin == len(columns)) & (again != len(columns))
        origin = np.where(newly, again, origin)
    return origin


def origins(transform, rows: pd.DataFrame, columns: list) -> np.ndarray | None:
    """For each transformed column, the index of the original column it is made from (``len(columns)`` for one
    no original column moves), or None where one transformed column is made from several (a PCA after merging).

    Probed on the rows given: each original column in turn takes another row's value (the rows shifted by one),
    and the transformed columns that change are its own.
    """
    sample = rows.iloc[:MAPPING_ROWS]
    before = _dense(transform.transform(sample))
    origin = np.full(before.shape[1], len(columns))
    for index, column in enumerate(columns):
        changed = sample.copy()
        changed[column] = np.roll(sample[column].to_numpy(), 1)
        after = _dense(transform.transform(changed))
        moved = ~np.all(np.isclose(before, after, equal_nan=True), axis=0)
        if np.any(moved & (origin != len(columns))):
            return None
        origin[moved] = index
    return origin


def _dense(matrix) -> np.ndarray:
    return np.asarray(matrix.toarray() if sparse.issparse(matrix) else matrix, dtype=float)


# --- sampled ------------------------------------------------------------------------------------------------------


def _sampled(model, rows: pd.DataFrame, background: pd.DataFrame, rng) -> Explanation:
    """Every row against every background row at once: the rows are stacked background by background."""
    n, draws, columns = len(rows), len(background), list(model.feature_columns)
    own = pd.concat([rows] * draws, ignore_index=True)
    start = background.iloc[np.repeat(np.arange(draws), n)].reset_index(drop=True)
    if model.problem_type == REGRESSION:
        def target(frame):
            return model.predict_raw(frame)
    elif model.problem_type == BINARY:
        def target(frame):
            return model.predict_raw(frame)[:, 1]
    else:  # the probability of the class the model predicts for the row
        chosen = np.tile(np.argmax(model.predict_raw(rows), axis=1), draws)

        def target(frame):
            return model.predict_raw(frame)[np.arange(len(frame)), chosen]
    order = rng.permutation(len(columns))
    values = np.zeros((n, len(columns)))
    base = np.zeros(n)
    for permutation in (order, order[::-1]):
        mixed = start.copy()
        previous = target(mixed)
        base += previous.reshape(draws, n).sum(axis=0)
        for index in permutation:
            mixed[columns[index]] = own[columns[index]].to_numpy()
            current = target(mixed)
            values[:, index] += (current - previous).reshape(draws, n).sum(axis=0)
            previous = current
    total = PERMUTATIONS * draws
    return Explanation(columns, values / total, base / total, _sampled_scale(model), "sampled permutation SHAP")


def _sampled_scale(model) -> str:
    if model.problem_type == REGRESSION:
        return "predicted value"
    if model.problem_type == BINARY:
        return f"probability of {str(model.classes_[1])!r}"
    return "probability of the predicted class"
