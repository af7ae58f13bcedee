"""SHAP values of a job's model on the original columns of the data, not on its one-hot or tf-idf columns.

Two explainers, each additive: a row's attributions plus the base value equal what is explained for that row.

- **Exact**, where every model inside is a tree model (XGBoost, LightGBM, scikit-learn forests) or linear, none
  stacked on others. Trees get path-dependent TreeSHAP (`treeshap`), linear models weight x (value - training
  average). Each transformed column's attribution goes to the original column it is made from, found by changing
  one original column at a time and seeing which transformed columns move. Bagged and weighted models are
  averages, so their attributions are the same averages. It explains the value for regression; for binary
  classification the log-odds of the positive class (the models' average) of boosting and linear models, or the
  positive class's probability of forests.
- **Sampled** (permutation SHAP) for any other model: for random orders of the columns (each with its reverse)
  and rows of a background sample, the columns of a row are switched from the background's values to the row's
  one at a time, and each switch's change in the prediction is that column's share. It explains the value, the
  positive class's probability, or (multiclass) the probability of the class the model predicts for the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from ..ensembling.model import Views, WeightedEnsemble
from ..model import FoldEnsemble
from ..tuning.linear_learner import LinearLearnerClassifier, LinearLearnerRegressor
from ..vocabulary import BINARY, REGRESSION
from . import treeshap

MAPPING_ROWS = 512  # rows the column mapping is probed on
PROBE_BACKGROUND = 2000  # training rows added to the probe
PERMUTATIONS = 2  # one random order and its reverse
BACKGROUND = 16
LINEAR_BACKGROUND = 10_000  # training rows whose average linear attributions start from


@dataclass
class Explanation:
    """SHAP attributions of rows on a model's original columns: ``values`` plus ``base_value`` add up to
    ``explained`` row by row."""

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
        """One row per explained row: the base value, what the attributions add up to, each column's share."""
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
    explainer = exact_explainer(model, background, rows)
    if explainer is not None:
        return explainer(rows)
    if background is None or len(background) == 0:
        raise ValueError("this model is explained by sampling, which needs background rows")
    return sampled_explanation(model, rows, background, seed)


