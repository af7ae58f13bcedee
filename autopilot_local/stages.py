"""The job's stateless stages, as plain functions on plain data: prepare (read, check, analyze, generate the
candidates), split the rows, fit the dpp transforms, and what each engine takes and gives back.

The job (`job.Job`) calls them in order and keeps the state; the candidate notebooks call the very same functions
to re-run a job, and a worker on another machine calls them to rebuild a job's matrices.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from . import ensembling, tuning
from .analysis import ExplorationReport, analyze
from .analysis.problem_type import valid_target_mask
from .candidates import COLUMN_TYPES, ensembling_views, generate_candidates
from .config import JobConfig
from .ensembling.model import WeightedEnsemble
from .errors import InputError
from .forks import ForkPool
from .io import read_table
from .model import predict_raw
from .parsing import coerce_numeric
from .transformers import NALabelEncoder, RobustLabelEncoder
from .vocabulary import (
    COMPLETED,
    CV_FOLDS,
    CV_MAX_ROWS,
    ENSEMBLING,
    HYPERPARAMETER_TUNING,
    MIN_TRAINING_ROWS,
    REGRESSION,
    objective_direction,
)

# why a dpp whose transform the budget left no time for is left out
DEADLINE_SKIP = "skipped, MaxAutoMLJobRuntimeInSeconds reached in feature engineering"


@dataclass
class PreparedData:
    """The validated inputs of a job: what every later stage reads."""

    report: ExplorationReport
    problem_type: str
    objective: str
    features: pd.DataFrame  # training rows, feature columns only
    y: np.ndarray  # encoded target of those rows
    valid_features: pd.DataFrame | None
    valid_y: np.ndarray | None
    label_transform: object
    definitions: list  # the dpp pipelines (HYPERPARAMETER_TUNING) or feature views (ENSEMBLING)
    dropped_target_rows: int
    mode: str = HYPERPARAMETER_TUNING  # as resolved (AUTO picks one by the data's size)
    sample_weight: np.ndarray | None = None  # of the training rows (SampleWeightAttributeName)
    valid_weight: np.ndarray | None = None
    plan: list = ()  # ENSEMBLING: the base models, in the order they are trained

    @property
    def n_classes(self) -> int:
        """The number of classes (0 for regression)."""
        return 0 if self.problem_type == REGRESSION else len(self.label_transform.classes_)


def prepare(config: JobConfig) -> PreparedData:
    """Read and check every input, analyze it and generate the candidates.

    Nothing is written: the job folder is created only once this has passed.

    Parameters
    ----------
    config : JobConfig
        The job's request.

    Returns
    -------
    PreparedData
        The rows, their encoded target, the analysis, and the candidate pipelines (or ENSEMBLING's feature views
        and plan).

    Raises
    ------
    InputError
        On bad input, naming the file, column, row or value.
    """
    mode = config.resolved_mode(_input_bytes(config))
    frame = read_table(config.data)
    _check_target_column(frame, config.target, config.data)
    weights = _pop_weights(frame, config.sample_weight, config.data)
    try:
        report = analyze(frame, config.target, config.problem_type, seed=config.seed)
    except InputError as error:  # the analysis sees a table, not a file: name the file the problem is in
        raise InputError(f"{config.data}: {error}") from None
    problem_type = config.problem_type or report.problem_type
    objective = config.resolved_objective(problem_type)
    label_transform = _label_transform(problem_type, frame[config.target])
    columns = _feature_columns(frame, report.column_types, config)
    features, y, dropped, keep = _labelled_rows(frame, config.target, columns, problem_type, label_transform)
    weights = weights[keep] if weights is not None else None
    if len(features) < MIN_TRAINING_ROWS and not config.allow_small:
        raise InputError(
            f"{config.data} has {len(features)} rows with a target value; Autopilot needs at least "
            f"{MIN_TRAINING_ROWS} (pass --allow-small to run anyway)"
        )
    valid_features = valid_y = valid_weights = None
    if config.validation_data:
        valid = read_table(config.validation_data)
        _check_target_column(valid, config.target, config.validation_data)
        valid_weights = _pop_weights(valid, config.sample_weight, config.validation_data)
        missing = [c for c in columns if c not in valid.columns]
        if missing:
            names = ", ".join(map(repr, missing))
            raise InputError(f"validation file {config.validation_data} lacks column(s) {names}")
        valid_features, valid_y, _, valid_keep = _labelled_rows(valid, config.target, columns, problem_type,
                                                                label_transform)
        valid_weights = valid_weights[valid_keep] if valid_weights is not None else None
        if len(valid_features) == 0:
            raise InputError(f"validation file {config.validation_data} has no rows with a target value")
    typed = {kind: getattr(report.column_types, kind) for kind in COLUMN_TYPES}
    labels = tuple(getattr(label_transform, "classes_", ()))
    algorithms = config.algorithms_for(mode)
    plan: list = []
    if mode == ENSEMBLING:
        plan = ensembling.default_plan(algorithms, config.max_candidates)
        if not plan:
            raise InputError(f"none of the algorithms {', '.join(algorithms)} is installed: "
                             + "; ".join(ensembling.unavailable(algorithms)))
        feeds: dict = {}
        for spec in plan:
            feeds.setdefault(ensembling.FAMILIES[spec.family].view, []).append(spec.family)
        definitions = ensembling_views(typed, config.target, problem_type,
                                       {view: tuple(dict.fromkeys(names)) for view, names in feeds.items()}, labels)
    else:
        definitions = generate_candidates(typed, config.target, problem_type, algorithms, labels)
    return PreparedData(report, problem_type, objective, features, y, valid_features, valid_y, label_transform,
                        definitions, dropped, mode, weights, valid_weights, plan)


def _input_bytes(config: JobConfig) -> int:
    """The size of the job's input files, by which AUTO picks its mode."""
    paths = [config.data] + ([config.validation_data] if config.validation_data else [])
    return sum(Path(p).stat().st_size for p in paths if "://" not in str(p) and Path(p).exists())


def _pop_weights(frame: pd.DataFrame, column: str | None, path) -> np.ndarray | None:
    """Take the sample-weight column out of ``frame`` (it is no feature) and check its values: each a
    non-negative finite number, not all zero."""
    if not column:
        return None
    if column not in frame.columns:
        raise InputError(f"sample weight column {column!r} (SampleWeightAttributeName) is not in {path}")
    values = frame.pop(column)
    weights = coerce_numeric(values)
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if len(bad):
        row = int(bad[0])
        value = values.iloc[row]
        shown = "a missing value" if pd.isna(value) else repr(str(value))
        raise InputError(f"{path}: sample weight column {column!r} has {shown} in data row {row + 1}; "
                         f"weights must be non-negative numbers ({len(bad)} such rows)")
    if not weights.any():
        raise InputError(f"{path}: every sample weight in column {column!r} is zero")
    return weights


def _check_target_column(frame: pd.DataFrame, target: str, path) -> None:
    if target not in frame.columns:
        shown = ", ".join(map(repr, list(frame.columns)[:20])) + (" ..." if frame.shape[1] > 20 else "")
        raise InputError(f"target column {target!r} is not in {path} (columns: {shown})")


def _feature_columns(frame: pd.DataFrame, column_types, config: JobConfig) -> list[str]:
    """The columns the candidates use, in the file's order; excluded columns never enter a pipeline."""
    used = {c for kind in COLUMN_TYPES for c in getattr(column_types, kind)}
    columns = [c for c in frame.columns if c in used]
    if not columns:
        reasons = "; ".join(f"{c!r}: {r}" for c, r in column_types.excluded.items()) or "no columns besides the target"
        raise InputError(f"{config.data} has no usable feature columns ({reasons})")
    return columns


def _label_transform(problem_type: str, target: pd.Series):
    if problem_type == REGRESSION:
        return NALabelEncoder().fit(target)
    return RobustLabelEncoder().fit(target[valid_target_mask(target, problem_type)])  # blank and inf are no class


def _labelled_rows(frame, target, columns, problem_type, label_transform):
    """Feature rows whose target is present and valid, their encoded target, how many rows were dropped, and
    which rows were kept (a boolean mask)."""
    values = frame[target]
    if problem_type == REGRESSION:
        y = label_transform.transform(values)
        keep = np.isfinite(y)
    else:
        keep = valid_target_mask(values, problem_type)
        y = np.full(len(values), -1, dtype=np.int64)
        y[keep] = label_transform.transform(values[keep])
    features = frame.loc[keep, columns].reset_index(drop=True)
    return features, y[keep], int((~keep).sum()), np.asarray(keep)