def explain_job(job_dir, rows: pd.DataFrame, seed: int = 0) -> Explanation:
    """SHAP values of a finished job's best candidate for ``rows``, on the original columns.

    Parameters
    ----------
    job_dir : str or Path
        The job's folder.
    rows : pandas.DataFrame
        Rows with the training columns (the target may be absent).
    seed : int, default 0
        Seeds the sampled explainer, where the model needs it (its background rows come from the training file).

    Returns
    -------
    Explanation
        Whose ``values`` plus ``base_value`` add up to ``explained`` row by row.
    """
    from ..errors import InputError
    from ..files import JobFolder, read_json
    from ..io import read_table
    from ..predict import load_best_model

    model = load_best_model(job_dir)
    missing = [c for c in model.feature_columns if c not in rows.columns]
    if missing:
        raise InputError(f"the rows lack column(s) the model was trained on: {', '.join(map(repr, missing))}")
    request = read_json(JobFolder(job_dir).request_json)
    training = request["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    background = read_table(training) if "://" not in training and Path(training).exists() else None
    try:
        return explain(model, rows, background, seed)
    except ValueError:
        raise InputError(f"this model is explained by sampling against rows of its training data, and "
                         f"{training} is not there") from None


# --- exact --------------------------------------------------------------------------------------------------------


class ExactExplainer:
    """The exact explainer of one model, ready for any rows: every model inside as a `treeshap.Forest` or linear
    weights, and for each feature view the original column of each transformed one (and, for linear models, the
    average transformed training row)."""

    def __init__(self, model, parts: list, scale: str, origins: dict, averages: dict):
        self.model, self.parts, self.origins, self.averages = model, parts, origins, averages
        self.method = "exact " + " and ".join(sorted(
            {"TreeSHAP" if isinstance(part, treeshap.Forest) else "linear SHAP" for _, part in parts}))
        if model.problem_type == REGRESSION:
            self.scale = "predicted value"
        else:
            label = repr(str(model.classes_[1]))
            self.scale = f"{scale} of {label} (the {'trees' if scale == 'probability' else 'models'}' average)"

    def __call__(self, rows: pd.DataFrame) -> Explanation:
        columns = list(self.model.feature_columns)
        transformed = self.model.transform(rows[columns])  # once: every fold model reads the same matrices
        matrices = transformed if isinstance(self.model.feature_transform, Views) else {None: transformed}
        values = np.zeros((len(rows), len(columns) + 1))  # the last column stays 0: see `exact_explainer`
        base = 0.0
        for view, part in self.parts:
            if isinstance(part, treeshap.Forest):
                attributions, expected = treeshap.shap_values(part, matrices[view], self.origins[view],
                                                              len(columns) + 1)
            else:
                attributions, expected = _linear_shap(part, matrices[view], self.averages[view], self.origins[view],
                                                      len(columns) + 1)
            values += attributions
            base += expected
        return Explanation(columns, values[:, :-1], np.full(len(rows), base), self.scale, self.method)


def exact_explainer(model, background: pd.DataFrame | None = None,
                    rows: pd.DataFrame | None = None) -> ExactExplainer | None:
    """The model's `ExactExplainer`, or None where it is not explained exactly.

    Which original column each transformed one comes from is probed on ``background`` (the training rows) and
    on ``rows`` (those to be explained, if known): a one-hot column of a category no explained row has still
    carries an attribution. Linear models need ``background``: their attributions are measured from its average.
    """
    found = _exact_parts(model, background is not None)
    if found is None:
        return None
    parts, scale = found
    columns = list(model.feature_columns)
    probe, pool = [], []
    if rows is not None:
        probe.append(rows[columns].iloc[:MAPPING_ROWS])
        pool.append(rows[columns])
    if background is not None:
        probe.append(background[columns].sample(n=min(PROBE_BACKGROUND, len(background)), random_state=0))
        pool.append(background[columns])
    probe, pool = pd.concat(probe, ignore_index=True), pd.concat(pool, ignore_index=True)
    origins: dict = {}
    averages: dict = {}
    for view, part in parts:
        transform = model.feature_transform.transforms[view] if view else model.feature_transform
        if view not in origins:
            origins[view] = _mapped(transform, probe, pool, columns)
        origin = origins[view]
        if origin is None:
            return None
        if isinstance(part, treeshap.Forest):
            used = np.unique(part.feature[part.feature >= 0])
        else:
            used = np.flatnonzero(part[0])
            if view not in averages:
                averages[view] = _average(transform, background)
        if np.any(origin[used] == len(columns)):
            return None  # the model uses a column no original column was seen to move: no exact grouping
    return ExactExplainer(model, parts, scale, origins, averages)


def _exact_parts(model, has_background: bool) -> tuple[list, str] | None:
    """(view, `treeshap.Forest` or linear (weights, bias)) for every model inside, each weighted by its share of
    the prediction, and the scale they add up on; None if one is neither a tree model nor linear, stacks on other
    models, or does not add up on the same scale as the rest: boosting and linear models on the log-odds, forests
    on the probability (for regression, every one on the value)."""
    if model.problem_type not in (REGRESSION, BINARY):
        return None
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
    parts, scales = [], set()
    for view, weight, bagged in members:
        for fold_model in bagged.models:
            fitted = getattr(fold_model, "estimator", fold_model)  # a PresentClassesClassifier wraps XGBoost
            share = weight / len(bagged.models)
            part = treeshap.forest_of(fitted, share)
            if part is None:
                part = _linear(fitted, model.problem_type, share) if has_background else None
            if part is None:
                return None
            parts.append((view, part))
            scales.add("probability" if isinstance(part, treeshap.Forest) and part.probability else "log-odds")
    if model.problem_type == BINARY and len(scales) > 1:
        return None
    return parts, scales.pop()


def _linear(estimator, problem_type: str, share: float) -> tuple[np.ndarray, float] | None:
    """(weights, bias) of a linear model's output on the explained scale, times ``share``; None if not linear."""
    coef, intercept = getattr(estimator, "coef_", None), getattr(estimator, "intercept_", None)
    if coef is None or intercept is None or not hasattr(estimator, "fit"):
        return None
    coef, intercept = np.atleast_2d(np.asarray(coef, dtype=float)), np.atleast_1d(np.asarray(intercept, float))
    if isinstance(estimator, LinearLearnerRegressor):  # fitted on the standardised label
        weights = coef[:, 0] * estimator.label_scale_
        bias = intercept[0] * estimator.label_scale_ + estimator.label_mean_
    elif isinstance(estimator, LinearLearnerClassifier):  # two softmax outputs: the log-odds is their difference
        if len(estimator.classes_) != 2:
            return None
        weights, bias = coef[:, 1] - coef[:, 0], intercept[1] - intercept[0]
    elif problem_type == REGRESSION or (coef.shape[0] == 1 and len(getattr(estimator, "classes_", ())) == 2):
        if coef.shape[0] != 1 or not hasattr(estimator, "predict") or hasattr(estimator, "n_layers_"):
            return None
        weights, bias = coef[0], intercept[0]
    else:
        return None
    return weights * share, float(bias) * share


def _average(transform, background: pd.DataFrame) -> np.ndarray:
    """The average transformed training row, what linear attributions are measured from."""
    sample = background.sample(n=min(LINEAR_BACKGROUND, len(background)), random_state=0)
    return np.asarray(transform.transform(sample).mean(axis=0), dtype=float).ravel()


def _linear_shap(part, X, average: np.ndarray, origin: np.ndarray, n_out: int) -> tuple[np.ndarray, float]:
    """Exact SHAP of a linear model: weight x (value - average), summed into the output columns."""
    weights, bias = part
    grouping = sparse.csr_matrix((np.ones(len(origin)), (np.arange(len(origin)), origin)),
                                 shape=(len(origin), n_out))
    if sparse.issparse(X):
        values = (sparse.csr_matrix(X).multiply(weights) @ grouping).toarray()
    else:
        values = np.asarray((np.asarray(X, dtype=float) * weights) @ grouping)
    values = values - (weights * average) @ grouping
    return values, bias + float(weights @ average)


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


def sampled_explanation(model, rows: pd.DataFrame, background: pd.DataFrame, seed: int = 0) -> Explanation:
    """Permutation SHAP of ``rows`` against a seeded sample of ``background`` rows (the training rows). Every row
    meets every background row at once: the rows are stacked background by background."""
    columns = list(model.feature_columns)
    rows = rows[columns].reset_index(drop=True)
    background = background[columns].sample(n=min(BACKGROUND, len(background)), random_state=seed)
    background = background.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    n, draws = len(rows), len(background)
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