def split_rows(data: PreparedData, config: JobConfig):
    """How the job's candidates are scored: 5-fold cross-validation up to 50,000 rows, a seeded holdout of
    ValidationFraction above, or the validation file.

    Parameters
    ----------
    data : PreparedData
        The job's prepared inputs.
    config : JobConfig
        The job's request (its seed and ValidationFraction).

    Returns
    -------
    (tuning.DataPlan, numpy.ndarray, numpy.ndarray or None)
        The scoring plan, the rows the dpp transforms are fitted on, and the holdout rows (None for k-fold or a
        separate validation file).
    """
    n = len(data.features)
    n_classes = 0 if data.problem_type == REGRESSION else len(data.label_transform.classes_)
    if data.valid_features is not None:
        return tuning.DataPlan(data.y, None, data.valid_y, n_classes), np.arange(n), None
    if n <= CV_MAX_ROWS:
        folds = _folds(data.y, data.problem_type, config.seed)
        return tuning.DataPlan(data.y, folds, None, n_classes), np.arange(n), None
    stratify = data.y if data.problem_type != REGRESSION and np.bincount(data.y).min() >= 2 else None
    train, valid = train_test_split(np.arange(n), test_size=config.validation_fraction, random_state=config.seed,
                                    stratify=stratify)
    train, valid = np.sort(train), np.sort(valid)
    return tuning.DataPlan(data.y[train], None, data.y[valid], n_classes), train, valid


def fit_transforms(data: PreparedData, train_rows, valid_rows, definitions=None, deadline: float | None = None,
                   workers: int = 1):
    """Fit each dpp's feature transform once and cache its output, so trials fit only the model.

    Parameters
    ----------
    data : PreparedData
        The job's prepared inputs.
    train_rows, valid_rows : numpy.ndarray or None
        The rows of ``data.features`` the transforms are fitted on and the holdout rows (None: the validation
        file's rows, if any), as `split_rows` gives them.
    definitions : list of CandidateDefinition, optional
        The dpps to fit; by default every one of ``data``.
    deadline : float, optional
        ``time.time()`` after which a dpp not yet started is skipped.
    workers : int, default 1
        With more than one, the dpps are fitted side by side in forked processes.

    Returns
    -------
    (dict, dict, list)
        The matrices by candidate label ((train, valid) pairs), the fitted transforms by label, and a message for
        each dpp whose transform failed or that the deadline left no time for (it is left out, the others go on).
    """
    train_features = data.features.iloc[train_rows]
    valid_features = data.features.iloc[valid_rows] if valid_rows is not None else data.valid_features
    definitions = definitions or data.definitions
    pool = ForkPool(workers, fork=workers > 1 and len(definitions) > 1)
    matrices, transforms, failures = {}, {}, []
    for finished in pool.map(_fit_transform, definitions, train_features, valid_features, deadline):
        label = finished.key.label
        if not finished.succeeded:
            failures.append(f"{label}: feature transform failed: {finished.error}")
        elif finished.value is None:
            failures.append(f"{label}: {DEADLINE_SKIP}")
        else:
            transform, train_matrix, valid_matrix = finished.value
            transforms[label], matrices[label] = transform, (train_matrix, valid_matrix)
    return matrices, transforms, failures


def _fit_transform(definition, train_features, valid_features, deadline):
    """One dpp's fitted transform and its train and validation matrices; None where the deadline came first."""
    if deadline is not None and time.time() >= deadline:
        return None
    transform = definition.build_feature_transform()
    train_matrix = transform.fit_transform(train_features)
    valid_matrix = transform.transform(valid_features) if valid_features is not None else None
    return transform, train_matrix, valid_matrix


def tuning_predictions(outcome: tuning.Outcome, plan: tuning.DataPlan, matrices: dict):
    """The best trial's validation predictions: each fold model's on its held-out fold, or the holdout's; with the
    labels they are scored against, no row weights, and what they are."""
    best, model = outcome.best, outcome.best_model
    if best is None:
        return None
    train, valid = matrices[best.candidate]
    if not plan.folds:
        return plan.y_valid, model.predict_raw(valid), None, "the validation rows"
    prediction = None
    for fold_model, (_, held) in zip(model.models, plan.folds):
        part = predict_raw(fold_model, train[held], model.problem_type, model.n_classes)
        if prediction is None:
            prediction = np.zeros((len(plan.y_train),) + part.shape[1:])
        prediction[held] = part
    return plan.y_train, prediction, None, f"out of fold, {len(plan.folds)}-fold cross-validation"


def ensemble_predictions(best, outcome, data: ensembling.Data):
    """The best ENSEMBLING candidate's validation predictions (out of fold, or on the validation file)."""
    weights = best.members or {best.name: 1.0}
    on_valid = data.y_valid is not None
    prediction = sum(w * (outcome.fitted[name].valid if on_valid else outcome.fitted[name].oof)
                     for name, w in weights.items())
    if on_valid:
        return data.y_valid, prediction, data.valid_weight, "the validation file"
    return data.y, prediction, data.sample_weight, f"out of fold, {len(data.folds)}-fold cross-validation"


def ensembling_data(data: PreparedData, matrices: dict, seed: int) -> ensembling.Data:
    """The ENSEMBLING search's input.

    Parameters
    ----------
    data : PreparedData
        The job's prepared inputs (labels, row weights, the validation file's rows).
    matrices : dict
        Each feature view's (train, valid) matrices, by view name ("trees", "dense").
    seed : int
        Seeds the folds the base models are bagged on.
    """
    has_valid = data.valid_y is not None
    return ensembling.Data(
        views={view: train for view, (train, _) in matrices.items()}, y=data.y,
        folds=_folds(data.y, data.problem_type, seed), sample_weight=data.sample_weight,
        valid_views={view: valid for view, (_, valid) in matrices.items()} if has_valid else None,
        y_valid=data.valid_y, valid_weight=data.valid_weight,
    )


def ensembling_settings(config: JobConfig, data: PreparedData, deadline: float | None = None) -> ensembling.Settings:
    """The ENSEMBLING search's settings for this job.

    Parameters
    ----------
    config : JobConfig
        The job's request: MaxRuntimePerTrainingJobInSeconds (each bagged model's limit), seed, workers.
    data : PreparedData
        Its prepared inputs (the resolved problem type and objective, the number of classes).
    deadline : float, optional
        ``time.time()`` after which no model may run.
    """
    return ensembling.Settings(
        problem_type=data.problem_type, objective=data.objective, n_classes=data.n_classes, deadline=deadline,
        per_model_limit=config.max_runtime_per_training_job, workers=workers_of(config), seed=config.seed,
    )


def ensemble_of(best, fitted: dict, problem_type: str) -> WeightedEnsemble:
    """The final model's estimator: the best candidate's members (a base model alone has weight one), with
    the level-1 models its level-2 members stack on.

    Parameters
    ----------
    best : ensembling.ModelResult
        The best base model or weighted ensemble.
    fitted : dict
        Every finished base model (`ensembling.Fitted`) by name.
    problem_type : str
        The job's problem type.
    """
    return ensemble_from(best.members or {best.name: 1.0}, fitted, problem_type)


def ensemble_from(weights: dict, fitted: dict, problem_type: str) -> WeightedEnsemble:
    """The estimator of base models weighted by ``weights`` (model name -> weight), with the level-1 models
    their level-2 members stack on.

    Parameters
    ----------
    weights : dict
        Each member's weight, by base model name.
    fitted : dict
        Every finished base model (`ensembling.Fitted`) by name.
    problem_type : str
        The job's problem type.
    """
    models: dict = {}
    names = list(weights)
    while names:
        name = names.pop()
        if name not in models:
            result = fitted[name].result
            models[name] = (fitted[name].model, ensembling.FAMILIES[result.algorithm].view, list(result.inputs))
            names.extend(result.inputs)
    return WeightedEnsemble(weights, models, problem_type)


def tuning_settings(config: JobConfig, data: PreparedData, deadline: float | None = None) -> tuning.Settings:
    """The tuning's settings for this job.

    Parameters
    ----------
    config : JobConfig
        The job's request: MaxCandidates, MaxRuntimePerTrainingJobInSeconds, seed, workers, trials in flight.
    data : PreparedData
        Its prepared inputs (the resolved problem type and objective).
    deadline : float, optional
        ``time.time()`` after which no trial may run.
    """
    workers = workers_of(config)
    return tuning.Settings(
        problem_type=data.problem_type, objective=data.objective, max_trials=config.effective_max_candidates,
        deadline=deadline, per_trial_limit=config.max_runtime_per_training_job,
        workers=workers, seed=config.seed,
        trials_in_flight=config.trials_in_flight or max(tuning.TRIALS_IN_FLIGHT, workers),
    )


def _folds(y: np.ndarray, problem_type: str, seed: int) -> list:
    index = np.zeros(len(y))
    if problem_type != REGRESSION and np.bincount(y).min() >= CV_FOLDS:
        splitter = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    else:
        splitter = KFold(CV_FOLDS, shuffle=True, random_state=seed)
    return list(splitter.split(index, y))


def rank(results: list, objective: str) -> list:
    """Trials (or ENSEMBLING's models) best first: completed ones by objective, ties by number, then the rest in
    their order."""
    direction = objective_direction(objective)
    completed = [t for t in results if t.status == COMPLETED]
    completed.sort(key=lambda t: (t.objective if direction == "Minimize" else -t.objective, t.number))
    return completed + [t for t in results if t.status != COMPLETED]


def workers_of(config: JobConfig) -> int:
    """Trials (and dpp transforms) run at once: as asked, else one per core, at most two."""
    return config.workers or max(1, min(2, os.cpu_count() or 1))


